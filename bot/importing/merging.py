"""How several records of one company become one customer: fill the gaps, union the lists, newest wins.

Records are folded oldest first — the database as it is, then each file in command-line order, each
file's rows top to bottom — so "newest" is simply "folded later". For every field:

- an empty value never overwrites anything;
- a value fills an empty field;
- lists (products, topics, contacts, consents) are unioned, first spelling kept;
- two different non-empty values of a single-valued field are a *conflict*: the newer one is kept and
  the conflict is reported with both values and the file and line of the newer one. Values that differ
  only in case or spacing are not conflicts; the newer spelling is kept.

The name follows the same rule, with one refinement: spellings of one name ("Acme Inc", "ACME
Incorporated") are not conflicts and the newest wins, but between spellings a typo apart ("Brightwave" /
"Brigthwave") the one most of the records use wins (the newest on a tie), since a typo is the rarer
spelling. A genuinely different name (two companies joined by their domain) is a conflict, and newest wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.importing.identity import name_key, same_company_name
from bot.importing.rows import PLACEHOLDER_APPROVER, TEXT_FIELDS, ImportRow

# Records a conflict: (field, old value, new value), the row being folded supplying file and line.
ConflictSink = Callable[[str, str, str], None]


@dataclass(slots=True)
class ContactDraft:
    id: int | None
    name: str
    title: str
    email: str
    is_primary: bool
    dirty: bool = False


@dataclass(slots=True)
class ConsentDraft:
    id: int | None
    ref_type: str
    approved_by: str
    approved_on: date | None
    expires_on: date | None
    dirty: bool = False


@dataclass(slots=True)
class PendingConflict:
    field: str
    old: str
    new: str
    source: int
    line: int


@dataclass
class CustomerDraft:
    """One customer as the import will leave it: an existing one (`customer_id`) or a new one."""

    customer_id: int | None
    name: str = ""
    key: str = ""  # company_key(name), kept beside it so each fold need not recompute it
    # Spellings of the current name seen so far: company key → (records using it, latest fold, spelling).
    spellings: dict[str, tuple[int, int, str]] = field(default_factory=dict)
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
    original: tuple[Any, ...] | None = None

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

    def snapshot(self) -> tuple[Any, ...]:
        return tuple(sorted((k, repr(v)) for k, v in self.columns().items()))

    @property
    def changed(self) -> bool:
        """For an existing customer: whether its own columns differ from what the database holds."""
        return self.original is None or self.snapshot() != self.original


def _same_text(a: str, b: str) -> bool:
    return a == b or " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _owner_label(slack_id: str | None, email: str | None) -> str:
    if slack_id and email:
        return f"{slack_id} <{email}>"
    return slack_id or email or ""


def fold(draft: CustomerDraft, row: ImportRow) -> None:
    """Merge one row into the draft by the rules above (the row is newer than everything folded so far)."""
    draft.rows.append(row)

    def conflict(field_name: str, old: str, new: str) -> None:
        draft.conflicts.append(PendingConflict(field_name, old, new, row.source, row.line))

    _fold_name(draft, row, conflict)
    if row.domain and not draft.domain:
        draft.domain = row.domain
    for field_name, value in row.values.items():
        old = draft.values.get(field_name, "")
        if old and not _same_text(old, value):
            conflict(field_name, old, value)
        draft.values[field_name] = value
    _union(draft.products, row.products)
    _union(draft.topics, row.topics)
    if row.referenceable is not None:
        if draft.referenceable is not None and draft.referenceable != row.referenceable:
            conflict("referenceable", _yes_no(draft.referenceable), _yes_no(row.referenceable))
        draft.referenceable = row.referenceable
    _fold_owner(draft, row, conflict)
    for contact in row.contacts:
        _fold_contact(draft, contact.name, contact.title, contact.email, conflict)
    for consent in row.consents:
        _fold_consent(draft, consent.ref_type, consent.approved_by, consent.approved_on, consent.expires_on, conflict)


def _fold_name(draft: CustomerDraft, row: ImportRow, conflict: ConflictSink) -> None:
    if draft.name and not draft.spellings:  # an existing customer: its name counts as one record
        draft.spellings[draft.key] = (1, 0, draft.name)
    if draft.name and not same_company_name(draft.key, row.key):
        conflict("name", draft.name, row.name)
        draft.spellings.clear()
    count = draft.spellings.get(row.key, (0, 0, ""))[0] + 1
    draft.spellings[row.key] = (count, len(draft.rows), row.name)
    # Only this spelling's count grew, and it is the newest: it leads unless another is more common.
    leader = draft.spellings.get(draft.key)
    if leader is None or row.key == draft.key or count >= leader[0]:
        draft.name, draft.key = row.name, row.key


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


def _fold_owner(draft: CustomerDraft, row: ImportRow, conflict: ConflictSink) -> None:
    new_id, new_email = row.owner_id, row.owner_email
    if not new_id and not new_email:
        return
    old_id, old_email = draft.owner_slack_id, draft.owner_email
    same = bool(new_id and old_id and new_id == old_id) or bool(
        new_email and old_email and new_email.casefold() == old_email.casefold()
    )
    if same or (not old_id and not old_email):
        draft.owner_slack_id = new_id or old_id
        draft.owner_email = new_email or old_email
        return
    conflict("owner", _owner_label(old_id, old_email), _owner_label(new_id, new_email))
    draft.owner_slack_id, draft.owner_email = new_id, new_email


def _fold_contact(draft: CustomerDraft, name: str, title: str, email: str, conflict: ConflictSink) -> None:
    match = None
    for contact in draft.contacts:
        if email and contact.email and email.casefold() == contact.email.casefold():
            match = contact
            break
        if name_key(name) == name_key(contact.name):
            match = contact
            break
    if match is None:
        draft.contacts.append(ContactDraft(None, name, title, email, is_primary=not draft.contacts, dirty=True))
        return
    for attr, value in (("title", title), ("email", email)):
        old = getattr(match, attr)
        if not value or old == value or (attr == "email" and old.casefold() == value.casefold()):
            continue
        if old and not _same_text(old, value):
            conflict(f"contact {match.name}: {attr}", old, value)
        setattr(match, attr, value)
        match.dirty = True
    if name != match.name and email and match.email and email.casefold() == match.email.casefold():
        match.name, match.dirty = name, True


def _fold_consent(
    draft: CustomerDraft,
    ref_type: str,
    approved_by: str | None,
    approved_on: date | None,
    expires_on: date | None,
    conflict: ConflictSink,
) -> None:
    have = draft.consents.get(ref_type)
    if have is None:
        by = PLACEHOLDER_APPROVER if approved_by is None else approved_by
        draft.consents[ref_type] = ConsentDraft(None, ref_type, by, approved_on, expires_on, dirty=True)
        return
    if approved_by and approved_by != have.approved_by:
        if have.approved_by and have.approved_by != PLACEHOLDER_APPROVER:
            conflict(f"consent {ref_type}: approved by", have.approved_by, approved_by)
        have.approved_by, have.dirty = approved_by, True
    for attr, value in (("approved_on", approved_on), ("expires_on", expires_on)):
        old = getattr(have, attr)
        if value is None or value == old:
            continue
        if old is not None:
            conflict(f"consent {ref_type}: {attr.replace('_', ' ')}", old.isoformat(), value.isoformat())
        setattr(have, attr, value)
        have.dirty = True
