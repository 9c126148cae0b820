"""The reference request state machine (SPEC section 4). Every transition goes through this module.

    submitted ──approve──▶ awaiting_checkin ──owner: happy──▶ approved ──outcome──▶ completed
        │                        │  owner: concerns/unhappy ▶ back to submitted
        │──approve (check fresh, consent ok)────────────────▶ approved
        │──decline (reason)──▶ declined
        └──cancel (requester)─▶ cancelled

Each function runs inside the caller's transaction, checks the actor's rights against the database
(never a button's say-so), refuses an invalid transition without changing anything, and records the
notifications it causes in the outbox, so the decision and its messages commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit, home_record, kinds
from bot.crm import writeback
from bot.crm.opportunities import checked_for_form
from bot.eligibility import ASSESS_LOADS, LOW_NPS, Assessment, assess, load_context
from bot.errors import (
    CannotUse,
    CheckinAnswered,
    Ineligible,
    InvalidTransition,
    NoOwnerToAsk,
    NotAllowed,
    NotFound,
    OnlyOwner,
    OnlyRequester,
    OutcomeRecorded,
    OwnerAlreadyAsked,
    RequestStands,
    ValidationFailed,
)
from bot.outbox import enqueue, enqueue_refresh
from bot.rights import require_manager
from bot.settings import Settings
from models import CheckIn, Customer, ReferenceRequest, ReferenceUse
from models.enums import OPEN_STATUSES, CheckInPurpose, CheckInStatus, Happiness, Outcome, RefType, RequestStatus
from models.types import utcnow

ALERT_NPS = LOW_NPS  # an answer at or below it is routed to the managers at once (and blocks use)

ALLOWED: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.SUBMITTED: frozenset(
        {RequestStatus.AWAITING_CHECKIN, RequestStatus.APPROVED, RequestStatus.DECLINED, RequestStatus.CANCELLED}
    ),
    RequestStatus.AWAITING_CHECKIN: frozenset(
        {RequestStatus.APPROVED, RequestStatus.SUBMITTED, RequestStatus.DECLINED, RequestStatus.CANCELLED}
    ),
    RequestStatus.APPROVED: frozenset({RequestStatus.COMPLETED}),
    RequestStatus.COMPLETED: frozenset(),
    RequestStatus.DECLINED: frozenset(),
    RequestStatus.CANCELLED: frozenset(),
}

# Form limits: what the modal allows, enforced again here because a payload can be forged.
LIMITS = {
    "prospect": 150,
    "industry": 100,
    "region": 100,
    "segment": 100,
    "products": 300,
    "topics": 500,
    "notes": 2000,
}
MAX_AMOUNT = Decimal("999999999999.99")


@dataclass(frozen=True)
class RequestDraft:
    """A validated request form."""

    prospect: str
    ref_type: RefType
    industry: str = ""
    products: tuple[str, ...] = ()
    region: str = ""
    segment: str = ""
    topics: tuple[str, ...] = ()
    specific_customer_id: int | None = None
    needed_by: date | None = None
    opportunity_amount: Decimal | None = None
    notes: str = ""
    opportunity_id: int | None = None  # a CRM opportunity picked in the form (bot.crm.opportunities)
    source_permalink: str = ""  # the Slack message it was started from (bot.message_requests.source_link)


def _split(value: str) -> tuple[str, ...]:
    parts = (p.strip() for p in value.replace(";", ",").replace("\n", ",").split(","))
    return tuple(dict.fromkeys(p for p in parts if p))


def parse_draft(raw: dict[str, str | None], today: date) -> RequestDraft:
    """Validate the intake form's raw strings; every problem is reported against its own field."""
    errors: dict[str, str] = {}
    text = {key: (raw.get(key) or "").strip() for key in LIMITS}
    for key, limit in LIMITS.items():
        if len(text[key]) > limit:
            errors[key] = f"Keep this under {limit} characters (it has {len(text[key])})."
    if not text["prospect"]:
        errors["prospect"] = "Name the prospect company this reference is for."

    ref_type: RefType | None = None
    try:
        ref_type = RefType(raw.get("ref_type") or "")
    except ValueError:
        errors["ref_type"] = "Choose the kind of reference you need."

    needed_by: date | None = None
    if raw.get("needed_by"):
        try:
            needed_by = date.fromisoformat(str(raw["needed_by"]))
        except ValueError:
            errors["needed_by"] = "Pick a date from the calendar."
        else:
            if needed_by < today:
                errors["needed_by"] = f"That date has passed; pick {today.isoformat()} or later."

    amount: Decimal | None = None
    if raw.get("opportunity_amount"):
        try:
            amount = Decimal(str(raw["opportunity_amount"]).replace(",", "").strip())
            if not amount.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            errors["opportunity_amount"] = "Enter the amount as a number, e.g. 120000."
        else:
            if amount < 0:
                errors["opportunity_amount"] = "The amount cannot be negative."
            elif amount > MAX_AMOUNT:
                errors["opportunity_amount"] = "That amount is too large to be real."
            else:
                amount = amount.quantize(Decimal("0.01"))

    specific: int | None = None
    if raw.get("specific_customer"):
        try:
            specific = int(str(raw["specific_customer"]))
        except ValueError:
            errors["specific_customer"] = "Pick a customer from the list."

    opportunity: int | None = None
    if raw.get("opportunity"):
        try:
            opportunity = int(str(raw["opportunity"]))
        except ValueError:
            errors["opportunity"] = "Pick one of your opportunities from the list."

    if errors or ref_type is None:
        raise ValidationFailed(errors)
    return RequestDraft(
        prospect=text["prospect"],
        ref_type=ref_type,
        industry=text["industry"],
        products=_split(text["products"]),
        region=text["region"],
        segment=text["segment"],
        topics=_split(text["topics"]),
        specific_customer_id=specific,
        needed_by=needed_by,
        opportunity_amount=amount,
        notes=text["notes"],
        opportunity_id=opportunity,
    )


# -- helpers ------------------------------------------------------------------------------------------


def _subject(request_id: int) -> str:
    return f"request:{request_id}"


def load_request(session: Session, request_id: int, *, for_update: bool = False) -> ReferenceRequest:
    query = select(ReferenceRequest).where(ReferenceRequest.id == request_id)
    if for_update:
        query = query.with_for_update()
    request = session.scalars(query).one_or_none()
    if request is None:
        raise NotFound(f"Request #{request_id} does not exist (any more).")
    return request


def load_customer(session: Session, customer_id: int) -> Customer:
    customer = session.scalars(select(Customer).where(Customer.id == customer_id).options(*ASSESS_LOADS)).one_or_none()
    if customer is None:
        raise NotFound(f"Customer {customer_id} is no longer in the customer list.")
    return customer


def stands(request: ReferenceRequest) -> RequestStands:
    """Where a request stands, as plain facts (what a refused second click is told; bot.views words it)."""
    return RequestStands(request.id, request.prospect, request.status, request.decided_by, request.decided_at)


def _move(request: ReferenceRequest, to: RequestStatus, settings: Settings) -> None:
    if to not in ALLOWED[request.status]:
        raise InvalidTransition(stands(request))
    request.status = to


def _assess(
    session: Session, settings: Settings, customer: Customer, request: ReferenceRequest, now: datetime
) -> Assessment:
    context = load_context(session, settings, [customer.id], now, exclude_request=request.id)
    return assess(customer, RefType(request.ref_type), settings, now, context)


def _refresh_request_cards(session: Session, settings: Settings, request: ReferenceRequest) -> None:
    session.flush()
    enqueue_refresh(session, _subject(request.id), kinds.REQUEST_CARDS, uuid.uuid4().hex)
    _refresh_homes(session, settings, request)


def refresh_ranking_cards(session: Session) -> None:
    """Re-render every card that still ranks candidates (requests waiting for a decision): something that
    changes a customer's verdict for everyone (an incident) must show on the cards already sent."""
    session.flush()
    waiting = session.scalars(
        select(ReferenceRequest.id).where(ReferenceRequest.status == RequestStatus.SUBMITTED.value)
    ).all()
    stamp = uuid.uuid4().hex
    for request_id in waiting:
        enqueue_refresh(session, _subject(request_id), (kinds.MANAGER_CARD,), stamp)


def _refresh_homes(session: Session, settings: Settings, request: ReferenceRequest | None, *others: str | None) -> None:
    """The Homes a change shows on: every manager's (queue, numbers), the requester's, the owners asked."""
    people: list[str | None] = [*settings.managers, *others]
    if request is not None:
        people.append(request.requester_id)
        if request.customer_id is not None:
            customer = session.get(Customer, request.customer_id)
            people.append(customer.owner_slack_id if customer else None)
        people += session.scalars(select(CheckIn.asked_of).where(CheckIn.request_id == request.id)).all()
    home_record.refresh_homes(session, people)


def _close_pending_checkins(session: Session, request: ReferenceRequest) -> None:
    """A request that ends no longer needs its owner's answer: close the question, update the card."""
    pending = session.scalars(
        select(CheckIn).where(CheckIn.request_id == request.id, CheckIn.status == CheckInStatus.PENDING)
    ).all()
    for checkin in pending:
        checkin.status = CheckInStatus.CANCELLED
        session.flush()
        enqueue_refresh(session, f"checkin:{checkin.id}", (kinds.CHECKIN_CARD,), uuid.uuid4().hex)


# -- transitions --------------------------------------------------------------------------------------


def submit(session: Session, settings: Settings, requester: str, draft: RequestDraft) -> ReferenceRequest:
    """File a new request; the rep gets a receipt and every manager a card with ranked candidates."""
    if draft.specific_customer_id is not None and session.get(Customer, draft.specific_customer_id) is None:
        raise ValidationFailed({"specific_customer": "That customer is no longer in the list; pick another."})
    opportunity_id = None
    if draft.opportunity_id is not None:
        opportunity_id = checked_for_form(session, requester, draft.opportunity_id)
    request = ReferenceRequest(
        requester_id=requester,
        prospect=draft.prospect,
        ref_type=draft.ref_type.value,
        industry=draft.industry,
        products=list(draft.products),
        region=draft.region,
        segment=draft.segment,
        topics=list(draft.topics),
        specific_customer_id=draft.specific_customer_id,
        needed_by=draft.needed_by,
        opportunity_amount=draft.opportunity_amount,
        notes=draft.notes,
        source_permalink=draft.source_permalink,
        status=RequestStatus.SUBMITTED.value,
        opportunity_id=opportunity_id,
    )
    session.add(request)
    session.flush()
    subject = _subject(request.id)
    audit.record(session, requester, "request.submitted", "request", request.id, prospect=draft.prospect)
    enqueue(session, key=f"{subject}:receipt", kind=kinds.RECEIPT, recipient=requester, subject=subject)
    for manager in settings.managers:
        enqueue(session, key=f"{subject}:card:{manager}", kind=kinds.MANAGER_CARD, recipient=manager, subject=subject)
    # A new request has no customer nor owner asked yet.
    home_record.refresh_homes(session, [*settings.managers, requester])
    return request


def approve(
    session: Session, settings: Settings, request_id: int, customer_id: int, actor: str, now: datetime | None = None
) -> ReferenceRequest:
    """Approve with a chosen customer: refused if a rule forbids it, held for a check-in if it is stale."""
    now = now or utcnow()
    require_manager(settings, actor, "approve requests")
    request = load_request(session, request_id, for_update=True)
    if request.status != RequestStatus.SUBMITTED:
        raise InvalidTransition(stands(request))
    customer = load_customer(session, customer_id)
    verdict = _assess(session, settings, customer, request, now)
    if verdict.blockers:
        raise Ineligible(CannotUse(customer.name, request.id, request.prospect, tuple(verdict.blockers)))
    if verdict.needs_checkin:
        _move(request, RequestStatus.AWAITING_CHECKIN, settings)
        request.customer_id = customer.id
        checkin = _ask(session, customer, request, CheckInPurpose.APPROVAL, actor, now)
        audit.record(
            session,
            actor,
            "request.awaiting_checkin",
            "request",
            request.id,
            customer_id=customer.id,
            checkin_id=checkin.id,
        )
        _refresh_request_cards(session, settings, request)
        return request
    _grant(session, settings, request, verdict, actor, now)
    return request


def _grant(
    session: Session, settings: Settings, request: ReferenceRequest, verdict: Assessment, actor: str, now: datetime
) -> None:
    _move(request, RequestStatus.APPROVED, settings)
    customer, contact = verdict.customer, verdict.contact
    request.customer_id = customer.id
    request.contact_id = contact.id if contact else None
    request.decided_by = actor
    request.decided_at = now
    session.add(
        ReferenceUse(
            customer_id=customer.id,
            contact_id=request.contact_id,
            request_id=request.id,
            ref_type=request.ref_type,
            used_at=now,
        )
    )
    audit.record(session, actor, "request.approved", "request", request.id, customer_id=customer.id)
    writeback.record_decision(session, request, "approved")
    subject = _subject(request.id)
    enqueue(
        session, key=f"{subject}:approved", kind=kinds.APPROVED_NOTICE, recipient=request.requester_id, subject=subject,
    )
    _refresh_request_cards(session, settings, request)


def request_to_decline(session: Session, settings: Settings, request_id: int, actor: str) -> ReferenceRequest:
    """The request a manager's Decline button opens the reason form for: refused before the form, not after."""
    if not settings.is_manager(actor):
        raise NotAllowed("Only reference managers can decline requests.")
    request = load_request(session, request_id)
    if not request.status.is_open:
        raise InvalidTransition(stands(request))
    return request


def decline(session: Session, settings: Settings, request_id: int, reason: str, actor: str) -> ReferenceRequest:
    reason = reason.strip()
    require_manager(settings, actor, "decline requests")
    if not reason:
        raise ValidationFailed({"reason": "Tell the rep why, so they can plan around it."})
    if len(reason) > 1000:
        raise ValidationFailed({"reason": f"Keep the reason under 1000 characters (it has {len(reason)})."})
    request = load_request(session, request_id, for_update=True)
    _move(request, RequestStatus.DECLINED, settings)
    request.decline_reason = reason
    request.decided_by = actor
    request.decided_at = utcnow()
    _close_pending_checkins(session, request)
    audit.record(session, actor, "request.declined", "request", request.id, reason=reason)
    subject = _subject(request.id)
    enqueue(
        session, key=f"{subject}:declined", kind=kinds.DECLINED_NOTICE, recipient=request.requester_id, subject=subject,
    )
    _refresh_request_cards(session, settings, request)
    return request


def cancel(session: Session, settings: Settings, request_id: int, actor: str) -> ReferenceRequest:
    """The requester withdraws a request that is still pending."""
    request = load_request(session, request_id, for_update=True)
    if actor != request.requester_id:
        raise NotAllowed(OnlyRequester(request.requester_id, request.id, "cancel it"))
    if not request.status.is_open:
        raise InvalidTransition(stands(request))
    _move(request, RequestStatus.CANCELLED, settings)
    request.decided_by = actor
    request.decided_at = utcnow()
    _close_pending_checkins(session, request)
    audit.record(session, actor, "request.cancelled", "request", request.id)
    _refresh_request_cards(session, settings, request)
    return request


def ask_owner(
    session: Session, settings: Settings, request_id: int, customer_id: int, actor: str, now: datetime | None = None
) -> CheckIn:
    """A manager asks a candidate's owner whether the customer is happy, before deciding."""
    now = now or utcnow()
    require_manager(settings, actor, "ask account owners")
    request = load_request(session, request_id, for_update=True)
    if request.status != RequestStatus.SUBMITTED:
        raise InvalidTransition(stands(request))
    customer = load_customer(session, customer_id)
    if not customer.owner_slack_id:
        raise Ineligible(NoOwnerToAsk(customer.name))
    waiting = next((c for c in customer.checkins if c.status == CheckInStatus.PENDING), None)
    if waiting is not None:
        raise InvalidTransition(OwnerAlreadyAsked(waiting.asked_of, customer.name, waiting.asked_at))
    checkin = _ask(session, customer, request, CheckInPurpose.ASK_OWNER, actor, now)
    audit.record(session, actor, "checkin.asked", "customer", customer.id, request_id=request.id)
    _refresh_request_cards(session, settings, request)
    return checkin


def _ask(
    session: Session,
    customer: Customer,
    request: ReferenceRequest,
    purpose: CheckInPurpose,
    actor: str,
    now: datetime,
) -> CheckIn:
    assert customer.owner_slack_id  # eligibility refuses a stale customer with no owner
    checkin = CheckIn(
        customer_id=customer.id,
        request_id=request.id,
        purpose=purpose.value,
        status=CheckInStatus.PENDING.value,
        asked_of=customer.owner_slack_id,
        asked_by=actor,
        asked_at=now,
    )
    session.add(checkin)
    session.flush()
    subject = f"checkin:{checkin.id}"
    enqueue(session, key=f"{subject}:card", kind=kinds.CHECKIN_CARD, recipient=checkin.asked_of, subject=subject)
    return checkin


def checkin_to_answer(
    session: Session, settings: Settings, checkin_id: int, actor: str, *, for_update: bool = False
) -> tuple[CheckIn, Customer]:
    """The check-in `actor` may answer now, or the reason they may not (shared by buttons and the form)."""
    query = select(CheckIn).where(CheckIn.id == checkin_id)
    checkin = session.scalars(query.with_for_update() if for_update else query).one_or_none()
    if checkin is None:
        raise NotFound("This check-in no longer exists.")
    customer = load_customer(session, checkin.customer_id)
    if actor not in (checkin.asked_of, customer.owner_slack_id) and not settings.is_manager(actor):
        raise NotAllowed(OnlyOwner(customer.owner_slack_id or checkin.asked_of, customer.name))
    if checkin.status == CheckInStatus.ANSWERED:
        raise InvalidTransition(CheckinAnswered(checkin.answer, checkin.answered_by, checkin.answered_at))
    if checkin.status == CheckInStatus.CANCELLED:
        raise InvalidTransition("This check-in is no longer needed: its request was closed.")
    return checkin, customer


@dataclass(frozen=True)
class CheckinAnswer:
    """What the owner's check-in form says: how the customer is, and optionally an NPS and a note."""

    happiness: Happiness
    nps: int | None = None
    note: str = ""


def parse_checkin_answer(raw: Mapping[str, str | None]) -> CheckinAnswer:
    """The check-in form's strings → an answer; a problem is reported against its own field."""
    try:
        happiness = Happiness(raw.get("answer") or "")
    except ValueError:
        raise ValidationFailed({"answer": "Pick one answer."}) from None
    nps_raw = raw.get("nps")
    nps = int(nps_raw) if nps_raw and nps_raw.lstrip("-").isdigit() else None
    if nps_raw and nps is None:
        raise ValidationFailed({"nps": "NPS is a score from 0 to 10."})
    return CheckinAnswer(happiness, nps, raw.get("note") or "")


def answer_checkin(
    session: Session,
    settings: Settings,
    checkin_id: int,
    answer: Happiness,
    actor: str,
    *,
    nps: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> CheckIn:
    """Record an owner's answer, then let the request it was holding go on (or back to the queue)."""
    now = now or utcnow()
    note = note.strip()
    checkin, customer = checkin_to_answer(session, settings, checkin_id, actor, for_update=True)
    if nps is not None and not 0 <= nps <= 10:
        raise ValidationFailed({"nps": "NPS is a score from 0 to 10."})
    if len(note) > 2000:
        raise ValidationFailed({"note": f"Keep the note under 2000 characters (it has {len(note)})."})

    checkin.status = CheckInStatus.ANSWERED
    checkin.answer = answer.value
    checkin.nps = nps
    checkin.note = note
    checkin.answered_by = actor
    checkin.answered_at = now
    session.flush()
    audit.record(session, actor, "checkin.answered", "customer", customer.id, answer=answer.value, nps=nps)
    subject = f"checkin:{checkin.id}"
    enqueue_refresh(session, subject, (kinds.CHECKIN_CARD, kinds.CHECKIN_REMINDER), checkin.version)
    if checkin.round_subject:
        enqueue_refresh(session, checkin.round_subject, (kinds.CHECKIN_ROUND, kinds.CHECKIN_REMINDER), uuid.uuid4().hex)
    if settings.is_manager(checkin.asked_by):
        enqueue(
            session, key=f"{subject}:result", kind=kinds.CHECKIN_RESULT, recipient=checkin.asked_by, subject=subject,
        )
    if answer == Happiness.UNHAPPY or (nps is not None and nps <= ALERT_NPS):
        # Routed at once: a customer going sour is the manager's business now, not at the next digest.
        for manager in settings.managers:
            if manager != checkin.asked_by:  # the asking manager hears it in the result already
                enqueue(
                    session,
                    key=f"{subject}:alert:{manager}",
                    kind=kinds.CHECKIN_ALERT,
                    recipient=manager,
                    subject=subject,
                )

    request = checkin.request
    if (
        checkin.purpose == CheckInPurpose.APPROVAL
        and request is not None
        and request.status == RequestStatus.AWAITING_CHECKIN
        and request.customer_id == customer.id
    ):
        session.refresh(customer, attribute_names=["checkins"])
        verdict = _assess(session, settings, customer, request, now)
        if answer == Happiness.HAPPY and not verdict.blockers:
            _grant(session, settings, request, verdict, checkin.asked_by, now)
        else:
            _move(request, RequestStatus.SUBMITTED, settings)
            request.customer_id = None
            audit.record(
                session,
                actor,
                "request.returned",
                "request",
                request.id,
                customer_id=customer.id,
                answer=answer.value,
            )
            _refresh_request_cards(session, settings, request)
    elif request is not None and request.status.is_open:
        _refresh_request_cards(session, settings, request)
    _refresh_homes(session, settings, request, checkin.asked_of, customer.owner_slack_id)
    return checkin


@dataclass(frozen=True)
class OutcomeDetails:
    """What the requester reports beyond the one-click answer (all optional)."""

    held_on: date | None = None
    deal_stage: str = ""
    deal_won: bool | None = None
    amount_influenced: Decimal | None = None
    feedback: str = ""


STAGES = ("Discovery", "Evaluation", "Proposal", "Negotiation", "Closed won", "Closed lost")


def parse_outcome(raw: Mapping[str, str | None]) -> tuple[Outcome, OutcomeDetails]:
    """The details form's strings → an outcome and its details; every problem against its own field."""
    errors: dict[str, str] = {}
    try:
        outcome = Outcome(raw.get("outcome") or "")
    except ValueError:
        errors["outcome"] = "Pick how it went."
        outcome = Outcome.NEUTRAL
    held_on = None
    if raw.get("held_on"):
        try:
            held_on = date.fromisoformat(str(raw["held_on"]))
        except ValueError:
            errors["held_on"] = "Pick a date from the calendar."
    amount = None
    if raw.get("amount_influenced"):
        try:
            amount = Decimal(str(raw["amount_influenced"]).replace(",", ""))
            if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
                raise InvalidOperation
            amount = amount.quantize(Decimal("0.01"))
        except InvalidOperation:
            errors["amount_influenced"] = "Enter a positive amount, e.g. 120000."
    won = {"won": True, "lost": False}.get(raw.get("deal_won") or "")
    if errors:
        raise ValidationFailed(errors)
    return outcome, OutcomeDetails(
        held_on=held_on,
        deal_stage=raw.get("deal_stage") or "",
        deal_won=won,
        amount_influenced=amount,
        feedback=raw.get("feedback") or "",
    )


def _require_reporter(request: ReferenceRequest, settings: Settings, actor: str) -> None:
    """Only the requester (or a manager) reports how a reference went: the form names customer and prospect."""
    if actor != request.requester_id and not settings.is_manager(actor):
        raise NotAllowed(OnlyRequester(request.requester_id, request.id, "report how it went"))


def outcome_to_report(
    session: Session, settings: Settings, request_id: int, actor: str, *, only_approved: bool = False
) -> ReferenceRequest:
    """The request whose outcome form `actor` may open now, refused before the form shows it.

    From the follow-up DM the form opens until an outcome is recorded; from the App Home (`only_approved`),
    which lists approved requests, only while the request is still approved.
    """
    request = load_request(session, request_id)
    _require_reporter(request, settings, actor)
    if only_approved:
        if request.status != RequestStatus.APPROVED:
            raise InvalidTransition(stands(request))
    elif request.outcome is not None:
        raise ValidationFailed({"outcome": "Already recorded."})
    return request


def _check_held_on(held_on: date, request: ReferenceRequest, settings: Settings, now: datetime) -> None:
    """The day a reference was held dates its use, which fatigue counts for a window from then: so it can be
    neither in the future (the customer would stay "used" for months too long) nor before the request."""
    if held_on > now.astimezone(settings.tz).date():
        raise ValidationFailed({"held_on": "That date hasn't happened yet."})
    made_on = request.created_at.astimezone(settings.tz).date()
    if held_on < made_on:
        raise ValidationFailed({"held_on": f"That is before the request was made ({made_on.isoformat()})."})


def record_outcome(
    session: Session,
    settings: Settings,
    request_id: int,
    outcome: Outcome,
    actor: str,
    details: OutcomeDetails | None = None,
    now: datetime | None = None,
) -> ReferenceRequest:
    """The requester says how it went: the request completes; a reference that did not happen stops
    counting towards the customer's fatigue; a hurtful one is routed to the managers and the owner."""
    now = now or utcnow()
    details = details or OutcomeDetails()
    request = load_request(session, request_id, for_update=True)
    _require_reporter(request, settings, actor)
    if request.status == RequestStatus.COMPLETED:
        raise InvalidTransition(OutcomeRecorded(request.id, request.outcome, request.outcome_by))
    if len(details.feedback) > 3000:
        raise ValidationFailed(
            {"feedback": f"Keep the feedback under 3000 characters (it has {len(details.feedback)})."}
        )
    if details.amount_influenced is not None and not (0 <= details.amount_influenced <= MAX_AMOUNT):
        raise ValidationFailed({"amount_influenced": "The amount must be a positive number."})
    if details.held_on is not None:
        _check_held_on(details.held_on, request, settings, now)
    _move(request, RequestStatus.COMPLETED, settings)
    request.outcome = outcome.value
    request.outcome_by = actor
    request.outcome_at = now
    request.held_on = details.held_on
    request.deal_stage = details.deal_stage.strip()[:100]
    request.deal_won = details.deal_won
    request.amount_influenced = details.amount_influenced
    request.feedback = details.feedback.strip()
    use = session.scalars(select(ReferenceUse).where(ReferenceUse.request_id == request.id)).one_or_none()
    if use is not None:
        use.counted = outcome != Outcome.DID_NOT_HAPPEN
        if details.held_on is not None:
            use.used_at = datetime.combine(details.held_on, datetime.min.time(), tzinfo=settings.tz).astimezone(UTC)
    audit.record(session, actor, "request.completed", "request", request.id, outcome=outcome.value)
    writeback.record_decision(session, request, "outcome")
    subject = _subject(request.id)
    session.flush()
    enqueue_refresh(session, subject, kinds.OUTCOME_CARDS + kinds.REQUEST_CARDS, uuid.uuid4().hex)
    _refresh_homes(session, settings, request)
    if outcome == Outcome.HURT:
        customer = request.customer
        recipients = list(settings.managers)
        if customer is not None and customer.owner_slack_id and customer.owner_slack_id not in recipients:
            recipients.append(customer.owner_slack_id)
        for recipient in recipients:
            enqueue(
                session,
                key=f"{subject}:negative:{recipient}",
                kind=kinds.NEGATIVE_FEEDBACK,
                recipient=recipient,
                subject=subject,
            )
    return request


# -- /reference mine ---------------------------------------------------------------------------------------


def requests_of(session: Session, requester: str, recent: int = 15) -> list[ReferenceRequest]:
    """A rep's requests in the order they need attention: approved (an outcome to report), then pending,
    then the most recent closed ones."""
    R = ReferenceRequest
    active = session.scalars(
        select(R)
        .where(R.requester_id == requester, R.status.in_([RequestStatus.APPROVED.value, *OPEN_STATUSES]))
        .order_by(R.id.desc())
        .limit(50)
    ).all()
    closed = session.scalars(
        select(R)
        .where(R.requester_id == requester, R.status.not_in([RequestStatus.APPROVED.value, *OPEN_STATUSES]))
        .order_by(R.id.desc())
        .limit(recent)
    ).all()
    first = [r for r in active if r.status == RequestStatus.APPROVED] + [
        r for r in active if r.status != RequestStatus.APPROVED
    ]
    return first + list(closed)
