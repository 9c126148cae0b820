"""The weekly digest, `/reference stats` and `/reference mine`, on SQLite and (with TEST_DATABASE_URL)
PostgreSQL.

The figures test seeds three months of requests, decisions, outcomes, uses, check-ins and consents around a
frozen week (2026-W47, Monday 16 to Sunday 22 November in Berlin), then recomputes every number the digest
shows — the chart's series included — in plain Python from the rows, with the week of each timestamp taken
from its local calendar date, and compares. Posting goes through the real job, the outbox worker and files
upload v2 to the Slack fake; the slash commands arrive as signed requests at a running server.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot import cli, kinds
from bot import digest as dg
from bot.app import Refbot
from bot.jobs import JOBS, run_job
from bot.notifications import render_digest
from bot.outbox import OutboxWorker
from bot.scheduler import JobScheduler
from bot.settings import Settings
from bot.views.digest import digest_message, stats_message, unknown_period
from bot.views.requests import mine_message
from models import CheckIn, Consent, Customer, OutboxMessage, ReferenceRequest, ReferenceUse
from models.db import Database
from models.enums import CheckInPurpose, CheckInStatus, Happiness, Outcome, RequestStatus
from slackfake.blockkit import validate_message
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, OTHER, OWNER, REP

CHANNEL = "C0DIGEST01"
OWNER_B = "UOWNERB02"
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_9 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 23 Nov 2026, 09:00 CET: the digest's time
W47_START = datetime(2026, 11, 15, 23, 0, tzinfo=UTC)  # Monday 16 Nov 00:00 CET
W47_END = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
HOSTILE = "<!channel> Evil & Co <@UMANAGER1> <https://evil.example|click>"
SETTINGS_BERLIN = Settings(timezone="Europe/Berlin", managers=(MANAGER,), digest_channel=CHANNEL)
PNG = b"\x89PNG\r\n\x1a\n"

APPROVED = (RequestStatus.APPROVED.value, RequestStatus.COMPLETED.value)
HELD = (Outcome.HELPED.value, Outcome.NEUTRAL.value, Outcome.HURT.value)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(digest_channel=CHANNEL)


@pytest.fixture
def clock() -> Iterator[Any]:
    with freeze_time(MONDAY_9) as frozen:
        yield frozen


def blob(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def deliver(worker: OutboxWorker) -> int:
    total = 0
    while done := worker.deliver_due():
        total += done
    return total


def week_of(moment: datetime) -> str:
    """The ISO week of a UTC instant, by its calendar date in Berlin: the test's own definition."""
    year, number, _ = moment.astimezone(BERLIN).isocalendar()
    return f"{year}-W{number:02d}"


def nearest_rank(values: list[float], share: float) -> float | None:
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1] if ordered else None


def hours(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600


# -- seeding --------------------------------------------------------------------------------------------


def add_request(
    session: Any,
    *,
    created: datetime,
    status: RequestStatus = RequestStatus.SUBMITTED,
    decided: datetime | None = None,
    customer: Customer | None = None,
    outcome: Outcome | None = None,
    outcome_at: datetime | None = None,
    won: bool | None = None,
    amount: Decimal | None = None,
    prospect: str = "Globex",
    requester: str = REP,
) -> ReferenceRequest:
    """A request as it would stand after the state machine moved it (written directly, with its times)."""
    request = ReferenceRequest(
        requester_id=requester,
        prospect=prospect,
        ref_type="call",
        status=status.value,
        customer_id=customer.id if customer else None,
        decided_by=MANAGER if decided else None,
        decided_at=decided,
        outcome=outcome.value if outcome else None,
        outcome_by=requester if outcome else None,
        outcome_at=outcome_at,
        deal_won=won,
        amount_influenced=amount,
        created_at=created,
    )
    session.add(request)
    session.flush()
    if status.value in APPROVED and customer is not None and decided is not None:
        session.add(
            ReferenceUse(
                customer_id=customer.id,
                request_id=request.id,
                ref_type="call",
                used_at=decided,
                counted=outcome != Outcome.DID_NOT_HAPPEN,
            )
        )
    return request


def add_checkin(
    session: Any,
    customer: Customer,
    *,
    asked: datetime,
    answer: Happiness | None = None,
    answered: datetime | None = None,
    nps: int | None = None,
    owner: str = OWNER,
) -> CheckIn:
    checkin = CheckIn(
        customer_id=customer.id,
        purpose=CheckInPurpose.PERIODIC.value,
        status=(CheckInStatus.ANSWERED if answer else CheckInStatus.PENDING).value,
        asked_of=owner,
        asked_by="refbot",
        asked_at=asked,
        answer=answer.value if answer else None,
        nps=nps,
        answered_by=owner if answer else None,
        answered_at=answered,
    )
    session.add(checkin)
    session.flush()
    return checkin


def seed_program(db: Database, seed: int = 47) -> dict[str, int]:
    """Twelve weeks and more of activity around 2026-W47, random but reproducible, plus the edge cases."""
    rng = random.Random(seed)
    with db.transaction() as session:
        people = [OWNER, OWNER_B, None]
        customers = [
            factories.customer(session, f"Customer {n}", owner=people[n % 3], happy_days_ago=rng.choice([3, 12, 20]))
            for n in range(8)
        ]
        start = MONDAY_9 - timedelta(weeks=15)
        for _ in range(160):
            created = start + timedelta(seconds=rng.uniform(0, (MONDAY_9 - start).total_seconds() - 3600))
            status = rng.choice(list(RequestStatus))
            customer = rng.choice(customers)
            decided = outcome_at = None
            outcome = won = amount = None
            if status not in (RequestStatus.SUBMITTED, RequestStatus.AWAITING_CHECKIN):
                decided = created + timedelta(hours=rng.uniform(0.2, 200))
                if decided >= MONDAY_9:
                    status, decided = RequestStatus.SUBMITTED, None
            if status == RequestStatus.COMPLETED:
                outcome_at = decided + timedelta(days=rng.uniform(0.5, 30))  # type: ignore[operator]
                if outcome_at >= MONDAY_9:
                    status, outcome_at = RequestStatus.APPROVED, None
                else:
                    outcome = rng.choice(list(Outcome))
                    won = rng.choice([True, False, None])
                    amount = Decimal(rng.randint(1, 5_000_000)) / 100 if rng.random() < 0.7 else None
            add_request(
                session,
                created=created,
                status=status,
                decided=decided,
                customer=customer if status.value in (*APPROVED, RequestStatus.AWAITING_CHECKIN.value) else None,
                outcome=outcome,
                outcome_at=outcome_at,
                won=won,
                amount=amount,
            )
        # Edges: the first instant of the week belongs to it, the instant before and its end do not.
        add_request(session, created=W47_START)
        add_request(session, created=W47_START - timedelta(microseconds=1))
        add_request(
            session,
            created=W47_START - timedelta(days=2),
            status=RequestStatus.APPROVED,
            decided=W47_END,
            customer=customers[0],
        )
        # Didn't happen: completed, but no deal or amount counts with it; cancelled is not a decision.
        add_request(
            session,
            created=W47_START - timedelta(days=20),
            status=RequestStatus.COMPLETED,
            decided=W47_START - timedelta(days=19),
            customer=customers[1],
            outcome=Outcome.DID_NOT_HAPPEN,
            outcome_at=W47_START + timedelta(hours=30),
            won=True,
            amount=Decimal("99999.00"),
        )
        add_request(
            session,
            created=W47_START + timedelta(hours=1),
            status=RequestStatus.CANCELLED,
            decided=W47_START + timedelta(hours=5),
        )
        # Health: stale and never-checked customers, an unhappy and a concerned answer this week (and an
        # unhappy one the week before), an owner not answering for a week and one asked only two days ago.
        stale = factories.customer(session, "Stale Industries", happy_days_ago=45)
        never = factories.customer(session, "Never Checked GmbH", happy_days_ago=None, owner=OWNER_B)
        add_checkin(
            session,
            customers[2],
            asked=W47_START + timedelta(days=1),
            answer=Happiness.UNHAPPY,
            answered=W47_START + timedelta(days=2),
            nps=2,
        )
        add_checkin(
            session,
            customers[3],
            asked=W47_START + timedelta(days=2),
            answer=Happiness.CONCERNS,
            answered=W47_START + timedelta(days=3),
        )
        add_checkin(
            session,
            customers[4],
            asked=W47_START - timedelta(days=3),
            answer=Happiness.UNHAPPY,
            answered=W47_START - timedelta(days=2),
        )
        add_checkin(session, stale, asked=MONDAY_9 - timedelta(days=7))
        add_checkin(session, never, asked=MONDAY_9 - timedelta(days=2), owner=OWNER_B)
        # Consents: one expiring in 10 days, one in 40 (not yet), one expired.
        for customer, days in ((customers[5], 10), (customers[6], 40), (customers[7], -3)):
            session.add(
                Consent(
                    customer_id=customer.id,
                    ref_type="case_study",
                    approved_by="CMO",
                    expires_on=date(2026, 11, 23) + timedelta(days=days),
                    recorded_by=MANAGER,
                )
            )
        # Waiting: 100 h and 60 h past creation (beyond the 48 h SLA); 10 h (within it).
        add_request(
            session,
            created=MONDAY_9 - timedelta(hours=100),
            status=RequestStatus.AWAITING_CHECKIN,
            customer=stale,
            prospect="Initrode",
        )
        add_request(session, created=MONDAY_9 - timedelta(hours=10), prospect="Too Fresh")
        return {c.name: c.id for c in [*customers, stale, never]}


def everything(db: Database) -> tuple[list[ReferenceRequest], list[ReferenceUse], list[CheckIn], list[Customer]]:
    with db.reading() as session:
        requests = list(session.scalars(select(ReferenceRequest)))
        uses = list(session.scalars(select(ReferenceUse)))
        checkins = list(session.scalars(select(CheckIn)))
        customers = list(session.scalars(select(Customer)))
        session.expunge_all()
    return requests, uses, checkins, customers


# -- 1. the figures, recomputed ---------------------------------------------------------------------------


def expected_counts(requests: list[ReferenceRequest], in_period: Any) -> dict[str, Any]:
    def held(r: ReferenceRequest) -> bool:
        return r.outcome in HELD

    completed = [r for r in requests if r.outcome_at and in_period(r.outcome_at)]
    return {
        "received": sum(1 for r in requests if in_period(r.created_at)),
        "approved": sum(1 for r in requests if r.decided_at and in_period(r.decided_at) and r.status in APPROVED),
        "declined": sum(1 for r in requests if r.decided_at and in_period(r.decided_at) and r.status == "declined"),
        "completed": len(completed),
        "held": sum(1 for r in completed if held(r)),
        "helped": sum(1 for r in completed if r.outcome == "helped"),
        "hurt": sum(1 for r in completed if r.outcome == "hurt"),
        "did_not_happen": sum(1 for r in completed if r.outcome == "did_not_happen"),
        "deals_won": sum(1 for r in completed if held(r) and r.deal_won is True),
        "amount_influenced": sum(
            (r.amount_influenced for r in completed if held(r) and r.amount_influenced is not None), Decimal("0")
        ),
    }


def actual_counts(counts: dg.Counts) -> dict[str, Any]:
    return {
        "received": counts.received,
        "approved": counts.approved,
        "declined": counts.declined,
        "completed": counts.completed,
        "held": counts.held,
        "helped": counts.helped,
        "hurt": counts.hurt,
        "did_not_happen": counts.did_not_happen,
        "deals_won": counts.deals_won,
        "amount_influenced": counts.amount_influenced,
    }


def expected_timing(requests: list[ReferenceRequest], week: str) -> tuple[list[float], list[float]]:
    decision = [
        hours(r.decided_at, r.created_at)
        for r in requests
        if r.decided_at and week_of(r.decided_at) == week and r.status in (*APPROVED, "declined")
    ]
    fulfilment = [
        hours(r.outcome_at, r.created_at)
        for r in requests
        if r.outcome_at and week_of(r.outcome_at) == week and r.outcome in HELD
    ]
    return decision, fulfilment


def assert_timing(timing: dg.Timing, values: list[float]) -> None:
    assert timing.count == len(values)
    for got, wanted in (
        (timing.median_hours, nearest_rank(values, 0.5)),
        (timing.p90_hours, nearest_rank(values, 0.9)),
    ):
        assert (got is None) == (wanted is None)
        if wanted is not None:
            assert got == pytest.approx(wanted, abs=1e-3)


def test_digest_figures_match_a_recomputation_from_the_database(
    db: Database, settings: Settings, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed_program(db)
    requests, uses, checkins, customers = everything(db)
    names = {c.id: c for c in customers}
    period = dg.digest_week(MONDAY_9, settings.tz)
    assert (period.label, period.start, period.end) == ("2026-W47", W47_START, W47_END)

    drawn: list[dg.Series] = []
    from bot import chart

    real_chart = chart.render_chart
    monkeypatch.setattr(chart, "render_chart", lambda series, title: drawn.append(series) or real_chart(series, title))
    with db.reading() as session:
        digest, rendered = render_digest(session, settings, period, MONDAY_9)

    # This week and the week before.
    assert actual_counts(digest.counts) == expected_counts(requests, lambda t: week_of(t) == "2026-W47")
    assert actual_counts(digest.counts_before) == expected_counts(requests, lambda t: week_of(t) == "2026-W46")
    assert digest.counts.received >= 5 and digest.counts.completed >= 3, "the seed should make a busy week"
    for week, (decision, fulfilment) in (
        ("2026-W47", (digest.to_decision, digest.to_fulfilment)),
        ("2026-W46", (digest.to_decision_before, digest.to_fulfilment_before)),
    ):
        wanted_decision, wanted_fulfilment = expected_timing(requests, week)
        assert_timing(decision, wanted_decision)
        assert_timing(fulfilment, wanted_fulfilment)

    # The chart's series: 12 weeks to W47, each recomputed, and exactly what the chart was drawn from.
    weeks = [f"2026-W{n:02d}" for n in range(36, 48)]
    per_week = [expected_counts(requests, lambda t, w=w: week_of(t) == w) for w in weeks]
    assert digest.series == dg.Series(
        weeks=tuple(weeks),
        received=tuple(c["received"] for c in per_week),
        approved=tuple(c["approved"] for c in per_week),
        completed=tuple(c["completed"] for c in per_week),
        amount_influenced=tuple(c["amount_influenced"] for c in per_week),
    )
    assert drawn == [digest.series]
    filename, png, _ = rendered.files["chart"]
    assert filename == "refbot-digest-2026-W47.png" and png.startswith(PNG) and len(png) < 200 * 1024

    # Quarter to date: 1 October (local) to the end of the week.
    in_q4 = lambda t: date(2026, 10, 1) <= t.astimezone(BERLIN).date() <= date(2026, 11, 22)  # noqa: E731
    wanted_q4 = expected_counts(requests, in_q4)
    assert digest.quarter is not None and digest.quarter.label == "2026-Q4"
    assert digest.quarter_counts is not None
    q4 = actual_counts(digest.quarter_counts)
    for key in ("completed", "held", "helped", "hurt", "deals_won", "amount_influenced"):
        assert q4[key] == wanted_q4[key], key

    # Top references this quarter; customers at or over the fatigue limit now.
    counted_q4 = Counter(u.customer_id for u in uses if u.counted and in_q4(u.used_at))
    top = sorted(counted_q4.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(c.customer_id, c.count) for c in digest.top_references] == top
    in_window = Counter(u.customer_id for u in uses if u.counted and u.used_at >= MONDAY_9 - timedelta(days=90))
    over = sorted(((cid, n) for cid, n in in_window.items() if n >= 2), key=lambda kv: (-kv[1], kv[0]))
    assert digest.over_limit_total == len(over) and [(c.customer_id, c.count) for c in digest.over_limit] == over[:8]

    # Consents within 30 days; stale check-ins; unhappy this week; owners silent for 6+ days.
    assert [(c.customer_id, c.expires_on) for c in digest.expiring] == [
        (ids["Customer 5"], date(2026, 12, 3))
    ] and digest.expiring_total == 1
    stale = [
        c
        for c in customers
        if c.referenceable and (c.last_checkin_at is None or c.last_checkin_at < MONDAY_9 - timedelta(days=30))
    ]
    assert digest.stale_total == len(stale) == 2
    assert [c.name for c in digest.stale] == ["Never Checked GmbH", "Stale Industries"]
    pending = {c.customer_id for c in checkins if c.status == "pending"}
    assert digest.stale_asked == sum(1 for c in stale if c.id in pending) == 2
    assert [(c.customer_id, c.answer, c.nps) for c in digest.at_risk] == [
        (ids["Customer 2"], "unhappy", 2),
        (ids["Customer 3"], "concerns", None),
    ]
    assert [(o.owner, o.pending) for o in digest.quiet_owners] == [(OWNER, 1)]

    # Waiting past the SLA: the oldest first, with how many in all.
    waiting = sorted(
        (
            r
            for r in requests
            if r.status in ("submitted", "awaiting_checkin") and r.created_at <= MONDAY_9 - timedelta(hours=48)
        ),
        key=lambda r: (r.created_at, r.id),
    )
    assert digest.waiting_total == len(waiting)
    assert [w.request_id for w in digest.waiting] == [r.id for r in waiting[:5]]
    assert "Too Fresh" not in {w.prospect for w in digest.waiting}

    # Thanks: each request approved in the week, or completed there as helped or neutral, counts once.
    made_it = {
        r.id: r.customer_id
        for r in requests
        if r.customer_id
        and (
            (r.decided_at and week_of(r.decided_at) == "2026-W47" and r.status in APPROVED)
            or (r.outcome_at and week_of(r.outcome_at) == "2026-W47" and r.outcome in ("helped", "neutral"))
        )
    }
    per_customer = Counter(made_it.values())
    top_thanked = sorted(per_customer.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    assert [(c.customer_id, c.count) for c in digest.thanks_customers] == top_thanked
    assert digest.thanks_total == len(per_customer) > 0
    per_owner: Counter[str] = Counter()
    for cid, n in per_customer.items():
        if names[cid].owner_slack_id:
            per_owner[names[cid].owner_slack_id] += n
    assert dict(digest.thanks_owners) == dict(per_owner)

    # The message shows those numbers, within Slack's limits.
    message = {"text": rendered.text, "blocks": rendered.blocks}
    assert validate_message(message) == [] and len(rendered.blocks) <= 50
    text = blob(rendered.blocks)
    assert f"*Requests received*\\n*{digest.counts.received}*" in text
    assert f"{digest.counts.amount_influenced:,.0f}* influenced" in text
    oldest = digest.waiting[0]
    assert (
        f"Request #{oldest.request_id} ({oldest.prospect}, {int(hours(MONDAY_9, oldest.created_at)) // 24} days)"
        in text
    )
    image = next(b for b in rendered.blocks if b["type"] == "image")
    assert image["slack_file"] == {"id": "file:chart"}
    assert str(digest.series.received[-1]) in image["alt_text"]


def test_a_quiet_week_still_reports_health_and_waiting_requests(db: Database, settings: Settings, clock: Any) -> None:
    with db.transaction() as session:
        stale = factories.customer(session, "Dusty Corp", happy_days_ago=60)
        add_checkin(session, stale, asked=MONDAY_9 - timedelta(days=9))
        add_request(session, created=MONDAY_9 - timedelta(days=30), prospect="Long Wait Ltd")
    with db.reading() as session:
        digest, rendered = render_digest(session, settings, dg.digest_week(MONDAY_9, settings.tz), MONDAY_9)
    assert digest.counts == dg.Counts() and digest.counts_before == dg.Counts()
    assert digest.series is not None and sum(digest.series.received) == 1  # the waiting one, 30 days ago
    assert validate_message({"text": rendered.text, "blocks": rendered.blocks}) == []
    text = blob(rendered.blocks)
    assert "No outcomes were reported." in text
    assert "*1* customer with a stale check-in" in text and "Dusty Corp" in text
    assert f"<@{OWNER}> (1 check-in, asked 9 days ago)" in text
    assert "Request #" in text and "Long Wait Ltd, 30 days)" in text
    assert "no reference was approved or completed in week 47" in text
    assert rendered.files["chart"][1].startswith(PNG)


def test_an_empty_program_gives_a_complete_digest(db: Database, settings: Settings, clock: Any) -> None:
    with db.reading() as session:
        _, rendered = render_digest(session, settings, dg.digest_week(MONDAY_9, settings.tz), MONDAY_9)
    assert validate_message({"text": rendered.text, "blocks": rendered.blocks}) == []
    text = blob(rendered.blocks)
    for line in ("Every referenceable customer was checked", "Nobody was marked unhappy", "No request is waiting"):
        assert line in text


# -- 2. periods -----------------------------------------------------------------------------------------


def test_weeks_are_iso_weeks_in_the_local_timezone_across_dst() -> None:
    w13 = dg.week(2026, 13, BERLIN)  # Mon 23 – Sun 29 March 2026; summer time starts on the Sunday
    assert (w13.start, w13.end) == (datetime(2026, 3, 22, 23, 0, tzinfo=UTC), datetime(2026, 3, 29, 22, 0, tzinfo=UTC))
    w43 = dg.week(2026, 43, BERLIN)  # winter time returns on Sunday 25 October
    assert (w43.end - w43.start) == timedelta(days=7, hours=1)
    assert dg.week(2026, 53, BERLIN).first_day == date(2026, 12, 28)  # 2026 has 53 ISO weeks
    with pytest.raises(dg.UnknownPeriod, match="has no week 53"):
        dg.week(2027, 53, BERLIN)
    # Monday 00:30 in Berlin is still Sunday 23:30 UTC: the digest made then covers the week before.
    assert dg.digest_week(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), BERLIN).label == "2026-W47"
    assert dg.digest_week(datetime(2026, 11, 22, 22, 30, tzinfo=UTC), BERLIN).label == "2026-W46"
    assert dg.week(2026, 47, BERLIN).title == "week 47 · Nov 16 – 22, 2026"
    assert dg.week(2026, 53, BERLIN).title == "week 53 · Dec 28, 2026 – Jan 3, 2027"
    assert dg.quarter(2026, 3, BERLIN).title == "Q3 2026 · Jul 1 – Sep 30"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("", "2026-W48"),
        ("this-week", "2026-W48"),
        ("last-week", "2026-W47"),
        ("quarter", "2026-Q4"),
        ("last-quarter", "2026-Q3"),
        ("2026-Q3", "2026-Q3"),
        ("2025-q1", "2025-Q1"),
        ("Q2 2026", "2026-Q2"),
        ("2026-W47", "2026-W47"),
        ("2026w5", "2026-W05"),
    ],
)
def test_parse_period(text: str, label: str) -> None:
    assert dg.parse_period(text, MONDAY_9, BERLIN).label == label


@pytest.mark.parametrize("text", ["yesterday", "2026-Q5", "2026-W60", "Q0-2026", "<!channel>"])
def test_parse_period_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(dg.UnknownPeriod):
        dg.parse_period(text, MONDAY_9, BERLIN)


# -- 3. the job: exactly once per ISO week ---------------------------------------------------------------


def digest_rows(db: Database) -> list[OutboxMessage]:
    with db.reading() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kinds.DIGEST)))


def test_digest_is_posted_once_per_iso_week_across_runs_replicas_and_forced_reruns(
    db: Database, settings: Settings, refbot: Refbot, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    seed_program(db)
    assert JOBS["digest"].schedule(settings) == "0 9 * * mon"
    first = run_job(db, settings, "digest", now=MONDAY_9)
    assert (first.period, first.messages) == ("2026-W47", 1)
    assert first.lines == [f"Digest for 2026-W47 (week 47 · Nov 16 – 22, 2026) to {CHANNEL}"]
    # Again in the same week, forced, from two replicas' schedulers and by hand on Wednesday: nothing new.
    clock.move_to(MONDAY_9 + timedelta(minutes=5))
    assert "already run for 2026-W47" in run_job(db, settings, "digest").skipped
    forced = run_job(db, settings, "digest", force=True)
    assert forced.messages == 0 and "already sent" in forced.skipped
    for replica in ("replica-1", "replica-2"):
        JobScheduler(db, settings, worker, replica)._fire("digest")
    clock.move_to(MONDAY_9 + timedelta(days=2))
    assert run_job(db, settings, "digest", force=True).messages == 0
    with db.transaction() as session:
        assert dg.enqueue_digest(session, settings, dg.digest_week(MONDAY_9, settings.tz)) is False
    (row,) = digest_rows(db)
    assert (row.idempotency_key, row.recipient) == (f"digest:{CHANNEL}:2026-W47", CHANNEL)

    # Delivered once, with the chart uploaded (files upload v2) and shown in the message.
    deliver(worker)
    deliver(worker)
    (message,) = fake.messages(CHANNEL)
    (upload,) = fake.uploads()
    assert upload.completed and upload.data is not None and upload.data.startswith(PNG)
    assert upload.filename == "refbot-digest-2026-W47.png" and upload.channel_id is None  # not shared by itself
    image = next(b for b in message.blocks if b["type"] == "image")
    assert image["slack_file"]["id"] == upload.file_id
    assert message.metadata["event_payload"]["key"] == f"digest:{CHANNEL}:2026-W47"
    assert "Reference program digest, 2026-W47" in message.text
    assert fake.violations == []

    # The next Monday is the next week: one more digest.
    clock.move_to(MONDAY_9 + timedelta(days=7))
    assert run_job(db, settings, "digest").messages == 1
    assert sorted(r.idempotency_key for r in digest_rows(db)) == [
        f"digest:{CHANNEL}:2026-W47",
        f"digest:{CHANNEL}:2026-W48",
    ]


def test_without_a_digest_channel_the_job_says_why_it_skipped(db: Database, settings: Settings, clock: Any) -> None:
    result = run_job(db, settings.with_overrides(digest_channel=""), "digest", now=MONDAY_9)
    assert result.messages == 0 and result.skipped.startswith("REFBOT_DIGEST_CHANNEL is not set")
    assert digest_rows(db) == []
    dry = run_job(db, settings, "digest", now=MONDAY_9, dry_run=True)
    assert dry.messages == 1 and digest_rows(db) == []


def test_hostile_and_long_names_are_escaped_and_clipped(
    db: Database, settings: Settings, refbot: Refbot, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    long_name = "Umbrella " * 22  # 198 characters: the longest a customer name can be
    with db.transaction() as session:
        evil = factories.customer(session, HOSTILE, owner=OWNER)
        long = factories.customer(session, long_name.strip(), owner="<!here>", happy_days_ago=None)
        for n in range(3):
            add_request(
                session,
                created=W47_START + timedelta(hours=n),
                status=RequestStatus.COMPLETED,
                decided=W47_START + timedelta(hours=n + 2),
                customer=evil if n < 2 else long,
                outcome=Outcome.HELPED,
                outcome_at=W47_START + timedelta(days=2),
                amount=Decimal("1000"),
            )
        add_checkin(session, evil, asked=W47_START, answer=Happiness.UNHAPPY, answered=W47_START + timedelta(hours=2))
        add_request(session, created=MONDAY_9 - timedelta(days=4), prospect=(HOSTILE * 3)[:150])
    assert run_job(db, settings, "digest", now=MONDAY_9).messages == 1
    deliver(worker)
    (message,) = fake.messages(CHANNEL)
    text = blob({"text": message.text, "blocks": message.blocks})
    assert "<!channel>" not in text and "<!here>" not in text and "<https://evil" not in text
    assert "<@UMANAGER1> <" not in text
    assert "&lt;!channel&gt; Evil &amp; Co" in text
    assert long_name.strip() not in text and "Umbrella Umbrella" in text  # clipped, with an ellipsis
    assert fake.violations == []


def sample_digest(name: str, person: str, now: datetime = MONDAY_9) -> dg.Digest:
    """A digest built in memory with `name` as every customer name and prospect, and `person` as every
    Slack user: for rendering tests that need no database (tests/test_hostile.py can use it too)."""
    period = dg.digest_week(now, BERLIN)
    before = dg.previous(period, BERLIN)
    busy = dg.Counts(12, 8, 2, 1, 5, 3, 1, 1, 1, 2, Decimal("123456.78"))
    timing = dg.Timing(9, 5.25, 40.0)
    many = [dg.CustomerCount(n, name, person, 9 - n) for n in range(1, 9)]
    weeks = dg.week_starts(period, dg.SERIES_WEEKS, BERLIN)
    return dg.Digest(
        period=period,
        before=before,
        as_of=now,
        counts=busy,
        counts_before=dg.Counts(),
        to_decision=timing,
        to_decision_before=dg.Timing(),
        to_fulfilment=timing,
        to_fulfilment_before=timing,
        quarter=dg.quarter_of(period.last_day, BERLIN),
        quarter_counts=busy,
        references_window="Q4 2026 to date",
        top_references=many[:5],
        over_limit=many,
        over_limit_total=10_000,
        expiring=[dg.ExpiringConsent(n, name, ref, date(2026, 12, 1)) for n, ref in enumerate(["logo", name] * 4)],
        expiring_total=9,
        stale=[dg.StaleCustomer(n, name, None if n % 2 else now - timedelta(days=40)) for n in range(5)],
        stale_total=500,
        stale_asked=20,
        at_risk=[dg.AtRiskCustomer(n, name, person, "unhappy", 0) for n in range(20)],
        quiet_owners=[dg.QuietOwner(person, 3, now - timedelta(days=9)) for _ in range(20)],
        waiting=[
            dg.WaitingRequest(n, name, person, "awaiting_checkin", now - timedelta(hours=50 * n), name)
            for n in range(1, 6)
        ],
        waiting_total=80,
        thanks_customers=many,
        thanks_total=300,
        thanks_owners=[(person, 3)] * 20,
        series=dg.Series(
            weeks=tuple(w.label for w in weeks),
            received=tuple(range(12)),
            approved=tuple(range(12)),
            completed=tuple(range(12)),
            amount_influenced=tuple(Decimal(n * 1000) for n in range(12)),
        ),
    )


@pytest.mark.parametrize(
    "name",
    [HOSTILE, (HOSTILE + " ") * 200, "&" * 10_000, "a\u202eb\n<!here>\r\n" * 500, "*_~`" * 3000],
)
@pytest.mark.parametrize("person", [MANAGER, HOSTILE, "<!channel>" * 1000, ""])
def test_every_reporting_view_stays_within_slacks_limits_with_hostile_text(name: str, person: str) -> None:
    digest = sample_digest(name, person)
    requests = [
        ReferenceRequest(id=n, prospect=name, ref_type="call", status=status, requester_id=REP, created_at=MONDAY_9)
        for n, status in enumerate(["approved", "approved", "submitted", "awaiting_checkin", "completed"] * 4)
    ]
    messages = {
        "digest": digest_message(digest, SETTINGS_BERLIN, chart="chart"),
        "stats": stats_message(digest, SETTINGS_BERLIN),
        "mine": mine_message(requests, dict.fromkeys(range(20), MONDAY_9), SETTINGS_BERLIN, MONDAY_9),
        "unknown": unknown_period(name),
    }
    for kind, message in messages.items():
        assert validate_message(message) == [], kind
        assert len(message["blocks"]) <= 50, kind
        text = blob(message)
        tokens = set(re.findall(r"<[^<>]*>", text))
        allowed = {f"<@{MANAGER}>"} | {t for t in tokens if t.startswith("<!date^")}
        assert tokens <= allowed, (kind, tokens - allowed)


# -- 4. the command line --------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "REFBOT_SCHEDULER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REFBOT_MANAGERS", MANAGER)
    monkeypatch.setenv("REFBOT_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("REFBOT_DIGEST_CHANNEL", CHANNEL)
    return tmp_path


def test_cli_dry_run_prints_the_digest_and_writes_the_chart(
    cli_env: Path, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_program(db)
    with freeze_time(MONDAY_9 + timedelta(days=30)):  # any later day: --week picks the week
        assert cli.main(["digest", "--dry-run", "--week", "2026-W47", "--chart", "out/w47.png"]) == 1
        capsys.readouterr()
        (cli_env / "out").mkdir()
        assert cli.main(["digest", "--dry-run", "--week", "2026-W47", "--chart", "out/w47.png"]) == 0
    out = capsys.readouterr().out
    assert "Reference program · week 47 · Nov 16 – 22, 2026" in out
    assert "Requests received" in out and "Waiting longest" in out and "[image: Last 12 weeks]" in out
    png = (cli_env / "out" / "w47.png").read_bytes()
    assert png.startswith(PNG) and len(png) < 200 * 1024
    assert "nothing was sent" in out and digest_rows(db) == []
    # Without --chart the file is named after the week, in the current folder.
    with freeze_time(MONDAY_9):
        assert cli.main(["digest", "--dry-run"]) == 0
    assert (cli_env / "refbot-digest-2026-W47.png").read_bytes().startswith(PNG)
    assert cli.main(["digest", "--dry-run", "--week", "2026-47"]) == 1
    assert "--week must look like 2026-W47" in capsys.readouterr().out


def test_cli_post_sends_once_and_needs_a_channel(
    cli_env: Path, db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with freeze_time(MONDAY_9 + timedelta(days=1)):
        assert cli.main(["digest", "--post"]) == 0
        out = capsys.readouterr().out
        assert f"digest for 2026-W47 (week 47 · Nov 16 – 22, 2026) enqueued for {CHANNEL}" in out
        assert "wait in the outbox" in out  # no token here: a running refbot sends it
        assert cli.main(["digest", "--post"]) == 0
        assert "already sent" in capsys.readouterr().out
    assert [r.idempotency_key for r in digest_rows(db)] == [f"digest:{CHANNEL}:2026-W47"]

    monkeypatch.setenv("REFBOT_DIGEST_CHANNEL", "")
    assert cli.main(["digest", "--post"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("refbot: REFBOT_DIGEST_CHANNEL is not set:") and err.count("\n") == 0


# -- 5. /reference stats and /reference mine, through signed requests -------------------------------------


def ephemeral(fake: FakeSlack, user: str, contains: str) -> dict[str, Any]:
    return fake.wait_for(lambda f: next((e for e in f.ephemerals(user) if contains in blob(e)), None))


def test_stats_for_the_quarter_answers_ephemerally_with_the_quarters_numbers(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    now = datetime.now(UTC)
    with db.transaction() as session:
        acme = factories.customer(session, "Acme Corp")
        for n in range(3):
            add_request(session, created=now - timedelta(minutes=5 + n))
        add_request(
            session,
            created=now - timedelta(minutes=30),
            status=RequestStatus.COMPLETED,
            decided=now - timedelta(minutes=20),
            customer=acme,
            outcome=Outcome.HELPED,
            outcome_at=now - timedelta(minutes=10),
            won=True,
            amount=Decimal("120000"),
        )
    response = slack.command(REP, "stats quarter")
    assert response.status == 200 and not response.body.strip()
    answer = ephemeral(fake, REP, "Reference stats")
    assert answer["response_type"] == "ephemeral"
    text = blob(answer["blocks"])
    quarter = dg.quarter_of(now.astimezone(settings.tz).date(), settings.tz)
    assert f"Reference stats · {quarter.title} (to date)" in text
    assert "*Requests received*\\n*4*" in text and "*Approved*\\n*1*" in text
    assert "*1* deal won with a reference · *120,000* influenced" in text
    assert "Thanks* to Acme Corp" in text and f"<@{OWNER}>" in text
    assert fake.violations == []


def test_stats_with_a_bad_period_says_what_it_understands(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    slack.command(OTHER, "stats <!channel> fortnight")
    answer = ephemeral(fake, OTHER, "as a period")
    text = blob(answer)
    assert "&lt;!channel&gt; fortnight" in text and "<!channel>" not in text
    assert "`last-week`" in text and "`2026-Q3`" in text
    slack.command(OTHER, "stats 2026-W47")
    ephemeral(fake, OTHER, "Reference stats · week 47")


def test_stats_and_the_digest_agree(db: Database, settings: Settings, clock: Any) -> None:
    seed_program(db)
    period = dg.parse_period("last-week", MONDAY_9, settings.tz)
    with db.reading() as session:
        weekly = dg.compute(session, settings, period, MONDAY_9)
        asked = dg.stats(session, settings, period, MONDAY_9)
    assert asked.series is None
    for name in ("counts", "counts_before", "to_decision", "to_fulfilment", "top_references", "thanks_customers"):
        assert getattr(asked, name) == getattr(weekly, name), name
    message = stats_message(asked, settings)
    assert validate_message(message) == [] and not any(b["type"] == "image" for b in message["blocks"])
    assert digest_message(weekly, settings)["blocks"][1] == message["blocks"][1]


def test_mine_shows_what_waits_for_the_rep_with_buttons_that_work(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    now = datetime.now(UTC)
    with db.transaction() as session:
        acme = factories.customer(session, "Acme Corp")
        due = add_request(
            session,
            created=now - timedelta(days=30),
            status=RequestStatus.APPROVED,
            decided=now - timedelta(days=20),
            customer=acme,
            prospect="Due Corp",
        )
        pending = add_request(session, created=now - timedelta(hours=1), prospect="Waiting Inc")
        done = add_request(
            session,
            created=now - timedelta(days=60),
            status=RequestStatus.COMPLETED,
            decided=now - timedelta(days=59),
            customer=acme,
            outcome=Outcome.HURT,
            outcome_at=now - timedelta(days=40),
            prospect="Old Deal",
        )
        add_request(session, created=now, prospect="Someone Else's", requester=OTHER)
        ids = (due.id, pending.id, done.id)
    slack.command(REP, "mine")
    answer = ephemeral(fake, REP, "Your reference requests")
    text = blob(answer["blocks"])
    assert text.index(f"#{ids[0]}") < text.index(f"#{ids[1]}") < text.index(f"#{ids[2]}")
    assert "1 needs you:* how did it go?" in text and "*your turn:* tell us how it went" in text
    assert "waiting for a reference manager" in text and ":memo: Hurt" in text and "Someone Else" not in text
    assert f'"value": "{ids[0]}:helped"' in text and f'"action_id": "request.cancel:{ids[1]}"' in text
    slack.click(REP, answer, f"outcome.record:helped_{ids[0]}")
    fake.wait_for(lambda f: _status(db, ids[0]) == RequestStatus.COMPLETED.value)
    slack.click(REP, answer, f"request.cancel:{ids[1]}")
    fake.wait_for(lambda f: _status(db, ids[1]) == RequestStatus.CANCELLED.value)
    with db.reading() as session:
        assert session.get(ReferenceRequest, ids[0]).outcome == Outcome.HELPED.value
    assert fake.violations == []


def _status(db: Database, request_id: int) -> str:
    with db.reading() as session:
        return session.get(ReferenceRequest, request_id).status
