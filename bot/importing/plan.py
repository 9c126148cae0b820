"""Deciding, before anything is written, which rows are which customers and what each will hold.

Every row and every customer already in the database is a node. Nodes are joined in two passes:

1. the same normalised domain — always the same company;
2. names of the same class (`identity.NameClasses`: equal keys, or a typo apart) — unless that would
   put two different domains, or two customers already in the database, into one customer. Classes are
   formed from the rows' spellings alone (the database's join them afterwards), so importing the same
   files again groups their rows exactly as the first import did.

The second pass walks nodes oldest first (the database, then each file's rows in order), so a name that
fits two companies with different domains joins the first one met, deterministically. Each resulting
group's rows are folded into one record (`merging.fold`), which is then settled onto the customer as
refbot holds it (`merging.settle`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.importing.fields import ColumnMapping
from bot.importing.identity import NameClasses, company_key, normalise_domain
from bot.importing.merging import ConsentDraft, ContactDraft, CustomerDraft, Incoming, fold, settle
from bot.importing.progress import ProgressFactory, silent
from bot.importing.report import Conflict, ImportReport, RowOutcome, Skipped, UnresolvedOwner
from bot.importing.rows import TEXT_FIELDS, ImportRow
from models import Consent, Contact, Customer


@dataclass
class Source:
    """One file as read: how it was understood and the rows it holds."""

    index: int
    path: Path
    kind: str
    details: str
    mapping: ColumnMapping
    rows: list[ImportRow]
    skipped: list[Skipped]

    @cached_property
    def label(self) -> str:
        """The file as the report names it."""
        return str(self.path)

    @property
    def rows_read(self) -> int:
        return len(self.rows) + len(self.skipped)


@dataclass
class Plan:
    """What the import will do; `drafts` are the customers it touches, in order of first appearance."""

    sources: list[Source]
    drafts: list[CustomerDraft]
    report: ImportReport


class _Groups:
    """Union-find over nodes, refusing any join that would mix two domains or two existing customers."""

    def __init__(self, domains: list[str | None], customers: list[int]) -> None:
        self.parent = list(range(len(domains)))
        self.domain = list(domains)
        self.customer = list(customers)  # index of the existing customer in the group, or -1

    def find(self, node: int) -> int:
        parent = self.parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        da, db = self.domain[ra], self.domain[rb]
        if da and db and da != db:
            return False
        ca, cb = self.customer[ra], self.customer[rb]
        if ca >= 0 and cb >= 0:
            return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.domain[ra] = da or db
        self.customer[ra] = max(ca, cb)
        return True


def group_rows(
    existing: Sequence[tuple[str, str | None]], rows: Sequence[ImportRow], progress: ProgressFactory = silent
) -> list[tuple[int | None, list[int]]]:
    """Which rows are one company: [(index of the existing customer or None, [row indices])], by first row.

    `existing` holds (company key, normalised domain) of the customers already in the database.
    """
    offset = len(existing)
    keys = [key for key, _ in existing] + [row.key for row in rows]
    domains = [domain for _, domain in existing] + [row.domain for row in rows]
    groups = _Groups(domains, list(range(offset)) + [-1] * len(rows))
    bar = progress("matching", len(keys))
    first_with_domain: dict[str, int] = {}
    for node, domain in enumerate(domains):
        if domain:
            first = first_with_domain.setdefault(domain, node)
            if first != node:
                groups.join(first, node)
    # Classes form around the files' own spellings, most frequent first; the database's names join them
    # afterwards. So the same files make the same classes whatever refbot holds, and a second import of
    # them groups their rows as the first did (the customers it created count no extra vote).
    frequency = Counter(row.key for row in rows)
    first_seen: dict[str, int] = {}
    for node, key in enumerate(keys[offset:]):
        first_seen.setdefault(key, node)
    for key, _ in existing:
        first_seen.setdefault(key, len(keys))
    classes = NameClasses()
    done = 0
    for key in sorted(first_seen, key=lambda k: (-frequency[k], first_seen[k])):
        classes.add(key)
        done += frequency[key]
        if done >= 5000:
            bar.update(done)
            done = 0
    bar.update(done)
    bar.close()
    members: dict[int, list[int]] = {}
    for node, key in enumerate(keys):
        members.setdefault(classes.class_of(key), []).append(node)
    for nodes in members.values():
        anchors: list[int] = []
        for node in nodes:
            root = groups.find(node)
            if any(groups.find(anchor) == root or groups.join(anchor, node) for anchor in anchors):
                continue
            anchors.append(node)
    result: dict[int, tuple[int | None, list[int]]] = {}
    for index in range(len(rows)):
        root = groups.find(offset + index)
        entry = result.get(root)
        if entry is None:
            customer = groups.customer[root]
            entry = result[root] = (customer if customer >= 0 else None, [])
        entry[1].append(index)
    return list(result.values())


def _load_existing(session: Session) -> tuple[list[int], list[tuple[str, str | None]]]:
    ids: list[int] = []
    identities: list[tuple[str, str | None]] = []
    for customer_id, name, domain in session.execute(
        select(Customer.id, Customer.name, Customer.domain).order_by(Customer.id)
    ):
        ids.append(customer_id)
        identities.append((company_key(name), normalise_domain(domain or "") if domain else None))
    return ids, identities


def _load_drafts(session: Session, ids: list[int], progress: ProgressFactory) -> dict[int, CustomerDraft]:
    """The current state of the customers some row matched, as drafts to fold the rows into.

    Plain column selects, not ORM objects: re-importing a whole list touches every customer in it.
    """
    customers = select(
        *(getattr(Customer, c) for c in ("id", "name", "domain", "products", "topics", "referenceable")),
        *(getattr(Customer, c) for c in ("owner_slack_id", "owner_email", *TEXT_FIELDS)),
    )
    contacts = select(*(getattr(Contact, c) for c in ("id", "customer_id", "name", "title", "email", "is_primary")))
    consents = select(
        *(getattr(Consent, c) for c in ("id", "customer_id", "ref_type", "approved_by", "approved_on", "expires_on"))
    )
    drafts: dict[int, CustomerDraft] = {}
    bar = progress("loading customers", len(ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for c in session.execute(customers.where(Customer.id.in_(chunk))):
            drafts[c.id] = CustomerDraft(
                customer_id=c.id,
                name=c.name,
                domain=c.domain,
                values={f: getattr(c, f) for f in TEXT_FIELDS if getattr(c, f)},
                products=list(c.products or []),
                topics=list(c.topics or []),
                owner_slack_id=c.owner_slack_id,
                owner_email=c.owner_email,
                referenceable=c.referenceable,
            )
        for p in session.execute(contacts.where(Contact.customer_id.in_(chunk)).order_by(Contact.id)):
            loaded = (p.name, p.title, p.email)
            drafts[p.customer_id].contacts.append(ContactDraft(p.id, *loaded, p.is_primary, loaded=loaded))
        for k in session.execute(consents.where(Consent.customer_id.in_(chunk))):
            details = (k.approved_by, k.approved_on, k.expires_on)
            drafts[k.customer_id].consents[k.ref_type] = ConsentDraft(k.id, k.ref_type, *details, loaded=details)
        bar.update(len(chunk))
    bar.close()
    for draft in drafts.values():
        draft.original = draft.columns()
    return drafts


def plan_import(
    session: Session,
    sources: list[Source],
    unresolved: list[UnresolvedOwner],
    *,
    dry_run: bool = False,
    progress: ProgressFactory = silent,
) -> Plan:
    """Match every row against the others and the database, and fold each company's records into a draft."""
    ids, identities = _load_existing(session)
    rows = [row for source in sources for row in source.rows]
    grouped = group_rows(identities, rows, progress)
    matched = sorted({ids[c] for c, _ in grouped if c is not None})
    existing = _load_drafts(session, matched, progress)
    drafts: list[CustomerDraft] = []
    bar = progress("merging", len(rows))
    for customer, members in grouped:
        incoming = Incoming()
        for index in members:
            fold(incoming, rows[index])
        draft = existing[ids[customer]] if customer is not None else CustomerDraft(customer_id=None)
        settle(draft, incoming)
        drafts.append(draft)
        bar.update(len(members))
    bar.close()
    report = _report(sources, drafts, unresolved, dry_run)
    return Plan(sources, drafts, report)


def _report(
    sources: list[Source], drafts: list[CustomerDraft], unresolved: list[UnresolvedOwner], dry_run: bool
) -> ImportReport:
    labels = [source.label for source in sources]
    report = ImportReport(files=labels, dry_run=dry_run, unresolved_owners=unresolved)
    for source in sources:
        report.skipped += source.skipped
        report.rows_read += source.rows_read
    for draft in drafts:
        first, *rest = draft.rows
        if draft.original is None:
            action = "created"
            report.created += 1
        elif draft.changed:
            action = "updated"
            report.updated += 1
        else:
            action = "unchanged"
            report.unchanged += 1
        report.merged += len(rest)
        report.outcomes.append(RowOutcome(action, draft.name, labels[first.source], first.line))
        report.outcomes += [RowOutcome("merged", draft.name, labels[r.source], r.line) for r in rest]
        report.conflicts += [
            Conflict(draft.name, c.field, c.old, c.new, labels[c.source], c.line) for c in draft.conflicts
        ]
    return report
