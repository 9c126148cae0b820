"""How the records of one company become one customer: first the rows among themselves, then onto refbot.

Two steps, so that what refbot already holds is never one of the voices that disagree:

1. `fold` merges the rows of this run into one `Incoming` record, oldest first — each file in command-line
   order, each file's rows top to bottom — so "newest" is simply "folded later". An empty value never
   overwrites anything; a value fills an empty field; lists (products, topics, contacts, consents) are
   unioned, first spelling kept; between two different non-empty values of a single-valued field the newer
   one wins. Values that differ only in case or spacing are the same value (the newer spelling is kept).
2. `settle` lays that record onto the customer as refbot holds it (a `CustomerDraft` loaded from the
   database, or an empty one for a new customer) by the same rules, the list being newer than refbot.

Every single-valued field the sources disagree on is one *conflict*, however many files took part: the
values that lost (refbot's first, then the rows' in order), the winner, and the file and line it came from.
Settling a record onto its own result changes nothing, so importing the same lists again — or refbot's
own export — leaves every draft equal to what was loaded, and `writing` writes nothing for it.

Names follow the same rule, refined: spellings of one name ("Acme Inc", "ACME Incorporated") are not
conflicts and the newest wins — except that a spelling differing only in case or spacing never replaces a
better-capitalised one ("brightwave analytics" never replaces "BrightWave Analytics"); between spellings a
typo apart ("Brightwave" / "Brigthwave") the one most records use wins (refbot's name counting as one
record; the newest on a tie), since a typo is the rarer spelling. A genuinely different name (two
companies joined by their domain) is a conflict, and the newest wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.importing.identity import company_key, name_key, same_company_name
from bot.importing.rows import PLACEHOLDER_APPROVER, TEXT_FIELDS, ConsentIn, ContactIn, ImportRow

DATABASE = -1  # the source of a value refbot already holds


@dataclass(frozen=True, slots=True)
class Vote:
    """One source's value for a field: a row (its file's index and line) or refbot itself (DATABASE)."""

    value: str
    source: int
    line: int


@dataclass(slots=True)
class PendingConflict:
    field: str
    old: str  # the values that lost, oldest first, joined with " / "
    new: str
    source: int
    line: int


def _same_text(a: str, b: str) -> bool:
    return a == b or " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _conflict(label: str, votes: list[Vote], final: str) -> PendingConflict | None:
    """The one conflict a field's votes make, or None when every source agreed with the final value."""
    losers = list(dict.fromkeys(v.value for v in votes if v.value and not _same_text(v.value, final)))
    winner = next((v for v in reversed(votes) if v.source != DATABASE and _same_text(v.value, final)), None)
    if not losers or winner is None:
        return None
    return PendingConflict(label, " / ".join(losers), final, winner.source, winner.line)


def spelling_quality(name: str) -> tuple[int, int, int, int]:
    """How carefully a name is written, to choose between spellings that differ only in case or spacing.

    Mixed case beats all capitals beats all lower case; then more words that start with a capital, more
    capitals ("BrightWave" over "Brightwave"), and single spacing.
    """
    words = name.split()
    tier = 0 if name.islower() else 1 if name.isupper() else 2
    starts = sum(1 for word in words if word[:1].isupper())
    return tier, starts, sum(map(str.isupper, name)), int(" ".join(words) == name)


def _keeps_better_spelling(current: str, candidate: str) -> bool:
    """True when `candidate` only re-cases or re-spaces `current`, and less carefully: keep `current`."""
    if candidate == current or len(candidate.split()) != len(current.split()):  # the cheap answers first
        return False
    return name_key(candidate) == name_key(current) and spelling_quality(candidate) < spelling_quality(current)


# -- step 1: the rows of this run -------------------------------------------------------------------------


@dataclass(slots=True)
class IncomingContact:
    name: str
    title: str
    email: str
    votes: dict[str, list[Vote]] = field(default_factory=dict)  # "title" / "email" → what the rows said


@dataclass(slots=True)
class IncomingConsent:
    ref_type: str
    approved_by: str | None  # None: no list said who approved it
    approved_on: date | None
    expires_on: date | None
    votes: dict[str, list[Vote]] = field(default_factory=dict)


Owner = tuple[str | None, str | None]  # (Slack ID, e-mail)


@dataclass
class Incoming:
    """What the rows of one run say about one company, merged among themselves."""

    name: str = ""
    key: str = ""  # company_key(name)
    name_from: tuple[int, int] = (DATABASE, 0)  # the row that gave the name
    spellings: dict[str, int] = field(default_factory=dict)  # company key → rows using it (since the last rename)
    other_names: list[Vote] = field(default_factory=list)  # genuinely different names it replaced
    domain: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    votes: dict[str, list[Vote]] = field(default_factory=dict)
    products: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    referenceable: bool | None = None
    owner: Owner = (None, None)
    owner_from: tuple[int, int] = (DATABASE, 0)
    other_owners: list[tuple[Owner, int, int]] = field(default_factory=list)
    refused_owners: set[str] = field(default_factory=set)
    contacts: list[IncomingContact] = field(default_factory=list)
    consents: dict[str, IncomingConsent] = field(default_factory=dict)
    rows: list[ImportRow] = field(default_factory=list)

    def vote(self, label: str, value: str, row: ImportRow) -> None:
        self.votes.setdefault(label, []).append(Vote(value, row.source, row.line))


def fold(incoming: Incoming, row: ImportRow) -> None:
    """Merge one row into the run's record (the row is newer than everything folded so far)."""
    incoming.rows.append(row)
    _fold_name(incoming, row)
    if row.domain and not incoming.domain:
        incoming.domain = row.domain
    for field_name, value in row.values.items():
        incoming.vote(field_name, value, row)
        incoming.values[field_name] = value
    _union(incoming.products, row.products)
    _union(incoming.topics, row.topics)
    if row.referenceable is not None:
        incoming.vote("referenceable", _yes_no(row.referenceable), row)
        incoming.referenceable = row.referenceable
    _fold_owner(incoming, row)
    for contact in row.contacts:
        _fold_contact(incoming, contact, row)
    for consent in row.consents:
        _fold_consent(incoming, consent, row)


def _fold_name(incoming: Incoming, row: ImportRow) -> None:
    if incoming.name and not same_company_name(incoming.key, row.key):
        incoming.other_names.append(Vote(incoming.name, *incoming.name_from))
        incoming.spellings.clear()
    count = incoming.spellings.get(row.key, 0) + 1
    incoming.spellings[row.key] = count
    # Only this spelling's count grew, and it is the newest: it leads unless another is more common.
    leader = incoming.spellings.get(incoming.key)
    leads = leader is None or row.key == incoming.key or count >= leader
    if leads and not _keeps_better_spelling(incoming.name, row.name):
        incoming.name, incoming.key, incoming.name_from = row.name, row.key, (row.source, row.line)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _union(have: list[str], new: list[str]) -> None:
    if not new:
        return
    seen = {item.casefold() for item in have}
    for item in new:
        if item.casefold() not in seen:
            seen.add(item.casefold())
            have.append(item)


def _same_owner(a: Owner, b: Owner) -> bool:
    return bool(a[0] and b[0] and a[0] == b[0]) or bool(a[1] and b[1] and a[1].casefold() == b[1].casefold())


def _merge_owner(old: Owner, new: Owner) -> Owner:
    """The owner after `new` arrives: the same person keeps what each record knows of them."""
    if not old[0] and not old[1]:
        return new
    if _same_owner(old, new):
        return (new[0] or old[0], new[1] or old[1])
    return new


def _owner_label(owner: Owner) -> str:
    slack_id, email = owner
    if slack_id and email:
        return f"{slack_id} <{email}>"
    return slack_id or email or ""


def _fold_owner(incoming: Incoming, row: ImportRow) -> None:
    if row.owner_refused:
        incoming.refused_owners.add(row.owner_refused)
    new: Owner = (row.owner_id, row.owner_email)
    if not new[0] and not new[1]:
        return
    old = incoming.owner
    if (old[0] or old[1]) and not _same_owner(old, new):
        incoming.other_owners.append((old, *incoming.owner_from))
    incoming.owner, incoming.owner_from = _merge_owner(old, new), (row.source, row.line)


def _match_contact(contacts: list[Any], name: str, email: str) -> Any:
    """The contact these details are: the same e-mail, else the same name where one side has no e-mail.

    Two different e-mails are two people, even under one name: were a name to match across e-mails, the
    contact's e-mail would change, and a second run would no longer find the contact the first matched by
    that e-mail. A nameless contact matches by e-mail only.
    """
    if email:
        folded = email.casefold()
        for contact in contacts:
            if contact.email and contact.email.casefold() == folded:
                return contact
    if name:
        key = name_key(name)
        for contact in contacts:
            if contact.name and name_key(contact.name) == key and not (email and contact.email):
                return contact
    return None


def _fold_contact(incoming: Incoming, new: ContactIn, row: ImportRow) -> None:
    match: IncomingContact | None = _match_contact(incoming.contacts, new.name, new.email)
    if match is None:
        match = IncomingContact(new.name, new.title, new.email)
        incoming.contacts.append(match)
    else:
        for attr, value in (("title", new.title), ("email", new.email)):
            old = getattr(match, attr)
            if value and old != value and not (attr == "email" and old.casefold() == value.casefold()):
                setattr(match, attr, value)
        by_email = _same_email(new.email, match.email)  # after the update, so that a second pass agrees
        if (
            new.name
            and new.name != match.name
            and (not match.name or by_email)
            and not _keeps_better_spelling(match.name, new.name)
        ):
            match.name = new.name
    for attr, value in (("title", new.title), ("email", new.email)):
        if value:
            match.votes.setdefault(attr, []).append(Vote(value, row.source, row.line))


def _same_email(a: str, b: str) -> bool:
    return bool(a and b and a.casefold() == b.casefold())


def _fold_consent(incoming: Incoming, new: ConsentIn, row: ImportRow) -> None:
    have = incoming.consents.get(new.ref_type)
    if have is None:
        have = incoming.consents[new.ref_type] = IncomingConsent(
            new.ref_type, new.approved_by, new.approved_on, new.expires_on
        )
    else:
        if new.approved_by:
            have.approved_by = new.approved_by
        have.approved_on = new.approved_on or have.approved_on
        have.expires_on = new.expires_on or have.expires_on
    for attr, value in (
        ("approved_by", new.approved_by),
        ("approved_on", new.approved_on.isoformat() if new.approved_on else ""),
        ("expires_on", new.expires_on.isoformat() if new.expires_on else ""),
    ):
        if value:
            have.votes.setdefault(attr, []).append(Vote(value, row.source, row.line))


# -- step 2: onto the customer as refbot holds it ---------------------------------------------------------


@dataclass(slots=True)
class ContactDraft:
    id: int | None
    name: str
    title: str
    email: str
    is_primary: bool
    loaded: tuple[str, str, str] | None = None  # (name, title, email) as read from the database

    @property
    def changed(self) -> bool:
        return self.id is None or (self.name, self.title, self.email) != self.loaded


@dataclass(slots=True)
class ConsentDraft:
    id: int | None
    ref_type: str
    approved_by: str
    approved_on: date | None
    expires_on: date | None
    loaded: tuple[str, date | None, date | None] | None = None

    @property
    def changed(self) -> bool:
        return self.id is None or (self.approved_by, self.approved_on, self.expires_on) != self.loaded


@dataclass
class CustomerDraft:
    """One customer as the import will leave it: an existing one (`customer_id`) or a new one."""

    customer_id: int | None
    name: str = ""
    domain: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    products: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    owner_slack_id: str | None = None
    owner_email: str | None = None
    referenceable: bool | None = None
    contacts: list[ContactDraft] = field(default_factory=list)
    consents: dict[str, ConsentDraft] = field(default_factory=dict)
    rows: list[ImportRow] = field(default_factory=list)
    conflicts: list[PendingConflict] = field(default_factory=list)
    original: dict[str, Any] | None = None  # its columns as loaded; None for a new customer

    def columns(self) -> dict[str, Any]:
        """The customer's own columns as they will be written."""
        return {
            "name": self.name,
            "name_key": name_key(self.name),
            "domain": self.domain,
            **{f: self.values.get(f, "") for f in TEXT_FIELDS},
            "products": list(self.products),
            "topics": list(self.topics),
            "owner_slack_id": self.owner_slack_id,
            "owner_email": self.owner_email,
            "referenceable": True if self.referenceable is None else self.referenceable,
        }

    def changes(self) -> dict[str, list[Any]]:
        """For an existing customer: each of its own columns the import changes, as [old, new]."""
        if self.original is None:
            return {}
        now = self.columns()
        return {k: [self.original.get(k), v] for k, v in now.items() if v != self.original.get(k) and k != "name_key"}

    @property
    def columns_changed(self) -> bool:
        return self.original is None or self.columns() != self.original

    @property
    def changed(self) -> bool:
        """Whether writing this draft changes anything at all: its columns, a contact or a consent."""
        return (
            self.columns_changed
            or any(c.changed for c in self.contacts)
            or any(c.changed for c in self.consents.values())
        )


ConflictSink = Callable[[PendingConflict | None], None]


def settle(draft: CustomerDraft, incoming: Incoming) -> None:
    """Lay the run's record onto the customer (the list is newer than refbot), noting each conflict once."""
    draft.rows += incoming.rows

    def note(conflict: PendingConflict | None) -> None:
        if conflict is not None:
            draft.conflicts.append(conflict)

    _settle_name(draft, incoming, note)
    if incoming.domain and not draft.domain:
        draft.domain = incoming.domain
    for field_name in TEXT_FIELDS:
        if field_name not in incoming.values:
            continue
        old = draft.values.get(field_name, "")
        draft.values[field_name] = incoming.values[field_name]
        votes = [Vote(old, DATABASE, 0), *incoming.votes[field_name]]
        note(_conflict(field_name, votes, incoming.values[field_name]))
    _union(draft.products, incoming.products)
    _union(draft.topics, incoming.topics)
    if incoming.referenceable is not None:
        votes = [Vote(_yes_no(draft.referenceable), DATABASE, 0)] if draft.referenceable is not None else []
        draft.referenceable = incoming.referenceable
        note(_conflict("referenceable", votes + incoming.votes["referenceable"], _yes_no(incoming.referenceable)))
    _settle_owner(draft, incoming, note)
    # Contacts with an e-mail first: one may rename the contact it matches by e-mail, and a contact known
    # only by name must be matched against the names as they end up, or a second run would match it anew.
    for contact in sorted(incoming.contacts, key=lambda c: not c.email):
        _settle_contact(draft, contact, note)
    for consent in incoming.consents.values():
        _settle_consent(draft, consent, note)


def _settle_name(draft: CustomerDraft, incoming: Incoming, note: ConflictSink) -> None:
    others = list(incoming.other_names)
    keep = False
    if draft.name:
        old_key = company_key(draft.name)
        if old_key != incoming.key and same_company_name(old_key, incoming.key):
            # A typo apart: refbot's spelling counts as one record, and keeps the name only with more.
            keep = 1 + incoming.spellings.get(old_key, 0) > incoming.spellings.get(incoming.key, 0)
        elif not same_company_name(old_key, incoming.key):
            others.insert(0, Vote(draft.name, DATABASE, 0))
        keep = keep or _keeps_better_spelling(draft.name, incoming.name)
    if not keep:
        draft.name = incoming.name
    final_key = company_key(draft.name)
    losers = [v for v in others if not same_company_name(company_key(v.value), final_key)]
    if losers:  # file and line: the row whose spelling of the kept name settled it
        note(_conflict("name", [*losers, Vote(draft.name, *incoming.name_from)], draft.name))


def _settle_owner(draft: CustomerDraft, incoming: Incoming, note: ConflictSink) -> None:
    old: Owner = (draft.owner_slack_id, draft.owner_email)
    if incoming.owner[0] or incoming.owner[1]:
        others = list(incoming.other_owners)
        if (old[0] or old[1]) and not _same_owner(old, incoming.owner):
            others.insert(0, (old, DATABASE, 0))
        final = _merge_owner(old, incoming.owner)
        draft.owner_slack_id, draft.owner_email = final
        losers = [Vote(_owner_label(o), s, n) for o, s, n in others if not _same_owner(o, final)]
        if losers:
            note(_conflict("owner", [*losers, Vote(_owner_label(final), *incoming.owner_from)], _owner_label(final)))
    if draft.owner_slack_id in incoming.refused_owners:  # Slack says that ID is nobody, or has left
        draft.owner_slack_id = None


def _settle_contact(draft: CustomerDraft, new: IncomingContact, note: ConflictSink) -> None:
    match: ContactDraft | None = _match_contact(draft.contacts, new.name, new.email)
    if match is None:
        match = ContactDraft(None, new.name, new.title, new.email, is_primary=not draft.contacts)
        draft.contacts.append(match)
        old = {"title": "", "email": ""}
    else:
        old = {"title": match.title, "email": match.email}
        if new.title:
            match.title = new.title
        if new.email and new.email.casefold() != match.email.casefold():
            match.email = new.email
        by_email = _same_email(new.email, match.email)  # after the update, so that a second pass agrees
        if (
            new.name
            and new.name != match.name
            and (not match.name or by_email)
            and not _keeps_better_spelling(match.name, new.name)
        ):
            match.name = new.name
    for attr in ("title", "email"):
        if attr in new.votes:
            label = f"contact {match.name or match.email}: {attr}"
            note(_conflict(label, [Vote(old[attr], DATABASE, 0), *new.votes[attr]], getattr(match, attr)))


def _settle_consent(draft: CustomerDraft, new: IncomingConsent, note: ConflictSink) -> None:
    have = draft.consents.get(new.ref_type)
    if have is None:
        by = PLACEHOLDER_APPROVER if new.approved_by is None else new.approved_by
        have = draft.consents[new.ref_type] = ConsentDraft(None, new.ref_type, by, new.approved_on, new.expires_on)
        old: dict[str, str] = {}
    else:
        old = {
            "approved_by": "" if have.approved_by == PLACEHOLDER_APPROVER else have.approved_by,
            "approved_on": have.approved_on.isoformat() if have.approved_on else "",
            "expires_on": have.expires_on.isoformat() if have.expires_on else "",
        }
        if new.approved_by:
            have.approved_by = new.approved_by
        have.approved_on = new.approved_on or have.approved_on
        have.expires_on = new.expires_on or have.expires_on
    final = {
        "approved_by": have.approved_by,
        "approved_on": have.approved_on.isoformat() if have.approved_on else "",
        "expires_on": have.expires_on.isoformat() if have.expires_on else "",
    }
    for attr, votes in new.votes.items():
        label = f"consent {new.ref_type}: {attr.replace('_', ' ')}"
        note(_conflict(label, [Vote(old.get(attr, ""), DATABASE, 0), *votes], final[attr]))
