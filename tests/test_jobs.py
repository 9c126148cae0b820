"""Scheduled jobs (`bot.jobs`): every cadence, reminder and escalation, timezone/DST edges, the answers
that come back through signed requests, and `refbot jobs|outbox` — on SQLite and, with TEST_DATABASE_URL,
PostgreSQL.

Cadence tests freeze the clock (freezegun, tz-aware instants), call `run_job(..., now=...)` and deliver
with the real outbox worker (`deliver_due()`, no background thread) to the Slack fake. End-to-end tests
run the real server against the fake with the real clock, and answer through signed block actions and
view submissions. The settings fixture's REFBOT_TIMEZONE is Europe/Berlin (UTC+1 in winter, +2 in summer).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select, update

from bot import cli, kinds
from bot import requests as rq
from bot.app import Refbot
from bot.eligibility import assess, load_context
from bot.errors import ValidationFailed
from bot.jobs import (
    ROUND_SIZE,
    JobResult,
    _day_period,
    outcome_due_at,
    run_job,
)
from bot.kinds import CHECKIN_ESCALATION, CHECKIN_REMINDER, CHECKIN_ROUND, CONSENT_EXPIRING, OWNERLESS, SLA_REMINDER
from bot.outbox import OutboxWorker, enqueue
from bot.scheduler import JobScheduler, scheduled_time
from bot.settings import Settings, cron_trigger
from models import CheckIn, Consent, Customer, JobRun, OutboxMessage, ReferenceRequest, ReferenceUse
from models.db import Database
from models.enums import CheckInPurpose, CheckInStatus, Happiness, Outcome, RefType, RequestStatus
from slackfake.client import SignedClient
from slackfake.server import FakeSlack, Message
from tests import factories
from tests.conftest import MANAGER, MANAGER_2, OTHER, OWNER, REP
from tests.test_request_flow import settle

OWNER_B = "UOWNERB02"
BERLIN = "Europe/Berlin"
# A Tuesday in winter: 09:00 in Berlin is 08:00 UTC (the default check-in schedule's fire time).
WINTER_TUESDAY_9 = datetime(2026, 2, 10, 8, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def blob(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def text_of(message: Message) -> str:
    return message.text + blob(message.blocks)


def action_blocks(message: Message) -> list[dict[str, Any]]:
    return [b for b in message.blocks if b["type"] == "actions"]


@pytest.fixture
def clock() -> Iterator[Any]:
    """The frozen clock, at a winter Tuesday 09:00 in Berlin; tests move it with `clock.move_to(...)`."""
    with freeze_time(WINTER_TUESDAY_9) as frozen:
        yield frozen


def deliver(worker: OutboxWorker) -> int:
    """Deliver everything due now; returns how many rows were attempted."""
    total = 0
    while done := worker.deliver_due():
        total += done
    return total


def rows(db: Database, *kinds: str) -> list[OutboxMessage]:
    with db.reading() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kinds:
            query = query.where(OutboxMessage.kind.in_(kinds))
        return list(session.scalars(query))


def run(db: Database, settings: Settings, name: str, clock: Any, when: datetime, **kwargs: Any) -> JobResult:
    clock.move_to(when)
    return run_job(db, settings, name, now=when, **kwargs)


def customers(db: Database, *names: str, owner: str | None = OWNER, **kwargs: Any) -> dict[str, int]:
    with db.transaction() as session:
        return {name: factories.customer(session, name, owner=owner, **kwargs).id for name in names}


def checkins_of(db: Database, customer_id: int) -> list[CheckIn]:
    with db.reading() as session:
        return list(session.scalars(select(CheckIn).where(CheckIn.customer_id == customer_id).order_by(CheckIn.id)))


def pending_checkin(db: Database, customer_id: int) -> CheckIn:
    (checkin,) = [c for c in checkins_of(db, customer_id) if c.status == CheckInStatus.PENDING]
    return checkin


def count(db: Database, model: type) -> int:
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def wait_message(fake: FakeSlack, user: str, contains: str, index: int | None = None) -> Message:
    """The message in `user`'s DM (the `index`-th, or any) once it contains `contains`."""

    def ready(f: FakeSlack) -> Message | None:
        messages = f.messages(user)
        candidates = messages if index is None else messages[index : index + 1]
        return next((m for m in candidates if contains in text_of(m)), None)

    return fake.wait_for(ready)


def approved_request(
    db: Database,
    settings: Settings,
    *,
    prospect: str = "Globex",
    needed_by: date | None = None,
    customer: str = "Acme Corp",
    prior_uses: int = 0,
) -> tuple[int, int]:
    """A real request, submitted and approved (fresh, happy customer): (request id, customer id)."""
    with db.transaction() as session:
        existing = session.scalars(select(Customer).where(Customer.name == customer)).first()
        record = existing or factories.customer(session, customer)
        for n in range(prior_uses):
            factories.use(session, record, days_ago=10 + n)
        draft = rq.RequestDraft(prospect=prospect, ref_type=RefType.CALL, needed_by=needed_by)
        request = rq.submit(session, settings, REP, draft)
        rq.approve(session, settings, request.id, record.id, MANAGER, now=factories.now())
        assert request.status == RequestStatus.APPROVED
        return request.id, record.id


# == 1. periodic happiness check-ins ======================================================================


def test_checkins_ask_stale_referenceable_customers_only(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    ids = customers(db, "Stale 31", happy_days_ago=31)
    ids |= customers(db, "Fresh 29", happy_days_ago=29)
    ids |= customers(db, "Edge 30", happy_days_ago=30)  # exactly the limit is still fresh
    ids |= customers(db, "Never Asked", happy_days_ago=None)
    ids |= customers(db, "Not Referenceable", happy_days_ago=None, referenceable=False)
    ids |= customers(db, "Already Waiting", happy_days_ago=None)
    with db.transaction() as session:  # a manager's question about it is still open: not asked twice
        session.add(
            CheckIn(
                customer_id=ids["Already Waiting"],
                purpose=CheckInPurpose.ASK_OWNER.value,
                status=CheckInStatus.PENDING.value,
                asked_of=OWNER,
                asked_by=MANAGER,
            )
        )

    result = run(db, settings, "checkins", clock, WINTER_TUESDAY_9)

    assert result.period == "2026-02-10"
    assert result.lines == [f"DM to {OWNER}: is Never Asked, Stale 31 still happy?"]
    assert result.messages == 1
    with db.reading() as session:
        asked = session.scalars(select(CheckIn).where(CheckIn.asked_by == "refbot")).all()
        assert sorted(c.customer_id for c in asked) == sorted([ids["Stale 31"], ids["Never Asked"]])
        for checkin in asked:
            assert (checkin.purpose, checkin.status, checkin.asked_of) == ("periodic", "pending", OWNER)
            assert checkin.asked_at == WINTER_TUESDAY_9
            assert checkin.round_subject == f"checkin-round:{OWNER}:2026-02-10:0"
    assert [(r.kind, r.recipient) for r in rows(db)] == [(CHECKIN_ROUND, OWNER)]

    assert deliver(worker) == 1
    (dm,) = fake.messages(OWNER)
    assert dm.text.startswith("Check-in: are these 2 customers still happy?")
    text = text_of(dm)
    assert "Stale 31" in text and "Never Asked" in text
    for absent in ("Fresh 29", "Edge 30", "Not Referenceable", "Already Waiting"):
        assert absent not in text
    assert "last: Happy, 31 days ago" in text and "never checked in" in text
    assert fake.violations == []


def test_checkins_one_grouped_dm_per_owner_never_one_per_customer(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    mine = customers(db, "Acme Corp", "Initech", "Umbrella Bank", happy_days_ago=40)
    theirs = customers(db, "Globex", "Hooli", owner=OWNER_B, happy_days_ago=None)

    result = run(db, settings, "checkins", clock, WINTER_TUESDAY_9)

    assert result.messages == 2
    assert sorted((r.kind, r.recipient) for r in rows(db)) == [(CHECKIN_ROUND, OWNER), (CHECKIN_ROUND, OWNER_B)]
    assert deliver(worker) == 2
    assert len(fake.calls("chat.postMessage")) == 2, "one DM per owner, not one per customer"
    for owner, group in ((OWNER, mine), (OWNER_B, theirs)):
        (dm,) = fake.messages(owner)
        assert dm.text.startswith(f"Check-in: are these {len(group)} customers still happy?")
        assert len(action_blocks(dm)) == len(group)
        for name, customer_id in group.items():
            assert name in text_of(dm)
            checkin = pending_checkin(db, customer_id)
            block = next(b for b in action_blocks(dm) if b["block_id"] == f"round:{checkin.id}")
            assert [e["action_id"] for e in block["elements"]] == [
                f"checkin.answer:happy_{checkin.id}",
                f"checkin.answer:concerns_{checkin.id}",
                f"checkin.answer:unhappy_{checkin.id}",
                f"checkin.answer_with_note:{checkin.id}",
            ]
        others = theirs if owner == OWNER else mine
        assert not any(name in text_of(dm) for name in others)
    assert fake.violations == []


def test_checkins_split_an_owners_customers_into_rounds_of_twenty(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    names = [f"Customer {n:02d}" for n in range(1, 26)]
    customers(db, *names, happy_days_ago=None, contact=None)

    result = run(db, settings, "checkins", clock, WINTER_TUESDAY_9)

    assert ROUND_SIZE == 20
    assert [r.idempotency_key for r in rows(db)] == [
        f"checkin-round:{OWNER}:2026-02-10:0",
        f"checkin-round:{OWNER}:2026-02-10:1",
    ]
    assert result.messages == 2
    assert deliver(worker) == 2
    first, second = fake.messages(OWNER)
    assert len(action_blocks(first)) == 20 and len(action_blocks(second)) == 5
    assert "Customer 20" in text_of(first) and "Customer 21" not in text_of(first)
    assert "Customer 21" in text_of(second) and "Customer 25" in text_of(second)
    assert len(first.blocks) <= 50
    assert fake.violations == []


def test_ownerless_stale_customers_are_reported_to_each_manager_once(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    orphans = customers(db, "Orphan One", "Orphan Two", owner=None, happy_days_ago=None)
    customers(db, "Owned", happy_days_ago=None)

    result = run(db, settings, "checkins", clock, WINTER_TUESDAY_9)

    assert f"DM to {MANAGER}: 2 stale customers have no account owner (Orphan One, Orphan Two)" in result.lines
    assert sorted((r.kind, r.recipient) for r in rows(db, OWNERLESS)) == [(OWNERLESS, MANAGER), (OWNERLESS, MANAGER_2)]
    assert all(checkins_of(db, cid) == [] for cid in orphans.values()), "nobody to ask, so nothing asked"
    deliver(worker)
    for manager in (MANAGER, MANAGER_2):
        (told,) = fake.messages(manager)
        assert "2 customers need a check-in but have no account owner" in told.text
        assert "Orphan One" in text_of(told) and "Orphan Two" in text_of(told)
        assert "Owned" not in text_of(told)

    # Later the same (local) day: the period has run; nothing is sent again.
    again = run(db, settings, "checkins", clock, WINTER_TUESDAY_9 + timedelta(hours=6))
    assert again.skipped.startswith("already run for 2026-02-10") and again.messages == 0
    deliver(worker)
    assert [len(fake.messages(u)) for u in (MANAGER, MANAGER_2, OWNER)] == [1, 1, 1]


def test_checkins_rerun_in_same_period_sends_nothing_and_dry_run_writes_nothing(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    customers(db, "Acme Corp", happy_days_ago=None)

    dry = run(db, settings, "checkins", clock, WINTER_TUESDAY_9, dry_run=True)
    assert dry.lines == [f"DM to {OWNER}: is Acme Corp still happy?"] and dry.messages == 1
    assert (count(db, JobRun), count(db, OutboxMessage)) == (0, 0)
    acme = _only_customer(db)
    assert checkins_of(db, acme) == []

    first = run(db, settings, "checkins", clock, WINTER_TUESDAY_9)
    assert first.messages == 1
    second = run(db, settings, "checkins", clock, WINTER_TUESDAY_9 + timedelta(minutes=5))
    assert second.messages == 0 and "already run" in second.skipped
    assert count(db, OutboxMessage) == 1
    assert len([c for c in checkins_of(db, acme) if c.status == "pending"]) == 1
    with db.reading() as session:
        (job_run,) = session.scalars(select(JobRun)).all()
        assert (job_run.job, job_run.period, job_run.status) == ("checkins", "2026-02-10", "done")
        assert job_run.summary["messages"] == 1
    # The next day the customer's check-in is still waiting: not asked again.
    next_day = run(db, settings, "checkins", clock, WINTER_TUESDAY_9 + timedelta(days=1))
    assert (
        next_day.messages == 0
        and next_day.skipped == "every referenceable customer has a fresh check-in or one waiting"
    )
    assert count(db, OutboxMessage) == 1


def _only_customer(db: Database) -> int:
    with db.reading() as session:
        return session.scalars(select(Customer.id)).one()


def test_forced_rerun_asks_about_customers_that_became_stale_since(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    """`refbot jobs run checkins --force` runs again with a distinct period: its DMs are new messages."""
    customers(db, "Acme Corp", happy_days_ago=None)
    run(db, settings, "checkins", clock, WINTER_TUESDAY_9)
    deliver(worker)
    late = customers(db, "Late Corp", happy_days_ago=None)["Late Corp"]

    forced = run(db, settings, "checkins", clock, WINTER_TUESDAY_9 + timedelta(hours=2), force=True)

    assert forced.messages == 1 and not forced.skipped
    assert forced.period.startswith("2026-02-10#") and forced.period != "2026-02-10"
    assert count(db, JobRun) == 2
    deliver(worker)
    first, second = fake.messages(OWNER)
    assert "Late Corp" not in text_of(first)
    assert "Late Corp" in text_of(second) and "Acme Corp" not in text_of(second)
    assert pending_checkin(db, late).round_subject != pending_checkin(db, _id(db, "Acme Corp")).round_subject


def test_forced_reminders_run_in_the_same_hour_reminds_what_became_due_since(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    t0 = WINTER_TUESDAY_9
    customers(db, "Acme Corp", happy_days_ago=None)
    run(db, settings, "checkins", clock, t0)
    late = customers(db, "Late Corp", happy_days_ago=None)["Late Corp"]
    run(db, settings, "checkins", clock, t0 + timedelta(minutes=10), force=True)
    deliver(worker)
    assert run(db, settings, "reminders", clock, t0 + timedelta(days=3, minutes=5)).messages == 1
    forced = run(db, settings, "reminders", clock, t0 + timedelta(days=3, minutes=12), force=True)
    assert forced.messages == 1
    deliver(worker)
    reminders = [m for m in fake.messages(OWNER) if m.text.startswith("Reminder")]
    assert len(reminders) == 2
    assert "Acme Corp" in text_of(reminders[0]) and "Late Corp" in text_of(reminders[1])
    assert pending_checkin(db, late).reminded_at is not None


def _id(db: Database, name: str) -> int:
    with db.reading() as session:
        return session.scalars(select(Customer.id).where(Customer.name == name)).one()


# == reminders and escalation of unanswered check-ins ====================================================


def test_unanswered_checkins_remind_each_owner_once_then_escalate_once(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    mine = customers(db, "Acme Corp", "Initech", "Umbrella Bank", happy_days_ago=None)
    theirs = customers(db, "Globex", "Hooli", owner=OWNER_B, happy_days_ago=None)
    t0 = WINTER_TUESDAY_9
    run(db, settings, "checkins", clock, t0)
    deliver(worker)
    # Initech is answered the next day: it is neither reminded nor escalated.
    clock.move_to(t0 + timedelta(days=1))
    with db.transaction() as session:
        rq.answer_checkin(session, settings, pending_checkin(db, mine["Initech"]).id, Happiness.HAPPY, OWNER)

    early = run(db, settings, "reminders", clock, t0 + timedelta(days=2, hours=23))
    assert early.messages == 0 and rows(db, CHECKIN_REMINDER) == []

    due = run(db, settings, "reminders", clock, t0 + timedelta(days=3, minutes=15))
    reminders = rows(db, CHECKIN_REMINDER)
    assert sorted(r.recipient for r in reminders) == [OWNER, OWNER_B], "one reminder per owner"
    assert due.messages == 2 and rows(db, CHECKIN_ESCALATION) == []
    deliver(worker)
    reminder = fake.messages(OWNER)[1]
    assert reminder.text.startswith("Reminder: 2 customers still wait for your check-in")
    assert "Acme Corp" in text_of(reminder) and "Umbrella Bank" in text_of(reminder)
    assert "Initech" not in text_of(reminder)
    assert len(action_blocks(reminder)) == 2
    assert "Globex" in text_of(fake.messages(OWNER_B)[1]) and "Hooli" in text_of(fake.messages(OWNER_B)[1])

    next_hour = run(db, settings, "reminders", clock, t0 + timedelta(days=3, hours=1, minutes=15))
    assert next_hour.messages == 0 and len(rows(db, CHECKIN_REMINDER)) == 2

    before = run(db, settings, "reminders", clock, t0 + timedelta(days=5, hours=23, minutes=15))
    assert before.messages == 0 and rows(db, CHECKIN_ESCALATION) == []

    escalated = run(db, settings, "reminders", clock, t0 + timedelta(days=6, minutes=15))
    assert escalated.messages == 2
    assert sorted(r.recipient for r in rows(db, CHECKIN_ESCALATION)) == [MANAGER, MANAGER_2]
    deliver(worker)
    for manager in (MANAGER, MANAGER_2):
        (told,) = fake.messages(manager)
        assert told.text == "2 account owners have not answered check-ins for 6+ days"
        text = text_of(told)
        assert f"<@{OWNER}>: Acme Corp, Umbrella Bank" in text and f"<@{OWNER_B}>: Globex, Hooli" in text
        assert "Initech" not in text

    later = run(db, settings, "reminders", clock, t0 + timedelta(days=7, minutes=15))
    assert later.messages == 0
    assert len(rows(db, CHECKIN_ESCALATION)) == 2 and len(rows(db, CHECKIN_REMINDER)) == 2
    answered = checkins_of(db, mine["Initech"])[-1]
    assert (answered.reminded_at, answered.escalated_at) == (None, None)
    assert all(pending_checkin(db, cid).escalated_at is not None for cid in theirs.values())
    assert fake.violations == []


def test_reminder_answered_before_delivery_is_not_posted(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    ids = customers(db, "Acme Corp", "Initech", happy_days_ago=None)
    run(db, settings, "checkins", clock, WINTER_TUESDAY_9)
    deliver(worker)
    run(db, settings, "reminders", clock, WINTER_TUESDAY_9 + timedelta(days=3, minutes=15))
    (reminder,) = rows(db, CHECKIN_REMINDER)
    # The owner answers both from the first DM before the reminder goes out.
    with db.transaction() as session:
        for customer_id in ids.values():
            rq.answer_checkin(session, settings, pending_checkin(db, customer_id).id, Happiness.HAPPY, OWNER)
    deliver(worker)
    with db.reading() as session:
        assert session.get(OutboxMessage, reminder.id).status == "skipped"
    (only,) = fake.messages(OWNER)
    assert "Reminder" not in only.text
    assert len(action_blocks(only)) == 0, "the first DM was updated in place with both answers"


def test_escalation_answered_before_delivery_is_not_posted(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    ids = customers(db, "Acme Corp", happy_days_ago=None)
    run(db, settings, "checkins", clock, WINTER_TUESDAY_9)
    run(db, settings, "reminders", clock, WINTER_TUESDAY_9 + timedelta(days=6, minutes=15))
    assert len(rows(db, CHECKIN_REMINDER)) == 1 and len(rows(db, CHECKIN_ESCALATION)) == 2
    with db.transaction() as session:
        rq.answer_checkin(session, settings, pending_checkin(db, ids["Acme Corp"]).id, Happiness.HAPPY, OWNER)
    deliver(worker)
    assert {r.status for r in rows(db, CHECKIN_ESCALATION, CHECKIN_REMINDER)} == {"skipped"}
    assert fake.messages(MANAGER) == [] and fake.messages(MANAGER_2) == []


# == 2. approval reminders ===============================================================================


def test_waiting_requests_resurface_to_managers_once_per_sla_period(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    t0 = WINTER_TUESDAY_9
    with db.transaction() as session:
        waiting = rq.submit(session, settings, REP, rq.RequestDraft(prospect="Globex", ref_type=RefType.CALL)).id
        decided = rq.submit(session, settings, REP, rq.RequestDraft(prospect="Hooli", ref_type=RefType.CALL)).id
    clock.move_to(t0 + timedelta(hours=1))
    with db.transaction() as session:
        rq.decline(session, settings, decided, "Too early for a reference", MANAGER)
    deliver(worker)
    posted = len(fake.calls("chat.postMessage"))

    def sla_rows() -> list[tuple[str, str]]:
        return sorted((r.idempotency_key, r.recipient) for r in rows(db, SLA_REMINDER))

    assert run(db, settings, "reminders", clock, t0 + timedelta(hours=47)).messages == 0
    assert sla_rows() == []

    assert run(db, settings, "reminders", clock, t0 + timedelta(hours=49)).messages == 2
    assert sla_rows() == [
        (f"request:{waiting}:sla:1:{MANAGER}", MANAGER),
        (f"request:{waiting}:sla:1:{MANAGER_2}", MANAGER_2),
    ]
    deliver(worker)
    for manager in (MANAGER, MANAGER_2):
        told = fake.messages(manager)[-1]
        assert told.text == f"Request #{waiting} for Globex has waited 49 hours"
        assert "target: 48 h" in text_of(told)

    assert run(db, settings, "reminders", clock, t0 + timedelta(hours=50)).messages == 0
    assert run(db, settings, "reminders", clock, t0 + timedelta(hours=95)).messages == 0
    assert len(sla_rows()) == 2

    assert run(db, settings, "reminders", clock, t0 + timedelta(hours=97)).messages == 2
    assert [k for k, _ in sla_rows()] == [
        f"request:{waiting}:sla:1:{MANAGER}",
        f"request:{waiting}:sla:1:{MANAGER_2}",
        f"request:{waiting}:sla:2:{MANAGER}",
        f"request:{waiting}:sla:2:{MANAGER_2}",
    ]
    assert not [r for r in rows(db, SLA_REMINDER) if f"request:{decided}:" in r.idempotency_key]
    deliver(worker)
    assert len(fake.calls("chat.postMessage")) == posted + 4
    assert fake.messages(MANAGER)[-1].text == f"Request #{waiting} for Globex has waited 97 hours"


def test_sla_reminder_for_a_request_decided_before_delivery_is_not_posted(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    with db.transaction() as session:
        request_id = rq.submit(session, settings, REP, rq.RequestDraft(prospect="Globex", ref_type=RefType.CALL)).id
    deliver(worker)
    run(db, settings, "reminders", clock, WINTER_TUESDAY_9 + timedelta(hours=49))
    with db.transaction() as session:
        rq.decline(session, settings, request_id, "No fit", MANAGER)
    deliver(worker)
    assert {r.status for r in rows(db, SLA_REMINDER)} == {"skipped"}
    assert not [m for m in fake.messages(MANAGER) if "has waited" in m.text]


# == 3. outcome follow-ups ===============================================================================


def test_outcome_asked_once_the_needed_by_day_has_ended_locally(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    clock.move_to(utc(2026, 6, 8, 10, 0))
    yesterday, _ = approved_request(db, settings, prospect="Globex", needed_by=date(2026, 6, 9))
    today, _ = approved_request(db, settings, prospect="Hooli", needed_by=date(2026, 6, 10))
    deliver(worker)

    def asked() -> list[str]:
        return [r.idempotency_key for r in rows(db, kinds.OUTCOME_ASK)]

    # 23:30 in Berlin on the 9th: the needed-by day is not over yet.
    assert run(db, settings, "reminders", clock, utc(2026, 6, 9, 21, 30)).messages == 0
    # 00:15 in Berlin on the 10th (still the 9th in UTC): "yesterday" for Globex, "today" for Hooli.
    result = run(db, settings, "reminders", clock, utc(2026, 6, 9, 22, 15))
    assert result.lines == [f"DM to {REP}: how did the reference for request #{yesterday} go?"]
    assert asked() == [f"request:{yesterday}:outcome-ask"]
    assert run(db, settings, "reminders", clock, utc(2026, 6, 10, 12, 15)).messages == 0
    assert run(db, settings, "reminders", clock, utc(2026, 6, 10, 22, 15)).messages == 1
    assert asked() == [f"request:{yesterday}:outcome-ask", f"request:{today}:outcome-ask"]

    deliver(worker)
    ask = wait_message(fake, REP, "How did the Acme Corp reference go for Globex?")
    assert ask.text == "How did the Acme Corp reference go for Globex?"
    (buttons,) = action_blocks(ask)
    assert [(e["text"]["text"], e["action_id"]) for e in buttons["elements"]] == [
        ("Helped", "outcome.record:helped"),
        ("Neutral", "outcome.record:neutral"),
        ("Hurt", "outcome.record:hurt"),
        ("Didn't happen", "outcome.record:did_not_happen"),
        ("Details…", "outcome.details"),
    ]
    assert "needed by 2026-06-09" in text_of(ask)
    assert fake.violations == []


def test_outcome_without_needed_by_asked_after_followup_days_then_reminded_once(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    assert (settings.outcome_followup_days, settings.outcome_remind_days) == (14, 3)
    t0 = WINTER_TUESDAY_9
    request_id, _ = approved_request(db, settings)
    deliver(worker)

    assert run(db, settings, "reminders", clock, t0 + timedelta(days=14) - timedelta(minutes=1)).messages == 0
    assert run(db, settings, "reminders", clock, t0 + timedelta(days=14)).messages == 1
    assert [r.recipient for r in rows(db, kinds.OUTCOME_ASK)] == [REP]
    deliver(worker)

    assert run(db, settings, "reminders", clock, t0 + timedelta(days=14, hours=1)).messages == 0
    assert run(db, settings, "reminders", clock, t0 + timedelta(days=16, hours=23)).messages == 0
    assert rows(db, kinds.OUTCOME_REMINDER) == []
    assert run(db, settings, "reminders", clock, t0 + timedelta(days=17)).messages == 1
    assert [r.idempotency_key for r in rows(db, kinds.OUTCOME_REMINDER)] == [f"request:{request_id}:outcome-reminder"]
    for later in (timedelta(days=17, hours=1), timedelta(days=25)):
        assert run(db, settings, "reminders", clock, t0 + later).messages == 0
    assert (len(rows(db, kinds.OUTCOME_ASK)), len(rows(db, kinds.OUTCOME_REMINDER))) == (1, 1)
    deliver(worker)
    reminder = fake.messages(REP)[-1]
    assert ":bell: Reminder: How did the Acme Corp reference go for *Globex*?" in text_of(reminder)
    assert len(action_blocks(reminder)) == 1


def test_outcome_reminder_answered_before_delivery_is_not_posted(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    request_id, _ = approved_request(db, settings)
    run(db, settings, "reminders", clock, WINTER_TUESDAY_9 + timedelta(days=14))
    deliver(worker)
    run(db, settings, "reminders", clock, WINTER_TUESDAY_9 + timedelta(days=17))
    with db.transaction() as session:
        rq.record_outcome(session, settings, request_id, Outcome.HELPED, REP)
    deliver(worker)
    assert {r.status for r in rows(db, kinds.OUTCOME_REMINDER)} == {"skipped"}
    assert not [m for m in fake.messages(REP) if "Reminder" in text_of(m)]
    # And once completed, nothing is asked again.
    assert run(db, settings, "reminders", clock, WINTER_TUESDAY_9 + timedelta(days=30)).messages == 0


# == 4. consent expiry ===================================================================================


def _consent(db: Database, name: str, expires_on: date | None, owner: str | None = OWNER) -> int:
    with db.transaction() as session:
        record = factories.customer(session, name, owner=owner, consents=("case_study",), consent_expires=expires_on)
        return record.consents[0].id


def test_consent_expiry_told_to_owner_and_managers_once(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    now = utc(2026, 6, 10, 6, 0)  # 08:00 in Berlin
    clock.move_to(now)
    today = date(2026, 6, 10)
    soon = _consent(db, "Soon Corp", today + timedelta(days=30))
    later = _consent(db, "Later Corp", today + timedelta(days=31))
    _consent(db, "Expired Corp", today - timedelta(days=1))
    _consent(db, "Forever Corp", None)

    result = run(db, settings, "consents", clock, now)

    assert result.period == "2026-06-10"
    assert sorted((r.recipient, r.subject) for r in rows(db, CONSENT_EXPIRING)) == [
        (MANAGER, f"consent:{soon}"),
        (MANAGER_2, f"consent:{soon}"),
        (OWNER, f"consent:{soon}"),
    ]
    deliver(worker)
    for user in (OWNER, MANAGER, MANAGER_2):
        (told,) = fake.messages(user)
        assert told.text == "Soon Corp's case study consent expires in 30 days"
        assert "*2026-07-10*" in text_of(told) and "Carla (CMO)" in text_of(told)

    # The next day: Later Corp's turn; Soon Corp is not told again.
    result = run(db, settings, "consents", clock, now + timedelta(days=1))
    assert sorted({r.subject for r in rows(db, CONSENT_EXPIRING)}) == sorted({f"consent:{soon}", f"consent:{later}"})
    assert result.messages == 3 and not any("Soon Corp" in line for line in result.lines)
    assert run(db, settings, "consents", clock, now + timedelta(days=2)).messages == 0

    # Soon Corp's consent is renewed for a year: told again as that new date approaches, once.
    with db.transaction() as session:
        session.get(Consent, soon).expires_on = date(2027, 7, 10)
    assert run(db, settings, "consents", clock, now + timedelta(days=3)).messages == 0
    renewed_notice = utc(2027, 6, 10, 6, 0)
    assert run(db, settings, "consents", clock, renewed_notice).messages == 3
    assert f"consent:{soon}:expiry:2027-07-10:{OWNER}" in [r.idempotency_key for r in rows(db, CONSENT_EXPIRING)]
    assert run(db, settings, "consents", clock, renewed_notice + timedelta(days=1)).messages == 0


def test_consent_notice_counts_days_in_the_local_timezone(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    """22:30 UTC on June 10 is already June 11 in Berlin: a consent expiring July 11 is 30 days away."""
    clock.move_to(utc(2026, 6, 10, 12, 0))
    consent_id = _consent(db, "Acme Corp", date(2026, 7, 11))
    before = run(db, settings, "consents", clock, utc(2026, 6, 10, 21, 30))  # 23:30 local, June 10
    assert (before.period, before.messages) == ("2026-06-10", 0)
    after = run(db, settings, "consents", clock, utc(2026, 6, 10, 22, 30))  # 00:30 local, June 11
    assert (after.period, after.messages) == ("2026-06-11", 3)
    deliver(worker)
    assert fake.messages(OWNER)[0].text == "Acme Corp's case study consent expires in 30 days"
    with db.reading() as session:
        assert session.get(Consent, consent_id).expiry_notice_for == date(2026, 7, 11)


# == timezone and DST ====================================================================================


def test_checkin_schedule_fires_at_nine_local_time_in_winter_and_summer(settings: Settings) -> None:
    assert settings.timezone == BERLIN and settings.schedule_checkins == "0 9 * * mon-fri"
    trigger = cron_trigger(settings.schedule_checkins, settings.timezone)
    # Winter (CET, UTC+1): 08:00 UTC. Summer (CEST, UTC+2): 07:00 UTC.
    assert scheduled_time(trigger, utc(2026, 1, 14, 10, 0)) == utc(2026, 1, 14, 8, 0)
    assert scheduled_time(trigger, utc(2026, 7, 15, 10, 0)) == utc(2026, 7, 15, 7, 0)
    # Across the spring change (Sunday 2026-03-29): Friday at 08:00 UTC, Monday at 07:00 UTC.
    friday = trigger.get_next_fire_time(None, utc(2026, 3, 27, 0, 0))
    monday = trigger.get_next_fire_time(friday, friday + timedelta(seconds=1))
    assert (friday, monday) == (utc(2026, 3, 27, 8, 0), utc(2026, 3, 30, 7, 0))
    # And back in autumn (Sunday 2026-10-25): Friday at 07:00 UTC, Monday at 08:00 UTC.
    friday = trigger.get_next_fire_time(None, utc(2026, 10, 23, 0, 0))
    monday = trigger.get_next_fire_time(friday, friday + timedelta(seconds=1))
    assert (friday, monday) == (utc(2026, 10, 23, 7, 0), utc(2026, 10, 26, 8, 0))


def test_scheduled_time_is_the_latest_fire_at_or_before_now(settings: Settings) -> None:
    checkins = cron_trigger("0 9 * * mon-fri", BERLIN)
    fire = utc(2026, 1, 14, 8, 0)  # Wednesday 09:00 CET
    assert scheduled_time(checkins, fire) == fire
    assert scheduled_time(checkins, fire + timedelta(minutes=4, seconds=59)) == fire
    assert scheduled_time(checkins, fire - timedelta(microseconds=1)) == utc(2026, 1, 13, 8, 0)
    assert scheduled_time(checkins, utc(2026, 1, 17, 12, 0)) is None  # Saturday: nothing within the last day
    reminders = cron_trigger(settings.schedule_reminders, BERLIN)
    assert scheduled_time(reminders, utc(2026, 1, 14, 10, 14, 59)) == utc(2026, 1, 14, 9, 15)
    assert scheduled_time(reminders, utc(2026, 1, 14, 10, 15)) == utc(2026, 1, 14, 10, 15)
    # Six-field cron (seconds first) is accepted too.
    assert scheduled_time(cron_trigger("*/10 * * * * *", BERLIN), utc(2026, 1, 14, 10, 0, 25)) == utc(
        2026, 1, 14, 10, 0, 20
    )


def test_scheduler_uses_the_scheduled_fire_time_as_the_period(
    db: Database, settings: Settings, refbot: Refbot, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    """Two replicas waking a few seconds apart for the same fire name the same period: one run, one DM."""
    customers(db, "Acme Corp", happy_days_ago=None)
    replicas = [JobScheduler(db, settings, worker, f"replica-{n}") for n in (1, 2)]
    clock.move_to(utc(2026, 7, 15, 7, 0, 2))  # Wednesday 09:00:02 CEST
    replicas[0]._fire("checkins")
    clock.move_to(utc(2026, 7, 15, 7, 0, 40))
    replicas[1]._fire("checkins")
    with db.reading() as session:
        (job_run,) = session.scalars(select(JobRun)).all()
        assert (job_run.period, job_run.claimed_by) == ("2026-07-15T09:00:00+02:00", "replica-1")
    assert [r.recipient for r in rows(db, CHECKIN_ROUND)] == [OWNER]
    assert pending_checkin(db, _id(db, "Acme Corp")).round_subject == (
        f"checkin-round:{OWNER}:2026-07-15T09:00:00+02:00:0"
    )
    deliver(worker)
    assert len(fake.messages(OWNER)) == 1
    # Winter: the same 09:00 local fire is 08:00 UTC, named with its +01:00 offset.
    clock.move_to(utc(2026, 12, 2, 8, 0, 1))
    replicas[1]._fire("consents")  # consents fire at 08:00 local: 07:00 UTC, an hour earlier
    with db.reading() as session:
        periods = sorted(session.scalars(select(JobRun.period).where(JobRun.job == "consents")))
    assert periods == ["2026-12-02T08:00:00+01:00"]
    assert set(replicas[0].next_runs()) == {"checkins", "reminders", "consents", "digest", "cleanup", "crm"}


def test_day_period_is_the_local_date(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    assert _day_period(settings, utc(2026, 1, 14, 22, 59)) == "2026-01-14"  # 23:59 CET
    assert _day_period(settings, utc(2026, 1, 14, 23, 0)) == "2026-01-15"  # midnight CET
    assert _day_period(settings, utc(2026, 7, 14, 22, 0)) == "2026-07-15"  # midnight CEST
    assert _day_period(settings.with_overrides(timezone="UTC"), utc(2026, 1, 14, 23, 30)) == "2026-01-14"
    # Runs at 22:30 and 23:30 UTC are different local days: both run. 23:30 and 23:50 are one day: once.
    assert not run(db, settings, "consents", clock, utc(2026, 1, 14, 22, 30)).skipped
    assert not run(db, settings, "consents", clock, utc(2026, 1, 14, 23, 30)).skipped
    assert run(db, settings, "consents", clock, utc(2026, 1, 14, 23, 50)).skipped
    with db.reading() as session:
        assert sorted(session.scalars(select(JobRun.period))) == ["2026-01-14", "2026-01-15"]


@pytest.mark.parametrize(
    ("needed_by", "due"),
    [
        (date(2026, 3, 28), utc(2026, 3, 28, 23, 0)),  # ends at midnight CET (UTC+1)
        (date(2026, 3, 29), utc(2026, 3, 29, 22, 0)),  # the spring change: the day ends at midnight CEST
        (date(2026, 10, 24), utc(2026, 10, 24, 22, 0)),  # still CEST
        (date(2026, 10, 25), utc(2026, 10, 25, 23, 0)),  # the autumn change: 25 hours long, ends in CET
    ],
)
def test_outcome_due_at_local_end_of_day_across_dst(
    db: Database, settings: Settings, clock: Any, needed_by: date, due: datetime
) -> None:
    clock.move_to(utc(2026, 3, 20, 10, 0))
    request_id, _ = approved_request(db, settings, needed_by=needed_by)
    with db.reading() as session:
        assert outcome_due_at(session.get(ReferenceRequest, request_id), settings) == due
    assert run(db, settings, "reminders", clock, due - timedelta(seconds=1)).messages == 0
    assert run(db, settings, "reminders", clock, due + timedelta(hours=1)).messages == 1
    assert [r.recipient for r in rows(db, kinds.OUTCOME_ASK)] == [REP]


# == end to end: owners answer the grouped DM =============================================================


def _grouped_dm(db: Database, settings: Settings, refbot: Refbot, fake: FakeSlack, *names: str) -> Message:
    customers(db, *names, happy_days_ago=45)
    assert run_job(db, settings, "checkins").messages == 1
    refbot.deps.outbox.kick()
    return wait_message(fake, OWNER, f"are these {len(names)} customers still happy?")


def test_owner_answers_one_customer_of_the_grouped_dm_in_place(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings, refbot: Refbot
) -> None:
    dm = _grouped_dm(db, settings, refbot, fake, "Acme Corp", "Initech", "Umbrella Bank")
    acme = _id(db, "Acme Corp")
    checkin = pending_checkin(db, acme)
    before = datetime.now(UTC)

    response = slack.click(OWNER, dm, f"checkin.answer:happy_{checkin.id}")

    assert response.status == 200
    updated = wait_message(fake, OWNER, f"Happy by <@{OWNER}>")
    assert updated.ts == dm.ts and len(fake.messages(OWNER)) == 1, "updated in place, not a new message"
    assert [b["block_id"] for b in action_blocks(updated)] == [
        f"round:{pending_checkin(db, _id(db, name)).id}" for name in ("Initech", "Umbrella Bank")
    ]
    assert "*Acme Corp* · :large_green_circle: Happy by" in text_of(updated)
    with db.reading() as session:
        customer = session.get(Customer, acme)
        assert customer.last_checkin_answer == "happy"
        assert customer.last_checkin_at is not None and customer.last_checkin_at >= before - timedelta(seconds=1)
        answered = session.get(CheckIn, checkin.id)
        assert (answered.status, answered.answer, answered.answered_by) == ("answered", "happy", OWNER)
    settle(db)
    assert fake.messages(MANAGER) == [], "a happy answer alerts nobody"
    assert fake.violations == []


def test_unhappy_click_in_the_grouped_dm_alerts_managers_at_once(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings, refbot: Refbot
) -> None:
    dm = _grouped_dm(db, settings, refbot, fake, "Acme Corp", "Initech")
    checkin = pending_checkin(db, _id(db, "Initech"))
    slack.click(OWNER, dm, f"checkin.answer:unhappy_{checkin.id}")
    for manager in (MANAGER, MANAGER_2):
        alert = wait_message(fake, manager, "Initech: Unhappy")
        assert f"<@{OWNER}> says *Initech* is *unhappy*." in text_of(alert)
    wait_message(fake, OWNER, ":red_circle: Unhappy by")
    # The answer blocks the customer's use (SPEC rule 3).
    with db.reading() as session:
        customer = session.get(Customer, _id(db, "Initech"))
        now = datetime.now(UTC)
        verdict = assess(
            customer, RefType.CALL, settings, now, load_context(session, settings, [customer.id], now, None)
        )
        assert any("Unhappy at the last check-in" in b for b in verdict.blockers)


@pytest.mark.parametrize(
    ("answer", "nps", "alerted"),
    [("happy", "5", True), ("unhappy", None, True), ("happy", "7", False), ("happy", "6", True)],
)
def test_answer_with_a_note_routes_low_scores_to_managers(
    slack: SignedClient,
    fake: FakeSlack,
    db: Database,
    settings: Settings,
    refbot: Refbot,
    answer: str,
    nps: str | None,
    alerted: bool,
) -> None:
    dm = _grouped_dm(db, settings, refbot, fake, "Acme Corp", "Initech")
    checkin = pending_checkin(db, _id(db, "Acme Corp"))
    slack.click(OWNER, dm, f"checkin.answer_with_note:{checkin.id}")
    form = fake.wait_for(lambda f: f.views(OWNER) and f.views(OWNER)[-1])
    assert json.loads(form["private_metadata"]) == {"checkin_id": checkin.id}
    values = {"answer": answer, "note": "Renewal is at risk after the Q3 outage"}
    if nps is not None:
        values["nps"] = nps
    response = slack.view_submission(OWNER, form, values)
    assert response.status == 200 and not response.body.strip(), response.body

    wait_message(fake, OWNER, f"by <@{OWNER}>")
    with db.reading() as session:
        history = session.scalars(select(CheckIn).where(CheckIn.customer_id == _id(db, "Acme Corp"))).all()
        latest = max(history, key=lambda c: c.id)
        assert (latest.answer, latest.nps, latest.note) == (
            answer,
            int(nps) if nps else None,
            "Renewal is at risk after the Q3 outage",
        )
    if alerted:
        for manager in (MANAGER, MANAGER_2):
            alert = wait_message(fake, manager, "Renewal is at risk after the Q3 outage")
            assert alert.text == f"Acme Corp: {Happiness(answer).label}" + (f" (NPS {nps})" if nps else "")
    else:
        settle(db)
        assert fake.messages(MANAGER) == [] and fake.messages(MANAGER_2) == []
    assert fake.violations == []


def test_someone_else_cannot_answer_an_owners_checkins(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings, refbot: Refbot
) -> None:
    dm = _grouped_dm(db, settings, refbot, fake, "Acme Corp", "Initech")
    checkin = pending_checkin(db, _id(db, "Acme Corp"))
    slack.click(OTHER, dm, f"checkin.answer:happy_{checkin.id}")
    slack.click(OTHER, dm, f"checkin.answer_with_note:{checkin.id}")
    refusals = fake.wait_for(
        lambda f: len(found := [e for e in f.ephemerals(OTHER) if "can answer this check-in" in blob(e)]) == 2 and found
    )
    assert f"<@{OWNER}>" in blob(refusals[0])
    assert fake.views(OTHER) == []
    assert pending_checkin(db, _id(db, "Acme Corp")).id == checkin.id
    # A manager may answer on the owner's behalf.
    slack.click(MANAGER, dm, f"checkin.answer:concerns_{checkin.id}")
    wait_message(fake, OWNER, f"Some concerns by <@{MANAGER}>")


# == end to end: the requester reports the outcome =========================================================


def _outcome_ask(
    db: Database, settings: Settings, refbot: Refbot, fake: FakeSlack, *, prior_uses: int = 0
) -> tuple[int, int, Message]:
    yesterday = datetime.now(UTC).astimezone(settings.tz).date() - timedelta(days=1)
    with db.transaction() as session:
        # Needed by yesterday: too late for the intake form, so the draft is built directly.
        record = factories.customer(session, "Acme Corp")
        for n in range(prior_uses):
            factories.use(session, record, days_ago=10 + n)
        request = rq.submit(session, settings, REP, rq.RequestDraft("Globex", RefType.CALL, needed_by=yesterday))
        rq.approve(session, settings, request.id, record.id, MANAGER)
        request_id, customer_id = request.id, record.id
    assert run_job(db, settings, "reminders").messages == 1
    refbot.deps.outbox.kick()
    ask = wait_message(fake, REP, "How did the Acme Corp reference go for Globex?")
    return request_id, customer_id, ask


def _request(db: Database, request_id: int) -> ReferenceRequest:
    with db.reading() as session:
        return session.get(ReferenceRequest, request_id)


def _use(db: Database, request_id: int) -> ReferenceUse:
    with db.reading() as session:
        return session.scalars(select(ReferenceUse).where(ReferenceUse.request_id == request_id)).one()


def test_helped_click_completes_the_request_in_place_and_only_once(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings, refbot: Refbot
) -> None:
    request_id, _, ask = _outcome_ask(db, settings, refbot, fake)

    slack.block_action(OTHER, "outcome.record:helped", value=f"{request_id}:helped", message=ask)
    fake.wait_for(lambda f: [e for e in f.ephemerals(OTHER) if "can report how it went" in blob(e)])
    assert _request(db, request_id).status == RequestStatus.APPROVED

    slack.click(REP, ask, "outcome.record:helped")
    updated = wait_message(fake, REP, ":memo: Recorded: *Helped*")
    assert updated.ts == ask.ts and action_blocks(updated) == []
    request = _request(db, request_id)
    assert (request.status, request.outcome, request.outcome_by) == ("completed", "helped", REP)
    assert request.outcome_at is not None
    assert _use(db, request_id).counted is True, "a reference that happened keeps counting for fatigue"

    # A second click on the old buttons is refused politely and changes nothing.
    slack.block_action(REP, "outcome.record:neutral", value=f"{request_id}:neutral", message=ask)
    refusal = fake.wait_for(lambda f: [e for e in f.ephemerals(REP) if "already recorded" in blob(e)])
    assert "*Helped*" in blob(refusal)
    assert _request(db, request_id).outcome == "helped"
    # Nobody but the requester heard about it: no negative routing for a good outcome.
    settle(db)
    assert not [m for m in fake.messages(OWNER) if "hurt" in m.text]
    assert fake.violations == []


def test_details_modal_stores_everything_and_rejects_a_bad_amount(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings, refbot: Refbot
) -> None:
    request_id, _, ask = _outcome_ask(db, settings, refbot, fake)
    with db.transaction() as session:  # made in October, so a November date is after it and in the past
        session.get(ReferenceRequest, request_id).created_at = utc(2026, 10, 20, 9, 0)
    slack.click(REP, ask, "outcome.details")
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    assert json.loads(form["private_metadata"]) == {"request_id": request_id}
    values = {
        "outcome": "helped",
        "held_on": date(2026, 11, 12),
        "deal_stage": "Negotiation",
        "deal_won": "won",
        "amount_influenced": "-120",
        "feedback": "Their CFO sold it for us.",
    }
    for bad in ("-120", "12abc"):
        values["amount_influenced"] = bad
        body = slack.view_submission(REP, form, values).json()
        assert body["response_action"] == "errors"
        assert "Enter a positive amount" in body["errors"]["amount_influenced"]
        assert _request(db, request_id).status == RequestStatus.APPROVED

    values["amount_influenced"] = "120,000.50"
    response = slack.view_submission(REP, form, values)
    assert response.status == 200 and not response.body.strip(), response.body

    updated = wait_message(fake, REP, ":memo: Recorded: *Helped*")
    assert updated.ts == ask.ts and action_blocks(updated) == []
    request = _request(db, request_id)
    assert (request.status, request.outcome, request.held_on, request.deal_stage, request.deal_won) == (
        "completed",
        "helped",
        date(2026, 11, 12),
        "Negotiation",
        True,
    )
    assert request.amount_influenced == Decimal("120000.50")
    assert request.feedback == "Their CFO sold it for us."
    # The use is dated the day it was held (local midnight), and still counts.
    use = _use(db, request_id)
    assert use.counted is True and use.used_at == utc(2026, 11, 11, 23, 0)

    slack.click(REP, ask, "outcome.details")  # the stale button: the form does not open again
    fake.wait_for(lambda f: [e for e in f.ephemerals(REP) if "Already recorded" in blob(e)])
    assert len(fake.views(REP)) == 1


def test_details_modal_refuses_a_held_date_in_the_future_or_before_the_request(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings, refbot: Refbot
) -> None:
    """Issue 10 item 8: a reference cannot be held in the future, nor before anyone asked for it."""
    request_id, _, ask = _outcome_ask(db, settings, refbot, fake)
    made_on = _request(db, request_id).created_at.astimezone(settings.tz).date()
    today = datetime.now(UTC).astimezone(settings.tz).date()
    slack.click(REP, ask, "outcome.details")
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    for held_on, error in (
        (today + timedelta(days=10), "That date hasn't happened yet."),
        (today + timedelta(days=1), "That date hasn't happened yet."),
        (made_on - timedelta(days=1), f"That is before the request was made ({made_on.isoformat()})."),
    ):
        body = slack.view_submission(REP, form, {"outcome": "helped", "held_on": held_on}).json()
        assert body == {"response_action": "errors", "errors": {"held_on": error}}
        assert _request(db, request_id).status == RequestStatus.APPROVED
    use_before = _use(db, request_id).used_at
    with db.transaction() as session, pytest.raises(ValidationFailed) as refused:  # the rule is the domain's
        details = rq.OutcomeDetails(held_on=today + timedelta(days=10))
        rq.record_outcome(session, settings, request_id, Outcome.HELPED, REP, details)
    assert refused.value.errors == {"held_on": "That date hasn't happened yet."}
    assert _use(db, request_id).used_at == use_before

    response = slack.view_submission(REP, form, {"outcome": "helped", "held_on": today})
    assert response.status == 200 and not response.body.strip(), response.body
    wait_message(fake, REP, ":memo: Recorded: *Helped*")
    assert _request(db, request_id).held_on == today


def test_hurt_feedback_is_routed_to_every_manager_and_the_account_owner(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings, refbot: Refbot
) -> None:
    request_id, _, ask = _outcome_ask(db, settings, refbot, fake)
    slack.click(REP, ask, "outcome.details")
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    feedback = "Their contact complained about our support for 20 minutes."
    response = slack.view_submission(REP, form, {"outcome": "hurt", "deal_won": "lost", "feedback": feedback})
    assert response.status == 200 and not response.body.strip(), response.body

    for user in (MANAGER, MANAGER_2, OWNER):
        told = wait_message(fake, user, "reference hurt the Globex deal")
        assert told.text == "The Acme Corp reference hurt the Globex deal"
        assert f"<@{REP}> reports" in text_of(told) and feedback in text_of(told)
    settle(db)
    assert sorted(r.recipient for r in rows(db, kinds.NEGATIVE_FEEDBACK)) == sorted([MANAGER, MANAGER_2, OWNER])
    request = _request(db, request_id)
    assert (request.outcome, request.deal_won, request.feedback) == ("hurt", False, feedback)
    assert _use(db, request_id).counted is True
    wait_message(fake, REP, ":memo: Recorded: *Hurt*")


def test_didnt_happen_frees_the_customer_and_contact_from_fatigue(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings, refbot: Refbot
) -> None:
    request_id, customer_id, ask = _outcome_ask(db, settings, refbot, fake, prior_uses=1)

    def verdict() -> Any:
        with db.reading() as session:
            now = datetime.now(UTC)
            customer = rq.load_customer(session, customer_id)
            context = load_context(session, settings, [customer_id], now, None)
            return assess(customer, RefType.CALL, settings, now, context), context

    before, context = verdict()
    assert before.uses_in_window == 2 and any("limit 2" in b for b in before.blockers)
    contact_id = _request(db, request_id).contact_id
    assert contact_id is not None and context.contact_uses[contact_id] == 1

    slack.click(REP, ask, "outcome.record:did_not_happen")
    wait_message(fake, REP, ":memo: Recorded: *Didn't happen*")

    assert _use(db, request_id).counted is False
    after, context = verdict()
    assert after.uses_in_window == 1 and not after.blockers
    assert context.contact_uses.get(contact_id, 0) == 0
    assert _request(db, request_id).status == RequestStatus.COMPLETED
    settle(db)
    assert rows(db, kinds.NEGATIVE_FEEDBACK) == []


# == the command line ====================================================================================


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, database_url: str) -> None:
    """The CLI's environment: the test database, two managers, Berlin; no .env, no Slack token."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "REFBOT_SCHEDULER"):
        monkeypatch.delenv(name, raising=False)
    schedules = ("CHECKINS", "REMINDERS", "CONSENTS", "DIGEST", "CLEANUP", "CRM")
    for name in (f"REFBOT_SCHEDULE_{job}" for job in schedules):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REFBOT_MANAGERS", f"{MANAGER},{MANAGER_2}")
    monkeypatch.setenv("REFBOT_TIMEZONE", BERLIN)


def test_cli_jobs_list(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    with freeze_time(utc(2026, 1, 16, 12, 0)):  # a Friday: the next check-ins are on Monday
        assert cli.main(["jobs", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    assert set(lines) == {"checkins", "reminders", "consents", "digest", "cleanup", "crm"}
    assert "*/15 * * * *" in lines["crm"] and "2026-01-16 13:00:00 CET" in lines["crm"]  # at 13:00 itself
    assert "0 9 * * mon-fri" in lines["checkins"] and "2026-01-19 09:00:00 CET" in lines["checkins"]
    assert "15 * * * *" in lines["reminders"] and "2026-01-16 13:15:00 CET" in lines["reminders"]
    assert "0 8 * * *" in lines["consents"] and "2026-01-17 08:00:00 CET" in lines["consents"]
    assert "one DM per owner" in lines["checkins"]
    assert "0 9 * * mon" in lines["digest"] and "2026-01-19 09:00:00 CET" in lines["digest"]
    assert "30 3 * * *" in lines["cleanup"] and "2026-01-17 03:30:00 CET" in lines["cleanup"]


def test_cli_jobs_run_dry_run_prints_and_writes_nothing(
    cli_env: None, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    customers(db, "Acme Corp", "Initech", happy_days_ago=None)
    customers(db, "Orphan Inc", owner=None, happy_days_ago=None)

    assert cli.main(["jobs", "run", "checkins", "--dry-run"]) == 0

    out = capsys.readouterr().out
    assert f"  DM to {OWNER}: is Acme Corp, Initech still happy?" in out
    assert f"  DM to {MANAGER}: 1 stale customer has no account owner (Orphan Inc)" in out
    assert "would send 3 message(s)" in out
    assert (count(db, JobRun), count(db, OutboxMessage)) == (0, 0)
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.status == "pending")) == 0

    assert cli.main(["jobs", "run", "nightly"]) == 1
    assert "no job named 'nightly'" in capsys.readouterr().out


def test_cli_jobs_run_enqueues_once_per_period_without_a_token(
    cli_env: None, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    customers(db, "Acme Corp", happy_days_ago=None)
    assert cli.main(["jobs", "run", "checkins"]) == 0
    out = capsys.readouterr().out
    assert "enqueued 1 message(s)" in out and "wait in the outbox" in out
    assert [(r.kind, r.recipient, r.status) for r in rows(db)] == [(CHECKIN_ROUND, OWNER, "pending")]
    assert cli.main(["jobs", "run", "checkins"]) == 0
    assert "already run for" in capsys.readouterr().out
    assert count(db, OutboxMessage) == 1


def test_cli_outbox_lists_pending_and_retry_requeues_failed(
    cli_env: None, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with db.transaction() as session:
        enqueue(session, key="a", kind=CHECKIN_ROUND, recipient=OWNER, subject="checkin-round:x")
        enqueue(session, key="b", kind=SLA_REMINDER, recipient=MANAGER, subject="request:1")
        enqueue(session, key="c", kind=kinds.RECEIPT, recipient=REP, subject="request:1")
    with db.transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.idempotency_key == "b")
            .values(status="failed", attempts=40, last_error="channel_not_found")
        )
        session.execute(update(OutboxMessage).where(OutboxMessage.idempotency_key == "c").values(status="sent"))

    assert cli.main(["outbox"]) == 0
    out = capsys.readouterr().out
    assert "outbox: 1 pending, 1 sent, 1 failed, 0 skipped" in out
    assert f"pending {CHECKIN_ROUND}" in out and f"to {OWNER}" in out
    assert "failed  request.sla_reminder" in out and "channel_not_found" in out
    assert kinds.RECEIPT not in out, "sent rows are not listed"
    assert "`refbot outbox retry`" in out

    assert cli.main(["outbox", "retry"]) == 0
    assert "re-queued 1 failed message(s)" in capsys.readouterr().out
    with db.reading() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == "b")).one()
        assert (row.status, row.attempts, row.claimed_until) == ("pending", 0, None)
    assert cli.main(["outbox", "retry"]) == 0
    assert "re-queued 0 failed message(s)" in capsys.readouterr().out


def test_answer_from_the_reminder_updates_the_reminder_in_place(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    """The reminder carries the same buttons as the round; an answer must not leave stale buttons on it."""
    ids = customers(db, "Acme Corp", "Initech", happy_days_ago=None)
    run(db, settings, "checkins", clock, WINTER_TUESDAY_9)
    deliver(worker)
    run(db, settings, "reminders", clock, WINTER_TUESDAY_9 + timedelta(days=3, minutes=15))
    deliver(worker)
    round_dm, reminder = fake.messages(OWNER)
    assert len(action_blocks(reminder)) == 2
    with db.transaction() as session:
        rq.answer_checkin(session, settings, pending_checkin(db, ids["Acme Corp"]).id, Happiness.HAPPY, OWNER)
    deliver(worker)
    round_dm, reminder = fake.messages(OWNER)
    assert len(action_blocks(round_dm)) == 1, "the round is updated in place"
    assert len(action_blocks(reminder)) == 1, "so is the reminder: Acme Corp's buttons are gone from it"
    assert f"Happy by <@{OWNER}>" in text_of(reminder)
