"""`refbot import FILE.csv`: load customers from the canonical CSV, upserting by domain (else name).

All rows are read and checked before anything is written; the good ones are written in one
transaction. A file that cannot be read changes nothing; a bad row is skipped and reported with its
line number and reason, not fatal.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot import audit
from models import Consent, Contact, Customer
from models.db import Database
from models.enums import RefType

CANONICAL = [
    "name",
    "domain",
    "industry",
    "region",
    "segment",
    "products",
    "topics",
    "owner_slack_id",
    "contact_name",
    "contact_title",
    "contact_email",
    "referenceable",
    "consents",
]
_TRUE = {"", "yes", "y", "true", "1", "x"}
_FALSE = {"no", "n", "false", "0"}


class _RollBack(Exception):
    """Raised inside the import transaction to undo a dry run."""


class ImportFailed(Exception):
    """The file as a whole cannot be imported; nothing was written."""


@dataclass
class Skipped:
    line: int
    reason: str


@dataclass
class ImportReport:
    file: str
    created: int = 0
    updated: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        head = f"{self.file}: {self.created} created, {self.updated} updated, {len(self.skipped)} skipped"
        lines = [head + (" (dry run: nothing written)" if self.dry_run else "")]
        lines += [f"  line {s.line}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def name_key(name: str) -> str:
    return " ".join(name.lower().split())


def normalise_domain(value: str) -> str | None:
    """`https://www.Acme.com/about` → `acme.com`; an e-mail address gives its domain."""
    value = value.strip().lower()
    if not value:
        return None
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    if "://" not in value:
        value = "//" + value
    host = urlsplit(value).hostname or ""
    host = host.removeprefix("www.").strip(".")
    # "n/a", "-", "none": spreadsheet placeholders, not domains; two customers must not merge on them.
    return host if "." in host else None


def _list(value: str) -> list[str]:
    return list(dict.fromkeys(p.strip() for p in value.split(";") if p.strip()))


@dataclass
class _Row:
    line: int
    name: str
    domain: str | None
    values: dict[str, str]
    referenceable: bool | None  # None: the cell was blank, so an existing customer keeps its flag
    consents: list[RefType]


def _read_rows(path: Path) -> tuple[list[_Row], list[Skipped]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\x00" in raw[:4096]:
        raise ImportFailed(f"{path} is not a CSV text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")  # what Excel on Windows writes; Latin-1 for the few bytes it lacks
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "name" not in headers:
        raise ImportFailed(f"{path} has no 'name' column; expected the headers {','.join(CANONICAL)} (see README)")
    unknown = [h for h in headers if h and h not in CANONICAL]
    if unknown:
        raise ImportFailed(f"{path} has columns refbot does not know: {', '.join(unknown)}")
    rows: list[_Row] = []
    skipped: list[Skipped] = []
    try:
        for record in reader:
            line = reader.line_num
            values = {(k or "").strip().lower(): (v or "").strip() for k, v in record.items() if k}
            if None in record:
                skipped.append(Skipped(line, "more cells than headers"))
                continue
            name = values.get("name", "")
            if not name:
                skipped.append(Skipped(line, "no customer name"))
                continue
            if len(name) > 200:
                skipped.append(Skipped(line, "name longer than 200 characters"))
                continue
            flag = values.get("referenceable", "").lower()
            if flag not in _TRUE | _FALSE:
                skipped.append(Skipped(line, f"referenceable must be yes or no, not {flag!r}"))
                continue
            consents = []
            bad = None
            for item in _list(values.get("consents", "")):
                try:
                    ref_type = RefType(item.lower())
                except ValueError:
                    bad = item
                    break
                if not ref_type.is_public:
                    bad = item
                    break
                consents.append(ref_type)
            if bad is not None:
                public = ", ".join(t.value for t in RefType if t.is_public)
                skipped.append(Skipped(line, f"unknown public reference type {bad!r} in consents (use {public})"))
                continue
            owner = values.get("owner_slack_id", "")
            if owner and not (owner[:1] in "UW" and owner.isalnum() and owner.isupper()):
                skipped.append(Skipped(line, f"owner_slack_id {owner!r} is not a Slack user ID like U012ABCDEF"))
                continue
            rows.append(
                _Row(
                    line,
                    name,
                    normalise_domain(values.get("domain", "")),
                    values,
                    None if not flag else flag not in _FALSE,
                    consents,
                )
            )
    except csv.Error as exc:
        raise ImportFailed(f"{path} is not valid CSV (line {reader.line_num}: {exc})") from None
    return rows, skipped


def _find(session: Session, row: _Row) -> Customer | None:
    query = select(Customer).options(selectinload(Customer.contacts), selectinload(Customer.consents))
    if row.domain:
        found = session.scalars(query.where(Customer.domain == row.domain)).first()
        if found is not None:
            return found
    return session.scalars(query.where(Customer.name_key == name_key(row.name))).first()


def _apply(session: Session, customer: Customer, row: _Row, actor: str) -> None:
    values = row.values
    customer.name = row.name
    customer.name_key = name_key(row.name)
    if row.domain:
        customer.domain = row.domain
    for attr in ("industry", "region", "segment"):
        if values.get(attr):
            setattr(customer, attr, values[attr][:100])
    for attr in ("products", "topics"):
        if values.get(attr):
            setattr(customer, attr, _list(values[attr]))
    if values.get("owner_slack_id"):
        customer.owner_slack_id = values["owner_slack_id"]
    if row.referenceable is not None:
        customer.referenceable = row.referenceable
    contact_name = values.get("contact_name", "")
    if contact_name and not any(c.name.lower() == contact_name.lower() for c in customer.contacts):
        customer.contacts.append(
            Contact(
                name=contact_name[:200],
                title=values.get("contact_title", "")[:200],
                email=values.get("contact_email", "")[:320],
                is_primary=not customer.contacts,
            )
        )
    have = {c.ref_type for c in customer.consents}
    for ref_type in row.consents:
        if ref_type.value not in have:
            customer.consents.append(
                Consent(ref_type=ref_type.value, approved_by="on record before import", recorded_by=actor)
            )


def import_csv(db: Database, path: Path, *, actor: str = "import", dry_run: bool = False) -> ImportReport:
    """Import one canonical CSV; raises ImportFailed (nothing written) when the file is unusable."""
    rows, skipped = _read_rows(path)
    report = ImportReport(file=str(path), skipped=skipped, dry_run=dry_run)
    try:
        with db.transaction() as session:
            _write(session, rows, report, actor, path.name)
            if dry_run:
                raise _RollBack
    except _RollBack:
        pass
    report.skipped.sort(key=lambda s: s.line)
    return report


def _write(session: Session, rows: list[_Row], report: ImportReport, actor: str, file: str) -> None:
    seen: set[int] = set()
    for row in rows:
        customer = _find(session, row)
        if customer is not None and customer.id in seen:
            report.skipped.append(Skipped(row.line, f"same customer as an earlier line ({customer.name})"))
            continue
        created = customer is None
        if customer is None:
            customer = Customer(name=row.name, name_key=name_key(row.name), products=[], topics=[], referenceable=True)
            session.add(customer)
        _apply(session, customer, row, actor)
        session.flush()
        if created:
            report.created += 1
        else:
            report.updated += 1
        action = "customer.imported" if created else "customer.updated_by_import"
        audit.record(session, actor, action, "customer", customer.id, file=file)
        seen.add(customer.id)
