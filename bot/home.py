"""What each person's App Home shows, by role, gathered from the database as it is now (no Slack here).

A person may hold several roles, and sees each of them, manager first: a **manager** the approval queue
(oldest first, with the best eligible candidate to approve inline), check-ins awaiting answers, at-risk
customers, consents running out and the quarter's headline numbers; an **account owner** their customers'
health and the check-ins waiting for them; **everyone** their own requests and what is needed from them.
`bot.views.home.home_view` renders a `Home` within Slack's 100 blocks.

Speed (≤ 300 ms with 100,000 customers and 100,000 requests, bench/home_bench.py): each list is one query
that counts its matches in the same pass (a window count) while keeping the first few. What every manager
sees alike — check-ins awaiting answers, at-risk customers, expiring consents, the quarter's numbers — takes
a few table scans, so it is computed once per change to the program (`program_facts`), not per manager or
per visit; a person opening the tab meanwhile gets the figures known before (or, first thing in a process,
none yet) at once, and the background refresh publishes the current ones. The other costly step, ranking
candidates for a queued request (~100 ms each, `bot.matching`), is remembered per request version (the
manager cards, which rank anyway, leave it behind) and judged afresh by `eligibility.assess` before its
Approve button is shown; ranking what is not remembered stops at a time budget, and the background refresh
(with a larger one) fills it in.

Refreshes: a change enqueues a `home` outbox row for each person it concerns who has a Home on record
(`bot.requests.refresh_homes`); the outbox builds it at delivery (`bot.notifications`), and skips it when a
newer one for the same person is already waiting (`superseded`), so a burst of changes publishes the latest
state once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from bot import jobs, nominations
from bot import requests as rq
from bot.eligibility import ASSESS_LOADS, LOW_NPS, assess, load_context
from bot.matching import Candidate, fit, rank_candidates
from bot.memo import Memo
from bot.settings import Settings
from models import AuditEntry, CheckIn, Consent, Customer, Nomination, OutboxMessage, ReferenceRequest
from models.enums import CheckInStatus, Happiness, OutboxStatus, Outcome, RefType, RequestStatus
from models.types import utcnow

# Sections of the Home, as "more" buttons name them.
QUEUE = "queue"
CHECKINS = "checkins"
AT_RISK = "at_risk"
CONSENTS = "consents"
OWNER_CHECKINS = "owner_checkins"
CUSTOMERS = "customers"
REQUESTS = "requests"

# Items shown per section: (on the Home, when the section is shown in full on its own). Sized so that
# every role together stays under Slack's 100 blocks (bot.views.home checks it, and trims if ever not).
LIMITS: dict[str, tuple[int, int]] = {
    QUEUE: (6, 30),
    CHECKINS: (8, 60),
    AT_RISK: (8, 60),
    CONSENTS: (6, 60),
    OWNER_CHECKINS: (5, 30),
    CUSTOMERS: (12, 90),
    REQUESTS: (10, 40),
}
SECTIONS = frozenset(LIMITS)


def section_named(value: object) -> str:
    """The section a Home button asks to show in full; "" (the whole Home) for anything else."""
    return value if isinstance(value, str) and value in SECTIONS else ""


# Ranking queued requests not ranked lately goes on only while the whole build is expected to end within
# this many seconds: while a person waits for the tab to open, and in the outbox's background refresh
# that completes it.
FOREGROUND_BUDGET = 0.2
BACKGROUND_BUDGET = 3.0
# The program-wide facts every manager sees are reused until the next recorded change, or this long.
FACTS_TTL = 60.0
# Requests an owner or rep sees at most in their own lists (their most recent).
ACTIVE_CAP = 300

OPEN = (RequestStatus.SUBMITTED.value, RequestStatus.AWAITING_CHECKIN.value)
CLOSED = (RequestStatus.COMPLETED.value, RequestStatus.DECLINED.value, RequestStatus.CANCELLED.value)
SOUR = (Happiness.UNHAPPY.value, Happiness.CONCERNS.value)


# -- what the Home holds --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopCandidate:
    """The best candidate `assess` judges usable right now, for the queue's inline Approve."""

    customer_id: int
    name: str
    needs_checkin: bool
    score: float
    fits: tuple[str, ...]


@dataclass(frozen=True)
class QueueItem:
    request: ReferenceRequest
    top: TopCandidate | None = None
    waiting_on: CheckIn | None = None  # awaiting_checkin: the owner's question it waits for
    ranked: bool = True  # False: the time budget ran out before this request was ranked


@dataclass(frozen=True)
class AtRisk:
    """A customer whose last word was not happy, or who went stale while nobody answers its check-in."""

    customer_id: int
    name: str
    owner: str | None
    answer: str | None
    answered_at: datetime | None
    nps: int | None = None
    unanswered_since: datetime | None = None


@dataclass(frozen=True)
class ExpiringConsent:
    customer_id: int
    name: str
    ref_type: str
    expires_on: date
    approved_by: str


@dataclass(frozen=True)
class Headline:
    """This quarter so far: requests made, approved, completed, helped, and the amount they influenced."""

    quarter: str
    since: datetime
    requests: int
    approved: int
    completed: int
    helped: int
    influenced: Decimal


T = TypeVar("T")


@dataclass(frozen=True)
class Shown(Generic[T]):
    """The first items of a list, and how many there are in all."""

    items: list[T]
    total: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.items), 0)


@dataclass(frozen=True)
class AwaitingCheckin:
    checkin_id: int
    customer: str
    asked_of: str
    asked_at: datetime
    request_id: int | None
    reminded: bool


@dataclass(frozen=True)
class ProgramFacts:
    """What every manager sees alike: computed once per change to the program, not once per manager."""

    checkins: Shown[AwaitingCheckin]
    at_risk: Shown[AtRisk]
    consents: Shown[ExpiringConsent]
    headline: Headline


@dataclass(frozen=True)
class ManagerHome:
    queue: Shown[QueueItem]
    facts: ProgramFacts | None  # None: not gathered yet in this process (a background refresh brings them)
    stale: bool = False  # the facts predate the latest change (a background refresh brings the current)
    nominations: Shown[Nomination] | None = None  # nominations waiting for a manager's decision


@dataclass(frozen=True)
class CustomerHealth:
    customer_id: int
    name: str
    answer: str | None  # the latest answer, None when never checked in
    answered_at: datetime | None
    nps: int | None
    stale: bool
    waiting: bool  # a check-in about it waits for an answer


@dataclass(frozen=True)
class OwnerHome:
    checkins: Shown[CheckIn]
    customers: Shown[CustomerHealth]


@dataclass(frozen=True)
class RepRequest:
    request: ReferenceRequest
    outcome_due: bool = False
    due_at: datetime | None = None


@dataclass(frozen=True)
class RepHome:
    requests: Shown[RepRequest]
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Home:
    user: str
    manager: ManagerHome | None
    owner: OwnerHome | None
    rep: RepHome
    expanded: str | None = None

    @property
    def incomplete(self) -> bool:
        """Queued requests not ranked in time, or facts from before the latest change: a background
        refresh should finish the job."""
        if self.manager is None:
            return False
        return self.manager.stale or any(not item.ranked for item in self.manager.queue.items)


def _limit(section: str, expanded: str | None) -> int:
    shown, full = LIMITS[section]
    return full if expanded == section else shown


def build_home(
    session: Session,
    settings: Settings,
    user: str,
    now: datetime,
    *,
    expand: str | None = None,
    rank_budget: float | None = None,
    allow_stale: bool = False,
) -> Home:
    """Everything `user`'s Home shows now; `expand` names one section to show in full.

    `rank_budget`: seconds the build may take before it stops ranking queued requests (FOREGROUND_BUDGET);
    the costly rankings come last, so that everything else is always there. `allow_stale`: see
    `program_facts`. Either way `Home.incomplete` says a background refresh should follow.
    """
    deadline = time.perf_counter() + (FOREGROUND_BUDGET if rank_budget is None else rank_budget)
    expand = expand if expand in SECTIONS else None
    is_manager = settings.is_manager(user)
    if is_manager:
        facts, stale = program_facts(session, settings, now, expand, allow_stale=allow_stale)
        queue, total = _queue(session, _limit(QUEUE, expand))
    owner: OwnerHome | None = _owner_home(session, settings, user, now, expand)
    if owner is not None and not owner.checkins.total and not owner.customers.total:
        owner = None
    rep = _rep_home(session, settings, user, now, expand)
    manager = None
    if is_manager:
        submitted = [item.request for item in queue if item.request.status == RequestStatus.SUBMITTED]
        tops, ranked = _top_candidates(session, settings, submitted, now, deadline)
        items = [
            replace(item, top=tops.get(item.request.id), ranked=item.request.id in ranked)
            if item.request.status == RequestStatus.SUBMITTED
            else item
            for item in queue
        ]
        waiting, nominated = nominations.pending(session)
        manager = ManagerHome(Shown(items, total), facts, stale, Shown(waiting, nominated))
    return Home(user, manager, owner, rep, expand)


# -- managers -------------------------------------------------------------------------------------------


def _queue(session: Session, limit: int) -> tuple[list[QueueItem], int]:
    """The open requests, oldest first (with the check-in an awaiting one waits for), and how many."""
    waiting = ReferenceRequest.status.in_(OPEN)
    total = int(session.scalar(select(func.count()).select_from(ReferenceRequest).where(waiting)) or 0)
    requests = session.scalars(
        select(ReferenceRequest).where(waiting).order_by(ReferenceRequest.created_at, ReferenceRequest.id).limit(limit)
    ).all()
    asked = {
        c.request_id: c
        for c in session.scalars(
            select(CheckIn)
            .where(CheckIn.request_id.in_([r.id for r in requests]), CheckIn.status == CheckInStatus.PENDING)
            .order_by(CheckIn.id)
            .options(selectinload(CheckIn.customer))
        )
    }
    items = [QueueItem(r, waiting_on=asked.get(r.id), ranked=r.status != RequestStatus.SUBMITTED) for r in requests]
    return items, total


def _database(session: Session) -> str:
    return str(session.get_bind().engine.url)


def program_facts(
    session: Session, settings: Settings, now: datetime, expand: str | None = None, *, allow_stale: bool = False
) -> tuple[ProgramFacts | None, bool]:
    """Check-ins awaiting answers, at-risk customers, expiring consents and the quarter's numbers, and
    whether they are from before the latest change.

    Reused until the next recorded change — every decision, answer, job, import and edit writes an outbox
    or an audit row, so the newest of each is the program's version — or for FACTS_TTL seconds (time alone
    moves "stale" and "expiring"). A burst of refreshes for several managers computes them once.
    `allow_stale` (a person waiting for the tab): the facts of a version up to FACTS_TTL old, or none yet
    (None) in a process that has not computed them, rather than a wait of a few table scans; the caller
    then has a background refresh publish the current ones.
    """
    version = [
        tuple(session.execute(select(table.id, stamp).order_by(table.id.desc()).limit(1)).first() or ())
        for table, stamp in ((OutboxMessage, OutboxMessage.created_at), (AuditEntry, AuditEntry.at))
    ]
    limits = tuple(_limit(section, expand) for section in (CHECKINS, AT_RISK, CONSENTS))
    rules = (settings.checkin_max_age_days, settings.checkin_remind_days, settings.consent_notice_days)
    shape = (_database(session), limits, rules, settings.timezone)
    found, facts = FACTS.get((*shape, *version))
    if found:
        return facts, False
    if allow_stale:
        found, facts = LATEST_FACTS.get(shape)
        return (facts if found else None), True
    facts = ProgramFacts(
        checkins=_awaiting_checkins(session, limits[0]),
        at_risk=at_risk(session, settings, now, limits[1]),
        consents=_expiring_consents(session, settings, now, limits[2]),
        headline=headline(session, settings, now),
    )
    FACTS.put((*shape, *version), facts)
    LATEST_FACTS.put(shape, facts)
    return facts, False


# The best eligible candidate found per request version (None: none was). Only a hint: whatever it names is
# judged again by `assess` before a button offers it. Keyed by the database and the request's id, version
# and creation time, so nothing leaks between databases or survives a change to the request.
PICKS = Memo(size=4096, ttl=300.0)
FACTS = Memo(size=64, ttl=FACTS_TTL)  # by version
LATEST_FACTS = Memo(size=16, ttl=FACTS_TTL)  # the newest computed, whatever its version
# Seconds a ranking took lately (an estimate, to decide whether the next one fits the budget).
_rank_seconds = [0.1]


def _pick_key(session: Session, request: ReferenceRequest) -> tuple[Any, ...]:
    created = request.created_at.timestamp() if request.created_at else 0.0
    return (_database(session), request.id, request.version, created)


def remember_ranking(session: Session, request: ReferenceRequest, candidates: Sequence[Candidate]) -> None:
    """Keep the best eligible candidate of a ranking done anyway (the manager card), for the Home."""
    top = next((c for c in candidates if c.assessment.eligible), None)
    PICKS.put(_pick_key(session, request), top.customer.id if top else None)


def _judged(session: Session, settings: Settings, customer_ids: Iterable[int], now: datetime) -> dict[int, Any]:
    """`assess` verdicts (by the request's type, later) need the customers in full: loaded in one go."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    customers = session.scalars(
        select(Customer)
        .where(Customer.id.in_(ids))
        .options(*ASSESS_LOADS)
    ).all()
    # exclude_request only hides a request's own wait for a check-in; queued (submitted) ones have none.
    context = load_context(session, settings, ids, now, exclude_request=None)
    return {c.id: (c, context) for c in customers}


def _top_candidates(
    session: Session, settings: Settings, requests: Sequence[ReferenceRequest], now: datetime, deadline: float
) -> tuple[dict[int, TopCandidate], set[int]]:
    """The best eligible candidate per request (when there is one), and which requests got an answer."""
    hints: dict[int, int | None] = {}
    known: set[int] = set()
    for request in requests:
        remembered, customer_id = PICKS.get(_pick_key(session, request))
        if remembered:
            known.add(request.id)
        # The customer the rep asked for comes first in any ranking: if usable, it is the top one.
        hints[request.id] = customer_id if remembered else request.specific_customer_id
    judged = _judged(session, settings, (c for c in hints.values() if c is not None), now)

    def usable(request: ReferenceRequest, customer_id: int | None) -> TopCandidate | None:
        if customer_id is None or customer_id not in judged:
            return None
        customer, context = judged[customer_id]
        verdict = assess(customer, RefType(request.ref_type), settings, now, context)
        if not verdict.eligible:
            return None
        score, fits = fit(request, customer)
        return TopCandidate(customer.id, customer.name, verdict.needs_checkin, score, tuple(fits))

    tops: dict[int, TopCandidate] = {}
    answered: set[int] = set()
    for request in requests:
        top = usable(request, hints[request.id])
        if top is not None:
            tops[request.id] = top
            answered.add(request.id)
            continue
        if request.id in known and hints[request.id] is None:
            answered.add(request.id)  # ranked a moment ago: nobody usable
            continue
        started = time.perf_counter()
        if started + 1.5 * _rank_seconds[0] > deadline:  # with a margin: a ranking's time varies
            continue
        candidates = rank_candidates(session, settings, request, now)
        _rank_seconds[0] = 0.5 * _rank_seconds[0] + 0.5 * (time.perf_counter() - started)
        remember_ranking(session, request, candidates)
        best = next((c for c in candidates if c.assessment.eligible), None)
        if best is not None:
            verdict = best.assessment
            tops[request.id] = TopCandidate(
                best.customer.id, best.customer.name, verdict.needs_checkin, best.score, tuple(best.fits)
            )
        answered.add(request.id)
    return tops, answered


def _awaiting_checkins(session: Session, limit: int) -> Shown[AwaitingCheckin]:
    """Check-ins nobody has answered yet, the longest waiting first (counted on the check-ins alone; the
    customers' names are joined for the few shown only)."""
    first = (
        select(
            CheckIn.id,
            CheckIn.customer_id,
            CheckIn.asked_of,
            CheckIn.asked_at,
            CheckIn.request_id,
            CheckIn.reminded_at,
            func.count().over().label("total"),
        )
        .where(CheckIn.status == CheckInStatus.PENDING)
        .order_by(CheckIn.asked_at, CheckIn.id)
        .limit(limit)
        .subquery()
    )
    rows = session.execute(
        select(first, Customer.name)
        .join(Customer, Customer.id == first.c.customer_id)
        .order_by(first.c.asked_at, first.c.id)
    ).all()
    items = [
        AwaitingCheckin(r.id, r.name, r.asked_of, r.asked_at, r.request_id, r.reminded_at is not None) for r in rows
    ]
    return Shown(items, rows[0].total if rows else 0)


def _latest_nps(session: Session, customer_ids: Iterable[int]) -> dict[int, int | None]:
    """The NPS given at each customer's latest answered check-in (the summary columns do not keep it).

    By customer id only (the (customer_id, answered_at) index), the latest picked here: a condition on the
    status would lead SQLite to walk every answered check-in through the status index instead.
    """
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(CheckIn.customer_id, CheckIn.nps, CheckIn.answered_at, CheckIn.id, CheckIn.status).where(
            CheckIn.customer_id.in_(ids), CheckIn.answered_at.is_not(None)
        )
    ).all()
    latest: dict[int, tuple[datetime, int, int | None]] = {}
    for row in rows:
        if row.status != CheckInStatus.ANSWERED:
            continue
        if row.customer_id not in latest or (row.answered_at, row.id) > latest[row.customer_id][:2]:
            latest[row.customer_id] = (row.answered_at, row.id, row.nps)
    return {customer_id: found[2] for customer_id, found in latest.items()}


def at_risk(session: Session, settings: Settings, now: datetime, limit: int) -> Shown[AtRisk]:
    """Customers at risk, worst first: unhappy, a detractor's NPS, some concerns, then stale ones whose
    check-in has gone unanswered for twice the reminder delay (when the managers are alerted about it).

    Three queries, each counting its matches in the same pass (a window count) while keeping the first few.
    """
    columns = (
        Customer.id,
        Customer.name,
        Customer.owner_slack_id,
        Customer.last_checkin_answer,
        Customer.last_checkin_at,
    )
    total = func.count().over().label("total")
    latest = and_(
        CheckIn.customer_id == Customer.id,
        CheckIn.answered_at == Customer.last_checkin_at,
        CheckIn.status == CheckInStatus.ANSWERED,
    )

    sour_rows = session.execute(
        select(*columns, total)
        .where(Customer.last_checkin_answer.in_(SOUR))
        .order_by(
            case((Customer.last_checkin_answer == Happiness.UNHAPPY.value, 0), else_=1),
            Customer.last_checkin_at.desc(),
            Customer.id,
        )
        .limit(limit)
    ).all()

    detractor = and_(Customer.last_checkin_answer == Happiness.HAPPY.value, CheckIn.nps <= LOW_NPS)
    low_rows = session.execute(
        select(*columns, CheckIn.nps, total)
        .join(CheckIn, latest)
        .where(detractor)
        .order_by(Customer.last_checkin_at.desc(), Customer.id)
        .limit(limit)
    ).all()

    silent_rows = _silent(session, settings, now, columns, latest, limit)

    nps = _latest_nps(session, [r.id for r in sour_rows])

    def entry(row: Any, **extra: Any) -> AtRisk:
        return AtRisk(row.id, row.name, row.owner_slack_id, row.last_checkin_answer, row.last_checkin_at, **extra)

    unhappy = [entry(r, nps=nps.get(r.id)) for r in sour_rows if r.last_checkin_answer == Happiness.UNHAPPY]
    concerns = [entry(r, nps=nps.get(r.id)) for r in sour_rows if r.last_checkin_answer == Happiness.CONCERNS]
    detractors = [entry(r, nps=r.nps) for r in low_rows]
    silent = [entry(row, unanswered_since=row.asked_at) for row in silent_rows]
    count = sum(rows[0].total if rows else 0 for rows in (sour_rows, low_rows, silent_rows))
    return Shown((unhappy + detractors + concerns + silent)[:limit], count)


def _silent(session: Session, settings: Settings, now: datetime, columns: Any, latest: Any, limit: int) -> list[Any]:
    """The stale customers whose check-in nobody answered for twice the reminder delay, longest first;
    not those already counted as sour or as detractors. Rows carry `asked_at` and the window `total`."""
    unanswered_before = now - timedelta(days=2 * settings.checkin_remind_days)
    stale_before = now - timedelta(days=settings.checkin_max_age_days)
    detractor_now = exists().where(latest, CheckIn.nps <= LOW_NPS).correlate(Customer)
    oldest_ask = (
        select(CheckIn.customer_id, func.min(CheckIn.asked_at).label("asked_at"))
        .where(CheckIn.status == CheckInStatus.PENDING, CheckIn.asked_at <= unanswered_before)
        .group_by(CheckIn.customer_id)
        .subquery()
    )
    return list(
        session.execute(
            select(*columns, oldest_ask.c.asked_at, func.count().over().label("total"))
            .join(oldest_ask, oldest_ask.c.customer_id == Customer.id)
            .where(
                or_(Customer.last_checkin_at.is_(None), Customer.last_checkin_at < stale_before),
                or_(Customer.last_checkin_answer.is_(None), Customer.last_checkin_answer.not_in(SOUR)),
                ~detractor_now,  # a detractor that also went stale is counted once, as a detractor
            )
            .order_by(oldest_ask.c.asked_at, Customer.id)
            .limit(limit)
        ).all()
    )


def _expiring_consents(session: Session, settings: Settings, now: datetime, limit: int) -> Shown[ExpiringConsent]:
    """Public-use consents that run out within REFBOT_CONSENT_NOTICE_DAYS, soonest first."""
    today = now.astimezone(settings.tz).date()
    first = (
        select(
            Consent.id,
            Consent.customer_id,
            Consent.ref_type,
            Consent.expires_on,
            Consent.approved_by,
            func.count().over().label("total"),
        )
        .where(Consent.expires_on >= today, Consent.expires_on <= today + timedelta(days=settings.consent_notice_days))
        .order_by(Consent.expires_on, Consent.id)
        .limit(limit)
        .subquery()
    )
    rows = session.execute(
        select(first, Customer.name)
        .join(Customer, Customer.id == first.c.customer_id)
        .order_by(first.c.expires_on, first.c.id)
    ).all()
    items = [ExpiringConsent(r.customer_id, r.name, r.ref_type, r.expires_on, r.approved_by) for r in rows]
    return Shown(items, rows[0].total if rows else 0)


def quarter_start(now: datetime, settings: Settings) -> tuple[str, datetime]:
    """("Q2 2026", the quarter's first moment in REFBOT_TIMEZONE, as UTC)."""
    local = now.astimezone(settings.tz)
    month = 3 * ((local.month - 1) // 3) + 1
    start = datetime(local.year, month, 1, tzinfo=settings.tz).astimezone(UTC)
    return f"Q{(month - 1) // 3 + 1} {local.year}", start


def headline(session: Session, settings: Settings, now: datetime) -> Headline:
    """This quarter's numbers: requests made, approved, completed, helped, and the amount influenced.

    Three range queries on the indexed creation, decision and outcome times: they read this quarter's
    requests only, however long the history.
    """
    label, since = quarter_start(now, settings)
    r = ReferenceRequest
    made = session.scalar(select(func.count()).select_from(r).where(r.created_at >= since)) or 0
    approved = (
        session.scalar(
            select(func.count())
            .select_from(r)
            .where(r.decided_at >= since, r.status.in_([RequestStatus.APPROVED.value, RequestStatus.COMPLETED.value]))
        )
        or 0
    )
    completed, helped, influenced = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((r.outcome == Outcome.HELPED.value, 1), else_=0)), 0),
            func.coalesce(func.sum(r.amount_influenced), 0),
        ).where(r.outcome_at >= since)
    ).one()
    return Headline(label, since, int(made), int(approved), int(completed), int(helped), Decimal(influenced or 0))


# -- account owners -------------------------------------------------------------------------------------


def _owner_home(session: Session, settings: Settings, user: str, now: datetime, expand: str | None) -> OwnerHome:
    owned = select(Customer.id).where(Customer.owner_slack_id == user)
    mine = and_(
        CheckIn.status == CheckInStatus.PENDING,
        or_(CheckIn.asked_of == user, CheckIn.customer_id.in_(owned)),
    )
    checkins_total = int(session.scalar(select(func.count()).select_from(CheckIn).where(mine)) or 0)
    checkins = session.scalars(
        select(CheckIn)
        .where(mine)
        .order_by(CheckIn.asked_at, CheckIn.id)
        .limit(_limit(OWNER_CHECKINS, expand))
        .options(selectinload(CheckIn.customer))
    ).all()

    customers_total = int(session.scalar(select(func.count()).select_from(owned.subquery())) or 0)
    stale_before = now - timedelta(days=settings.checkin_max_age_days)
    fresh = Customer.last_checkin_at >= stale_before
    worst_first = case(
        (and_(fresh, Customer.last_checkin_answer == Happiness.UNHAPPY.value), 0),
        (and_(fresh, Customer.last_checkin_answer == Happiness.CONCERNS.value), 1),
        (fresh, 3),
        else_=2,
    )
    rows = session.execute(
        select(Customer.id, Customer.name, Customer.last_checkin_answer, Customer.last_checkin_at)
        .where(Customer.owner_slack_id == user)
        .order_by(worst_first, Customer.last_checkin_at.asc().nulls_first(), Customer.name, Customer.id)
        .limit(_limit(CUSTOMERS, expand))
    ).all()
    ids = [row.id for row in rows]
    nps = _latest_nps(session, ids)
    waiting = (
        set(
            session.scalars(
                select(CheckIn.customer_id).where(CheckIn.customer_id.in_(ids), CheckIn.status == CheckInStatus.PENDING)
            ).all()
        )
        if ids
        else set()
    )
    health = [
        CustomerHealth(
            row.id,
            row.name,
            row.last_checkin_answer,
            row.last_checkin_at,
            nps.get(row.id),
            stale=row.last_checkin_at is None or row.last_checkin_at < stale_before,
            waiting=row.id in waiting,
        )
        for row in rows
    ]
    return OwnerHome(Shown(list(checkins), checkins_total), Shown(health, customers_total))


# -- requesters -----------------------------------------------------------------------------------------


def _rep_home(session: Session, settings: Settings, user: str, now: datetime, expand: str | None) -> RepHome:
    """The person's requests, what needs them first: an outcome to report, then open ones, then the rest.

    Ordered on light rows (a rep may have hundreds waiting for an outcome); only the ones shown are loaded.
    """
    mine = ReferenceRequest.requester_id == user
    counts = {
        status: int(n)
        for status, n in session.execute(
            select(ReferenceRequest.status, func.count()).where(mine).group_by(ReferenceRequest.status)
        )
    }
    limit = _limit(REQUESTS, expand)
    light = session.execute(
        select(ReferenceRequest.id, ReferenceRequest.status, ReferenceRequest.needed_by, ReferenceRequest.decided_at)
        .where(mine, ReferenceRequest.status.in_([*OPEN, RequestStatus.APPROVED.value]))
        .order_by(ReferenceRequest.id.desc())
        .limit(ACTIVE_CAP)
    ).all()
    far = datetime.max.replace(tzinfo=UTC)
    due: list[tuple[datetime, int]] = []
    waiting: list[tuple[datetime, int]] = []
    approved: list[tuple[datetime, int]] = []
    due_at: dict[int, datetime | None] = {}
    for row in light:
        if row.status != RequestStatus.APPROVED:
            waiting.append((far, row.id))
            continue
        at = jobs.outcome_due_at(ReferenceRequest(needed_by=row.needed_by, decided_at=row.decided_at), settings)
        due_at[row.id] = at
        (due if at is not None and at <= now else approved).append((at or far, row.id))
    order = [i for _, i in sorted(due)] + [i for _, i in sorted(waiting)] + [i for _, i in sorted(approved)]
    if len(order) < limit:
        order += session.scalars(
            select(ReferenceRequest.id)
            .where(mine, ReferenceRequest.status.in_(CLOSED))
            .order_by(ReferenceRequest.id.desc())
            .limit(limit - len(order))
        ).all()
    shown = order[:limit]
    loaded = {
        r.id: r
        for r in session.scalars(
            select(ReferenceRequest)
            .where(ReferenceRequest.id.in_(shown))
            .options(selectinload(ReferenceRequest.customer))
        )
    }
    items = []
    for request_id in shown:
        at = due_at.get(request_id)
        if request_id in loaded:
            items.append(RepRequest(loaded[request_id], outcome_due=at is not None and at <= now, due_at=at))
    return RepHome(Shown(items, sum(counts.values())), counts)


# -- the Home on record, and its refreshes --------------------------------------------------------------


def last_home_row(session: Session, user: str) -> int | None:
    """The newest `home` outbox row for `user` (None: their Home is not on record yet)."""
    return session.scalar(
        select(func.max(OutboxMessage.id)).where(
            OutboxMessage.subject == rq.home_subject(user), OutboxMessage.kind == rq.HOME
        )
    )


def overtaken(session: Session, user: str, since: int | None) -> bool:
    """Was a refresh for `user` enqueued after row `since` and already delivered? Then a Home published
    directly, built before that change, may have landed after it and must be published once more."""
    return (
        session.scalar(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.subject == rq.home_subject(user),
                OutboxMessage.kind == rq.HOME,
                OutboxMessage.id > (since or 0),
                OutboxMessage.status != OutboxStatus.PENDING,
            )
            .limit(1)
        )
        is not None
    )


def remember_home(session: Session, user: str) -> None:
    """Record, once, that `user` has opened their Home: from now on the changes that concern them refresh it.

    The record is an outbox row already sent (the Home was published directly), so the outbox stays the
    one ledger of what refbot showed whom.
    """
    subject = rq.home_subject(user)
    now = utcnow()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(OutboxMessage)
        .values(
            idempotency_key=f"{subject}:opened",
            kind=rq.HOME,
            recipient=user,
            subject=subject,
            params={},
            status=OutboxStatus.SENT.value,
            attempts=1,
            next_attempt_at=now,
            last_error="",
            created_at=now,
            sent_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )


def superseded(session: Session, row: OutboxMessage) -> bool:
    """A `home` refresh with a newer one for the same person waiting behind it: only the newer is published."""
    if row.status != OutboxStatus.PENDING:
        return False
    newer = session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.subject == row.subject,
            OutboxMessage.kind == rq.HOME,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.id > row.id,
        )
        .limit(1)
    )
    return newer is not None
