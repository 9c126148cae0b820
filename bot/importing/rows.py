"""One spreadsheet row → one `ImportRow`, or a `Skipped` with the line and the reason a person can act on.

The checks are the canonical importer's (a name, yes/no for referenceable, public reference types for
consents, Slack IDs in `owner_slack_id`), so an old file is judged exactly as before; free-form owner
columns never cost a row, because a CRM's "Account Owner" often holds a name refbot cannot resolve.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from bot.importing.fields import CONSENT_DETAILS, PUBLIC_TYPES, ColumnMapping
from bot.importing.identity import company_key, normalise_domain
from bot.importing.report import Skipped
from models.enums import RefType

TRUE_WORDS = frozenset({"yes", "y", "true", "1", "x"})
FALSE_WORDS = frozenset({"no", "n", "false", "0"})
# Cells `refbot export` prefixed with an apostrophe so a spreadsheet does not run them as formulas.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_FIELDS = ("industry", "region", "segment", "not_referenceable_reason", "guidance", "notes")
_SHORT_FIELDS = {"industry": 100, "region": 100, "segment": 100}
# The most a cell refbot reads may hold. Longer is never a value someone typed (a whole document pasted
# into a notes cell, an export gone wrong), so the row is skipped and says so; shorter over-long cells of
# the fields above and of contacts are cut to what the field holds, as they always were.
MAX_CELL = 10_000
_FIELD_LIMITS = {"name": 200, **_SHORT_FIELDS, "contact_name": 200, "contact_title": 200, "contact_email": 320}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTACT_FIELD = re.compile(r"^contact(?:_(\d+))?_(name|title|email)$")
# Recorded as the approver of a consent a list names without saying who approved it.
PLACEHOLDER_APPROVER = "on record before import"


def unescape_cell(value: str) -> str:
    """Undo `refbot export`'s formula guard: "'=SUM(A1)" → "=SUM(A1)"; any other text is left alone."""
    if value[:1] == "'" and value.lstrip("'")[:1] in FORMULA_STARTS and value.lstrip("'"):
        return value[1:]
    return value


def escape_cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (= + - @), reversibly, with one apostrophe."""
    if value and value.lstrip("'")[:1] in FORMULA_STARTS and value.lstrip("'"):
        return "'" + value
    return value


def is_user_id(value: str) -> bool:
    """A Slack member ID as refbot stores it: U or W, then upper-case letters and digits."""
    return value[:1] in ("U", "W") and value.isalnum() and value.isupper()


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def split_list(value: str) -> list[str]:
    """Split a list cell: "Payments; Ledger ;Payments" → ["Payments", "Ledger"]; without ";", commas split.

    A single item that itself holds a comma is written by `refbot export` with a trailing ";" so it
    reads back as one item.
    """
    if not value:
        return []
    parts = value.split(";") if ";" in value else value.split(",")
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def parse_date(value: str) -> date | None:
    """Read "2024-09-30" (or a spreadsheet's "2024-09-30 00:00:00") as a date; ValueError for anything else."""
    return date.fromisoformat(value[:10]) if value else None


@dataclass(slots=True)
class ContactIn:
    name: str
    title: str
    email: str


@dataclass(slots=True)
class ConsentIn:
    ref_type: str
    approved_by: str | None  # None: the list has no approver column, so a placeholder is recorded
    approved_on: date | None
    expires_on: date | None


@dataclass(slots=True)
class ImportRow:
    """What one row says about a customer; empty cells are absent, never "set this to empty"."""

    source: int  # position of its file on the command line: later files are newer
    line: int
    name: str
    key: str  # company_key(name): what name matching compares
    domain: str | None
    values: dict[str, str] = field(default_factory=dict)
    products: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    owner_id: str | None = None
    owner_email: str | None = None
    owner_problem: str = ""  # an owner cell that is neither a Slack ID nor an e-mail, for the report
    # An owner ID Slack says is nobody (or deactivated): the customer must not keep it as its owner.
    owner_refused: str | None = None
    referenceable: bool | None = None
    contacts: list[ContactIn] = field(default_factory=list)
    consents: list[ConsentIn] = field(default_factory=list)


class _BadRow(Exception):
    """A reason to skip this row, in the words the report shows."""


class RowParser:
    """Turns the cells of one file's rows into `ImportRow`s according to its column mapping."""

    def __init__(self, mapping: ColumnMapping, source: int, file: str) -> None:
        self.source = source
        self.file = file
        self.width = len(mapping.columns)
        self.index = mapping.index_of()
        self.headers = {c.field: c.header for c in mapping.columns if c.field is not None}
        contacts: dict[int, dict[str, int]] = {}
        consents: dict[str, dict[str, int]] = {}
        for name, position in self.index.items():
            match = _CONTACT_FIELD.match(name)
            if match:
                contacts.setdefault(int(match.group(1) or 1), {})[match.group(2)] = position
            elif name.startswith("consent_"):
                for ref_type in PUBLIC_TYPES:
                    for detail in CONSENT_DETAILS:
                        if name == f"consent_{ref_type}_{detail}":
                            consents.setdefault(ref_type, {})[detail] = position
        self.contact_columns = [contacts[n] for n in sorted(contacts)]
        self.consent_columns = consents
        self.text_columns = [(f, self.index[f]) for f in TEXT_FIELDS if f in self.index]

    def parse(self, records: Iterable[tuple[int, list[str]]]) -> tuple[list[ImportRow], list[Skipped]]:
        rows: list[ImportRow] = []
        skipped: list[Skipped] = []
        for line, cells in records:
            try:
                rows.append(self._row(line, cells))
            except _BadRow as exc:
                skipped.append(Skipped(line, str(exc), self.file))
        return rows, skipped

    def _cell(self, cells: list[str], field_name: str) -> str:
        position = self.index.get(field_name)
        if position is None or position >= len(cells):
            return ""
        return unescape_cell(cells[position].strip())

    def _at(self, cells: list[str], position: int) -> str:
        return unescape_cell(cells[position].strip()) if position < len(cells) else ""

    def _row(self, line: int, cells: list[str]) -> ImportRow:
        if len(cells) > self.width and any(c.strip() for c in cells[self.width :]):
            raise _BadRow("more cells than headers")
        self._check_sizes(cells)
        name = self._cell(cells, "name")
        if not name:
            raise _BadRow("no customer name")
        if len(name) > 200:
            raise _BadRow("name longer than 200 characters")
        row = ImportRow(self.source, line, name, company_key(name), normalise_domain(self._cell(cells, "domain")))
        for field_name, position in self.text_columns:
            value = self._at(cells, position)
            if value:
                limit = _SHORT_FIELDS.get(field_name)
                row.values[field_name] = value[:limit] if limit else value
        if "products" in self.index:
            row.products = split_list(self._cell(cells, "products"))
        if "topics" in self.index:
            row.topics = split_list(self._cell(cells, "topics"))
        flag = self._cell(cells, "referenceable").lower()
        if flag:
            if flag not in TRUE_WORDS and flag not in FALSE_WORDS:
                raise _BadRow(f"referenceable must be yes or no, not {flag!r}")
            row.referenceable = flag in TRUE_WORDS
        row.consents = self._consents(cells)
        self._owner(cells, row)
        for columns in self.contact_columns:
            name_cell = self._at(cells, columns["name"]) if "name" in columns else ""
            email = self._at(cells, columns["email"]) if "email" in columns else ""
            if name_cell or email:  # a contact known only by e-mail has no name (shown as the e-mail)
                title = self._at(cells, columns["title"]) if "title" in columns else ""
                row.contacts.append(ContactIn(name_cell[:200], title[:200], email[:320]))
        return row

    def _check_sizes(self, cells: list[str]) -> None:
        """Skip a row holding a cell no field could keep, naming the column and both sizes."""
        for field_name, position in self.index.items():
            if position < len(cells) and len(cells[position]) > MAX_CELL:
                size = len(cells[position].strip())
                if size > MAX_CELL:
                    header = self.headers.get(field_name, field_name)
                    limit = _FIELD_LIMITS.get(_CONTACT_FIELD.sub(r"contact_\2", field_name), MAX_CELL)
                    raise _BadRow(f"{header} is {size:,} characters long; refbot keeps at most {limit:,}")

    def _consents(self, cells: list[str]) -> list[ConsentIn]:
        cell = self._cell(cells, "consents")
        if not cell and not self.consent_columns:
            return []
        listed: list[str] = []
        for item in split_list(cell):
            value = "_".join(item.lower().replace("-", " ").split())
            if value not in PUBLIC_TYPES:
                public = ", ".join(PUBLIC_TYPES)
                raise _BadRow(f"unknown public reference type {item!r} in consents (use {public})")
            listed.append(RefType(value).value)
        if not self.consent_columns:  # a plain list of types: no approver or dates to read
            return [ConsentIn(ref_type, None, None, None) for ref_type in dict.fromkeys(listed)]
        consents: list[ConsentIn] = []
        for ref_type in PUBLIC_TYPES:
            columns = self.consent_columns.get(ref_type, {})
            details = {detail: self._at(cells, position) for detail, position in columns.items()}
            if ref_type not in listed and not any(details.values()):
                continue
            dates: dict[str, date | None] = {}
            for detail in ("approved_on", "expires_on"):
                try:
                    dates[detail] = parse_date(details.get(detail, ""))
                except ValueError:
                    header = self.headers.get(f"consent_{ref_type}_{detail}", detail)
                    raise _BadRow(f"{header} {details[detail]!r} is not a date like 2024-09-30") from None
            approved_by = details.get("approved_by") if "approved_by" in columns else None
            consents.append(ConsentIn(ref_type, approved_by, dates["approved_on"], dates["expires_on"]))
        return consents

    def _owner(self, cells: list[str], row: ImportRow) -> None:
        slack_id = self._cell(cells, "owner_slack_id")
        if slack_id:
            if not is_user_id(slack_id):
                raise _BadRow(f"owner_slack_id {slack_id!r} is not a Slack user ID like U012ABCDEF")
            row.owner_id = slack_id
        for field_name in ("owner_email", "owner"):
            value = self._cell(cells, field_name)
            if not value:
                continue
            if is_email(value):
                row.owner_email = row.owner_email or value[:320]
            elif is_user_id(value):
                row.owner_id = row.owner_id or value
            else:
                row.owner_problem = value
