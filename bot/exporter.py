"""`refbot export`: the whole customer list, in the columns `refbot import` reads, so a round trip is exact.

One row per customer. Beyond the canonical columns it writes `owner_email`, `not_referenceable_reason`,
`guidance` and `notes`; every contact (`contact_name`… for the primary one, then `contact_2_name`…); and,
per public reference type, who approved it and when it expires (`consent_logo_approved_by`,
`consent_logo_approved_on`, `consent_logo_expires_on`). docs/IMPORT.md describes the format.

Cells a spreadsheet would run as a formula (starting with = + - @) get a leading apostrophe; the importer
removes exactly that apostrophe again.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.importing.cells import escape_cell
from bot.importing.fields import CONSENT_DETAILS, PUBLIC_TYPES
from models import Consent, Contact, Customer
from models.customer import PROFILE_FIELDS, STANDING_FIELDS
from models.db import Database

FORMATS = ("csv", "xlsx")
_PAGE = 1000
_CUSTOMER_COLUMNS = [*PROFILE_FIELDS, "owner_email", *STANDING_FIELDS]


def export_columns(contacts: int) -> list[str]:
    """The header row for a list whose customers have at most `contacts` contacts."""
    columns = [*_CUSTOMER_COLUMNS, "contact_name", "contact_title", "contact_email"]
    for number in range(2, contacts + 1):
        columns += [f"contact_{number}_name", f"contact_{number}_title", f"contact_{number}_email"]
    columns.append("consents")
    columns += [f"consent_{ref_type}_{detail}" for ref_type in PUBLIC_TYPES for detail in CONSENT_DETAILS]
    return columns


def join_list(items: list[str]) -> str:
    """["Payments", "Ledger"] → "Payments; Ledger"; a lone item with a comma gets a trailing ";" to stay one."""
    if len(items) == 1 and "," in items[0]:
        return items[0] + ";"
    return "; ".join(items)


def _records(session: Session, contacts_width: int) -> Iterator[list[Any]]:
    """Customer rows in id order, a page at a time, with their contacts and consents."""
    last = 0
    while True:
        page = list(session.scalars(select(Customer).where(Customer.id > last).order_by(Customer.id).limit(_PAGE)))
        if not page:
            return
        last = page[-1].id
        ids = [c.id for c in page]
        contacts: dict[int, list[Contact]] = {}
        for contact in session.scalars(
            select(Contact).where(Contact.customer_id.in_(ids)).order_by(Contact.is_primary.desc(), Contact.id)
        ):
            contacts.setdefault(contact.customer_id, []).append(contact)
        consents: dict[int, dict[str, Consent]] = {}
        for consent in session.scalars(select(Consent).where(Consent.customer_id.in_(ids))):
            consents.setdefault(consent.customer_id, {})[consent.ref_type] = consent
        for customer in page:
            yield _record(customer, contacts.get(customer.id, []), consents.get(customer.id, {}), contacts_width)
        session.expunge_all()


def _record(customer: Customer, contacts: list[Contact], consents: dict[str, Consent], width: int) -> list[Any]:
    record: list[Any] = [
        customer.name,
        customer.domain or "",
        customer.industry,
        customer.region,
        customer.segment,
        join_list(list(customer.products or [])),
        join_list(list(customer.topics or [])),
        customer.owner_slack_id or "",
        customer.owner_email or "",
        "yes" if customer.referenceable else "no",
        customer.not_referenceable_reason,
        customer.guidance,
        customer.notes,
    ]
    for number in range(width):
        contact = contacts[number] if number < len(contacts) else None
        record += [contact.name, contact.title, contact.email] if contact else ["", "", ""]
    record.append("; ".join(t for t in PUBLIC_TYPES if t in consents))
    for ref_type in PUBLIC_TYPES:
        consent = consents.get(ref_type)
        record += [consent.approved_by, consent.approved_on, consent.expires_on] if consent else ["", None, None]
    return [escape_cell(value) if isinstance(value, str) else value for value in record]


def _contacts_width(session: Session) -> int:
    counts = select(func.count().label("n")).select_from(Contact).group_by(Contact.customer_id).subquery()
    return max(1, session.scalar(select(func.max(counts.c.n))) or 0)


def export_customers(db: Database, out: Path | TextIO, fmt: str = "csv") -> int:
    """Write every customer to a file (CSV or XLSX) or a text stream (CSV); returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    with db.reading() as session:
        width = _contacts_width(session)
        header = export_columns(width)
        records = _records(session, width)
        if fmt == "xlsx":
            if not isinstance(out, Path):
                raise ValueError("an XLSX export needs a file path")
            return _write_xlsx(out, header, records)
        if isinstance(out, Path):
            with out.open("w", newline="", encoding="utf-8-sig") as handle:  # the BOM tells Excel it is UTF-8
                return _write_csv(handle, header, records)
        return _write_csv(out, header, records)


def _write_csv(stream: TextIO, header: list[str], records: Iterator[list[Any]]) -> int:
    writer = csv.writer(stream)
    writer.writerow(header)
    count = 0
    for record in records:
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, date) else v for v in record])
        count += 1
    return count


def _write_xlsx(path: Path, header: list[str], records: Iterator[list[Any]]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Customers")
    sheet.append(header)
    count = 0
    for record in records:
        cells: list[Any] = []
        for value in record:
            if isinstance(value, date):
                cell = WriteOnlyCell(sheet, value)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            elif isinstance(value, str):
                cells.append(ILLEGAL_CHARACTERS_RE.sub("", value))  # control characters XLSX cannot hold
            else:
                cells.append(value)
        sheet.append(cells)
        count += 1
    book.save(path)
    return count
