"""App Home end to end: signed `app_home_opened` events and clicks → a running refbot → the Slack fake.

Every test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL. The Home is read back from the
fake's views.publish record (`fake.home(user)`); its buttons are clicked as Slack would send them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import home as home_data
from bot import home_record, kinds
from bot import requests as rq
from bot.app import Refbot
from bot.settings import Settings
from bot.views.home import MAX_BLOCKS, home_view
from models import AuditEntry, CheckIn, Customer, OutboxMessage, ReferenceRequest
from models.db import Database
from models.enums import CheckInPurpose, CheckInStatus, Happiness, Outcome, RequestStatus
from models.types import utcnow
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, MANAGER_2, OTHER, OWNER, REP
from tests.test_request_flow import blob, seed, settle, status_of, wait_card

HOSTILE = "<!channel> Globex & <@UMANAGER1> <https://evil.example|ok>"


# -- helpers --------------------------------------------------------------------------------------------


def publishes(fake: FakeSlack, user: str) -> int:
    return len([c for c in fake.calls("views.publish") if c.args.get("user_id") == user and c.ok])


def open_home(slack: SignedClient, fake: FakeSlack, user: str, contains: str = "") -> dict[str, Any]:
    """Open the Home tab as `user` and wait for the view it publishes (containing `contains`)."""
    before = publishes(fake, user)
    response = slack.event({"type": "app_home_opened", "user": user, "tab": "home", "channel": "D0HOME"})
    assert response.status == 200, response.body
    return wait_home(fake, user, contains, after=before)


def wait_home(fake: FakeSlack, user: str, contains: str = "", *, after: int = -1, absent: str = "") -> dict[str, Any]:
    """The Home last published for `user`, once published more than `after` times and matching."""

    def ready(f: FakeSlack) -> Any:
        view = f.home(user)
        if view is None or publishes(f, user) <= after:
            return None
        text = blob(view)
        if contains not in text or (absent and absent in text):
            return None
        return view

    return fake.wait_for(ready, timeout=10)


def buttons(view: dict[str, Any]) -> dict[str, str]:
    """action_id → value of every button on a view (accessories included)."""
    found: dict[str, str] = {}
    for block in view["blocks"]:
        elements = block.get("elements", []) if block["type"] == "actions" else [block.get("accessory") or {}]
        for element in elements:
            if element.get("type") == "button":
                found[element["action_id"]] = element.get("value", "")
    return found


def submit_request(db: Database, settings: Settings, prospect: str = "Globex", **raw: str) -> int:
    """A request filed through the domain (receipt and manager cards enqueued, as from the modal)."""
    form = {"prospect": prospect, "ref_type": "call", "industry": "Fintech", "region": "EMEA", "products": "Payments"}
    form.update(raw)
    draft = rq.parse_draft(form, utcnow().date())
    with db.transaction() as session:
        return rq.submit(session, settings, REP, draft).id


def kick(refbot: Refbot) -> None:
    refbot.deps.outbox.kick()


def pending_checkin(db: Database, customer_id: int, *, days_ago: int, owner: str = OWNER) -> int:
    with db.transaction() as session:
        checkin = CheckIn(
            customer_id=customer_id,
            purpose=CheckInPurpose.PERIODIC.value,
            status=CheckInStatus.PENDING.value,
            asked_of=owner,
            asked_by="refbot",
            asked_at=utcnow() - timedelta(days=days_ago),
            round_subject=f"checkin-round:{owner}:test",
        )
        session.add(checkin)
        session.flush()
        return checkin.id


# -- managers -------------------------------------------------------------------------------------------


def test_manager_home_shows_queue_checkins_risks_consents_and_numbers(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    ids = seed(db)
    today = utcnow().astimezone(settings.tz).date()
    with db.transaction() as session:
        sour = factories.customer(session, "Initech Sour", answer=Happiness.UNHAPPY, happy_days_ago=3)
        factories.checkin(session, sour, Happiness.UNHAPPY, days_ago=2, nps=3)
        detractor = factories.customer(session, "Detractor Ltd", happy_days_ago=None)
        factories.checkin(session, detractor, Happiness.HAPPY, days_ago=4, nps=5)
        factories.customer(
            session, "Logo Partner", consents=("logo",), consent_expires=today + timedelta(days=10), happy_days_ago=8
        )
        factories.customer(
            session,
            "Far Consent",
            industry="Retail",
            products=("Ledger",),
            consents=("logo",),
            consent_expires=today + timedelta(days=300),
        )
        silent = factories.customer(session, "Silent Co", happy_days_ago=60)
    pending_checkin(db, silent.id, days_ago=9)
    request_id = submit_request(db, settings)

    # A first visit in a process opens at once; the program's numbers follow moments later.
    view = open_home(slack, fake, MANAGER, "At-risk customers")
    assert "Best usable candidate" in blob(view)
    text = blob(view)
    assert view["type"] == "home" and len(view["blocks"]) <= MAX_BLOCKS
    for title in ("Approval queue · 1", "Check-ins awaiting answers · 1", "At-risk customers · 3"):
        assert title in text
    assert "Consents expiring soon · 1" in text and "Logo Partner" in text and "Far Consent" not in text
    risks = text[text.index("At-risk customers") : text.index("Consents expiring soon")]
    assert risks.index("Initech Sour") < risks.index("Detractor Ltd") < risks.index("Silent Co")
    assert "Happy but NPS 5" in risks and "Unhappy, NPS 3" in risks and "check-in unanswered for 9 days" in risks
    assert f"#{request_id} · Globex" in text and "Best usable candidate: *Acme Corp*" in text
    actions = buttons(view)
    assert actions[f"request.approve:{request_id}_{ids['acme']}"] == f"{request_id}:{ids['acme']}"
    assert actions[f"request.decline:{request_id}"] == str(request_id)
    # This quarter's numbers: one request so far, nothing decided.
    numbers = next(b for b in view["blocks"] if b["type"] == "section" and "fields" in b)
    assert [f["text"] for f in numbers["fields"]][:3] == ["*Requests*\n1", "*Approved*\n0", "*Completed*\n0"]
    # Only the manager's sections: no owner's customers, and the requests section is empty.
    assert "Your customers" not in text and "You have no reference requests yet" in text
    assert fake.violations == []


def test_approve_from_home_then_the_home_refreshes(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    ids = seed(db)
    request_id = submit_request(db, settings)
    view = open_home(slack, fake, MANAGER, "Acme Corp")
    before = publishes(fake, MANAGER)
    slack.click(MANAGER, view, f"request.approve:{request_id}_{ids['acme']}")
    wait_card(fake, REP, "is approved", index=1)
    assert status_of(db, request_id) == RequestStatus.APPROVED
    refreshed = wait_home(fake, MANAGER, "No request is waiting for a decision", after=before)
    assert "*Approved*\\n1" in blob(refreshed)
    assert not [a for a in buttons(refreshed) if a.startswith("request.approve")]
    # A manager who never opened the Home gets none pushed.
    settle(db)
    assert fake.home(MANAGER_2) is None
    assert fake.violations == []


def test_decline_from_home(slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings) -> None:
    seed(db)
    request_id = submit_request(db, settings)
    view = open_home(slack, fake, MANAGER, "Decline")
    before = publishes(fake, MANAGER)
    slack.click(MANAGER, view, f"request.decline:{request_id}")
    form = fake.wait_for(lambda f: f.views(MANAGER) and f.views(MANAGER)[-1])
    assert slack.view_submission(MANAGER, form, {"reason": "Too early in the deal"}).status == 200
    wait_card(fake, REP, "declined", index=1)
    assert status_of(db, request_id) == RequestStatus.DECLINED
    wait_home(fake, MANAGER, "No request is waiting for a decision", after=before)


def test_queue_without_a_usable_candidate_offers_decline_only(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    with db.transaction() as session:
        factories.customer(session, "Grumpy Bank", answer=Happiness.UNHAPPY)
    request_id = submit_request(db, settings)
    view = open_home(slack, fake, MANAGER, "No candidate can be used")
    assert set(buttons(view)) >= {f"request.decline:{request_id}"}
    assert not [a for a in buttons(view) if a.startswith("request.approve")]


def test_unranked_queue_is_finished_by_a_background_refresh(
    slack: SignedClient,
    fake: FakeSlack,
    db: Database,
    settings: Settings,
    refbot: Refbot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No time to rank while the tab opens: the Home says so, and the outbox publishes the ranked one."""
    ids = seed(db)
    refbot.deps.homes.picks.clear()
    monkeypatch.setattr(home_data, "FOREGROUND_BUDGET", 0.0)
    request_id = submit_request(db, settings.with_overrides(managers=()))  # no card: nothing ranked it yet
    before = publishes(fake, MANAGER)
    slack.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"})
    ranked = wait_home(fake, MANAGER, "Best usable candidate", after=before + 1)
    calls = [c for c in fake.calls("views.publish") if c.args.get("user_id") == MANAGER]
    assert "still being ranked" in blob(calls[before].args["view"]), "the first publish did not wait for ranking"
    assert f"request.approve:{request_id}_{ids['acme']}" in buttons(ranked)


def test_home_publish_failure_is_retried_through_the_outbox(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    seed(db)
    submit_request(db, settings)
    fake.fail("views.publish", status=503, times=3)  # the interactive client's own retries are used up too
    slack.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"})
    view = fake.wait_for(lambda f: f.home(MANAGER), timeout=15)
    assert "Approval queue · 1" in blob(view)
    with db.reading() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kinds.HOME)).all()
    assert {r.recipient for r in rows} == {MANAGER}
    assert any(r.status == "sent" and r.idempotency_key.endswith(":opened") for r in rows)


def test_facts_from_before_a_change_are_followed_by_the_current_ones(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    """An import (audited, no Home refresh) after a visit: the next visit opens at once with what was known,
    and the background refresh publishes the current numbers moments later."""
    seed(db)
    open_home(slack, fake, MANAGER, "At-risk customers · 0")
    with db.transaction() as session:
        factories.customer(session, "Soured Ltd", answer=Happiness.UNHAPPY, happy_days_ago=1)
        session.add(AuditEntry(actor=MANAGER, action="customer.imported", entity="customer", entity_id="1"))
    before = publishes(fake, MANAGER)
    slack.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"})
    current = wait_home(fake, MANAGER, "At-risk customers · 1", after=before)
    assert "Soured Ltd" in blob(current)
    calls = [c for c in fake.calls("views.publish") if c.args.get("user_id") == MANAGER]
    assert "At-risk customers · 0" in blob(calls[before].args["view"]), "the visit waited for new facts"


def test_messages_tab_publishes_nothing(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    slack.event({"type": "app_home_opened", "user": REP, "tab": "messages"})
    open_home(slack, fake, OTHER)  # a later event is handled: the first one was indeed ignored
    assert fake.home(REP) is None


# -- account owners -------------------------------------------------------------------------------------


def test_owner_answers_a_checkin_from_home(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    ids = seed(db, happy_days_ago=45)
    request_id = submit_request(db, settings)
    with db.transaction() as session:
        rq.approve(session, settings, request_id, ids["acme"], MANAGER)
    assert status_of(db, request_id) == RequestStatus.AWAITING_CHECKIN
    with db.reading() as session:
        checkin_id = session.scalars(select(CheckIn.id).where(CheckIn.status == "pending")).one()

    view = open_home(slack, fake, OWNER, "Check-ins waiting for you")
    text = blob(view)
    assert "Is *Acme Corp* still happy?" in text and "before it is used as a reference" in text
    assert "Your customers · 3" in text
    assert "stale: last Happy 45 days ago" in text and ":hourglass: check-in waiting for you" in text
    assert buttons(view)[f"checkin.answer:happy_{checkin_id}"] == f"{checkin_id}:happy"
    before = publishes(fake, OWNER)
    slack.click(OWNER, view, f"checkin.answer:happy_{checkin_id}")
    wait_card(fake, REP, "is approved", index=1)
    assert status_of(db, request_id) == RequestStatus.APPROVED
    refreshed = wait_home(fake, OWNER, "Your customers", after=before, absent="Check-ins waiting for you")
    assert "Acme Corp* · Happy today" in blob(refreshed)
    assert not [a for a in buttons(refreshed) if a.startswith("checkin.answer")]
    assert fake.violations == []


def test_owner_list_is_worst_first_with_more_link(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    with db.transaction() as session:
        for i in range(20):
            factories.customer(session, f"Happy {i:02d}", happy_days_ago=2, contact=None)
        factories.customer(session, "Sour One", answer=Happiness.UNHAPPY, happy_days_ago=1, contact=None)
        factories.customer(session, "Never Asked", happy_days_ago=None, contact=None)
        factories.customer(session, "Someone Else's", owner=OTHER, contact=None)
    view = open_home(slack, fake, OWNER, "Your customers · 22")
    text = blob(view)
    assert text.index("Sour One") < text.index("Never Asked") < text.index("Happy 00")
    assert "Someone Else" not in text and "… and 10 more customers" in text
    expanded_before = publishes(fake, OWNER)
    slack.click(OWNER, view, "home.expand:customers")
    full = wait_home(fake, OWNER, "Happy 19", after=expanded_before)
    assert "home.expand:all" in buttons(full) and len(full["blocks"]) <= MAX_BLOCKS
    assert fake.violations == []


# -- requesters -----------------------------------------------------------------------------------------


def test_rep_records_an_outcome_from_home(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    ids = seed(db)
    request_id = submit_request(db, settings, needed_by=utcnow().date().isoformat())
    waiting_id = submit_request(db, settings, prospect="Hooli")
    with db.transaction() as session:
        rq.approve(session, settings, request_id, ids["acme"], MANAGER)
        request = session.get(ReferenceRequest, request_id)
        request.needed_by = date.today() - timedelta(days=3)  # the reference should have happened by now
    view = open_home(slack, fake, REP, "How did it go?")
    text = blob(view)
    assert "Your requests · 2" in text and text.index(f"#{request_id} · Globex") < text.index(f"#{waiting_id} · Hooli")
    assert "waiting for a reference manager" in text
    actions = buttons(view)
    assert actions[f"outcome.record:helped_{request_id}"] == f"{request_id}:helped"
    assert actions[f"request.cancel:{waiting_id}"] == str(waiting_id)
    assert actions["request.new"] == "new"

    before = publishes(fake, REP)
    slack.click(REP, view, f"outcome.record:helped_{request_id}")
    refreshed = wait_home(fake, REP, "completed: Helped", after=before)
    assert not [a for a in buttons(refreshed) if a.startswith("outcome.record")]
    assert status_of(db, request_id) == RequestStatus.COMPLETED
    # The details form opens from the Home as well (for the one still to report, none now: refused).
    slack.block_action(REP, f"home.outcome_details:{request_id}", value=str(request_id), view=refreshed)
    fake.wait_for(lambda f: [m for m in f.messages(REP) if "already completed" in m.text])
    # Cancel from the Home.
    slack.click(REP, refreshed, f"request.cancel:{waiting_id}")
    wait_home(fake, REP, f"#{waiting_id} · Hooli", absent=f"request.cancel:{waiting_id}")
    assert status_of(db, waiting_id) == RequestStatus.CANCELLED
    assert fake.violations == []


def test_outcome_details_form_from_home(slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings) -> None:
    ids = seed(db)
    request_id = submit_request(db, settings)
    with db.transaction() as session:
        rq.approve(session, settings, request_id, ids["acme"], MANAGER)
        session.get(ReferenceRequest, request_id).decided_at = utcnow() - timedelta(days=30)
    view = open_home(slack, fake, REP, "How did it go?")
    slack.click(REP, view, f"home.outcome_details:{request_id}")
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    values = {"outcome": "helped", "amount_influenced": "125000", "deal_won": "won"}
    assert slack.view_submission(REP, form, values).status == 200
    wait_home(fake, REP, "completed: Helped")
    manager = open_home(slack, fake, MANAGER, "Amount influenced")
    assert "*Amount influenced*\\n125,000" in blob(manager) and "*Helped the deal*\\n1" in blob(manager)


def test_new_request_button_opens_the_form_and_the_home_follows(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    seed(db)
    view = open_home(slack, fake, REP, "You have no reference requests yet")
    slack.click(REP, view, "request.new")
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    assert form["callback_id"] == "request.submit"
    before = publishes(fake, REP)
    values = {"prospect": "Globex", "ref_type": "call", "industry": "Fintech"}
    assert slack.view_submission(REP, form, values).status == 200
    refreshed = wait_home(fake, REP, "Globex", after=before)
    assert "Your requests · 1" in blob(refreshed)


def test_150_requests_stay_within_100_blocks_with_more(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    ids = seed(db)
    now = utcnow()
    statuses = ["submitted", "approved", "completed", "declined", "cancelled"]
    with db.transaction() as session:
        for i in range(150):
            status = statuses[i % len(statuses)]
            session.add(
                ReferenceRequest(
                    requester_id=MANAGER,  # a manager who requests too: every role on one Home
                    prospect=f"Prospect {i:03d} <b>&",
                    ref_type="call",
                    status=status,
                    customer_id=ids["acme"] if status in ("approved", "completed") else None,
                    decided_by=MANAGER_2 if status != "submitted" else None,
                    decided_at=now - timedelta(days=40) if status != "submitted" else None,
                    outcome="neutral" if status == "completed" else None,
                    created_at=now - timedelta(days=150 - i),
                )
            )
        for i in range(12):
            factories.customer(session, f"Managed {i}", owner=MANAGER, happy_days_ago=None, contact=None)
    for i in range(8):
        with db.reading() as session:
            customer_id = session.scalars(select(Customer.id).where(Customer.name == f"Managed {i}")).one()
        pending_checkin(db, customer_id, days_ago=1, owner=MANAGER)

    view = open_home(slack, fake, MANAGER, "Your requests · 150")
    text = blob(view)
    assert len(view["blocks"]) <= MAX_BLOCKS
    assert text.index("Approval queue · 30") < text.index("Check-ins waiting for you") < text.index("Your requests")
    assert "… and 24 more waiting" in text and "… and 140 more requests" in text
    assert "… and 3 more waiting for you" in text
    assert "&lt;b&gt;&amp;" in text and "<b>" not in text
    assert {"home.expand:queue", "home.expand:requests", "home.expand:owner_checkins"} <= set(buttons(view))
    for section in ("queue", "requests", "owner_checkins"):
        before = publishes(fake, MANAGER)
        slack.click(MANAGER, fake.home(MANAGER), f"home.expand:{section}")
        full = wait_home(fake, MANAGER, "home.expand:all", after=before)
        assert len(full["blocks"]) <= MAX_BLOCKS
        before = publishes(fake, MANAGER)
        slack.click(MANAGER, full, "home.expand:all")
        wait_home(fake, MANAGER, "Approval queue", after=before)
    assert fake.violations == []


def test_hostile_names_are_escaped_on_every_home(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    today = utcnow().astimezone(settings.tz).date()
    with db.transaction() as session:
        bad = factories.customer(
            session,
            "<!here> Evil & Co <@UREP00001>",
            answer=Happiness.UNHAPPY,
            consents=("logo",),
            consent_expires=today + timedelta(days=3),
        )
        bad.consents[0].approved_by = "<!channel> Carla"
        happy = factories.customer(session, "Fine <https://x.example|click>", happy_days_ago=50)
    pending_checkin(db, happy.id, days_ago=10)
    request_id = submit_request(db, settings, prospect=HOSTILE)
    with db.transaction() as session:
        rq.approve(session, settings, request_id, happy.id, MANAGER)
    for user, marker in ((MANAGER, "At-risk customers"), (OWNER, "Your customers"), (REP, "Your requests")):
        view = open_home(slack, fake, user, marker)
        text = blob(view)
        assert "<!channel>" not in text and "<!here>" not in text and "<https://" not in text, user
        assert "<@UMANAGER1>" not in text and "Co <@UREP00001>" not in text, user
    assert "&lt;!here&gt; Evil &amp; Co &lt;@UREP00001&gt;" in blob(fake.home(MANAGER))
    assert "&lt;!channel&gt; Globex &amp; &lt;@UMANAGER1&gt;" in blob(fake.home(REP))
    assert fake.violations == []


def test_non_manager_forging_approve_from_home_is_refused(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    ids = seed(db)
    request_id = submit_request(db, settings)
    view = open_home(slack, fake, REP, "Your requests")
    assert not [a for a in buttons(view) if a.startswith("request.approve") or a.startswith("request.decline")]
    action = f"request.approve:{request_id}_{ids['acme']}"
    response = slack.block_action(REP, action, value=f"{request_id}:{ids['acme']}", view=view)
    assert response.status == 200
    fake.wait_for(lambda f: [m for m in f.messages(REP) if "Only reference managers can approve" in m.text])
    slack.block_action(REP, f"request.decline:{request_id}", value=str(request_id), view=view)
    fake.wait_for(lambda f: [m for m in f.messages(REP) if "Only reference managers can decline" in m.text])
    assert status_of(db, request_id) == RequestStatus.SUBMITTED
    assert fake.views(REP) == []


# -- refreshes through the outbox -------------------------------------------------------------------------


def home_rows(db: Database) -> list[OutboxMessage]:
    with db.reading() as session:
        return list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kinds.HOME).order_by(OutboxMessage.id))
        )


def test_refreshes_go_only_to_people_with_a_home_and_coalesce(
    refbot: Refbot, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    ids = seed(db)
    submit_request(db, settings)
    assert home_rows(db) == [], "nobody opened the Home: nothing to refresh"
    with db.transaction() as session:
        home_record.remember_home(session, MANAGER)
        home_record.remember_home(session, REP)
        home_record.remember_home(session, REP)  # once is enough
    first = submit_request(db, settings, prospect="Hooli")
    with db.transaction() as session:
        rq.approve(session, settings, first, ids["acme"], MANAGER)
        rq.record_outcome(session, settings, first, Outcome.HELPED, REP)  # two changes, one transaction
    rows = home_rows(db)
    assert [(r.recipient, r.status) for r in rows if r.status == "sent"] == [(MANAGER, "sent"), (REP, "sent")]
    pending = [r for r in rows if r.status == "pending"]
    assert sorted(r.recipient for r in pending) == [MANAGER, MANAGER, REP, REP]
    worker = refbot.deps.outbox
    while worker.deliver_due():
        pass
    rows = {r.id: r for r in home_rows(db)}
    assert sorted((rows[r.id].recipient, rows[r.id].status) for r in pending) == [
        (MANAGER, "sent"),
        (MANAGER, "skipped"),
        (REP, "sent"),
        (REP, "skipped"),
    ]
    assert publishes(fake, MANAGER) == publishes(fake, REP) == 1
    assert "completed: Helped" in blob(fake.home(REP))
    assert fake.violations == []


def test_checkin_answers_refresh_owner_and_managers(refbot: Refbot, db: Database, settings: Settings) -> None:
    with db.transaction() as session:
        customer = factories.customer(session, "Periodic Co", happy_days_ago=40)
    checkin_id = pending_checkin(db, customer.id, days_ago=1)
    with db.transaction() as session:
        for user in (OWNER, MANAGER, OTHER):
            home_record.remember_home(session, user)
    with db.transaction() as session:
        rq.answer_checkin(session, settings, checkin_id, Happiness.CONCERNS, OWNER, nps=5)
    # MANAGER_2 and OTHER are concerned or not, but have no Home on record; the asked owner and MANAGER do.
    assert sorted(r.recipient for r in home_rows(db) if r.status == "pending") == [MANAGER, OWNER]


# -- pure rendering: every role at its fullest ----------------------------------------------------------


def test_fullest_home_fits_and_validates(db: Database, settings: Settings) -> None:
    """A manager who owns customers and requests, with every list overflowing, in every expansion."""
    from slackfake.blockkit import validate_view

    now = utcnow()
    today = now.astimezone(settings.tz).date()
    long = "Ü" * 116 + " <&>"
    with db.transaction() as session:
        customers = [
            factories.customer(
                session,
                f"{long} {i}",
                owner=MANAGER,
                answer=[Happiness.UNHAPPY, Happiness.CONCERNS, Happiness.HAPPY][i % 3],
                happy_days_ago=[1, 5, 90][i % 3],
                consents=("logo",),
                consent_expires=today + timedelta(days=1 + i % 20),
                contact=None,
            )
            for i in range(120)
        ]
        for i, customer in enumerate(customers[:60]):
            session.add(
                CheckIn(
                    customer_id=customer.id,
                    purpose="periodic",
                    status="pending",
                    asked_of=MANAGER,
                    asked_by="refbot",
                    asked_at=now - timedelta(days=10 + i),
                )
            )
        for i in range(120):
            session.add(
                ReferenceRequest(
                    requester_id=MANAGER,
                    prospect=f"{long} prospect {i}",
                    ref_type="call",
                    status="approved" if i % 2 else "submitted",
                    customer_id=customers[i].id if i % 2 else None,
                    decided_by=MANAGER if i % 2 else None,
                    decided_at=now - timedelta(days=60) if i % 2 else None,
                    needed_by=today - timedelta(days=1) if i % 2 else None,
                    amount_influenced=Decimal("999999999999.99"),
                    created_at=now - timedelta(days=i),
                )
            )
    memory = home_data.HomeMemory()
    with db.reading() as session:
        for expand in (None, *sorted(home_data.SECTIONS)):
            built = home_data.build_home(session, settings, MANAGER, now, memory=memory, expand=expand, rank_budget=0.0)
            view = home_view(built, settings, now)
            assert validate_view(view) == [], expand
            assert len(view["blocks"]) <= MAX_BLOCKS, expand
            if expand is None:
                assert built.manager is not None and built.owner is not None
                assert built.manager.queue.total == 60 and built.owner.checkins.total == 60
                assert built.manager.facts.at_risk.total == 100 and built.rep.requests.total == 120


def test_quarter_boundaries_follow_the_configured_zone(settings: Settings) -> None:
    label, start = home_data.quarter_start(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), settings)  # Berlin: April
    assert label == "Q2 2026" and start == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    assert home_data.quarter_start(datetime(2026, 2, 1, tzinfo=UTC), settings)[0] == "Q1 2026"


def test_headline_counts_only_this_quarter(db: Database, settings: Settings) -> None:
    now = utcnow()
    _, since = home_data.quarter_start(now, settings)
    with db.transaction() as session:
        for days, status, outcome, amount in (
            (0, "completed", "helped", Decimal("100")),
            (0, "completed", "hurt", Decimal("50")),
            (0, "approved", None, None),
            (0, "submitted", None, None),
        ):
            session.add(
                ReferenceRequest(
                    requester_id=REP,
                    prospect="P",
                    ref_type="call",
                    status=status,
                    decided_at=now if status != "submitted" else None,
                    outcome=outcome,
                    outcome_at=now if outcome else None,
                    amount_influenced=amount,
                    created_at=now - timedelta(days=days),
                )
            )
        session.add(
            ReferenceRequest(
                requester_id=REP,
                prospect="Old",
                ref_type="call",
                status="completed",
                decided_at=since - timedelta(days=5),
                outcome="helped",
                outcome_at=since - timedelta(days=1),
                amount_influenced=Decimal("999"),
                created_at=since - timedelta(days=10),
            )
        )
    with db.reading() as session:
        numbers = home_data.headline(session, settings, now)
        total = session.scalar(select(func.count()).select_from(ReferenceRequest))
    assert total == 5
    assert (numbers.requests, numbers.approved, numbers.completed, numbers.helped) == (4, 3, 2, 1)
    assert numbers.influenced == Decimal("150")
