"""`refbot import`: the canonical CSV into the customer database, upserting, never half-writing a bad file.

`import_csv` is called directly, and the command line through `bot.cli.main` against the test database
(DATABASE_URL from the environment; SQLite is upgraded in place, PostgreSQL is already migrated).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bot.cli import main
from bot.importer import ImportFailed, ImportReport, import_csv, normalise_domain
from models import AuditEntry, Consent, Contact, Customer
from models.db import Database
from tests import factories

HEADER = (
    "name,domain,industry,region,segment,products,topics,owner_slack_id,"
    "contact_name,contact_title,contact_email,referenceable,consents"
)
PUBLIC = "case_study, press_release, analyst, media, logo, quote"


def write(tmp_path: Path, text: str, name: str = "customers.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def customers(db: Database) -> list[Customer]:
    """Every customer with its contacts and consents loaded, by id."""
    with db.reading() as session:
        return list(
            session.scalars(
                select(Customer)
                .options(selectinload(Customer.contacts), selectinload(Customer.consents))
                .order_by(Customer.id)
            )
        )


def by_name(db: Database) -> dict[str, Customer]:
    return {c.name: c for c in customers(db)}


def counts(db: Database) -> tuple[int, ...]:
    """(customers, contacts, consents, audit rows): what a failed import must leave untouched."""
    with db.reading() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Customer, Contact, Consent, AuditEntry)
        )


def audit(db: Database) -> list[tuple[str, str, str, str, dict[str, object]]]:
    with db.reading() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(e.actor, e.action, e.entity, e.entity_id, e.details) for e in entries]


def skipped(report: ImportReport) -> list[tuple[int, str]]:
    return [(s.line, s.reason) for s in report.skipped]


# -- the canonical file ---------------------------------------------------------------------------------


def test_canonical_file_creates_customers(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "Acme Corp,https://www.Acme.com/about,Fintech,EMEA,Enterprise,Payments; Ledger ;Payments,SSO;SOC 2,"
        "UOWNER001,Jane Doe,VP Finance,jane@acme.com,yes,case_study; Logo\n"
        "Initech,,Retail,NA,SMB,,,,,,,no,\n",
    )
    report = import_csv(db, path)
    assert (report.created, report.updated, report.skipped, report.dry_run) == (2, 0, [], False)
    assert report.summary().splitlines() == [  # no token: the owner ID is kept, and said to be unchecked
        f"{path}: 2 created, 0 updated, 0 skipped",
        "  1 owner not confirmed as a Slack user:",
        "    kept unchecked: SLACK_BOT_TOKEN is not set, so it was not checked in Slack: UOWNER001 (1 row)",
    ]

    found = by_name(db)
    acme, initech = found["Acme Corp"], found["Initech"]
    assert (acme.domain, acme.name_key, acme.industry, acme.region, acme.segment) == (
        "acme.com",
        "acme corp",
        "Fintech",
        "EMEA",
        "Enterprise",
    )
    assert acme.products == ["Payments", "Ledger"]
    assert acme.topics == ["SSO", "SOC 2"]
    assert (acme.owner_slack_id, acme.referenceable) == ("UOWNER001", True)
    assert [(c.name, c.title, c.email, c.is_primary) for c in acme.contacts] == [
        ("Jane Doe", "VP Finance", "jane@acme.com", True)
    ]
    assert sorted((c.ref_type, c.approved_by, c.recorded_by) for c in acme.consents) == [
        ("case_study", "on record before import", "import"),
        ("logo", "on record before import", "import"),
    ]
    assert (initech.domain, initech.referenceable, initech.owner_slack_id) == (None, False, None)
    assert (initech.products, initech.topics, initech.contacts, initech.consents) == ([], [], [], [])
    assert audit(db) == [
        ("import", "customer.imported", "customer", str(acme.id), {"file": "customers.csv"}),
        ("import", "customer.imported", "customer", str(initech.id), {"file": "customers.csv"}),
    ]


def test_headers_are_case_and_space_insensitive_and_columns_optional(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, " Name , DOMAIN ,Consents\nAcme Corp,acme.com,quote\nUmbrella,,\n")
    report = import_csv(db, path)
    assert (report.created, report.skipped) == (2, [])
    found = by_name(db)
    assert [c.ref_type for c in found["Acme Corp"].consents] == ["quote"]
    assert found["Umbrella"].referenceable is True  # no column: referenceable by default


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("https://www.Acme.com/x", "acme.com"),
        ("acme.com", "acme.com"),
        ("ACME.COM.", "acme.com"),
        ("jane@acme.com", "acme.com"),
        ("http://acme.com:8080/path?q=1", "acme.com"),
        ("www.acme.com", "acme.com"),
        ("  ", None),
        ("n/a", None),
        ("-", None),
        ("none", None),
    ],
)
def test_normalise_domain(raw: str, domain: str | None) -> None:
    assert normalise_domain(raw) == domain


def test_upsert_by_normalised_domain(db: Database, tmp_path: Path) -> None:
    first = import_csv(db, write(tmp_path, "name,domain,industry\nAcme Corp,https://www.Acme.com/x,Fintech\n", "a.csv"))
    assert (first.created, first.updated) == (1, 0)
    (acme,) = customers(db)
    for n, (name, domain) in enumerate([("ACME Corporation", "acme.com"), ("Acme (EU)", "jane@acme.com")]):
        report = import_csv(db, write(tmp_path, f"name,domain,region\n{name},{domain},EMEA\n", f"b{n}.csv"))
        assert (report.created, report.updated, report.skipped) == (0, 1, [])
    (updated,) = customers(db)
    assert updated.id == acme.id
    assert (updated.name, updated.name_key, updated.domain) == ("Acme (EU)", "acme (eu)", "acme.com")
    assert (updated.industry, updated.region) == ("Fintech", "EMEA")  # a blank or absent cell keeps the value
    assert [a[1] for a in audit(db)] == [
        "customer.imported",
        "customer.updated_by_import",
        "customer.updated_by_import",
    ]
    assert {a[4]["file"] for a in audit(db)[1:]} == {"b0.csv", "b1.csv"}


def test_upsert_by_name_when_no_domain_matches(db: Database, tmp_path: Path) -> None:
    import_csv(db, write(tmp_path, "name,industry\nGlobex Corporation,Energy\n", "a.csv"))
    report = import_csv(db, write(tmp_path, "name,domain,region\n  globex   CORPORATION ,globex.com,APAC\n", "b.csv"))
    assert (report.created, report.updated) == (0, 1)
    (globex,) = customers(db)
    assert (globex.name, globex.domain, globex.industry, globex.region) == (
        "Globex Corporation",  # a careless re-casing and re-spacing does not rename it
        "globex.com",
        "Energy",
        "APAC",
    )
    # A different domain under another name is a different customer.
    report = import_csv(db, write(tmp_path, "name,domain\nGlobex Ventures,globexventures.com\n", "c.csv"))
    assert (report.created, report.updated) == (1, 0)
    assert len(customers(db)) == 2


def test_second_import_updates_without_duplicating(db: Database, tmp_path: Path) -> None:
    text = (
        f"{HEADER}\n"
        "Acme Corp,acme.com,Fintech,EMEA,Enterprise,Payments,SSO,UOWNER001,Jane Doe,VP Finance,jane@acme.com,yes,logo\n"
        "Initech,initech.com,Retail,NA,SMB,Ledger,,,Bill Lumbergh,VP,bill@initech.com,yes,\n"
    )
    path = write(tmp_path, text)
    assert (import_csv(db, path).created, counts(db)) == (2, (2, 2, 1, 2))
    before = {c.name: (c.id, c.products, [x.name for x in c.contacts]) for c in customers(db)}
    again = import_csv(db, path)
    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 2, [])
    assert counts(db) == (2, 2, 1, 2)  # no new customer, contact, consent or audit row: nothing changed
    assert {c.name: (c.id, c.products, [x.name for x in c.contacts]) for c in customers(db)} == before
    actions = [a[1] for a in audit(db)]
    assert actions == ["customer.imported"] * 2
    # New facts are merged in: products replaced, a second contact and consent added, the first stays primary.
    write(
        tmp_path,
        f"{HEADER}\nAcme Corp,acme.com,,,,Payments;Cards,,,Max Mustermann,CFO,max@acme.com,,quote;logo\n",
        "more.csv",
    )
    import_csv(db, tmp_path / "more.csv")
    acme = by_name(db)["Acme Corp"]
    assert acme.products == ["Payments", "Cards"] and acme.industry == "Fintech"
    assert [(c.name, c.is_primary) for c in acme.contacts] == [("Jane Doe", True), ("Max Mustermann", False)]
    assert sorted(c.ref_type for c in acme.consents) == ["logo", "quote"]


def test_placeholder_domains_do_not_merge_customers(db: Database, tmp_path: Path) -> None:
    report = import_csv(db, write(tmp_path, "name,domain\nFoo Ltd,n/a\nBar plc,N/A\nBaz AG,-\n"))
    assert (report.created, report.skipped) == (3, [])
    assert [(c.name, c.domain) for c in customers(db)] == [("Foo Ltd", None), ("Bar plc", None), ("Baz AG", None)]
    again = import_csv(db, write(tmp_path, "name,domain\nQux Inc,n/a\n", "later.csv"))
    assert (again.created, again.updated) == (1, 0)
    assert sorted(by_name(db)) == ["Bar plc", "Baz AG", "Foo Ltd", "Qux Inc"]


def test_same_customer_twice_in_one_file_is_merged(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "name,domain\nAcme Corp,acme.com\nAcme GmbH,https://acme.com/de\nACME CORP,\n")
    report = import_csv(db, path)
    assert (report.created, report.updated, report.merged, report.skipped) == (1, 0, 2, [])
    assert report.summary().splitlines()[1] == "  2 duplicate rows merged into the same customers"
    assert [(c.name, c.domain) for c in customers(db)] == [("ACME CORP", "acme.com")]


# -- bad rows: skipped with their line, the rest imported ----------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_bad_rows_are_skipped_with_their_line_numbers(db: Database, tmp_path: Path, newline: str) -> None:
    """A row is reported at the line where it ends (csv's line_num), so a multi-line cell shifts nothing after it."""
    lines = [
        "name,domain,contact_title,referenceable,consents,owner_slack_id",  # 1
        "Good One,good1.com,,yes,,",  # 2
        ",nameless.com,,yes,,",  # 3
        "Bad Flag,badflag.com,,maybe,,",  # 4
        'Multi Good,multigood.com,"Head of',  # 5  a quoted cell over three lines
        "Payments",  # 6
        'Operations",y,case_study,U0MULTI1',  # 7
        'Multi Bad,multibad.com,,yes,"logo;',  # 8  the bad consent is on the row's last line
        'billboard",',  # 9
        "Private,private.com,,yes,call,",  # 10
        "Bad Owner,badowner.com,,yes,,bob",  # 11
        "Extra,extra.com,,yes,,,surplus",  # 12
        "",  # 13  blank lines are not rows
        "Good Two,good2.com,,no,Logo,W0GOOD2",  # 14
        "Lower Owner,lower.com,,yes,,u0lower",  # 15
    ]
    report = import_csv(db, write(tmp_path, newline.join(lines) + newline))
    assert skipped(report) == [
        (3, "no customer name"),
        (4, "referenceable must be yes or no, not 'maybe'"),
        (9, f"unknown public reference type 'billboard' in consents (use {PUBLIC})"),
        (10, f"unknown public reference type 'call' in consents (use {PUBLIC})"),
        (11, "owner_slack_id 'bob' is not a Slack user ID like U012ABCDEF"),
        (12, "more cells than headers"),
        (15, "owner_slack_id 'u0lower' is not a Slack user ID like U012ABCDEF"),
    ]
    assert (report.created, report.updated) == (3, 0)
    found = by_name(db)
    assert sorted(found) == ["Good One", "Good Two", "Multi Good"]
    assert found["Multi Good"].owner_slack_id == "U0MULTI1"
    assert [c.ref_type for c in found["Multi Good"].consents] == ["case_study"]
    assert (found["Good Two"].referenceable, found["Good Two"].owner_slack_id) == (False, "W0GOOD2")
    assert [c.ref_type for c in found["Good Two"].consents] == ["logo"]
    assert len(audit(db)) == 3


def test_overlong_name_is_skipped(db: Database, tmp_path: Path) -> None:
    report = import_csv(db, write(tmp_path, f"name\n{'N' * 201}\n{'M' * 200}\n"))
    assert skipped(report) == [(2, "name longer than 200 characters")]
    assert [len(c.name) for c in customers(db)] == [200]


# -- unusable files: nothing written -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"revenue,region\n100,EMEA\n", "has no 'name' column"),
        (b"", "has no 'name' column"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00name,domain\n", "is not a CSV text file"),
        (b'name,contact_title\nAcme Corp,"VP\nInitech,CEO\n', "is not valid CSV"),
    ],
    ids=["no-name-column", "empty", "binary", "unclosed-quote"],
)
def test_unusable_file_fails_and_writes_nothing(db: Database, tmp_path: Path, content: bytes, message: str) -> None:
    import_csv(db, write(tmp_path, "name,domain\nExisting,existing.com\n", "seed.csv"))
    before = counts(db)
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFailed, match=message):
        import_csv(db, path)
    assert counts(db) == before == (1, 0, 0, 1)


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_path_fails_and_writes_nothing(db: Database, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "nope.csv"
    if kind == "directory":
        path.mkdir()
    with pytest.raises(ImportFailed, match="cannot read"):
        import_csv(db, path)
    assert counts(db) == (0, 0, 0, 0)


# -- encodings ---------------------------------------------------------------------------------------------


def test_utf8_with_bom(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffname,domain,contact_name\nMüller Präzision GmbH,mueller.de,Jürgen Groß\n")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    report = import_csv(db, path)
    assert (report.created, report.skipped) == (1, [])
    (customer,) = customers(db)
    assert (customer.name, customer.name_key, customer.contacts[0].name) == (
        "Müller Präzision GmbH",
        "müller präzision gmbh",
        "Jürgen Groß",
    )


def test_latin1(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "name,domain,region\nCafé Société,cafe.fr,Île-de-France\n", encoding="latin-1")
    assert b"\xe9" in path.read_bytes()
    report = import_csv(db, path)
    assert (report.created, report.skipped) == (1, [])
    (customer,) = customers(db)
    assert (customer.name, customer.region) == ("Café Société", "Île-de-France")


def test_windows_1252_export(db: Database, tmp_path: Path) -> None:
    """Excel on Windows saves "CSV" as Windows-1252: curly quotes and dashes are bytes 0x80–0x9F there."""
    path = write(
        tmp_path, "name,contact_name,contact_title\nO’Brien & Söhne,Zoë Müller,Head – Payments\n", encoding="cp1252"
    )
    assert b"\x92" in path.read_bytes() and b"\x96" in path.read_bytes()
    import_csv(db, path)
    (customer,) = customers(db)
    assert (customer.name, customer.contacts[0].name, customer.contacts[0].title) == (
        "O’Brien & Söhne",
        "Zoë Müller",
        "Head – Payments",
    )


def test_blank_referenceable_keeps_a_customer_out_of_the_program(db: Database, tmp_path: Path) -> None:
    """A later list without the flag (or with the cell empty) must not silently re-enable a customer."""
    with db.transaction() as session:
        acme = factories.customer(session, "Acme Corp", referenceable=False)
        acme.not_referenceable_reason = "Litigation pending"
    import_csv(db, write(tmp_path, "name,industry\nAcme Corp,Banking\n", "crm.csv"))
    import_csv(db, write(tmp_path, "name,referenceable\nAcme Corp,\n", "blank.csv"))
    acme_after = by_name(db)["Acme Corp"]
    assert (acme_after.industry, acme_after.referenceable) == ("Banking", False)
    import_csv(db, write(tmp_path, "name,referenceable\nAcme Corp,yes\n", "yes.csv"))
    assert by_name(db)["Acme Corp"].referenceable is True


# -- dry run and audit -------------------------------------------------------------------------------------


def test_dry_run_reports_the_same_counts_and_writes_nothing(db: Database, tmp_path: Path) -> None:
    import_csv(db, write(tmp_path, "name,domain,industry\nAcme Corp,acme.com,Fintech\n", "seed.csv"))
    before = counts(db)
    rows = [
        "Acme Corp,acme.com,Banking,,,,,,Jane Doe,,,,logo",
        "Initech,,,,,,,,,,,maybe,",
        "Hooli,hooli.com,,,,,,,,,,,",
    ]
    path = write(tmp_path, "\n".join([HEADER, *rows]) + "\n")
    dry = import_csv(db, path, dry_run=True)
    assert (dry.created, dry.updated, dry.dry_run) == (1, 1, True)
    assert skipped(dry) == [(3, "referenceable must be yes or no, not 'maybe'")]
    assert dry.summary().splitlines()[0] == f"{path}: 1 created, 1 updated, 1 skipped (dry run: nothing written)"
    assert counts(db) == before
    assert by_name(db)["Acme Corp"].industry == "Fintech"

    real = import_csv(db, path)
    assert (real.created, real.updated, skipped(real), real.dry_run) == (dry.created, dry.updated, skipped(dry), False)
    assert by_name(db)["Acme Corp"].industry == "Banking"
    assert counts(db) == (2, 1, 1, 3)


def test_actor_is_recorded(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        existing = factories.customer(session, "Acme Corp").id
    path = write(tmp_path, "name,region\nacme corp,APAC\nHooli,\n", "crm-export.csv")
    report = import_csv(db, path, actor="UMANAGER1")
    assert (report.created, report.updated) == (1, 1)
    entries = audit(db)
    hooli = by_name(db)["Hooli"].id
    change = {"file": "crm-export.csv", "changes": {"region": ["EMEA", "APAC"]}}  # the conflict, told once
    assert entries == [
        ("UMANAGER1", "customer.updated_by_import", "customer", str(existing), change),
        ("UMANAGER1", "customer.imported", "customer", str(hooli), {"file": "crm-export.csv"}),
    ]


# -- the command line --------------------------------------------------------------------------------------


def refbot(*args: str) -> int:
    return main(["--env-file", "/nonexistent", "import", *args])


def test_cli_imports_and_reports(cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "name,domain,referenceable\nAcme Corp,acme.com,yes\n,nameless.com,yes\nHooli,,no\n")
    assert refbot(str(path)) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{path}: 2 created, 0 updated, 1 skipped", "  line 3: no customer name"]
    assert err == ""
    assert sorted(by_name(cli_env)) == ["Acme Corp", "Hooli"]
    assert refbot(str(path)) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{path}: nothing changed (2 customers already as the files say, 1 skipped)"
    )
    assert counts(cli_env)[0] == 2


def test_cli_dry_run_writes_nothing(cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "name,domain\nAcme Corp,acme.com\nHooli,hooli.com\n")
    assert refbot("--dry-run", str(path)) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: 2 created, 0 updated, 0 skipped (dry run: nothing written)"
    ]
    assert counts(cli_env) == (0, 0, 0, 0)


def test_cli_bad_file_is_one_sentence_and_other_files_still_import(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "revenue\n100\n", "bad.csv")
    good = write(tmp_path, "name\nHooli\n", "good.csv")
    missing = tmp_path / "missing.csv"
    assert refbot(str(bad), str(missing), str(good)) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{good}: 1 created, 0 updated, 0 skipped"]
    errors = err.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(f"refbot: {bad} has no 'name' column")
    assert errors[1].startswith(f"refbot: cannot read {missing}")
    assert all(e.endswith("; nothing was imported from it.") for e in errors)
    assert "Traceback" not in err
    assert sorted(by_name(cli_env)) == ["Hooli"]
