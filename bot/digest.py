"""The weekly digest and `/reference stats`: the program's numbers for a period, from SQL aggregates.

Periods are ISO weeks (Monday 00:00 to the next Monday 00:00) and calendar quarters, in REFBOT_TIMEZONE,
turned into UTC instants once so that every query compares a stored UTC timestamp with a bound. The
digest posted on Monday covers the week that has just ended; its outbox key names that week
(`digest:C123:2026-W47`), so however often the job runs, on however many replicas, and whether it is
forced or `refbot digest --post` is typed as well, the channel gets one digest per week.

What is counted where (one definition, used by the digest, `/reference stats` and the chart):

- *received*: `created_at` in the period; *approved* / *declined*: `decided_at` in the period and the
  request approved (or since completed) / declined; *completed*: the outcome recorded (`outcome_at`).
- *held*: completed with an outcome other than "didn't happen"; deals won and amounts influenced count
  only references that were held.
- *request → decision*: `created_at` → `decided_at` of the period's approvals and declines;
  *request → fulfilment*: `created_at` → `outcome_at` of the period's held references. Median and p90
  are nearest-rank (a duration that really occurred), ranked by the database with a window function.
- Counts and the 12-week series are `COUNT`/`SUM … GROUP BY` over `CASE` expressions that name each
  row's period, so every period is answered at once: one pass over the requests for what was received and
  decided, one range of the `outcome_at` index for outcomes — the same SQL on SQLite and PostgreSQL.
- Health, fatigue, consents and waiting requests describe the program *now* (when the digest is made),
  not as it was during the period: that is what someone can still act on.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from bot.outbox import Rendered, enqueue
from bot.program import Program
from bot.program import program as program_facts
from bot.settings import Settings
from models import CheckIn, Consent, Customer, OutboxMessage, ReferenceRequest, ReferenceUse
from models.enums import CheckInStatus, Happiness, Outcome, RequestStatus

if TYPE_CHECKING:
    from bot.jobs import JobResult

DIGEST = "digest"  # the outbox kind (rendered by bot.notifications)
SERIES_WEEKS = 12
LISTED = 8  # names listed per digest line before "and N more"

APPROVED_STATES = (RequestStatus.APPROVED.value, RequestStatus.COMPLETED.value)
OPEN_STATES = (RequestStatus.SUBMITTED.value, RequestStatus.AWAITING_CHECKIN.value)
HELD = (Outcome.HELPED.value, Outcome.NEUTRAL.value, Outcome.HURT.value)
THANKED = (Outcome.HELPED.value, Outcome.NEUTRAL.value)
AT_RISK = (Happiness.UNHAPPY.value, Happiness.CONCERNS.value)
CENT = Decimal("0.01")


# -- periods -------------------------------------------------------------------------------------------


class UnknownPeriod(ValueError):
    """A period the user typed that refbot cannot read; the message says what it can read."""


PERIOD_HELP = (
    "`this-week`, `last-week`, `quarter` (this quarter), `last-quarter`, a quarter like `2026-Q3` "
    "or a week like `2026-W47`"
)


@dataclass(frozen=True)
class Period:
    """A week or a quarter: local calendar days, and the UTC instants [start, end) they cover."""

    kind: str  # "week" or "quarter"
    label: str  # "2026-W47", "2026-Q3": stable, used in outbox keys
    first_day: date
    last_day: date  # inclusive
    start: datetime
    end: datetime

    @property
    def short(self) -> str:
        """ "W47" or "Q3": how a comparison names the period before."""
        return self.label.split("-", 1)[1]

    @property
    def title(self) -> str:
        """ "week 47 · Nov 16 – 22, 2026" / "Q3 2026 · Jul 1 – Sep 30"."""
        first, last = self.first_day, self.last_day
        if first.year != last.year:
            span = f"{first:%b} {first.day}, {first.year} – {last:%b} {last.day}, {last.year}"
        elif first.month == last.month:
            span = f"{first:%b} {first.day} – {last.day}, {last.year}"
        else:
            span = f"{first:%b} {first.day} – {last:%b} {last.day}, {last.year}"
        if self.kind == "week":
            return f"week {int(self.label[-2:])} · {span}"
        return f"{self.short} {first.year} · {span.rsplit(',', 1)[0]}"


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def week(year: int, number: int, tz: ZoneInfo) -> Period:
    """ISO week `number` of `year`, Monday 00:00 to the next Monday 00:00 local time."""
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError:
        raise UnknownPeriod(f"{year} has no week {number}.") from None
    return Period(
        "week",
        f"{year}-W{number:02d}",
        monday,
        monday + timedelta(days=6),
        _midnight(monday, tz),
        _midnight(monday + timedelta(days=7), tz),
    )


def week_of(day: date, tz: ZoneInfo) -> Period:
    year, number, _ = day.isocalendar()
    return week(year, number, tz)


def quarter(year: int, number: int, tz: ZoneInfo) -> Period:
    if not 1 <= number <= 4 or not 1 <= year <= 9998:
        raise UnknownPeriod(f"There is no quarter Q{number} of {year}.")
    first = date(year, 3 * number - 2, 1)
    following = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return Period(
        "quarter",
        f"{year}-Q{number}",
        first,
        following - timedelta(days=1),
        _midnight(first, tz),
        _midnight(following, tz),
    )


def quarter_of(day: date, tz: ZoneInfo) -> Period:
    return quarter(day.year, (day.month - 1) // 3 + 1, tz)


def previous(period: Period, tz: ZoneInfo) -> Period:
    """The period of the same kind just before `period`."""
    before = period.first_day - timedelta(days=1)
    return week_of(before, tz) if period.kind == "week" else quarter_of(before, tz)


def local_today(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


def digest_week(now: datetime, tz: ZoneInfo) -> Period:
    """The week a digest made at `now` covers: the last full week (on Monday 09:00, the one just ended)."""
    return previous(week_of(local_today(now, tz), tz), tz)


_QUARTER = re.compile(r"^(\d{4})-?q([1-4])$")
_QUARTER_FIRST = re.compile(r"^q([1-4])-?(\d{4})$")
_WEEK = re.compile(r"^(\d{4})-?w(\d{1,2})$")


def parse_period(text: str, now: datetime, tz: ZoneInfo) -> Period:
    """`this-week` (the default), `last-week`, `quarter`, `last-quarter`, `2026-Q3`, `2026-W47`."""
    raw = " ".join(text.split()).lower()
    today = local_today(now, tz)
    word = raw.replace(" ", "-").replace("_", "-")
    if word in ("", "this-week", "week", "thisweek"):
        return week_of(today, tz)
    if word in ("last-week", "lastweek", "previous-week"):
        return previous(week_of(today, tz), tz)
    if word in ("quarter", "this-quarter", "thisquarter", "qtd"):
        return quarter_of(today, tz)
    if word in ("last-quarter", "lastquarter", "previous-quarter"):
        return previous(quarter_of(today, tz), tz)
    if found := _QUARTER.match(word):
        return quarter(int(found[1]), int(found[2]), tz)
    if found := _QUARTER_FIRST.match(word):
        return quarter(int(found[2]), int(found[1]), tz)
    if found := _WEEK.match(word):
        return week(int(found[1]), int(found[2]), tz)
    raise UnknownPeriod(f"I can't read `{text.strip()[:40]}` as a period.")


def parse_week(text: str, tz: ZoneInfo) -> Period:
    """`2026-W47` (for `refbot digest --week`)."""
    found = _WEEK.match(text.strip().lower())
    if not found:
        raise UnknownPeriod(f"--week must look like 2026-W47, not {text!r}.")
    return week(int(found[1]), int(found[2]), tz)


# -- figures ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """What happened to requests in one period."""

    received: int = 0
    approved: int = 0
    declined: int = 0
    cancelled: int = 0
    completed: int = 0
    helped: int = 0
    neutral: int = 0
    hurt: int = 0
    did_not_happen: int = 0
    deals_won: int = 0
    amount_influenced: Decimal = Decimal("0.00")

    @property
    def held(self) -> int:
        return self.helped + self.neutral + self.hurt


@dataclass(frozen=True)
class Timing:
    """Hours from request to an event, over the period's requests that reached it."""

    count: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None


@dataclass(frozen=True)
class Series:
    """The chart's numbers, one per week, oldest first: exposed so a test can recompute them."""

    weeks: tuple[str, ...]
    received: tuple[int, ...]
    approved: tuple[int, ...]
    completed: tuple[int, ...]
    amount_influenced: tuple[Decimal, ...]


@dataclass(frozen=True)
class CustomerCount:
    customer_id: int
    name: str
    owner: str | None
    count: int


@dataclass(frozen=True)
class ExpiringConsent:
    customer_id: int
    name: str
    ref_type: str
    expires_on: date


@dataclass(frozen=True)
class StaleCustomer:
    customer_id: int
    name: str
    last_checkin_at: datetime | None


@dataclass(frozen=True)
class AtRiskCustomer:
    customer_id: int
    name: str
    owner: str | None
    answer: str
    nps: int | None


@dataclass(frozen=True)
class QuietOwner:
    owner: str
    pending: int
    oldest_asked_at: datetime


@dataclass(frozen=True)
class WaitingRequest:
    request_id: int
    prospect: str
    requester: str
    status: str
    created_at: datetime
    customer: str | None


@dataclass(frozen=True)
class Digest:
    """Everything the digest and `/reference stats` show for one period."""

    period: Period
    before: Period
    as_of: datetime
    counts: Counts
    counts_before: Counts
    to_decision: Timing
    to_decision_before: Timing
    to_fulfilment: Timing
    to_fulfilment_before: Timing
    # Outcomes from the start of the quarter to the end of the period (None when the period is a quarter).
    quarter: Period | None
    quarter_counts: Counts | None
    references_window: str  # what `top_references` covers, e.g. "Q4 2026 to date"
    top_references: list[CustomerCount]
    over_limit: list[CustomerCount]
    over_limit_total: int
    expiring: list[ExpiringConsent]
    expiring_total: int
    stale: list[StaleCustomer]
    stale_total: int
    stale_asked: int
    at_risk: list[AtRiskCustomer]
    quiet_owners: list[QuietOwner]
    waiting: list[WaitingRequest]
    waiting_total: int
    thanks_customers: list[CustomerCount]  # the customers with the most, up to LISTED
    thanks_total: int
    thanks_owners: list[tuple[str, int]]
    series: Series | None = None
    program: Program | None = None  # content, recruiting and thanks (bot.program)

    @property
    def to_date(self) -> bool:
        """The period is still running: its numbers are so far."""
        return self.as_of < self.period.end


def _bucket(column: Any, bounds: Sequence[datetime]) -> Any:
    """The index of the period [bounds[i], bounds[i+1]) a timestamp falls in; -1 outside them (or NULL)."""
    inside = [(column < edge, index) for index, edge in enumerate(bounds[1:])]
    return case((column < bounds[0], -1), *inside, else_=-1)


def _in(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column >= start, column < end)


def _amount(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def _hours_between(session: Session, start: Any, end: Any) -> Any:
    """`end - start` in hours, computed by the database (cheaper than fetching two timestamps per row)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return func.extract("epoch", end - start) / 3600.0


_DECISION_FIELD = {
    RequestStatus.APPROVED.value: "approved",
    RequestStatus.COMPLETED.value: "approved",
    RequestStatus.DECLINED.value: "declined",
    RequestStatus.CANCELLED.value: "cancelled",
}


def period_counts(session: Session, bounds: Sequence[datetime], *, outcomes_only: bool = False) -> list[Counts]:
    """Counts for each consecutive period between `bounds`, one grouped query per timestamp: each reads
    only the rows inside the bounds (a range of that column's index where it has one)."""
    R = ReferenceRequest
    size = len(bounds) - 1
    fields: list[dict[str, Any]] = [{} for _ in range(size)]
    first, last = bounds[0], bounds[-1]

    if not outcomes_only:
        made = select(_bucket(R.created_at, bounds).label("b")).where(_in(R.created_at, first, last)).subquery()
        for index, count in session.execute(select(made.c.b, func.count()).group_by(made.c.b)):
            if 0 <= index < size:
                fields[index]["received"] = int(count)
        decided = (
            select(_bucket(R.decided_at, bounds).label("b"), R.status.label("status"))
            .where(_in(R.decided_at, first, last))
            .subquery()
        )
        query = select(decided.c.b, decided.c.status, func.count()).group_by(decided.c.b, decided.c.status)
        for index, status, count in session.execute(query):
            key = _DECISION_FIELD.get(status)
            if key and 0 <= index < size:
                fields[index][key] = fields[index].get(key, 0) + int(count)

    outcomes = (
        select(
            _bucket(R.outcome_at, bounds).label("b"),
            R.outcome.label("outcome"),
            case((R.deal_won.is_(True), 1), else_=0).label("won"),
            R.amount_influenced.label("amount"),
        )
        .where(_in(R.outcome_at, first, last))
        .subquery()
    )
    query = select(
        outcomes.c.b, outcomes.c.outcome, func.count(), func.sum(outcomes.c.won), func.sum(outcomes.c.amount)
    ).group_by(outcomes.c.b, outcomes.c.outcome)
    for index, outcome, count, won, amount in session.execute(query):
        if not 0 <= index < size or outcome is None:
            continue
        slot = fields[index]
        slot["completed"] = slot.get("completed", 0) + int(count)
        slot[outcome] = slot.get(outcome, 0) + int(count)
        if outcome in HELD:
            slot["deals_won"] = slot.get("deals_won", 0) + int(won or 0)
            slot["amount_influenced"] = slot.get("amount_influenced", Decimal("0.00")) + _amount(amount)
    return [Counts(**slot) for slot in fields]


def _ranked(session: Session, at: Any, where: Any, bounds: Sequence[datetime]) -> dict[int, Timing]:
    """Median and p90 (nearest rank) of the hours from request to `at`, per period, ranked by the database:
    only the two ranked rows of each period come back, however many requests it had."""
    R = ReferenceRequest
    spans = (
        select(_bucket(at, bounds).label("b"), _hours_between(session, R.created_at, at).label("h"))
        .where(_in(at, bounds[0], bounds[-1]), where)
        .subquery()
    )
    ranked = select(
        spans.c.b,
        spans.c.h,
        func.row_number().over(partition_by=spans.c.b, order_by=spans.c.h).label("rank"),
        func.count().over(partition_by=spans.c.b).label("n"),
    ).subquery()
    median_rank, p90_rank = (ranked.c.n + 1) // 2, (9 * ranked.c.n + 9) // 10  # ceil(n/2), ceil(9n/10)
    rows = session.execute(
        select(ranked.c.b, ranked.c.n, ranked.c.rank, ranked.c.h, median_rank, p90_rank).where(
            or_(ranked.c.rank == median_rank, ranked.c.rank == p90_rank)
        )
    ).all()
    found: dict[int, dict[str, Any]] = {}
    for index, n, rank, value, median_at, p90_at in rows:
        slot = found.setdefault(int(index), {"count": int(n)})
        if rank == median_at:
            slot["median_hours"] = float(value)
        if rank == p90_at:
            slot["p90_hours"] = float(value)
    return {index: Timing(**slot) for index, slot in found.items()}


def timings(session: Session, periods: Sequence[Period]) -> list[tuple[Timing, Timing]]:
    """(request → decision, request → fulfilment) for each of `periods` (consecutive, oldest first):
    decisions are approvals and declines; fulfilment is a reference held and reported."""
    R = ReferenceRequest
    bounds = [p.start for p in periods] + [periods[-1].end]
    # Every decided request but a cancellation (the requester withdrawing is no decision). Written as
    # "not cancelled" rather than "in (approved, completed, declined)": that matches most of the table,
    # and as a list it tempts a planner to walk the status index instead of the decided_at range.
    decided = R.status != RequestStatus.CANCELLED.value
    to_decision = _ranked(session, R.decided_at, decided, bounds)
    to_fulfilment = _ranked(session, R.outcome_at, R.outcome.in_(HELD), bounds)
    return [(to_decision.get(i, Timing()), to_fulfilment.get(i, Timing())) for i in range(len(periods))]


def _customers_by_id(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    found: dict[int, tuple[str, str | None]] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        query = select(Customer.id, Customer.name, Customer.owner_slack_id).where(Customer.id.in_(chunk))
        for customer_id, name, owner in session.execute(query):
            found[customer_id] = (name, owner)
    return found


def top_references(session: Session, start: datetime, end: datetime, limit: int = 5) -> list[CustomerCount]:
    """The customers used most in [start, end): counted uses (a reference that did not happen is not)."""
    U = ReferenceUse
    used = func.count().label("uses")
    rows = session.execute(
        select(U.customer_id, used)
        .where(U.counted.is_(True), _in(U.used_at, start, end))
        .group_by(U.customer_id)
        .order_by(used.desc(), U.customer_id)
        .limit(limit)
    ).all()
    names = _customers_by_id(session, [r[0] for r in rows])
    return [CustomerCount(cid, *names.get(cid, ("(deleted customer)", None)), int(n)) for cid, n in rows]


def _top_with_total(session: Session, grouped: Any, limit: int) -> tuple[list[tuple[int, int]], int]:
    """The `limit` biggest (id, n) groups of `grouped` (a select of an id and a count `n`), and how many
    groups there are, in one query (a window count over the groups). A NULL id (a deleted customer) is
    neither listed nor counted."""
    groups = grouped.subquery()
    key = groups.c[0]
    rows = session.execute(
        select(key, groups.c.n, func.count(key).over().label("total")).order_by(groups.c.n.desc(), key).limit(limit + 1)
    ).all()
    top = [(int(k), int(n)) for k, n, _ in rows if k is not None][:limit]
    return top, int(rows[0][2]) if rows else 0


def over_fatigue_limit(
    session: Session, settings: Settings, now: datetime, limit: int = LISTED
) -> tuple[list[CustomerCount], int]:
    """Customers at or over REFBOT_FATIGUE_LIMIT uses in the rolling window (SPEC rule 5), as of `now`:
    the most used few, and how many in all."""
    U = ReferenceUse
    since = now - timedelta(days=settings.fatigue_window_days)
    uses = func.count().label("n")
    top, total = _top_with_total(
        session,
        select(U.customer_id, uses)
        .where(U.counted.is_(True), U.used_at >= since)
        .group_by(U.customer_id)
        .having(func.count() >= settings.fatigue_limit),
        limit,
    )
    names = _customers_by_id(session, [cid for cid, _ in top])
    return [CustomerCount(cid, *names.get(cid, ("(deleted customer)", None)), n) for cid, n in top], total


def expiring_consents(
    session: Session, settings: Settings, today: date, limit: int = LISTED
) -> tuple[list[ExpiringConsent], int]:
    """Public-use consents that expire within REFBOT_CONSENT_NOTICE_DAYS (30 by default)."""
    horizon = today + timedelta(days=settings.consent_notice_days)
    where = (Consent.expires_on.is_not(None), Consent.expires_on >= today, Consent.expires_on <= horizon)
    total = int(session.scalar(select(func.count()).select_from(Consent).where(*where)) or 0)
    rows = session.execute(
        select(Consent.customer_id, Customer.name, Consent.ref_type, Consent.expires_on)
        .join(Customer, Customer.id == Consent.customer_id)
        .where(*where)
        .order_by(Consent.expires_on, Customer.name, Consent.ref_type)
        .limit(limit)
    ).all()
    return [ExpiringConsent(*row) for row in rows], total


def stale_checkins(
    session: Session, settings: Settings, now: datetime, limit: int = 5
) -> tuple[list[StaleCustomer], int, int]:
    """Referenceable customers whose last happiness check is missing or older than the maximum age:
    the stalest few, how many in all, and how many of them have an owner's answer pending (one query)."""
    cutoff = now - timedelta(days=settings.checkin_max_age_days)
    pending = select(CheckIn.customer_id).where(CheckIn.status == CheckInStatus.PENDING.value)
    asked = case((Customer.id.in_(pending), 1), else_=0)
    rows = session.execute(
        select(
            Customer.id,
            Customer.name,
            Customer.last_checkin_at,
            func.count().over().label("total"),
            func.sum(asked).over().label("asked"),
        )
        .where(
            Customer.referenceable.is_(True),
            or_(Customer.last_checkin_at.is_(None), Customer.last_checkin_at < cutoff),
        )
        .order_by(Customer.last_checkin_at.asc().nulls_first(), Customer.name, Customer.id)
        .limit(limit)
    ).all()
    if not rows:
        return [], 0, 0
    return [StaleCustomer(cid, name, at) for cid, name, at, _, _ in rows], int(rows[0][3]), int(rows[0][4] or 0)


def at_risk(session: Session, period: Period) -> list[AtRiskCustomer]:
    """Customers an owner called unhappy (or of concern) in the period; each customer's latest answer."""
    rows = session.execute(
        select(CheckIn.customer_id, Customer.name, Customer.owner_slack_id, CheckIn.answer, CheckIn.nps)
        .join(Customer, Customer.id == CheckIn.customer_id)
        .where(
            CheckIn.status == CheckInStatus.ANSWERED.value,
            _in(CheckIn.answered_at, period.start, period.end),
            CheckIn.answer.in_(AT_RISK),
        )
        .order_by(CheckIn.answered_at.desc(), CheckIn.id.desc())
    ).all()
    latest: dict[int, AtRiskCustomer] = {}
    for row in rows:
        latest.setdefault(row[0], AtRiskCustomer(*row))
    return sorted(latest.values(), key=lambda c: (c.answer != Happiness.UNHAPPY.value, c.name.lower()))


def quiet_owners(session: Session, settings: Settings, now: datetime) -> list[QuietOwner]:
    """Owners with check-ins pending for 2×REFBOT_CHECKIN_REMIND_DAYS or more (the escalation threshold)."""
    cutoff = now - timedelta(days=2 * settings.checkin_remind_days)
    pending = func.count().label("pending")
    rows = session.execute(
        select(CheckIn.asked_of, pending, func.min(CheckIn.asked_at))
        .where(CheckIn.status == CheckInStatus.PENDING.value, CheckIn.asked_at <= cutoff)
        .group_by(CheckIn.asked_of)
        .order_by(pending.desc(), CheckIn.asked_of)
    ).all()
    return [QuietOwner(owner, int(n), oldest) for owner, n, oldest in rows]


def waiting_requests(
    session: Session, settings: Settings, now: datetime, limit: int = 5
) -> tuple[list[WaitingRequest], int]:
    """Open requests older than the approval SLA, the longest-waiting first, and how many in all."""
    R = ReferenceRequest
    cutoff = now - timedelta(hours=settings.approval_sla_hours)
    is_open = R.status.in_(OPEN_STATES)
    # Counted as all open requests less the ones made since the cutoff: each part is one index range
    # (status, created_at), where "open and older than the cutoff" tempts a planner into a long walk.
    total = int(session.scalar(select(func.count()).select_from(R).where(is_open)) or 0) - int(
        session.scalar(select(func.count()).select_from(R).where(is_open, R.created_at > cutoff)) or 0
    )
    rows = session.execute(
        select(R.id, R.prospect, R.requester_id, R.status, R.created_at, Customer.name)
        .outerjoin(Customer, Customer.id == R.customer_id)
        .where(is_open, R.created_at <= cutoff)
        .order_by(R.created_at, R.id)
        .limit(limit)
    ).all()
    return [WaitingRequest(*row) for row in rows], total


def thanks(
    session: Session, period: Period, limit: int = LISTED
) -> tuple[list[CustomerCount], int, list[tuple[str, int]]]:
    """Who made references happen in the period: each request approved then, or held then with a helped or
    neutral outcome, counts once for its customer and the customer's account owner. Returns the customers
    with the most (up to `limit`), how many customers in all, and every owner with their count.

    Only the time ranges are asked of the database (one index range each); the rest is sorted out here.
    The other terms match most of the table, and a planner offered them (`status IN …`, `customer_id IS NOT
    NULL`) may walk a whole index for them instead of the range."""
    R = ReferenceRequest
    made_it: dict[int, int] = {}  # request → customer: a request both approved and completed counts once
    decided = select(R.id, R.customer_id, R.status).where(_in(R.decided_at, period.start, period.end))
    for request_id, customer_id, status in session.execute(decided):
        if status in APPROVED_STATES and customer_id is not None:
            made_it[request_id] = customer_id
    held = select(R.id, R.customer_id, R.outcome).where(_in(R.outcome_at, period.start, period.end))
    for request_id, customer_id, outcome in session.execute(held):
        if outcome in THANKED and customer_id is not None:
            made_it[request_id] = customer_id
    per_customer = Counter(made_it.values())
    known = _customers_by_id(session, list(per_customer))
    ranked = sorted(((cid, n) for cid, n in per_customer.items() if cid in known), key=lambda kv: (-kv[1], kv[0]))
    per_owner: Counter[str] = Counter()
    for cid, n in ranked:
        owner = known[cid][1]
        if owner:
            per_owner[owner] += n
    customers = [CustomerCount(cid, *known[cid], n) for cid, n in ranked[:limit]]
    return customers, len(ranked), sorted(per_owner.items(), key=lambda item: (-item[1], item[0]))


def week_starts(last: Period, weeks: int, tz: ZoneInfo) -> list[Period]:
    """`weeks` consecutive weeks ending with `last`, oldest first."""
    out = [last]
    while len(out) < weeks:
        out.insert(0, previous(out[0], tz))
    return out


def compute(session: Session, settings: Settings, period: Period, now: datetime, *, with_series: bool = True) -> Digest:
    """The digest's figures for `period` (and the one before), as of `now`."""
    tz = settings.tz
    before = previous(period, tz)
    if period.kind == "week" and with_series:
        weeks = week_starts(period, SERIES_WEEKS, tz)
        bounds = [w.start for w in weeks] + [period.end]
        per_week = period_counts(session, bounds)
        counts_before, counts = per_week[-2], per_week[-1]
        series: Series | None = Series(
            weeks=tuple(w.label for w in weeks),
            received=tuple(c.received for c in per_week),
            approved=tuple(c.approved for c in per_week),
            completed=tuple(c.completed for c in per_week),
            amount_influenced=tuple(c.amount_influenced for c in per_week),
        )
    else:
        counts_before, counts = period_counts(session, [before.start, period.start, period.end])
        series = None
    (decision_before, fulfilment_before), (decision, fulfilment) = timings(session, [before, period])

    quarter_period: Period | None = None
    quarter_counts: Counts | None = None
    if period.kind == "week":
        quarter_period = quarter_of(period.last_day, tz)
        (quarter_counts,) = period_counts(session, [quarter_period.start, period.end], outcomes_only=True)
        references_from = quarter_period.start
        window = f"{quarter_period.short} {quarter_period.first_day.year} to date"
    else:
        references_from = period.start
        window = f"{period.short} {period.first_day.year}" + (" to date" if now < period.end else "")

    today = local_today(now, tz)
    over, over_total = over_fatigue_limit(session, settings, now)
    expiring, expiring_total = expiring_consents(session, settings, today)
    stale, stale_total, stale_asked = stale_checkins(session, settings, now)
    waiting, waiting_total = waiting_requests(session, settings, now)
    thanked_customers, thanked_total, thanked_owners = thanks(session, period)
    return Digest(
        program=program_facts(session, settings, period, now),
        period=period,
        before=before,
        as_of=now,
        counts=counts,
        counts_before=counts_before,
        to_decision=decision,
        to_decision_before=decision_before,
        to_fulfilment=fulfilment,
        to_fulfilment_before=fulfilment_before,
        quarter=quarter_period,
        quarter_counts=quarter_counts,
        references_window=window,
        top_references=top_references(session, references_from, period.end),
        over_limit=over,
        over_limit_total=over_total,
        expiring=expiring,
        expiring_total=expiring_total,
        stale=stale,
        stale_total=stale_total,
        stale_asked=stale_asked,
        at_risk=at_risk(session, period),
        quiet_owners=quiet_owners(session, settings, now),
        waiting=waiting,
        waiting_total=waiting_total,
        thanks_customers=thanked_customers,
        thanks_total=thanked_total,
        thanks_owners=thanked_owners,
        series=series,
    )


# -- the weekly post -------------------------------------------------------------------------------------

CHART = "chart"


def digest_key(channel: str, period: Period) -> str:
    """The outbox key: one digest per channel and ISO week, whoever asks for it and however often."""
    return f"digest:{channel}:{period.label}"


class DigestChannelMissing(Exception):
    """REFBOT_DIGEST_CHANNEL is not set; the message is one sentence for the operator."""


NO_CHANNEL = (
    "REFBOT_DIGEST_CHANNEL is not set: set it to the ID of the channel that should get the weekly digest "
    "(e.g. C012ABCDEF; in Slack: the channel's name → About → Channel ID) and invite refbot there."
)


def enqueue_digest(session: Session, settings: Settings, period: Period) -> bool:
    """Record the week's digest for the outbox; False when that week's digest was already recorded."""
    if not settings.digest_channel:
        raise DigestChannelMissing(NO_CHANNEL)
    key = digest_key(settings.digest_channel, period)
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None:
        return False
    enqueue(
        session,
        key=key,
        kind=DIGEST,
        recipient=settings.digest_channel,
        subject=f"digest:{period.label}",
        params={"week": period.label},
    )
    return True


def run_digest_job(session: Session, settings: Settings, now: datetime, dry_run: bool, result: JobResult) -> None:
    """The scheduled job: the week just ended, once per channel and week (the key, not the run, decides)."""
    period = digest_week(now, settings.tz)
    if not settings.digest_channel:
        result.skipped = NO_CHANNEL
        return
    key = digest_key(settings.digest_channel, period)
    if dry_run:
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None:
            result.skipped = f"the digest for {period.label} was already sent to {settings.digest_channel}"
        else:
            result.note(f"Digest for {period.label} ({period.title}) to {settings.digest_channel}")
        return
    if enqueue_digest(session, settings, period):
        result.note(f"Digest for {period.label} ({period.title}) to {settings.digest_channel}")
    else:
        result.skipped = f"the digest for {period.label} was already sent to {settings.digest_channel}"


def render_digest(session: Session, settings: Settings, period: Period, now: datetime) -> tuple[Digest, Rendered]:
    """The digest as a message with its chart (uploaded by the outbox, shown in the message)."""
    from bot.chart import render_chart
    from bot.views.digest import digest_message

    digest = compute(session, settings, period, now)
    assert digest.series is not None
    png = render_chart(digest.series, f"Last {SERIES_WEEKS} weeks to {period.label}")
    message = digest_message(digest, settings, chart=CHART)
    files = {
        CHART: (f"refbot-digest-{period.label}.png", png, f"Reference program, {SERIES_WEEKS} weeks to {period.label}")
    }
    return digest, Rendered(text=message["text"], blocks=message["blocks"], files=files)


def stats(session: Session, settings: Settings, period: Period, now: datetime) -> Digest:
    """`/reference stats`: the digest's numbers for any week or quarter, without the chart."""
    return compute(session, settings, period, now, with_series=False)


# -- /reference mine ---------------------------------------------------------------------------------------


def requests_of(session: Session, requester: str, recent: int = 15) -> list[ReferenceRequest]:
    """A rep's requests in the order they need attention: approved (an outcome to report), then pending,
    then the most recent closed ones."""
    R = ReferenceRequest
    active = session.scalars(
        select(R)
        .where(R.requester_id == requester, R.status.in_([RequestStatus.APPROVED.value, *OPEN_STATES]))
        .order_by(R.id.desc())
        .limit(50)
    ).all()
    closed = session.scalars(
        select(R)
        .where(R.requester_id == requester, R.status.not_in([RequestStatus.APPROVED.value, *OPEN_STATES]))
        .order_by(R.id.desc())
        .limit(recent)
    ).all()
    first = [r for r in active if r.status == RequestStatus.APPROVED] + [
        r for r in active if r.status != RequestStatus.APPROVED
    ]
    return first + list(closed)
