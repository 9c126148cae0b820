"""May this customer be used for this kind of reference, now? SPEC section 3, rules 2–5, in one place.

`assess()` is the only judge: the manager's candidate list shows its verdicts and `approve()` obeys them,
so what a manager sees next to a button is exactly what the button will do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from bot.settings import Settings
from bot.views.text import approver_words
from models import Asset, CheckIn, Contact, Customer, Incident, ReferenceRequest, ReferenceUse
from models.enums import TENURE_TYPES, CheckInStatus, Happiness, RefType, RequestStatus

# What `assess` reads of a customer besides its columns: load customers with `.options(*ASSESS_LOADS)`
# before judging them, so judging a list costs four queries, not four per customer.
ASSESS_LOADS = (
    selectinload(Customer.checkins),
    selectinload(Customer.consents),
    selectinload(Customer.contacts),
    selectinload(Customer.incidents),
)

# An NPS at or below this is a detractor: however the owner worded it, the customer is not happy enough.
LOW_NPS = 6


def is_happy(checkin: CheckIn) -> bool:
    return checkin.answer == Happiness.HAPPY and (checkin.nps is None or checkin.nps > LOW_NPS)


@dataclass
class Assessment:
    """The verdict on one customer for one reference type at one moment, with its reasons."""

    customer: Customer
    blockers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    needs_checkin: bool = False
    last_checkin: CheckIn | None = None
    uses_in_window: int = 0
    last_used_at: datetime | None = None
    # Who the rep should talk to: the primary contact unless they are over the limit themselves.
    contact: Contact | None = None
    # Blockers an owner's fresh answer could lift (a recent "concerns"/"unhappy").
    happiness_blockers: list[str] = field(default_factory=list)
    # Fatigue, which time alone lifts: the customer as a whole is over its limit, or every contact is.
    customer_tired: bool = False
    contacts_tired: bool = False
    fatigue_blockers: list[str] = field(default_factory=list)
    # Blockers about the customer's standing and consent (not referenceable; consent missing or lapsed).
    standing_blockers: list[str] = field(default_factory=list)
    consent_blockers: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        """Usable now, or usable once the owner confirms happiness."""
        return not self.blockers

    @property
    def worth_asking_owner(self) -> bool:
        """Would asking the owner now help: the customer is usable, or only a past answer stands in the way."""
        return bool(self.customer.owner_slack_id) and all(b in self.happiness_blockers for b in self.blockers)

    @property
    def resting(self) -> bool:
        """Blocked by fatigue and nothing else: usable again once enough time has passed."""
        return bool(self.blockers) and all(b in self.fatigue_blockers for b in self.blockers)


@dataclass(frozen=True)
class Context:
    """Facts about many customers at once, loaded in a few queries rather than a few per customer."""

    uses_in_window: dict[int, int]
    last_used: dict[int, datetime]
    on_open_checkin: dict[int, int]  # customer id → request id whose approval waits on its check-in
    contact_uses: dict[int, int] = field(default_factory=dict)  # contact id → uses in the contact window


def load_context(
    session: Session, settings: Settings, customer_ids: list[int], now: datetime, exclude_request: int | None
) -> Context:
    if not customer_ids:
        return Context({}, {}, {}, {})
    since = now - timedelta(days=settings.fatigue_window_days)
    # Uses in the fatigue window and the last use ever, per customer, in one pass over its counted uses.
    per_customer = (
        select(
            ReferenceUse.customer_id,
            func.sum(case((ReferenceUse.used_at >= since, 1), else_=0)),
            func.max(ReferenceUse.used_at),
        )
        .where(ReferenceUse.customer_id.in_(customer_ids), ReferenceUse.counted.is_(True))
        .group_by(ReferenceUse.customer_id)
    )
    uses: dict[int, int] = {}
    last_used: dict[int, datetime] = {}
    for cid, in_window, at in session.execute(per_customer):
        if in_window:
            uses[cid] = int(in_window)
        last_used[cid] = _aware(at)
    waiting = select(ReferenceRequest.customer_id, ReferenceRequest.id).where(
        ReferenceRequest.customer_id.in_(customer_ids),
        ReferenceRequest.status == RequestStatus.AWAITING_CHECKIN,
    )
    if exclude_request is not None:
        waiting = waiting.where(ReferenceRequest.id != exclude_request)
    on_open = {cid: rid for cid, rid in session.execute(waiting) if cid is not None}
    # A person's fatigue has its own window: a use counts for the contact it went through, and for the customer.
    contact_since = now - timedelta(days=settings.contact_fatigue_window_days)
    per_contact = (
        select(ReferenceUse.contact_id, func.count())
        .where(
            ReferenceUse.customer_id.in_(customer_ids),
            ReferenceUse.contact_id.is_not(None),
            ReferenceUse.counted.is_(True),
            ReferenceUse.used_at >= contact_since,
        )
        .group_by(ReferenceUse.contact_id)
    )
    contact_uses = {cid: n for cid, n in session.execute(per_contact) if cid is not None}
    return Context(uses, last_used, on_open, contact_uses)


def _aware(value: datetime) -> datetime:
    # func.max() bypasses the column type on SQLite, so the value may come back naive (it is UTC).
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def assess(
    customer: Customer,
    ref_type: RefType,
    settings: Settings,
    now: datetime,
    context: Context,
) -> Assessment:
    """Judge one customer: every reason against it, and whether its owner must be asked first."""
    result = Assessment(customer=customer)
    today = now.astimezone(settings.tz).date()

    if not customer.referenceable:
        reason = f": {customer.not_referenceable_reason}" if customer.not_referenceable_reason else ""
        result.blockers.append(f"Marked not referenceable{reason}")
        result.standing_blockers.append(f"Marked not referenceable{reason}")

    if ref_type.is_public:
        _check_consent(customer, ref_type, today, result)

    answered = [c for c in customer.checkins if c.status == CheckInStatus.ANSWERED and c.answered_at]
    answered.sort(key=lambda c: c.answered_at or now)
    last = answered[-1] if answered else None
    result.last_checkin = last
    max_age = timedelta(days=settings.checkin_max_age_days)
    if last is None:
        result.needs_checkin = True
        result.warnings.append("Never checked in: the owner will be asked first")
    elif now - (last.answered_at or now) > max_age:
        result.needs_checkin = True
        age = (now - (last.answered_at or now)).days
        result.warnings.append(
            f"Last check-in {age} days ago ({last.answer.label}): the owner will be asked first"
        )
    elif not is_happy(last):
        note = f": “{last.note}”" if last.note else ""
        day = _day(last.answered_at, settings)
        if last.answer == Happiness.HAPPY:  # happy in words, a detractor by the score: say which rule says no
            reason = (
                f"Happy, but NPS {last.nps} at the last check-in ({day}): "
                f"an NPS of {LOW_NPS} or less counts as not happy{note}"
            )
        else:
            nps = f", NPS {last.nps}" if last.nps is not None and last.nps <= LOW_NPS else ""
            reason = f"{last.answer.label}{nps} at the last check-in ({day}){note}"
        result.blockers.append(reason)
        result.happiness_blockers.append(reason)

    if result.needs_checkin and not customer.owner_slack_id:
        result.blockers.append("No account owner on record to confirm the customer is happy")

    if ref_type in TENURE_TYPES:
        _check_tenure(answered, ref_type, settings, now, result)

    # The customer's limit counts every use of the customer as a whole, whichever contact carried it.
    result.uses_in_window = context.uses_in_window.get(customer.id, 0)
    result.last_used_at = context.last_used.get(customer.id)
    result.customer_tired = result.uses_in_window >= settings.fatigue_limit
    if result.customer_tired:
        _fatigue_blocker(
            result,
            f"Used {result.uses_in_window}× in the last {settings.fatigue_window_days} days "
            f"(limit {settings.fatigue_limit})",
        )

    _choose_contact(customer, settings, context, result, offer_instead=not result.customer_tired)

    waiting_on = context.on_open_checkin.get(customer.id)
    if waiting_on is not None:
        result.blockers.append(f"Already on request #{waiting_on}, waiting for its check-in")

    _weigh_incidents(customer, result)
    return result


def _weigh_incidents(customer: Customer, result: Assessment) -> None:
    """An open incident of high severity blocks use as an unhappy answer does (asking the owner cannot lift
    it: only resolving it does); lesser open incidents are a warning the manager weighs."""
    open_incidents = [i for i in customer.incidents if not i.resolved]
    if not open_incidents:
        return
    worst = max(open_incidents, key=lambda i: (_SEVERITY.get(i.severity.lower(), 0), i.occurred_on, i.id))
    if incident_blocks_use(worst):
        result.blockers.append(
            f"Open {worst.severity.lower()}-severity incident since {worst.occurred_on.isoformat()}: "
            f"{' '.join(worst.summary.split())[:200]}"
        )
        return
    result.warnings.append(
        f"{len(open_incidents)} open incident{'s' if len(open_incidents) > 1 else ''} "
        f"(worst: {worst.severity}, {worst.summary})"
    )


def _choose_contact(
    customer: Customer, settings: Settings, context: Context, result: Assessment, *, offer_instead: bool
) -> None:
    """Fatigue per person, with its own limit and window: a tired contact is spared and a rested one offered.

    `offer_instead` is off when the customer as a whole is over its limit: no contact is usable then, and
    saying one "is offered instead" beside that blocker would contradict it.
    """
    if not customer.contacts:
        result.warnings.append("No contact on record")
        return
    limit, window = settings.contact_fatigue_limit, settings.contact_fatigue_window_days
    primary = customer.primary_contact
    ordered = sorted(customer.contacts, key=lambda c: (c is not primary, context.contact_uses.get(c.id, 0), c.id))
    rested = [c for c in ordered if context.contact_uses.get(c.id, 0) < limit]
    if not rested:
        result.contacts_tired = True
        _fatigue_blocker(
            result, f"Every contact was used {limit}× or more in the last {window} days (limit {limit} per contact)"
        )
        return
    result.contact = rested[0]
    if offer_instead and primary is not None and rested[0] is not primary:
        result.warnings.append(
            f"{primary.display_name} was used {context.contact_uses.get(primary.id, 0)}× in the last {window} days "
            f"(limit {limit}); {rested[0].display_name} is offered instead"
        )


def _fatigue_blocker(result: Assessment, reason: str) -> None:
    result.blockers.append(reason)
    result.fatigue_blockers.append(reason)


def rested_on(session: Session, settings: Settings, verdicts: list[Assessment], now: datetime) -> dict[int, date]:
    """Customer id → the day each customer that is only resting (`.resting`) may be used again, in
    REFBOT_TIMEZONE; their uses are read in one query.

    A use stops counting when it is older than its window, so a customer is free once enough of its oldest
    uses in the window have aged out to bring it under the limit, and one of its contacts has done the same.
    """
    resting = [v for v in verdicts if v.resting]
    if not resting:
        return {}
    since = now - timedelta(days=max(settings.fatigue_window_days, settings.contact_fatigue_window_days))
    uses = session.execute(
        select(ReferenceUse.customer_id, ReferenceUse.contact_id, ReferenceUse.used_at).where(
            ReferenceUse.customer_id.in_([v.customer.id for v in resting]),
            ReferenceUse.counted.is_(True),
            ReferenceUse.used_at >= since,
        )
    ).all()
    by_customer: dict[int, list[datetime]] = {}
    by_contact: dict[int, list[datetime]] = {}
    for customer_id, contact_id, used_at in uses:
        by_customer.setdefault(customer_id, []).append(_aware(used_at))
        if contact_id is not None:
            by_contact.setdefault(contact_id, []).append(_aware(used_at))
    days = {}
    for verdict in resting:
        free_at = now
        if verdict.customer_tired:
            window = settings.fatigue_window_days
            times = _within(by_customer.get(verdict.customer.id, []), now, window)
            free_at = max(free_at, _free_at(times, settings.fatigue_limit, window))
        if verdict.contacts_tired:
            limit, window = settings.contact_fatigue_limit, settings.contact_fatigue_window_days
            first = min(
                _free_at(_within(by_contact.get(c.id, []), now, window), limit, window)
                for c in verdict.customer.contacts
            )
            free_at = max(free_at, first)
        days[verdict.customer.id] = free_at.astimezone(settings.tz).date()
    return days


def _within(times: list[datetime], now: datetime, window_days: int) -> list[datetime]:
    since = now - timedelta(days=window_days)
    return sorted(t for t in times if t >= since)


def _free_at(times: list[datetime], limit: int, window_days: int) -> datetime:
    """When uses at `times` (oldest first, all inside the window) leave fewer than `limit` counting."""
    excess = len(times) - limit + 1
    if excess <= 0:
        return datetime.min.replace(tzinfo=UTC)
    return times[excess - 1] + timedelta(days=window_days)


_SEVERITY = {"low": 1, "medium": 2, "high": 3, "critical": 4}
BLOCKING_SEVERITY = _SEVERITY["high"]  # an open incident this severe or worse blocks use until resolved


def incident_blocks_use(incident: Incident) -> bool:
    """Whether this incident, while open, keeps the customer from being used (the one place that says so)."""
    return not incident.resolved and _SEVERITY.get(incident.severity.lower(), 0) >= BLOCKING_SEVERITY


def _check_consent(customer: Customer, ref_type: RefType, today: date, result: Assessment) -> None:
    consent = next((c for c in customer.consents if c.ref_type == ref_type), None)
    label = ref_type.label.lower()
    if consent is None:
        result.blockers.append(f"No {label} consent on record")
        result.consent_blockers.append(f"No {label} consent on record")
        return
    if consent.expires_on is not None and consent.expires_on < today:
        who = f" by {approver_words(consent.approved_by)}" if consent.approved_by else ""
        on = f" on {consent.approved_on.isoformat()}" if consent.approved_on else ""
        expired = f"{ref_type.label} consent expired {consent.expires_on.isoformat()} (approved{who}{on})"
        result.blockers.append(expired)
        result.consent_blockers.append(expired)


def _check_tenure(
    answered: list[CheckIn], ref_type: RefType, settings: Settings, now: datetime, result: Assessment
) -> None:
    """Analyst and media uses need an unbroken run of happy answers at least N days long."""
    streak_start: datetime | None = None
    for checkin in answered:
        if is_happy(checkin):
            streak_start = streak_start or checkin.answered_at
        else:
            streak_start = None
    needed = settings.min_happy_days_public
    if streak_start is None:
        result.blockers.append(f"{ref_type.label} needs {needed} days of happy check-ins; none on record")
        return
    days = (now - streak_start).days
    if days < needed:
        result.blockers.append(f"{ref_type.label} needs {needed} days continuously happy; happy for {days}")


def _day(moment: datetime | None, settings: Settings) -> str:
    return moment.astimezone(settings.tz).date().isoformat() if moment else "an unknown date"


# -- content: may this asset be used now? ------------------------------------------------------------------


@dataclass
class ContentVerdict:
    """May an asset (a case study, a quote, a logo …) be used now, and if not, why and whom to ask.

    Content is judged by the same rules as a reference of its public-use type, less the ones about asking
    the customer again (fatigue, a due check-in, tenure): an asset is already made. What stops it is the
    consent it depends on (on record, unexpired), its own expiry, and the customer's standing (not
    referenceable, a recent unhappy or concerned check-in).
    """

    asset: Asset
    assessment: Assessment
    blockers: list[str] = field(default_factory=list)
    # Whom to ask: a manager renews consents and standing; the account owner answers for happiness.
    ask_owner: bool = False
    ask_managers: bool = False

    @property
    def usable(self) -> bool:
        return not self.blockers


_NO_CONTEXT = Context({}, {}, {}, {})


def assess_asset(asset: Asset, settings: Settings, now: datetime) -> ContentVerdict:
    """The one judge of content: `assess` for the asset's consent type, keeping what binds content."""
    ref_type = RefType(asset.consent_type)
    verdict = assess(asset.customer, ref_type, settings, now, _NO_CONTEXT)
    result = ContentVerdict(asset=asset, assessment=verdict)
    today = now.astimezone(settings.tz).date()
    if asset.expires_on is not None and asset.expires_on < today:
        result.blockers.append(f"The asset expired {asset.expires_on.isoformat()}")
        result.ask_managers = True
    if verdict.standing_blockers or verdict.consent_blockers:
        result.blockers += verdict.standing_blockers + verdict.consent_blockers
        result.ask_managers = True
    if verdict.happiness_blockers:
        result.blockers += verdict.happiness_blockers
        result.ask_owner = bool(asset.customer.owner_slack_id)
        result.ask_managers = result.ask_managers or not result.ask_owner
    return result
