"""`refbot import` of messy lists and `refbot export`: header mapping, merging, encodings, round trips.

Small generated files, every database test on SQLite and PostgreSQL. The 100,000-row figures are the
benchmark's job (bench/import_bench.py), not a test's.
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from bot.app import make_client
from bot.cli import main
from bot.exporter import export_customers
from bot.importing import (
    ImportFailed,
    ImportOptions,
    ImportReport,
    SlackOwnerDirectory,
    company_key,
    import_files,
    parse_overrides,
    same_company_name,
)
from bot.importing.fields import map_headers
from bot.importing.progress import silent, terminal_progress
from bot.importing.rows import escape_cell, unescape_cell
from bot.settings import Settings
from models import AuditEntry, Base, Consent, Contact, Customer
from models.db import Database
from slackfake.server import FakeSlack
from tests import factories
from tests.test_importer import by_name, counts, customers

# -- helpers -------------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "list.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def run(db: Database, *paths: Path, **options: Any) -> ImportReport:
    owners = options.pop("owners", None)
    if "overrides" in options:
        options["overrides"] = parse_overrides(options["overrides"])
    return import_files(db, list(paths), ImportOptions(**options), owners=owners)


def conflicts(report: ImportReport) -> list[tuple[str, str, str, str, str, int]]:
    return [(c.customer, c.field, c.old, c.new, Path(c.file).name, c.line) for c in report.conflicts]


def skipped(report: ImportReport) -> list[tuple[str, int, str]]:
    return [(Path(s.file).name, s.line, s.reason) for s in report.skipped]


def snapshot(db: Database) -> list[tuple[Any, ...]]:
    """Everything an export must carry, per customer, independent of ids."""
    return sorted(
        (
            c.name,
            c.name_key,
            c.domain,
            c.industry,
            c.region,
            c.segment,
            tuple(c.products),
            tuple(c.topics),
            c.owner_slack_id,
            c.owner_email,
            c.referenceable,
            c.not_referenceable_reason,
            c.guidance,
            c.notes,
            tuple((x.name, x.title, x.email, x.is_primary) for x in c.contacts),
            tuple(sorted((x.ref_type, x.approved_by, x.approved_on, x.expires_on) for x in c.consents)),
        )
        for c in customers(db)
    )


def wipe(db: Database) -> None:
    with db.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())


def refbot(*args: str) -> int:
    return main(["--env-file", "/nonexistent", *args])


CRM = (
    "Account Name;Website;Account Owner;Vertical;Geo;Annual Revenue\n"
    "Acme, Inc.;https://www.acme.com/about;UOWNER001;Fintech;EMEA;120000\n"
    "Globex Corporation;globex.com;;Energy;NA;90000\n"
)


# -- header mapping ------------------------------------------------------------------------------------


def test_common_header_spellings_are_mapped(db: Database, tmp_path: Path) -> None:
    report = run(db, write(tmp_path, CRM, "crm.csv"))
    assert (report.created, report.skipped) == (2, [])
    acme = by_name(db)["Acme, Inc."]
    assert (acme.domain, acme.owner_slack_id, acme.industry, acme.region) == (
        "acme.com",
        "UOWNER001",
        "Fintech",
        "EMEA",
    )


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Account Name", "name"),
        ("Company", "name"),
        ("Customer", "name"),
        ("Organisation", "name"),
        ("organization_name", "name"),
        ("Website", "domain"),
        ("URL", "domain"),
        ("Domain", "domain"),
        ("Account Owner", "owner"),
        ("CSM", "owner"),
        ("Owner Email", "owner_email"),
        ("owner_slack_id", "owner_slack_id"),
        ("Vertical", "industry"),
        ("Sector", "industry"),
        ("Geo", "region"),
        ("Territory", "region"),
        ("Contact E-mail", "contact_email"),
        ("Approved Uses", "consents"),
        ("contact_2_title", "contact_2_title"),
        ("consent_logo_expires_on", "consent_logo_expires_on"),
        ("Annual Revenue", None),
    ],
)
def test_header_spellings(header: str, field: str | None) -> None:
    (column,) = map_headers([header], {}).columns
    assert column.field == field


def test_map_overrides_win_and_can_ignore_a_column(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "Company,Legal entity,Segment,Vertical\nacme-internal,Acme Ltd,Enterprise,Fintech\n")
    report = run(db, path, overrides=["Legal entity=name", "company=ignore", "Vertical=-"])
    assert report.created == 1
    (acme,) = customers(db)
    assert (acme.name, acme.segment, acme.industry) == ("Acme Ltd", "Enterprise", "")


def test_map_errors_are_one_sentence(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="refbot has no field 'colour'"):
        parse_overrides(["Favourite=colour"])
    with pytest.raises(ValueError, match='should look like "Header=field"'):
        parse_overrides(["name"])
    with pytest.raises(ImportFailed, match="--map names a column no file has: 'acct'"):
        run(db, write(tmp_path, "Name\nAcme\n"), overrides=["Acct=name"])
    assert counts(db) == (0, 0, 0, 0)


def test_cli_prints_the_mapping_it_used(cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crm = write(tmp_path, CRM, "crm.csv", encoding="latin-1")
    canonical = write(tmp_path, "name,domain\nInitech,initech.com\n", "canonical.csv")
    assert refbot("import", str(crm), str(canonical), "--map", "Annual Revenue=ignore") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:8] == [
        f"{crm}: CSV, semicolon-separated, UTF-8, 2 rows; columns used:",
        "  Account Name   → name",
        "  Website        → domain",
        "  Account Owner  → owner",
        "  Vertical       → industry",
        "  Geo            → region",
        "  Annual Revenue → (ignored)",
        f"{crm} + {canonical}: 3 created, 0 updated, 0 skipped",
    ]  # the canonical file's headers needed no interpretation, so no mapping is printed for it


def test_a_title_block_above_the_header_is_skipped(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path, "Customer list Q3,,\nexported 2026-10-01,,\n,,\nCustomer,Region,Notes\nAcme,EMEA,x\n,EMEA,\n"
    )
    report = run(db, path)
    assert [c.name for c in customers(db)] == ["Acme"]
    assert skipped(report) == [("list.csv", 6, "no customer name")]


# -- merge rules ---------------------------------------------------------------------------------------


def test_empty_values_fill_and_never_erase(db: Database, tmp_path: Path) -> None:
    a = write(tmp_path, "Company,URL,Sector,Geo\nAcme Corp,acme.com,,EMEA\n", "a.csv")
    b = write(tmp_path, "Company,URL,Sector,Geo\nACME Corporation,,Fintech,\n", "b.csv")
    report = run(db, a, b)
    assert (report.created, report.merged, report.conflicts) == (1, 1, [])
    (acme,) = customers(db)
    assert (acme.name, acme.domain, acme.industry, acme.region) == ("ACME Corporation", "acme.com", "Fintech", "EMEA")


def test_lists_contacts_and_consents_are_unioned(db: Database, tmp_path: Path) -> None:
    a = write(
        tmp_path,
        "name,domain,products,topics,contact_name,contact_email,consents\n"
        "Acme,acme.com,Payments; Ledger,SSO,Jane Doe,jane@acme.com,logo\n",
        "a.csv",
    )
    b = write(
        tmp_path,
        "Customer,Website,Products,Use Cases,Contact,Contact Email,Contact Title,Approved Uses\n"
        'Acme Inc,www.acme.com,"ledger, Cards",SOC 2,Jane Doe,JANE@acme.com,CFO,"Case Study, Logo"\n'
        "Acme Inc,acme.com,,,Max Muster,max@acme.com,,\n",
        "b.csv",
    )
    report = run(db, a, b)
    assert (report.created, report.merged, report.conflicts) == (1, 2, [])
    (acme,) = customers(db)
    assert acme.products == ["Payments", "Ledger", "Cards"]
    assert acme.topics == ["SSO", "SOC 2"]
    assert [(c.name, c.email, c.title, c.is_primary) for c in acme.contacts] == [
        ("Jane Doe", "jane@acme.com", "CFO", True),
        ("Max Muster", "max@acme.com", "", False),
    ]
    assert sorted(c.ref_type for c in acme.consents) == ["case_study", "logo"]


def test_a_real_conflict_keeps_the_newest_value_and_is_reported(db: Database, tmp_path: Path) -> None:
    a = write(
        tmp_path, "name,domain,industry,region\nAcme,acme.com,Fintech,EMEA\nAcme,acme.com,Banking,emea\n", "a.csv"
    )
    b = write(tmp_path, "Company,URL,Sector,Territory\nAcme Inc,acme.com,Insurance,EMEA\n", "b.csv")
    report = run(db, a, b)
    (acme,) = customers(db)
    assert (acme.industry, acme.region) == ("Insurance", "EMEA")
    assert conflicts(report) == [  # once, with every value that lost; "emea" vs "EMEA" is not a conflict
        ("Acme Inc", "industry", "Fintech / Banking", "Insurance", "b.csv", 2),
    ]
    summary = report.summary().splitlines()
    assert "  1 conflict (the newest value was kept):" in summary
    assert f"    Acme Inc · industry: 'Fintech / Banking' → 'Insurance' ({b} line 2)" in summary
    audit = {(e.action, e.details["file"]): e.details.get("conflicts") for e in _audit(db)}
    assert audit == {  # one row for the customer the run created, naming both files
        ("customer.imported", "a.csv + b.csv"): [
            {"field": "industry", "old": "Fintech / Banking", "new": "Insurance", "file": "b.csv", "line": 2}
        ],
    }


def _audit(db: Database) -> list[AuditEntry]:
    with db.reading() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_the_list_is_newer_than_the_database(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        factories.customer(session, "Initech", industry="Software", region="NA", products=("Billing",))
    report = run(db, write(tmp_path, 'Company,Sector,Products,Geo\n"Initech, Inc.",Retail,Ledger,\n'))
    assert (report.created, report.updated) == (0, 1)
    (initech,) = customers(db)
    assert (initech.name, initech.industry, initech.region, initech.products) == (
        "Initech, Inc.",
        "Retail",
        "NA",
        ["Billing", "Ledger"],
    )
    assert conflicts(report) == [("Initech, Inc.", "industry", "Software", "Retail", "list.csv", 2)]


def test_a_typo_does_not_rename_a_customer_but_a_new_spelling_does(db: Database, tmp_path: Path) -> None:
    rows = "Customer\nBrightwave Analytics\nBrightwave Analytics Inc\nBrigthwave Analytics\n"
    report = run(db, write(tmp_path, rows))
    assert (report.created, report.merged, report.conflicts) == (1, 2, [])
    assert [c.name for c in customers(db)] == ["Brightwave Analytics Inc"]  # the typo is the rarer spelling


def test_owner_conflict_is_reported_and_newest_wins(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "name,owner_slack_id\nAcme,UOWNER001\nAcme,UOTHER001\n")
    report = run(db, path)
    assert by_name(db)["Acme"].owner_slack_id == "UOTHER001"
    assert conflicts(report) == [("Acme", "owner", "UOWNER001", "UOTHER001", "list.csv", 3)]


def test_rows_read_are_created_updated_merged_or_skipped(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        factories.customer(session, "Umbrella")
    path = write(tmp_path, "Company,Notes\nAcme,\nACME INC,\nUmbrella Corp,\nUmbrella,\n\n,a note\nHooli,\n")
    report = run(db, path)
    counted = (report.rows_read, report.created, report.updated, report.unchanged, report.merged, len(report.skipped))
    assert counted == (6, 2, 0, 1, 2, 1)  # Umbrella is in refbot already, as the list says
    assert report.summary().splitlines()[:3] == [
        f"{path}: 2 created, 0 updated, 1 skipped, 1 already up to date",
        "  2 duplicate rows merged into the same customers",
        "  line 7: no customer name",
    ]


# -- same company, and not -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Acme, Inc.", "ACME Incorporated", True),
        ("Acme Inc", "acme", True),
        ("The Acme Company", "Acme Co.", True),
        ("A.C.M.E. GmbH", "Acme AG", True),
        ("Smith & Co", "Smith", True),
        ("Procter & Gamble", "Procter and Gamble Ltd", True),
        ("Müller Präzision", "Muller Prazision", True),
        ("Brightwave Analytics", "Brigthwave Analytics", True),
        ("Globex Corporation", "Globex Corporaton", True),
        ("Acme Bank", "Acme Foods", False),
        ("Acme", "Acme Bank", False),
        ("Acme 2", "Acme 3", False),
        ("Acme", "Acne", False),
        ("North Harbor", "South Harbor", False),
        ("Globex", "Globex Ventures", False),
    ],
)
def test_same_company_name(a: str, b: str, same: bool) -> None:
    assert same_company_name(company_key(a), company_key(b)) is same


def test_names_and_domains_that_are_one_company_merge(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Customer,Website\n"
        '"Acme, Inc.",\n'
        "ACME Incorporated,\n"
        "Acme Inc,\n"
        "Northwind Payments,https://www.northwind.io/about\n"
        "NW Payments GmbH,northwind.io\n"
        "Northwind (EU),jane@northwind.io\n",
    )
    report = run(db, path)
    assert (report.created, report.merged) == (2, 4)
    assert sorted((c.name, c.domain) for c in customers(db)) == [
        ("Acme Inc", None),
        ("Northwind (EU)", "northwind.io"),
    ]
    assert [(c.customer, c.field, c.old) for c in report.conflicts] == [
        ("Northwind (EU)", "name", "Northwind Payments / NW Payments GmbH"),
    ]  # different names joined by their domain: worth a look, once


def test_different_companies_stay_apart(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Company,URL\n"
        "Acme Bank,\n"
        "Acme Foods,\n"
        "Summit Health,summithealth.com\n"
        "Summit Health Ltd,summithealth.co.uk\n"
        "Summit Health,\n"
        "Foo Ltd,jane@gmail.com\n"
        "Bar plc,joe@gmail.com\n",
    )
    report = run(db, path)
    assert report.created == 6
    found = sorted((c.name, c.domain) for c in customers(db))
    assert found == [
        ("Acme Bank", None),
        ("Acme Foods", None),
        ("Bar plc", None),  # a webmail address says nothing about the company
        ("Foo Ltd", None),
        ("Summit Health", "summithealth.com"),  # the row without a domain joins the first one met
        ("Summit Health Ltd", "summithealth.co.uk"),
    ]


def test_merging_within_a_file_across_files_and_with_the_database(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        factories.customer(session, "Initech")
    a = write(tmp_path, "Company,Sector\nGlobex Corporation,Energy\nGlobex Corp.,\nInitech Inc,Retail\n", "a.csv")
    b = write(tmp_path, "Customer;Region\nGLOBEX;NA\nInitech;EMEA\nHooli;NA\n", "b.csv")
    report = run(db, a, b)
    assert (report.created, report.updated, report.merged) == (2, 1, 3)
    found = {c.name: (c.industry, c.region) for c in customers(db)}
    assert found == {"Initech": ("Retail", "EMEA"), "GLOBEX": ("Energy", "NA"), "Hooli": ("", "NA")}
    entries = [(e.action, e.details["file"]) for e in _audit(db)]
    assert sorted(entries) == sorted(  # one row per customer the run created or changed
        [
            ("customer.imported", "a.csv + b.csv"),  # Globex, from both files
            ("customer.updated_by_import", "a.csv + b.csv"),  # Initech, in the database already
            ("customer.imported", "b.csv"),  # Hooli
        ]
    )


def test_importing_the_same_lists_again_creates_nothing(db: Database, tmp_path: Path) -> None:
    a = write(tmp_path, "Company,URL\nBrightwave Analytics,\nBrigthwave Analytics,bw.io\nAcme Inc,\n", "a.csv")
    b = write(tmp_path, "Customer\nBRIGHTWAVE ANALYTICS LLC\nacme\n", "b.csv")
    first = run(db, a, b)
    again = run(db, a, b)
    assert (first.created, again.created, again.updated, again.unchanged) == (2, 0, 0, 2)
    assert counts(db)[0] == 2


# -- encodings, delimiters, workbooks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "prefix", "label"),
    [
        ("utf-8", "", "UTF-8"),
        ("utf-8", "\ufeff", "UTF-8 with BOM"),
        ("latin-1", "", "Windows-1252/Latin-1"),
        ("cp1252", "", "Windows-1252/Latin-1"),
        ("utf-16", "", "UTF-16"),
    ],
)
def test_encodings(db: Database, tmp_path: Path, encoding: str, prefix: str, label: str) -> None:
    name = "O’Brien Café" if encoding != "latin-1" else "Café Société"
    path = write(tmp_path, f"{prefix}Account Name,Geo\n{name},Île-de-France\n", encoding=encoding)
    seen: list[str] = []
    report = import_files(db, [path], ImportOptions(), on_source=lambda s: seen.append(s.details))
    assert (report.created, report.skipped) == (1, [])
    assert seen == [f"comma-separated, {label}"]
    (customer,) = customers(db)
    assert (customer.name, customer.region) == (name, "Île-de-France")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(db: Database, tmp_path: Path, delimiter: str) -> None:
    text = "\n".join(
        delimiter.join(cells)
        for cells in [
            ["Company", "Website", "Products"],
            ['"Acme, Inc."', "acme.com", '"Payments; Ledger"'],
            ["Hooli", "hooli.com", "Cards"],
        ]
    )
    run(db, write(tmp_path, text + "\n"))
    assert sorted((c.name, c.domain, tuple(c.products)) for c in customers(db)) == [
        ("Acme, Inc.", "acme.com", ("Payments", "Ledger")),
        ("Hooli", "hooli.com", ("Cards",)),
    ]


def test_xlsx_first_sheet_or_the_named_one(db: Database, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "lists.xlsx",
        {
            "Accounts": [
                ["Report: advocates"],
                [],
                ["Company", "URL", "Since", "Seats"],
                ["Acme", "acme.com", date(2020, 5, 1), 12.0],
            ],
            "Prospects": [["Organisation"], ["Globex"]],
        },
    )
    first = run(db, path)
    assert (first.created, first.skipped) == (1, [])
    assert [c.name for c in customers(db)] == ["Acme"]
    second = run(db, path, sheet="prospects")
    assert second.created == 1
    assert sorted(c.name for c in customers(db)) == ["Acme", "Globex"]
    with pytest.raises(ImportFailed, match=r"has no sheet 'Nope' \(its sheets: 'Accounts', 'Prospects'\)"):
        import_files_single(db, path, sheet="Nope")


def import_files_single(db: Database, path: Path, **options: Any) -> ImportReport:
    report = run(db, path, **options)
    if report.failed:
        raise ImportFailed(report.failed[0].message)
    return report


def test_xlsx_bad_rows_have_their_sheet_row_numbers(db: Database, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "m.xlsx",
        {
            "Sheet": [
                ["Marketing list"],
                ["Company", "Referenceable"],
                ["Acme", "yes"],
                [None, "yes"],
                ["Hooli", "maybe"],
            ]
        },
    )
    report = run(db, path)
    assert skipped(report) == [
        ("m.xlsx", 4, "no customer name"),
        ("m.xlsx", 5, "referenceable must be yes or no, not 'maybe'"),
    ]


# -- unusable files and bad rows -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.xlsx", b"PK\x03\x04 this is not really a workbook", "is not a readable XLSX workbook"),
        ("old.xls", b"\xd0\xcf\x11\xe0 an old workbook", "old Excel .xls workbook"),
        ("binary.csv", b"\x00\x01\x02 not text", "is not a CSV text file"),
        (
            "headers.csv",
            b"Revenue,Region\n100,EMEA\n",
            "has no 'name' column: none of its headers ('Revenue', 'Region')",
        ),
        ("empty.csv", b"", "has no 'name' column: the file is empty"),
        ("quote.csv", b'name,notes\nAcme,"never closed\nGlobex,fine\n', "is not valid CSV: the quoted cell"),
    ],
)
def test_a_file_that_cannot_be_parsed_changes_nothing(
    db: Database, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    run(db, write(tmp_path, "name\nExisting\n", "seed.csv"))
    before = counts(db)
    bad = tmp_path / name
    bad.write_bytes(content)
    good = write(tmp_path, "Company\nHooli\n", "good.csv")
    report = run(db, bad, good)
    assert [(Path(f.file).name, message in f.message) for f in report.failed] == [(name, True)]
    assert counts(db) == (before[0] + 1, 0, 0, before[3] + 1)  # only good.csv's customer
    assert report.files == [str(good)]


def test_bad_rows_are_reported_with_file_and_line(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write(tmp_path, "Company,Approved Uses\nAcme,logo\n,logo\nInitech,billboard\n", "a.csv")
    b = write(tmp_path, 'name,consent_logo_approved_on\nHooli,2024-13-01\n"Multi\nline",\n', "b.csv")
    assert refbot("import", str(a), str(b)) == 0
    out = capsys.readouterr().out.splitlines()
    public = "case_study, press_release, analyst, media, logo, quote"
    assert out[-4:] == [
        f"{a} + {b}: 2 created, 0 updated, 3 skipped",
        f"  {a} line 3: no customer name",
        f"  {a} line 4: unknown public reference type 'billboard' in consents (use {public})",
        f"  {b} line 2: consent_logo_approved_on '2024-13-01' is not a date like 2024-09-30",
    ]
    assert sorted(by_name(cli_env)) == ["Acme", "Multi\nline"]


def test_cli_bad_file_exits_non_zero_and_the_rest_imports(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 nope")
    good = write(tmp_path, "Company\nHooli\n", "good.csv")
    assert refbot("import", str(bad), str(good)) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"refbot: {bad} is not a readable XLSX workbook")
    assert captured.err.rstrip().endswith("; nothing was imported from it.")
    assert "Traceback" not in captured.err
    assert captured.out.splitlines()[-1] == f"{good}: 1 created, 0 updated, 0 skipped"


def test_cli_dry_run_and_report(cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "Company,Sector\nAcme,Fintech\nACME INC,Banking\n,Retail\n=cmd|' /C calc'!A0,Retail\n")
    report_csv = tmp_path / "report.csv"
    assert refbot("import", "--dry-run", "--report", str(report_csv), str(path)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"report written to {report_csv}"
    assert f"{path}: 2 created, 0 updated, 1 skipped (dry run: nothing written)" in out
    assert counts(cli_env) == (0, 0, 0, 0)
    rows = list(csv.reader(io.StringIO(report_csv.read_text(encoding="utf-8-sig"))))
    assert rows == [
        ["kind", "file", "line", "customer", "field", "old_value", "new_value", "reason"],
        ["created", str(path), "2", "ACME INC", "", "", "", ""],
        ["merged", str(path), "3", "ACME INC", "", "", "", ""],
        ["created", str(path), "5", "'=cmd|' /C calc'!A0", "", "", "", ""],  # neutralised for spreadsheets
        ["skipped", str(path), "4", "", "", "", "", "no customer name"],
        ["conflict", str(path), "3", "ACME INC", "industry", "Fintech", "Banking", "newest value kept"],
    ]
    assert refbot("import", "--report", str(tmp_path / "missing" / "r.csv"), str(path)) == 1
    assert "the folder" in capsys.readouterr().err


# -- owners --------------------------------------------------------------------------------------------


def _settings(fake: FakeSlack) -> Settings:
    return Settings(slack_bot_token="xoxb-test", slack_api_url=fake.url, slack_timeout_seconds=3)


def test_owner_emails_are_resolved_in_slack(db: Database, tmp_path: Path, fake: FakeSlack) -> None:
    fake.add_user("UCSM00001", "casey", email="casey@vendor.example")
    path = write(
        tmp_path,
        "Company,CSM\nAcme,Casey@Vendor.example\nGlobex,nobody@vendor.example\nInitech,Jane Smith\nHooli,UOWNER001\n",
    )
    report = run(db, path, owners=SlackOwnerDirectory(make_client(_settings(fake))))
    found = {c.name: (c.owner_slack_id, c.owner_email) for c in customers(db)}
    assert found == {
        "Acme": ("UCSM00001", "Casey@Vendor.example"),
        "Globex": (None, "nobody@vendor.example"),
        "Initech": (None, None),
        "Hooli": ("UOWNER001", None),
    }
    assert [(o.customer, o.owner, o.reason, o.line) for o in report.unresolved_owners] == [
        ("Globex", "nobody@vendor.example", "kept as e-mail: no Slack user has this address", 3),
        ("Initech", "Jane Smith", "neither a Slack user ID nor an e-mail address: left unset", 4),
    ]
    assert len(fake.calls("users.lookupByEmail")) == 2  # once per distinct address


def test_owner_lookup_through_the_cli(
    cli_env: Database,
    tmp_path: Path,
    fake: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.add_user("UCSM00001", "casey", email="casey@vendor.example")
    path = write(tmp_path, "Customer,Owner Email\nAcme,casey@vendor.example\nGlobex,gone@vendor.example\n")
    assert refbot("import", str(path)) == 0  # no token: kept as e-mail and reported
    assert "SLACK_BOT_TOKEN is not set" in capsys.readouterr().out
    assert by_name(cli_env)["Acme"].owner_slack_id is None
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", fake.url)
    assert refbot("import", str(path)) == 0
    out = capsys.readouterr().out
    assert "gone@vendor.example (1 row)" in out and "no Slack user has this address" in out
    assert {c.name: c.owner_slack_id for c in customers(cli_env)} == {"Acme": "UCSM00001", "Globex": None}


# -- export and the round trip -------------------------------------------------------------------------

TRICKY = ['=HYPERLINK("http://evil","x")', "+49 30 1234", "-", "@risk", "'quoted", "'=already"]


def _seed_everything(db: Database) -> None:
    with db.transaction() as session:
        acme = Customer(
            name="Acme, Inc.",
            name_key="acme, inc.",
            domain="acme.com",
            industry="Fintech",
            region="EMEA",
            segment="Enterprise",
            products=["Payments", "Ledger, EU"],
            topics=["SSO", "SOC 2"],
            owner_slack_id="UOWNER001",
            owner_email="olivia@example.com",
            referenceable=False,
            not_referenceable_reason="Renewal at risk; ask Olivia",
            guidance="Don't mention the outage.\nSecond line.",
            notes=TRICKY[0],
        )
        acme.contacts += [
            Contact(name="Jane Doe", title="VP Finance", email="jane@acme.com", is_primary=True),
            Contact(name="Max Müller", title=TRICKY[1], email="max@acme.com", is_primary=False),
            Contact(name="Zoë", title="", email="", is_primary=False),
        ]
        acme.consents += [
            Consent(
                ref_type="logo",
                approved_by="Carla (CMO)",
                approved_on=date(2024, 9, 30),
                expires_on=date(2026, 9, 30),
                recorded_by="UMANAGER1",
            ),
            Consent(ref_type="quote", approved_by="", approved_on=None, expires_on=None, recorded_by="UMANAGER1"),
        ]
        plain = Customer(name="Hooli", name_key="hooli", products=["Ledger, EU"], topics=[])
        tricky = Customer(
            name=TRICKY[2] + " Tricky",
            name_key="- tricky",
            domain="tricky.example",
            industry=TRICKY[3],
            region=TRICKY[4],
            segment=TRICKY[5],
            products=[],
            topics=[],
        )
        session.add_all([acme, plain, tricky])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_reproduces_the_list(db: Database, tmp_path: Path, fmt: str) -> None:
    _seed_everything(db)
    before = snapshot(db)
    path = tmp_path / f"customers.{fmt}"
    assert export_customers(db, path, fmt) == 3
    wipe(db)
    report = run(db, path)
    assert (report.created, report.skipped, report.conflicts) == (3, [], [])
    assert [(o.owner, o.reason) for o in report.unresolved_owners] == [  # no Slack to check it in
        ("UOWNER001", "kept unchecked: SLACK_BOT_TOKEN is not set, so it was not checked in Slack")
    ]
    assert snapshot(db) == before
    again = run(db, path)  # and importing it over the same list changes nothing
    assert (again.created, again.updated, again.unchanged, again.conflicts) == (0, 0, 3, [])
    assert snapshot(db) == before


def test_export_neutralises_formulas(db: Database, tmp_path: Path) -> None:
    _seed_everything(db)
    path = tmp_path / "customers.csv"
    export_customers(db, path, "csv")
    records = {r["name"]: r for r in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))}
    acme, tricky = records["Acme, Inc."], records["'- Tricky"]
    assert acme["notes"] == "'" + TRICKY[0]
    assert acme["contact_2_title"] == "'+49 30 1234"
    assert acme["products"] == "Payments; Ledger, EU"
    assert records["Hooli"]["products"] == "Ledger, EU;"  # one item with a comma stays one item
    assert (tricky["industry"], tricky["region"], tricky["segment"]) == ("'@risk", "'quoted", "''=already")
    assert (acme["consent_logo_approved_on"], acme["consent_logo_expires_on"]) == ("2024-09-30", "2026-09-30")
    book = tmp_path / "customers.xlsx"
    export_customers(db, book, "xlsx")
    sheet = load_workbook(book).worksheets[0]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)  # no formula survives


@pytest.mark.parametrize("value", ["=1+2", "+1", "-", "@x", "'", "'quoted", "''=x", "plain", ""])
def test_cell_escaping_round_trips(value: str) -> None:
    assert unescape_cell(escape_cell(value)) == value
    assert not escape_cell(value).startswith(("=", "+", "-", "@"))


@given(st.text(alphabet=st.sampled_from("'=+-@\t\rab "), max_size=8) | st.text(max_size=20))
def test_any_cell_round_trips_and_never_starts_a_formula(value: str) -> None:
    escaped = escape_cell(value)
    assert unescape_cell(escaped) == value
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_cli_export(cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _seed_everything(cli_env)
    assert refbot("export") == 0
    out = capsys.readouterr().out
    assert out.startswith("name,domain,industry,region,segment,products,topics,owner_slack_id,owner_email,")
    assert len(list(csv.DictReader(io.StringIO(out)))) == 3
    assert refbot("export", "--format", "xlsx") == 1
    assert "--format xlsx needs --output FILE.xlsx" in capsys.readouterr().err
    book = tmp_path / "out.xlsx"
    assert refbot("export", "--output", str(book)) == 0  # the format follows the file name
    assert capsys.readouterr().err == f"exported 3 customers to {book}\n"
    assert load_workbook(book, read_only=True).worksheets[0].title == "Customers"


def test_progress_is_drawn_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert terminal_progress() is silent
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert terminal_progress() is not silent
