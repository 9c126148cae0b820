"""The CRM connection end to end: both connectors through their real client libraries (simple-salesforce,
hubspot-api-client) against the project's fakes on loopback, on every database. One test body, two CRMs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import cli
from bot import requests as rq
from bot.app import Refbot, create_app
from bot.crm.connector import CrmAccount, CrmContact, CrmOpportunity, CrmUser
from bot.crm.runner import sync_now
from bot.kinds import CRM_ACTIVITY as ACTIVITY
from bot.kinds import CRM_ERROR
from bot.settings import Settings, load_settings
from crmfake import FakeCrm
from crmfake.hubspot import HubSpotFake
from crmfake.salesforce import SalesforceFake
from models import AuditEntry, Contact, Customer, Opportunity, OutboxMessage, ReferenceRequest
from models.db import Database
from models.enums import OutboxStatus, Outcome, RefType
from slackfake.server import FakeSlack
from tests.conftest import BOT_TOKEN, MANAGER, MANAGER_2, OWNER, REP
from tests.factories import customer


@pytest.fixture(params=["salesforce", "hubspot"])
def crm(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCrm]:
    fake: FakeCrm = (SalesforceFake() if request.param == "salesforce" else HubSpotFake()).start()
    for name, value in fake.env().items():
        if name == "REQUESTS_CA_BUNDLE":  # simple-salesforce speaks HTTPS only: trust the fake's test CA
            monkeypatch.setenv(name, value)
    yield fake
    fake.stop()


def crm_settings(crm: FakeCrm, slack: FakeSlack, database_url: str, **extra: str) -> Settings:
    """Settings as `refbot` reads them from the environment, pointed at both fakes."""
    env = {
        **{k: v for k, v in crm.env().items() if k != "REQUESTS_CA_BUNDLE"},
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.url,
        "DATABASE_URL": database_url,
        "REFBOT_MANAGERS": f"{MANAGER},{MANAGER_2}",
        "REFBOT_SCHEDULER": "off",
        "REFBOT_OUTBOX_POLL_SECONDS": "0.2",
        "REFBOT_RATE_PER_CHANNEL": "1000",
        "REFBOT_RATE_GLOBAL": "1000",
        **extra,
    }
    return load_settings(env, dotenv_path=None)


def now() -> Any:
    from models.types import utcnow

    return utcnow()


def seed_company(crm: FakeCrm, name: str, *, owner: str | None = None, **fields: Any) -> str:
    values: dict[str, Any] = dict(
        domain=None, industry=None, billing_country=None, employees=None, annual_revenue=None, is_customer=True
    )
    values.update(fields)
    return crm.upsert(CrmAccount(crm_id="", name=name, owner_crm_id=owner, modified_at=now(), **values))


def seed_owner(crm: FakeCrm, email: str, name: str) -> str:
    return crm.upsert(CrmUser(crm_id="", email=email, name=name, active=True, modified_at=now()))


def seed_contact(crm: FakeCrm, account: str, first: str, last: str, email: str, title: str = "") -> str:
    return crm.upsert(CrmContact("", account, first, last, title or None, email, now()))


def seed_deal(crm: FakeCrm, name: str, account: str, owner: str | None, **fields: Any) -> str:
    values: dict[str, Any] = dict(amount=Decimal("50000"), stage=None, close_date=None, is_closed=False, is_won=False)
    values.update(fields)
    return crm.upsert(CrmOpportunity("", name, account, owner_crm_id=owner, modified_at=now(), **values))


def table_counts(db: Database) -> tuple[int, ...]:
    with db.reading() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Customer, Contact, Opportunity, AuditEntry, OutboxMessage)
        )


def test_first_sync_merges_spreadsheet_customers_maps_owners_by_email_then_incremental_and_no_change(
    crm: FakeCrm, fake: FakeSlack, db: Database, database_url: str
) -> None:
    with db.transaction() as session:
        imported = customer(session, "Initech Holdings", owner=None, contact=None)
        imported.domain = "initech.com"
        imported.guidance = "Ask Peter first"
        typo = customer(session, "Brightwave", owner=None, contact=None)
        typo.domain = None
    settings = crm_settings(crm, fake, database_url)
    olivia = seed_owner(crm, "olivia@example.com", "Olivia Owner")
    stranger = seed_owner(crm, "nobody@elsewhere.example", "Nora Nobody")
    initech = seed_company(
        crm, "Initech", owner=olivia, domain="initech.com", industry="Software", billing_country="US"
    )
    bright = seed_company(crm, "Brigthwave Inc", owner=stranger, employees=250)
    seed_company(crm, "Globex Prospect", is_customer=False)
    seed_contact(crm, initech, "Peter", "Gibbons", "peter@initech.com", "VP Engineering")
    first = sync_now(db, settings)
    assert not first.error, first.error
    assert (first.streams["accounts"].merged, first.streams["accounts"].created) == (2, 0)
    assert first.streams["accounts"].skipped == {f"not a customer in {first.lines()[0].split()[0]}": 1}
    with db.reading() as session:
        rows = {c.id: c for c in session.scalars(select(Customer))}
        merged = rows[imported.id]
        assert (merged.name, merged.crm_id, merged.industry, merged.region) == (
            "Initech",
            initech,
            "Software",
            "North America",
        )
        assert (merged.owner_slack_id, merged.guidance) == (OWNER, "Ask Peter first")
        assert [(p.name, p.title, p.email) for p in merged.contacts] == [
            ("Peter Gibbons", "VP Engineering", "peter@initech.com")
        ]
        other = rows[typo.id]
        assert (other.crm_id, other.segment, other.owner_slack_id, other.owner_email) == (
            bright,
            "Mid-Market",
            None,
            "nobody@elsewhere.example",
        )
    before = table_counts(db)
    again = sync_now(db, settings)
    full = sync_now(db, settings, full=True)
    assert again.changed == 0 and full.changed == 0 and not full.error
    assert table_counts(db) == before  # no update, no audit row, no Home refresh, no message
    seed_company(crm, "Initech", owner=olivia, domain="initech.com", industry="Fintech", billing_country="US")
    crm.upsert(CrmAccount(initech, "Initech", "initech.com", "Fintech", "US", None, None, olivia, True, now()))
    incremental = sync_now(db, settings)
    assert incremental.streams["accounts"].updated >= 1
    with db.reading() as session:
        assert session.get(Customer, imported.id).industry == "Fintech"  # type: ignore[union-attr]
        sentences = [
            e.details["sentence"]
            for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.updated_by_crm"))
        ]
    assert any(s.endswith("industry 'Software' → 'Fintech'") and initech in s for s in sentences), sentences


def test_an_account_deleted_in_the_crm_stops_being_referenceable_with_its_history(
    crm: FakeCrm, fake: FakeSlack, db: Database, database_url: str
) -> None:
    settings = crm_settings(crm, fake, database_url)
    gone = seed_company(crm, "Umbrella Corp", domain="umbrella.example")
    seed_company(crm, "Stays Ltd")
    sync_now(db, settings)
    crm.delete("accounts", gone)
    report = sync_now(db, settings)
    assert report.streams["accounts"].removed == 1, report.lines()
    with db.reading() as session:
        umbrella = session.scalars(select(Customer).where(Customer.crm_id == gone)).one()
        assert not umbrella.referenceable and "deleted" in umbrella.not_referenceable_reason


def test_bad_credentials_end_the_run_with_one_sentence_told_once_and_never_the_secret(
    crm: FakeCrm,
    fake: FakeSlack,
    db: Database,
    database_url: str,
    cli_env: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = crm.env()
    secret = env.get("SALESFORCE_CLIENT_SECRET") or env["HUBSPOT_ACCESS_TOKEN"]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REFBOT_MANAGERS", f"{MANAGER},{MANAGER_2}")
    seed_company(crm, "Initech")
    for _ in range(3):  # three scheduled runs, one error
        crm.fail_next("bad_credentials", times=50)
        assert cli.main(["crm", "sync"]) == 1
    assert cli.main(["crm", "status"]) == 1
    out, err = capsys.readouterr()
    assert secret not in out + err
    assert "stopped:" in out and "error since" in out
    with db.reading() as session:
        told = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == CRM_ERROR)).all()
    assert sorted(m.recipient for m in told) == [MANAGER, MANAGER_2]
    assert all(secret not in str(m.params) for m in told)


def test_crm_check_says_it_can_log_in_and_read_and_write(
    crm: FakeCrm, cli_env: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in crm.env().items():
        monkeypatch.setenv(name, value)
    assert cli.main(["crm", "check"]) == 0
    assert "logged in" in capsys.readouterr().out
    crm.fail_next("bad_credentials", times=50)
    assert cli.main(["crm", "check"]) == 1


# -- write-back ------------------------------------------------------------------------------------------


def linked_request(db: Database, settings: Settings, crm: FakeCrm) -> tuple[int, int, str]:
    """A request for a synced opportunity, and a happy customer to approve it with."""
    rep = seed_owner(crm, "riley@example.com", "Riley Rep")
    prospect = seed_company(crm, "Globex", is_customer=False, industry="Retail", billing_country="DE")
    deal = seed_deal(crm, "Globex platform deal", prospect, rep, amount=Decimal("120000"))
    report = sync_now(db, settings)
    assert not report.error, report.error
    with db.transaction() as session:
        reference = customer(session, "Acme Corp").id
        opportunity = session.scalars(select(Opportunity).where(Opportunity.crm_id == deal)).one()
        request = rq.submit(session, settings, REP, rq.RequestDraft(prospect="Globex", ref_type=RefType.CALL))
        request.opportunity_id = opportunity.id
        request_id = request.id
    return request_id, reference, deal


def deliver_all(app: Refbot, settle: float = 15.0) -> None:
    """Deliver what is due; a CRM write rescheduled after a transient error (a timeout on this loaded machine)
    is waited for, up to `settle` seconds, so the test sees its outcome rather than its backoff."""
    import time

    deadline = time.monotonic() + settle
    while True:
        while app.deps.outbox.deliver_due():
            pass
        with app.deps.db.reading() as session:
            waiting = session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == ACTIVITY,
                    OutboxMessage.status == OutboxStatus.PENDING,
                    ~OutboxMessage.last_error.startswith("waiting for"),
                    OutboxMessage.last_error != "",
                )
            ).all()
        if not waiting or time.monotonic() > deadline:
            return
        time.sleep(0.5)


def test_write_back_on_approval_and_outcome_exactly_once_across_three_replicas(
    crm: FakeCrm, fake: FakeSlack, db: Database, database_url: str
) -> None:
    settings = crm_settings(crm, fake, database_url)
    request_id, reference, deal = linked_request(db, settings, crm)
    with db.transaction() as session:
        rq.approve(session, settings, request_id, reference, MANAGER)
    replicas = [create_app(settings, db=db) for _ in range(3)]
    threads = [threading.Thread(target=deliver_all, args=(app,)) for app in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    (activity,) = crm.activities()
    assert activity["opportunity_crm_id"] == deal
    assert "Acme Corp" in activity["subject"] and "Reference call" in activity["subject"]
    with db.transaction() as session:
        rq.record_outcome(session, settings, request_id, Outcome.HELPED, REP)
    for app in replicas:
        deliver_all(app)
    (updated,) = crm.activities()
    assert (
        updated["crm_id"] == activity["crm_id"]
        and "Outcome reported by" in updated["body"]
        and "Helped" in updated["body"]
    )
    with db.reading() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == ACTIVITY).order_by(OutboxMessage.id)
        ).all()
    assert [r.status for r in rows] == [OutboxStatus.SENT, OutboxStatus.SENT]
    assert rows[0].slack_ts == activity["crm_id"]  # kept, so the update needs no search (HubSpot's lags)


def test_an_outcome_recorded_before_the_approval_is_written_makes_one_activity_with_both(
    crm: FakeCrm, fake: FakeSlack, db: Database, database_url: str
) -> None:
    settings = crm_settings(crm, fake, database_url)
    request_id, reference, _ = linked_request(db, settings, crm)
    with db.transaction() as session:
        rq.approve(session, settings, request_id, reference, MANAGER)
    with db.transaction() as session:
        rq.record_outcome(session, settings, request_id, Outcome.HURT, REP)
    app = create_app(settings, db=db)
    deliver_all(app)
    import time

    time.sleep(2.1)  # the outcome row waited for the approval's write
    deliver_all(app)
    (activity,) = crm.activities()
    assert "approved in refbot" in activity["body"] and "Hurt" in activity["body"]


def test_write_back_after_a_crash_mid_write_asks_the_crm_before_writing_again(
    crm: FakeCrm, fake: FakeSlack, db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = crm_settings(crm, fake, database_url, REFBOT_OUTBOX_LEASE_SECONDS="0.3")
    request_id, reference, _ = linked_request(db, settings, crm)
    with db.transaction() as session:
        rq.approve(session, settings, request_id, reference, MANAGER)
    crashing = create_app(settings, db=db).deps.outbox

    class Killed(BaseException):
        """kill -9 between the CRM's answer and the row's update."""

    finish = crashing._finish

    def die(row_id: int, result: Any) -> None:
        with db.reading() as session:
            kind = session.get(OutboxMessage, row_id).kind  # type: ignore[union-attr]
        if kind != ACTIVITY:
            return finish(row_id, result)
        raise Killed

    monkeypatch.setattr(crashing, "_finish", die)
    with pytest.raises(Killed):
        while crashing.deliver_due():
            pass
    assert len(crm.activities()) == 1
    import time

    time.sleep(0.4)  # the dead worker's lease runs out
    survivor = create_app(settings, db=db)
    deliver_all(survivor)
    assert len(crm.activities()) == 1
    with db.reading() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == ACTIVITY)).one()
        assert row.status == OutboxStatus.SENT


# -- the request form's opportunity type-ahead, and linking later -----------------------------------------


@pytest.fixture
def crm_slack(crm: FakeCrm, fake: FakeSlack, db: Database, database_url: str) -> Iterator[tuple[Settings, Any]]:
    """refbot serving signed Slack requests, with the CRM connected."""
    from bot.server import HttpServer
    from slackfake.client import SignedClient
    from tests.conftest import SIGNING_SECRET

    settings = crm_settings(crm, fake, database_url, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    app = create_app(settings, db=db)
    http = HttpServer(app, host="127.0.0.1", port=0, threads=4).start_background()
    yield settings, SignedClient(f"{http.url}/slack/events", SIGNING_SECRET, fake=fake)
    http.stop()


def test_a_rep_picks_one_of_their_own_open_opportunities_and_the_form_fills_in_and_links(
    crm: FakeCrm, fake: FakeSlack, db: Database, crm_slack: tuple[Settings, Any]
) -> None:
    settings, slack = crm_slack
    rep = seed_owner(crm, "riley@example.com", "Riley Rep")
    other = seed_owner(crm, "oscar@example.com", "Oscar Other")
    globex = seed_company(crm, "Globex", is_customer=False, industry="Retail", billing_country="Germany")
    mine = seed_deal(crm, "Globex platform", globex, rep, amount=Decimal("120000"))
    seed_deal(crm, "Globex side deal", globex, other)
    seed_deal(crm, "Globex lost", globex, rep, is_closed=True, is_won=False, stage="Closed Lost")
    assert not sync_now(db, settings).error
    assert slack.command(REP, "request").status == 200
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    options = slack.block_suggestion(REP, "request.opportunity", "glob", view=form).json()["options"]
    assert [o["text"]["text"] for o in options] == ["Globex platform · 120,000"]  # the account is in the name already
    picked = options[0]
    slack.block_action(REP, "request.opportunity", view=form, selected_option=picked, action_type="external_select")
    filled = fake.wait_for(lambda f: "Globex platform" in str(f.last_view(REP)) and f.last_view(REP))
    values = {b["block_id"]: b.get("element", {}) for b in filled["blocks"] if b.get("type") == "input"}
    assert values["prospect"]["initial_value"] == "Globex"
    assert values["industry"]["initial_value"] == "Retail" and values["region"]["initial_value"] == "EMEA"
    assert values["opportunity_amount"]["initial_value"] == "120000.00"
    response = slack.view_submission(REP, filled, {"ref_type": "call"})
    assert response.status == 200 and not response.body, response.body
    with db.reading() as session:
        request = session.scalars(select(ReferenceRequest)).one()
        assert request.opportunity is not None and request.opportunity.crm_id == mine
        assert (request.prospect, request.opportunity_amount) == ("Globex", Decimal("120000.00"))
    # Someone else's deal, or a forged option value, is refused in the form.
    with db.reading() as session:
        foreign = session.scalars(
            select(Opportunity).where(Opportunity.crm_id != mine, Opportunity.is_closed.is_(False))
        ).one()
    refused = slack.view_submission(
        REP, filled, {"ref_type": "call", "request.opportunity": {"value": str(foreign.id), "text": "x"}}
    )
    assert "not one of your opportunities" in refused.json()["errors"]["opportunity"]


def test_a_manager_links_a_request_later_and_won_lost_reaches_the_digest(
    crm: FakeCrm, fake: FakeSlack, db: Database, crm_slack: tuple[Settings, Any]
) -> None:
    settings, slack = crm_slack
    rep = seed_owner(crm, "riley@example.com", "Riley Rep")
    globex = seed_company(crm, "Globex", is_customer=False)
    deal = seed_deal(crm, "Globex platform", globex, rep, amount=Decimal("80000"))
    assert not sync_now(db, settings).error
    with db.transaction() as session:
        request_id = rq.submit(session, settings, REP, rq.RequestDraft(prospect="Globex", ref_type=RefType.CALL)).id
        reference = customer(session, "Acme Corp").id
    with db.transaction() as session:
        rq.approve(session, settings, request_id, reference, MANAGER)
    assert slack.command(MANAGER, f"link {request_id}").status == 200
    form = fake.wait_for(lambda f: f.views(MANAGER) and f.views(MANAGER)[-1])
    (option,) = slack.block_suggestion(MANAGER, "request.link_opportunity", "", view=form).json()["options"]
    assert slack.block_suggestion(REP, "request.link_opportunity", "", view=form).json()["options"] == []
    response = slack.view_submission(MANAGER, form, {"request.link_opportunity": option})
    assert response.status == 200 and not response.body, response.body
    crm.upsert(
        CrmOpportunity(deal, "Globex platform", globex, Decimal("95000"), "Closed Won", None, True, True, rep, now())
    )
    assert not sync_now(db, settings).error
    with db.reading() as session:
        request = session.get(ReferenceRequest, request_id)
        assert request is not None and request.opportunity is not None
        assert (request.opportunity.is_won, request.opportunity.amount) == (True, Decimal("95000.00"))
        closed = session.scalars(select(AuditEntry).where(AuditEntry.action == "request.crm_closed")).one()
        assert closed.entity_id == str(request_id) and "closed won at 95,000.00" in closed.details["sentence"]
    # Linked after the approval: the write-back goes now, once (the serving app's own worker may be the one
    # that writes it, so wait for the CRM to have it, delivering from here too).
    import time

    helper = create_app(settings, db=db)
    deadline = time.monotonic() + 20
    while not crm.activities() and time.monotonic() < deadline:
        deliver_all(helper, settle=0)
        time.sleep(0.2)
    time.sleep(0.5)  # and nothing more arrives
    assert [a["opportunity_crm_id"] for a in crm.activities()] == [deal]
    # The digest and /reference stats give the CRM's figures, marked as the CRM's, beside the reps'.
    label = "Salesforce" if crm.name == "salesforce" else "HubSpot"
    assert slack.command(MANAGER, "stats").status == 200
    answer = fake.wait_for(lambda f: [e for e in f.ephemerals(MANAGER) if "Reference stats" in str(e)])[-1]
    assert f"From {label}: 1 deal with a reference closed" in str(answer)
    assert "1 won (*100%* win rate) · *95,000* won revenue influenced" in str(answer)
    from bot import digest
    from bot.notifications import render_digest

    with db.reading() as session:
        period = digest.week_of(digest.local_today(now(), settings.tz), settings.tz)
        _, rendered = render_digest(session, settings, period, now())
    assert f"From {label}: 1 deal with a reference closed" in str(rendered.blocks)
    assert f"(95,000 won per {label})" in rendered.text


def test_the_crm_job_runs_once_per_period_across_replicas_and_a_full_pass_nightly(
    crm: FakeCrm, fake: FakeSlack, db: Database, database_url: str
) -> None:
    from bot.jobs import run_job
    from models import CrmSyncState, JobRun

    settings = crm_settings(crm, fake, database_url)
    seed_company(crm, "Initech")
    results = [run_job(db, settings, "crm", period="2026-12-01T10:00", worker=f"replica-{n}") for n in range(3)]
    assert [bool(r.skipped) for r in results] == [False, True, True]
    assert any("1 created" in line for line in results[0].lines)
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(JobRun).where(JobRun.job == "crm")) == 1
        first_full = session.scalars(select(CrmSyncState.last_full_at).where(CrmSyncState.stream == "accounts")).one()
    assert first_full is not None  # the first sync is a full pass
    later = run_job(db, settings, "crm", period="2026-12-01T10:15", worker="replica-2")
    assert not later.skipped and any("incremental" in line for line in later.lines)
    with db.reading() as session:
        still = session.scalars(select(CrmSyncState.last_full_at).where(CrmSyncState.stream == "accounts")).one()
    assert still == first_full  # no full pass until REFBOT_SCHEDULE_CRM_FULL fires again


def test_a_write_back_the_crm_refuses_for_good_is_failed_and_shown_by_refbot_outbox(
    crm: FakeCrm,
    fake: FakeSlack,
    db: Database,
    database_url: str,
    cli_env: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = crm_settings(crm, fake, database_url)
    request_id, reference, deal = linked_request(db, settings, crm)
    crm.delete("opportunities", deal)  # deleted in the CRM after the request linked it
    with db.transaction() as session:
        rq.approve(session, settings, request_id, reference, MANAGER)
    deliver_all(create_app(settings, db=db))
    assert crm.activities() == []
    with db.reading() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == ACTIVITY)).one()
    assert row.status == OutboxStatus.FAILED and row.last_error
    assert cli.main(["outbox"]) == 0
    out = capsys.readouterr().out
    assert "crm.activity" in out and "failed" in out and row.last_error in out


@pytest.mark.parametrize("fault", ["rate_limit", "session_expired", "server_error"])
def test_limits_an_expired_session_and_a_brief_outage_are_ridden_out(
    crm: FakeCrm, fake: FakeSlack, db: Database, database_url: str, fault: str
) -> None:
    settings = crm_settings(crm, fake, database_url)
    seed_company(crm, "Initech")
    seed_company(crm, "Hooli")
    crm.fail_next(fault)  # type: ignore[arg-type]
    report = sync_now(db, settings)
    if fault == "session_expired" and crm.name == "hubspot":
        # A private app's token has no session to renew: it is one sentence, and the next run starts over.
        assert "token has expired" in report.error
        report = sync_now(db, settings)
    assert not report.error, report.error
    assert report.streams["accounts"].created == 2


def test_refbot_crm_sync_prints_its_report_and_a_dry_run_writes_nothing(
    crm: FakeCrm, cli_env: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in crm.env().items():
        monkeypatch.setenv(name, value)
    seed_company(crm, "Initech")
    seed_company(crm, "Globex", is_customer=False)
    assert cli.main(["crm", "sync", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "(dry run: nothing was written)" in out and "1 created" in out and "skipped 1: not a customer in" in out
    assert table_counts(cli_env) == (0, 0, 0, 0, 0)
    assert cli.main(["crm", "sync"]) == 0
    assert table_counts(cli_env)[0] == 1
    assert cli.main(["crm", "status"]) == 0
    status = capsys.readouterr().out
    assert "accounts" in status and "watermark" in status and "1 created" in status
