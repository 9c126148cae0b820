"""Issue 10, "Data you can trust": the import defects a reference manager tripped over in a week of use.

Each test failed before its fix. Every database test runs on SQLite and (with TEST_DATABASE_URL) PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError
from sqlalchemy import event, select

from bot.app import make_client
from bot.cli import main
from bot.customers import load_profile
from bot.exporter import export_customers
from bot.importing import ImportOptions, ImportReport, SlackOwnerDirectory, company_key, import_files
from bot.importing.merging import ConsentDraft, ContactDraft, CustomerDraft, Incoming, fold, settle
from bot.importing.rows import ConsentIn, ContactIn, ImportRow
from bot.jobs import OWNERLESS, run_job
from bot.settings import Settings as AppSettings
from bot.views.customers import profile
from models import AuditEntry, OutboxMessage
from models.db import Database
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, OWNER
from tests.test_importer import by_name, counts, customers


def write(tmp_path: Path, text: str, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(db: Database, *paths: Path, owners: Any = None) -> ImportReport:
    return import_files(db, list(paths), ImportOptions(), owners=owners)


def audit_rows(db: Database) -> list[AuditEntry]:
    with db.reading() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def state(db: Database) -> list[tuple[Any, ...]]:
    """Every customer as refbot holds it (contacts and consents too), with its last update time."""
    return [
        (
            c.id,
            c.name,
            c.domain,
            c.industry,
            c.region,
            c.owner_slack_id,
            c.updated_at,
            tuple((x.id, x.name, x.title, x.email, x.is_primary) for x in c.contacts),
            tuple(sorted((x.id, x.ref_type, x.approved_by, x.approved_on, x.expires_on) for x in c.consents)),
        )
        for c in customers(db)
    ]


@pytest.fixture
def writes(db: Database) -> Iterator[list[str]]:
    """Every INSERT, UPDATE and DELETE the database is sent while the test runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


CRM = (
    "Account Name,Website,Industry,Region,CSM,Contact,Email,Title,Approved Uses\n"
    "Acme Inc,acme.com,Fintech,EMEA,UOWNER001,Jane Doe,jane@acme.com,CFO,logo\n"
    "Globex Corporation,globex.com,Energy,NA,,Hank Scorpio,hank@globex.com,CEO,\n"
    "Initech,,Software,NA,,,,,\n"
)
MARKETING = (
    "Company,Domain,Vertical,Products\n"
    "ACME,acme.com,Payments,Ledger\n"  # disagrees with crm.csv on the industry: a conflict on every run
    "Globex Corp.,globex.com,,Billing; Cards\n"
    "Hooli,hooli.com,Search,\n"
)
TRACKER = (
    "Customer,Contact,Email,Title,Referenceable\n"
    "Acme,Max Muster,max@acme.com,VP Finance,yes\n"
    "Hooli,Gavin Belson,gavin@hooli.com,CEO,no\n"
    "Initech Inc,Bill Lumbergh,bill@initech.com,VP,yes\n"
)


# -- 1. re-importing unchanged lists is a no-op -------------------------------------------------------------


def test_reimporting_unchanged_lists_changes_nothing_and_writes_nothing(
    db: Database, tmp_path: Path, writes: list[str]
) -> None:
    files = [write(tmp_path, text, name) for text, name in ((CRM, "crm.csv"), (MARKETING, "m.csv"), (TRACKER, "t.csv"))]
    first = run(db, *files)
    assert (first.created, first.updated) == (4, 0)
    before, audited = state(db), len(audit_rows(db))
    assert audited == 4  # one row per customer the run created, not one per file
    writes.clear()
    for _ in range(2):
        again = run(db, *files)
        assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
        assert again.summary().splitlines()[0] == (
            f"{files[0]} + {files[1]} + {files[2]}: nothing changed (4 customers already as the files say, 0 skipped)"
        )
        # The two files still disagree: said once, settled the same way (the later file wins).
        assert [(c.customer, c.field, c.old, c.new, Path(c.file).name) for c in again.conflicts] == [
            ("Acme", "industry", "Fintech", "Payments", "m.csv")
        ]
    assert writes == [], "an import that changes nothing sends no INSERT, UPDATE or DELETE"
    assert state(db) == before and len(audit_rows(db)) == audited


def test_a_conflict_between_two_files_is_reported_once_and_gives_the_same_answer_every_run(
    db: Database, tmp_path: Path
) -> None:
    a = write(tmp_path, "name,industry\nAcme,Fintech\n", "a.csv")
    b = write(tmp_path, "name,industry\nAcme,Payments\n", "b.csv")
    c = write(tmp_path, "name,industry\nAcme,Fintech\n", "c.csv")
    answers = []
    for _ in range(3):
        report = run(db, a, b, c)
        answers.append(by_name(db)["Acme"].industry)
        assert [(x.field, x.old, x.new, Path(x.file).name) for x in report.conflicts] == [
            ("industry", "Payments", "Fintech", "c.csv")  # once per run, not once per file
        ]
    assert answers == ["Fintech"] * 3
    assert [e.action for e in audit_rows(db)] == ["customer.imported"]


def test_export_imported_into_the_same_database_is_a_no_op(db: Database, tmp_path: Path) -> None:
    run(db, write(tmp_path, CRM, "crm.csv"), write(tmp_path, MARKETING, "marketing.csv"))
    with db.transaction() as session:  # and a customer added by hand, with the factory's defaults
        factories.customer(session, "Umbrella", consents=("quote",))
    before, audited = state(db), len(audit_rows(db))
    exported = tmp_path / "customers.csv"
    assert export_customers(db, exported, "csv") == 5
    report = run(db, exported)
    assert (report.created, report.updated, report.unchanged, report.conflicts) == (0, 0, 5, [])
    assert state(db) == before and len(audit_rows(db)) == audited


def test_a_real_change_is_written_once_with_what_changed(db: Database, tmp_path: Path) -> None:
    run(db, write(tmp_path, CRM, "crm.csv"))
    changed = write(tmp_path, "name,domain,region\nAcme Inc,acme.com,APAC\nInitech,,NA\n", "regions.csv")
    report = run(db, changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    last = audit_rows(db)[-1]
    assert (last.action, last.details["file"], last.details["changes"]) == (
        "customer.updated_by_import",
        "regions.csv",
        {"region": ["EMEA", "APAC"]},
    )
    assert [(c.field, c.old, c.new) for c in report.conflicts] == [("region", "EMEA", "APAC")]
    assert len(audit_rows(db)) == 4  # three created, one updated; Initech was already so


def test_a_second_import_groups_the_rows_as_the_first_did(db: Database, tmp_path: Path) -> None:
    """The customers the first run created must not cast extra votes on which spellings are one company:
    "Gresn" is two edits from "Grene" (its own customer), one from "Green" (which became a name)."""
    path = write(
        tmp_path,
        "Company,Website,Industry\n"
        "Grene Tide Holdings,greentideholdings.nl,\n"
        '"Gresn Tide Holdings, LLC",,Fintech\n'
        "Green Tide Holdings,greentideholdings.nl,Retail\n",
    )
    first = run(db, path)
    before = state(db)
    again = run(db, path)
    assert (first.created, again.created, again.updated, again.unchanged) == (2, 0, 0, 2)
    assert state(db) == before


# -- 2. a broken quote refuses the file ---------------------------------------------------------------------


def test_a_broken_quote_refuses_the_file_naming_the_line_and_the_cause(db: Database, tmp_path: Path) -> None:
    bad = write(tmp_path, 'Name,Industry\n"Acme,Fintech\nGlobex,Retail\n', "broken.csv")
    report = run(db, bad)
    assert [f.message for f in report.failed] == [
        f'{bad} is not valid CSV: the quoted cell that starts on line 2 is never closed (a " is missing)'
    ]
    assert counts(db) == (0, 0, 0, 0)


def test_the_cli_says_so_in_one_sentence_and_writes_nothing(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, 'Name,Industry\n"Acme,Fintech\nGlobex,Retail\n', "broken.csv")
    assert main(["--env-file", "/nonexistent", "import", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f'refbot: {bad} is not valid CSV: the quoted cell that starts on line 2 is never closed (a " is missing); '
        "nothing was imported from it."
    ]
    assert counts(cli_env) == (0, 0, 0, 0)


# -- 3. one huge cell costs its row, not the file -----------------------------------------------------------


def test_a_huge_cell_skips_its_row_with_the_true_reason_and_the_rest_loads(db: Database, tmp_path: Path) -> None:
    huge = "x" * 2_000_000
    path = write(tmp_path, f'name,notes,industry\nAcme,"{huge}",Fintech\nGlobex,short note,Energy\nInitech,,\n')
    report = run(db, path)
    assert report.failed == []
    assert [(s.line, s.reason) for s in report.skipped] == [
        (2, "notes is 2,000,000 characters long; refbot keeps at most 10,000")
    ]
    assert sorted(by_name(db)) == ["Globex", "Initech"]
    assert by_name(db)["Globex"].notes == "short note"


# -- 4. owner IDs are checked in Slack ----------------------------------------------------------------------


def _directory(fake: FakeSlack) -> SlackOwnerDirectory:
    settings = AppSettings(slack_bot_token="xoxb-test", slack_api_url=fake.url, slack_timeout_seconds=3)
    return SlackOwnerDirectory(make_client(settings))


def test_owner_ids_are_checked_and_unknown_or_deactivated_ones_leave_the_customer_ownerless(
    db: Database, tmp_path: Path, fake: FakeSlack, settings: AppSettings
) -> None:
    fake.add_user("UGONE0001", "gone", deleted=True)
    with db.transaction() as session:  # owned, in refbot, by someone who has since left
        factories.customer(session, "Initech", owner="UGONE0001", happy_days_ago=None)
    path = write(
        tmp_path,
        "Company,CSM\nAcme,UOWNER001\nGlobex,U0NOTREAL1\nInitech,UGONE0001\nHooli,U0NOTREAL1\nUmbrella,UOWNER001\n",
    )
    directory = _directory(fake)
    report = run(db, path, owners=directory)
    found = {c.name: c.owner_slack_id for c in customers(db)}
    assert found == {"Initech": None, "Acme": OWNER, "Globex": None, "Hooli": None, "Umbrella": OWNER}
    assert [(o.customer, o.owner, o.reason, o.line) for o in report.unresolved_owners] == [
        ("Globex", "U0NOTREAL1", "no Slack user has this ID: left without an owner", 3),
        ("Initech", "UGONE0001", "this Slack user is deactivated: left without an owner", 4),
        ("Hooli", "U0NOTREAL1", "no Slack user has this ID: left without an owner", 5),
    ]
    assert "no Slack user has this ID: left without an owner: U0NOTREAL1 (2 rows)" in report.summary()
    assert sorted(c.args["user"] for c in fake.calls("users.info")) == ["U0NOTREAL1", "UGONE0001", OWNER]
    run(db, path, owners=directory)  # the same directory remembers its answers
    assert len(fake.calls("users.info")) == 3

    # The managers are told about them as customers without an owner (the weekly check-in round's list).
    run_job(db, settings, "checkins", now=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    with db.reading() as session:
        (told,) = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == OWNERLESS, OutboxMessage.recipient == MANAGER)
        )
        ownerless = {c.name for c in customers(db) if c.id in told.params["customer_ids"]}
    assert ownerless == {"Globex", "Initech", "Hooli"}


def test_a_slack_outage_keeps_the_owner_id_and_it_is_checked_again_next_time(
    db: Database, tmp_path: Path, fake: FakeSlack
) -> None:
    path = write(tmp_path, "name,owner_slack_id\nAcme,U0NOTREAL1\nGlobex,UOWNER001\n")
    fake.fail("users.info", error="internal_error")
    report = run(db, path, owners=_directory(fake))
    assert {c.name: c.owner_slack_id for c in customers(db)} == {"Acme": "U0NOTREAL1", "Globex": OWNER}
    assert [(o.customer, o.reason) for o in report.unresolved_owners] == [
        ("Acme", "kept unchecked: Slack refused the check: internal_error"),
        ("Globex", "kept unchecked: Slack refused the check: internal_error"),
    ]
    again = run(db, path, owners=_directory(fake))  # Slack is back: the next import checks again
    assert {c.name: c.owner_slack_id for c in customers(db)} == {"Acme": None, "Globex": OWNER}
    assert [(o.customer, o.reason) for o in again.unresolved_owners] == [
        ("Acme", "no Slack user has this ID: left without an owner")
    ]


def test_the_fake_answers_users_info_as_slack_documents(fake: FakeSlack, shared_dir: Path) -> None:
    spec = json.loads((shared_dir / "slack" / "web_api_openapi_v2.json").read_text())
    errors = spec["paths"]["/users.info"]["get"]["responses"]["default"]["schema"]["properties"]["error"]["enum"]
    user_fields = spec["definitions"]["objs_user"]["items"][0]["properties"]  # a non-Enterprise user
    fake.add_user("UGONE0001", "gone", deleted=True)
    client = make_client(AppSettings(slack_bot_token="xoxb-test", slack_api_url=fake.url, slack_timeout_seconds=3))
    gone, owner = client.users_info(user="UGONE0001")["user"], client.users_info(user=OWNER)["user"]
    assert (gone["deleted"], owner["deleted"], owner["is_bot"]) == (True, False, False)
    assert set(gone) <= set(user_fields)  # the schema allows no other fields
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="U0NOTREAL1")
    assert raised.value.response["error"] == "user_not_found" and "user_not_found" in errors


# -- 5. a row with only an e-mail -------------------------------------------------------------------------


def test_a_contact_with_only_an_email_has_no_name_and_is_shown_by_its_email(
    db: Database, tmp_path: Path, settings: AppSettings
) -> None:
    report = run(db, write(tmp_path, "name,contact_email\nAcme,jane@acme.com\n", "a.csv"))
    assert report.skipped == []
    (contact,) = by_name(db)["Acme"].contacts
    assert (contact.name, contact.email, contact.display_name) == ("", "jane@acme.com", "jane@acme.com")
    now = datetime.now(UTC)
    with db.reading() as session:
        shown = profile(load_profile(session, settings, by_name(db)["Acme"].id, now), settings, now, is_manager=True)
    assert "• jane@acme.com _(primary)_" in str(shown["blocks"])
    # A later list that knows her name fills it in; one that does not never erases it.
    run(db, write(tmp_path, "name,contact_name,contact_email\nAcme,Jane Doe,JANE@acme.com\n", "b.csv"))
    run(db, write(tmp_path, "name,contact_email\nAcme,jane@acme.com\n", "c.csv"))
    (contact,) = by_name(db)["Acme"].contacts
    assert (contact.name, contact.display_name) == ("Jane Doe", "Jane Doe")


def test_two_nameless_contacts_stay_two_people(db: Database, tmp_path: Path) -> None:
    run(db, write(tmp_path, "name,contact_email,contact_2_email\nAcme,jane@acme.com,max@acme.com\n"))
    assert [(c.name, c.email) for c in by_name(db)["Acme"].contacts] == [("", "jane@acme.com"), ("", "max@acme.com")]


# -- 6. a careless spelling never replaces a good one -------------------------------------------------------


def test_a_name_differing_only_in_case_or_spacing_never_replaces_a_better_capitalised_one(
    db: Database, tmp_path: Path
) -> None:
    a = write(tmp_path, "name,domain\nBrightWave Analytics,brightwave.io\n", "a.csv")
    b = write(tmp_path, "name,domain,industry\nbrightwave analytics,brightwave.io,Analytics\n", "b.csv")
    run(db, a, b)
    assert [c.name for c in customers(db)] == ["BrightWave Analytics"]
    audited = len(audit_rows(db))
    for careless in ("brightwave analytics", "BRIGHTWAVE ANALYTICS", "Brightwave  analytics"):
        c = write(tmp_path, f"name\n{careless}\n", "c.csv")
        report = run(db, c)
        assert (report.updated, report.unchanged, report.conflicts) == (0, 1, [])
        assert [c.name for c in customers(db)] == ["BrightWave Analytics"]
    assert len(audit_rows(db)) == audited
    # A better spelling still wins, from a file or over a careless one in refbot.
    run(db, write(tmp_path, "name\nbrightwave analytics\nBrightwave Analytics\n", "d.csv"))
    assert [c.name for c in customers(db)] == ["BrightWave Analytics"]
    with db.transaction() as session:
        factories.customer(session, "globex corporation")
    run(db, write(tmp_path, "name\nGlobex Corporation\n", "e.csv"))
    assert sorted(c.name for c in customers(db)) == ["BrightWave Analytics", "Globex Corporation"]


# -- 1, as a property of the merge itself: settling a run onto its own result changes nothing --------------

_NAMES = ("Acme", "ACME", "acme", "Acme Inc", "Acme  Inc", "ACME Corp", "Acmee", "Northwind Payments")
_TEXTS = ("", "Fintech", "fintech", "Payments")
_EMAILS = ("", "jane@acme.com", "JANE@acme.com", "max@acme.com")


@st.composite
def _rows(draw: st.DrawFn, source: int) -> list[ImportRow]:
    rows = []
    for line in range(2, 2 + draw(st.integers(1, 4))):
        name = draw(st.sampled_from(_NAMES))
        row = ImportRow(source, line, name, company_key(name), None)
        for field_name in ("industry", "region", "notes"):
            value = draw(st.sampled_from(_TEXTS))
            if value:
                row.values[field_name] = value
        row.products = draw(st.lists(st.sampled_from(("Ledger", "ledger", "Cards")), max_size=2))
        row.referenceable = draw(st.sampled_from((None, True, False)))
        # Slack's verdict on an ID is the same for every row: UGONE0001 was an owner once, and has left.
        row.owner_id = draw(st.sampled_from((None, "UOWNER001", "UOTHER001" if source else "UGONE0001")))
        row.owner_email = draw(st.sampled_from((None, "olivia@acme.com", "OLIVIA@acme.com", "oscar@acme.com")))
        row.owner_refused = draw(st.sampled_from((None, "U0NOTREAL1", "UGONE0001"))) if source else None
        for _ in range(draw(st.integers(0, 2))):
            person = draw(st.sampled_from(("", "Jane Doe", "jane doe", "Max")))
            email = draw(st.sampled_from(_EMAILS))
            if person or email:
                row.contacts.append(ContactIn(person, draw(st.sampled_from(("", "CFO", "VP"))), email))
        for ref_type in draw(st.lists(st.sampled_from(("logo", "quote")), max_size=2, unique=True)):
            on = draw(st.sampled_from((None, date(2024, 9, 30), date(2025, 1, 1))))
            row.consents.append(ConsentIn(ref_type, draw(st.sampled_from((None, "", "CMO", "CFO"))), on, None))
        rows.append(row)
    return rows


def _as_loaded(draft: CustomerDraft) -> CustomerDraft:
    """The draft as `plan` would load it back from the database after it was written."""
    loaded = CustomerDraft(
        customer_id=1,
        name=draft.name,
        domain=draft.domain,
        values={k: v for k, v in draft.values.items() if v},
        products=list(draft.products),
        topics=list(draft.topics),
        owner_slack_id=draft.owner_slack_id,
        owner_email=draft.owner_email,
        referenceable=draft.columns()["referenceable"],
    )
    for number, c in enumerate(draft.contacts, start=1):
        details = (c.name, c.title, c.email)
        loaded.contacts.append(ContactDraft(number, *details, c.is_primary, loaded=details))
    for number, k in enumerate(draft.consents.values(), start=1):
        dates = (k.approved_by, k.approved_on, k.expires_on)
        loaded.consents[k.ref_type] = ConsentDraft(number, k.ref_type, *dates, loaded=dates)
    loaded.original = loaded.columns()
    return loaded


def _settled(start: CustomerDraft, rows: list[ImportRow]) -> CustomerDraft:
    incoming = Incoming()
    for row in rows:
        fold(incoming, row)
    settle(start, incoming)
    return start


@settings(max_examples=150, deadline=None)
@given(before=_rows(0), files=st.lists(_rows(1), min_size=1, max_size=3))
def test_settling_the_same_rows_again_changes_nothing(before: list[ImportRow], files: list[list[ImportRow]]) -> None:
    held = _as_loaded(_settled(CustomerDraft(customer_id=None), before))  # what refbot holds already
    rows = [ImportRow(**{**vars_of(r), "source": n}) for n, file in enumerate(files, start=1) for r in file]
    once = _as_loaded(_settled(held, rows))
    twice = _settled(_as_loaded(once), rows)
    assert not twice.changed, (twice.changes(), [c for c in twice.contacts if c.changed], twice.consents)


def vars_of(row: ImportRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ImportRow.__dataclass_fields__}
