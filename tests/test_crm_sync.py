"""The sync engine's rules, driven by a scripted connector (the end-to-end tests drive both fakes)."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.crm.connector import CrmAuthError, CrmUnavailable
from bot.crm.sync import CrmSync
from bot.kinds import CRM_ERROR
from bot.settings import Settings
from models import AuditEntry, Contact, Customer, OutboxMessage
from models import CrmSyncState as StateRow
from models.db import Database
from tests.crm_scripted import ScriptedConnector, account, contact, user
from tests.factories import customer

SETTINGS = Settings(managers=("UMANAGER1", "UMANAGER2"))


class Directory:
    """Slack's users.lookupByEmail, as a dictionary; counts the lookups made."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.asked: list[str] = []

    def lookup(self, email: str) -> tuple[str | None, str]:
        self.asked.append(email)
        found = self.users.get(email)
        return (found, "") if found else (None, "kept as e-mail: no Slack user has this address")


def sync(db: Database, crm: ScriptedConnector, directory: Directory | None = None, **kwargs: bool):
    return CrmSync(db, SETTINGS, crm, owners=directory).run(**kwargs)


def counts(db: Database) -> tuple[int, int, int]:
    with db.reading() as session:
        return (
            session.scalar(select(func.count()).select_from(Customer)) or 0,
            session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
            session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
        )


def test_first_sync_merges_spreadsheet_customers_by_domain_then_name_and_keeps_refbots_fields(db: Database) -> None:
    with db.transaction() as session:
        by_domain = customer(session, "Initech Holdings", owner=None)
        by_domain.domain = "initech.com"
        by_domain.guidance = "Only for fintech deals"
        typo = customer(session, "Brightwave Inc", owner=None)
        typo.domain = None
        typo.notes = "CFO loves us"
        customer(session, "Acme Bank", owner=None).domain = None
    crm = ScriptedConnector()
    crm.put("users", user("005A", "olivia@example.com", "Olivia"))
    crm.put(
        "accounts",
        account("001A", "Initech", domain="https://www.initech.com", industry="Software", owner_crm_id="005A"),
    )
    crm.put("accounts", account("001B", "Brigthwave, LLC", billing_country="Germany", employees=5000))
    crm.put("accounts", account("001C", "Acme Foods"))
    crm.put("accounts", account("001E", "Umbrella", owner_crm_id="005A", industry="Biotech"))  # new rows differ
    crm.put("accounts", account("001D", "Globex", is_customer=False))
    report = sync(db, crm, Directory({"olivia@example.com": "UOWNER001"}))
    accounts = report.streams["accounts"]
    assert (accounts.merged, accounts.created, accounts.skipped["not a customer in Salesforce"]) == (2, 2, 1)
    with db.reading() as session:
        rows = {c.name: c for c in session.scalars(select(Customer))}
        assert set(rows) == {"Initech", "Brigthwave, LLC", "Acme Bank", "Acme Foods", "Umbrella"}
        assert (rows["Umbrella"].owner_slack_id, rows["Acme Foods"].owner_slack_id) == ("UOWNER001", None)
        initech = rows["Initech"]
        assert (initech.id, initech.crm_id, initech.industry) == (by_domain.id, "001A", "Software")
        assert (initech.owner_slack_id, initech.owner_email, initech.guidance) == (
            "UOWNER001",
            "olivia@example.com",
            "Only for fintech deals",
        )
        bright = rows["Brigthwave, LLC"]
        assert (bright.id, bright.region, bright.segment, bright.notes) == (
            typo.id,
            "EMEA",
            "Enterprise",
            "CFO loves us",
        )
        assert rows["Acme Bank"].crm_id is None  # a different distinguishing word is a different company
        sentences = [
            e.details["sentence"] for e in session.scalars(select(AuditEntry).where(AuditEntry.entity == "customer"))
        ]
        assert any(
            s.startswith("Salesforce account 001A (Initech): linked to the existing customer") for s in sentences
        )


def test_a_sync_that_brings_nothing_new_writes_nothing_even_a_full_pass(db: Database) -> None:
    crm = ScriptedConnector()
    crm.put("users", user("005A", "olivia@example.com"))
    crm.put("accounts", account("001A", "Initech", industry="Software", owner_crm_id="005A"))
    crm.put("contacts", contact("003A", "001A", "Jane", "Doe", email="jane@initech.com"))
    directory = Directory({"olivia@example.com": "UOWNER001"})
    sync(db, crm, directory)
    before = counts(db)
    again = sync(db, crm, directory)
    full = sync(db, crm, directory, full=True)
    assert counts(db) == before
    assert again.changed == 0 and full.changed == 0
    assert full.streams["accounts"].unchanged == 1 and full.streams["contacts"].unchanged == 1
    assert directory.asked == ["olivia@example.com"]  # the mapping is cached, not looked up every run


def test_incremental_sync_reads_from_the_watermark_and_updates_only_what_changed(db: Database) -> None:
    crm = ScriptedConnector()
    crm.put("accounts", account("001A", "Initech", industry="Software"))
    crm.put("accounts", account("001B", "Hooli"))
    sync(db, crm)
    crm.put("accounts", account("001A", "Initech", industry="Fintech"))
    report = sync(db, crm)
    assert (report.streams["accounts"].read, report.streams["accounts"].updated) == (1, 1)
    with db.reading() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.updated_by_crm")).one()
        assert entry.details["sentence"] == "Salesforce account 001A (Initech): industry 'Software' → 'Fintech'"
        assert entry.actor == "crm:salesforce"


def test_deleted_or_lapsed_accounts_stop_being_referenceable_with_history_kept_and_come_back(db: Database) -> None:
    crm = ScriptedConnector()
    crm.put("accounts", account("001A", "Initech"))
    crm.put("accounts", account("001B", "Hooli"))
    crm.put("contacts", contact("003A", "001A", "Jane", "Doe"))
    sync(db, crm)
    crm.delete("accounts", "001A")
    crm.put("accounts", account("001B", "Hooli", is_customer=False))
    report = sync(db, crm)
    assert report.streams["accounts"].removed == 2
    with db.reading() as session:
        rows = {c.name: c for c in session.scalars(select(Customer))}
        assert not rows["Initech"].referenceable and not rows["Hooli"].referenceable
        assert rows["Initech"].not_referenceable_reason == "Salesforce: the account was deleted"
        assert [c.name for c in rows["Initech"].contacts] == ["Jane Doe"]
    crm.put("accounts", account("001B", "Hooli", is_customer=True))
    sync(db, crm)
    with db.reading() as session:
        hooli = session.scalars(select(Customer).where(Customer.crm_id == "001B")).one()
        assert hooli.referenceable and hooli.not_referenceable_reason == ""


def test_a_full_pass_notices_accounts_gone_for_good(db: Database) -> None:
    crm = ScriptedConnector()
    crm.put("accounts", account("001A", "Initech"))
    crm.put("accounts", account("001B", "Hooli"))
    sync(db, crm)
    del crm.records["accounts"]["001A"]  # purged from the recycle bin: an incremental read never sees it
    assert sync(db, crm).changed == 0
    report = sync(db, crm, full=True)
    assert report.streams["accounts"].removed == 1
    with db.reading() as session:
        assert not session.scalars(select(Customer).where(Customer.crm_id == "001A")).one().referenceable


def test_a_sync_killed_after_a_page_resumes_from_its_watermark_without_duplicates(db: Database) -> None:
    crm = ScriptedConnector(page_size=2)
    for n in range(5):
        crm.put("accounts", account(f"001{n}", f"Company {n}"))
    crm.fail["accounts"] = CrmUnavailable("Salesforce answered 503 five times")
    crm.fail_after = 1
    first = sync(db, crm)
    assert first.error and first.streams["accounts"].created == 2
    second = sync(db, crm)
    assert second.streams["accounts"].read == 3 and second.streams["accounts"].created == 3
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 5


def test_an_error_is_told_to_the_managers_once_not_every_run_and_never_shows_the_secret(db: Database) -> None:
    global SETTINGS
    saved = SETTINGS
    SETTINGS = SETTINGS.with_overrides(salesforce_client_secret="s3cr3t")
    try:
        crm = ScriptedConnector()
        for _ in range(3):
            crm.fail["users"] = CrmAuthError("Salesforce refused the client credentials (s3cr3t): invalid_client")
            report = sync(db, crm)
            assert report.error == "Salesforce users: Salesforce refused the client credentials (***): invalid_client"
    finally:
        SETTINGS = saved
    with db.reading() as session:
        told = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == CRM_ERROR)).all()
        assert sorted(m.recipient for m in told) == ["UMANAGER1", "UMANAGER2"]
        state = session.scalars(select(StateRow).where(StateRow.stream == "users")).one()
        assert "s3cr3t" not in state.last_error and state.error_notified
    sync(db, crm)  # it works again: the next error is a new one, told again
    crm.fail["users"] = CrmAuthError("revoked")
    sync(db, crm)
    with db.reading() as session:
        assert session.scalar(select(func.count()).where(OutboxMessage.kind == CRM_ERROR)) == 4


def test_contacts_merge_with_spreadsheet_contacts_by_email_and_follow_the_crm(db: Database) -> None:
    with db.transaction() as session:
        acme = customer(session, "Initech", contact=None, owner=None)
        acme.domain = "initech.com"
        session.add(Contact(customer=acme, name="J. Doe", email="JANE@initech.com", is_primary=True))
    crm = ScriptedConnector()
    crm.put("accounts", account("001A", "Initech", domain="initech.com"))
    crm.put("contacts", contact("003A", "001A", "Jane", "Doe", email="jane@initech.com", title="CFO"))
    crm.put("contacts", contact("003B", "001A", "Bob", "Lee"))
    crm.put("contacts", contact("003C", "001Z", "Pat", "Prospect"))
    report = sync(db, crm)
    assert (report.streams["contacts"].merged, report.streams["contacts"].created) == (1, 1)
    assert report.streams["contacts"].skipped["their account is not a customer"] == 1
    crm.delete("contacts", "003B")
    sync(db, crm)
    with db.reading() as session:
        people = session.scalars(select(Contact).order_by(Contact.id)).all()
        assert [(p.name, p.title, p.crm_id, p.is_primary) for p in people] == [("Jane Doe", "CFO", "003A", True)]


def test_dry_run_reports_what_it_would_do_and_writes_nothing(db: Database) -> None:
    crm = ScriptedConnector()
    crm.put("accounts", account("001A", "Initech"))
    crm.put("contacts", contact("003A", "001A", "Jane", "Doe"))
    report = sync(db, crm, dry_run=True)
    assert report.streams["accounts"].created == 1 and report.streams["contacts"].created == 1
    assert counts(db) == (0, 0, 0)
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(StateRow)) == 0


def test_a_second_sync_while_one_runs_does_nothing_and_says_who_holds_the_lease(db: Database) -> None:
    crm = ScriptedConnector(page_size=1)
    for n in range(3):
        crm.put("accounts", account(f"001{n}", f"Company {n}"))
    seen: list[str] = []

    def meanwhile() -> None:
        if not seen:
            second = CrmSync(db, SETTINGS, crm, worker="replica-2").run()
            seen.append(second.busy)

    report = CrmSync(db, SETTINGS, crm, worker="replica-1", on_page=meanwhile).run()
    assert report.streams["accounts"].created == 3
    assert seen[0].startswith("another sync of Salesforce is running (replica-1:")
    assert CrmSync(db, SETTINGS, crm, worker="replica-2").run().busy == ""  # released at the end
