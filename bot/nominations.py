"""Recruiting references on purpose: anyone nominates a customer, a manager accepts or declines.

An owner who answers a check-in *Happy* with an NPS of 9 or 10 for a customer that is not yet a reference
is offered *Nominate as a reference?* once per customer per quarter (the outbox key says "once"). A
nomination of a blocked customer (unhappy, an open escalation) is taken, and every card about it says
so; accepting it makes the customer referenceable with the contact and the kinds given, in the audit log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import audit
from bot import customers as cu
from bot import requests as rq
from bot.eligibility import Assessment, assess, load_context
from bot.errors import InvalidTransition, NotFound, ValidationFailed
from bot.outbox import enqueue, enqueue_refresh
from bot.settings import Settings
from bot.views.text import escape, mention
from models import CheckIn, Contact, Customer, Nomination
from models.enums import Happiness, RefType
from models.types import utcnow

# Outbox kinds: the managers' card (updated in place once decided), the owner's offer, the nominator's news.
NOMINATION_CARD = "nomination.card"
NOMINATION_OFFER = "nomination.offer"
NOMINATION_DECIDED = "nomination.decided"

PROMOTER_NPS = 9
LIMITS = {"why": 1000, "contact_name": 200, "contact_title": 200, "contact_email": 320, "reason": 500}
_EMAIL = re.compile(r"^[^@\s|]+@[^@\s|]+\.[^@\s|]+$")


class NominationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


def subject(nomination_id: int) -> str:
    return f"nomination:{nomination_id}"


@dataclass(frozen=True)
class Nominee:
    """A customer as the nomination form and the managers' card see it: what stands against them now."""

    customer: Customer
    assessment: Assessment

    @property
    def blocked(self) -> list[str]:
        """Why the customer should not be asked now whatever a manager decides (unhappy, an open escalation)."""
        return list(self.assessment.happiness_blockers)


def nominee(session: Session, settings: Settings, customer_id: int, now: datetime) -> Nominee:
    customer = cu.get_customer(session, customer_id)
    context = load_context(session, settings, [customer.id], now, exclude_request=None)
    return Nominee(customer, assess(customer, RefType.CALL, settings, now, context))


def _pending_for(session: Session, customer_id: int) -> Nomination | None:
    return session.scalars(
        select(Nomination).where(
            Nomination.customer_id == customer_id, Nomination.status == NominationStatus.PENDING.value
        )
    ).first()


def nominee_for_form(session: Session, settings: Settings, customer_id: int, now: datetime) -> Nominee:
    """The customer a *Nominate* form is opened for; refused when it is already a reference or nominated."""
    found = nominee(session, settings, customer_id, now)
    _check_nominable(session, found.customer)
    return found


def _check_nominable(session: Session, customer: Customer) -> None:
    if customer.referenceable:
        raise InvalidTransition(f"{escape(customer.name)} is already a reference: nothing to nominate.")
    pending = _pending_for(session, customer.id)
    if pending is not None:
        raise InvalidTransition(
            f"{escape(customer.name)} was already nominated by {mention(pending.nominated_by)} on "
            f"{pending.created_at.date().isoformat()}; a reference manager will decide."
        )


@dataclass(frozen=True)
class NominationDraft:
    why: str
    contact_name: str
    contact_title: str
    contact_email: str
    kinds: list[RefType]


def _text(raw: Mapping[str, Any], key: str, errors: dict[str, str], *, required: bool = False) -> str:
    value = str(raw.get(key) or "").strip()
    if required and not value:
        errors[key] = "Fill this in."
    elif len(value) > LIMITS[key]:
        errors[key] = f"Keep this under {LIMITS[key]} characters (it has {len(value)})."
    return value


def parse_nomination(raw: Mapping[str, Any]) -> NominationDraft:
    """The nomination form → a draft, or ValidationFailed keyed by its block ids."""
    errors: dict[str, str] = {}
    why = _text(raw, "why", errors, required=True)
    name = " ".join(_text(raw, "contact_name", errors, required=True).split())
    title = " ".join(_text(raw, "contact_title", errors).split())
    email = _text(raw, "contact_email", errors)
    if email and "contact_email" not in errors and not _EMAIL.match(email):
        errors["contact_email"] = "That does not look like an e-mail address (name@company.com)."
    chosen = raw.get("kinds")
    values = chosen if isinstance(chosen, list) else []
    kinds = [RefType(v) for v in values if v in {t.value for t in RefType}]
    if not kinds:
        errors["kinds"] = "Tick at least one kind of reference they would do."
    if errors:
        raise ValidationFailed(errors)
    return NominationDraft(why, name, title, email, kinds)


def nominate(
    session: Session, settings: Settings, actor: str, customer_id: int, raw: Mapping[str, Any], via: str
) -> Nomination:
    """Record a nomination and put it before every manager (DM and App Home); one per submitted form."""
    if via:
        already = session.scalars(select(Nomination).where(Nomination.via == via)).first()
        if already is not None:
            return already
    customer = cu.get_customer(session, customer_id)
    _check_nominable(session, customer)
    draft = parse_nomination(raw)
    nomination = Nomination(
        customer_id=customer.id,
        nominated_by=actor,
        why=draft.why,
        contact_name=draft.contact_name,
        contact_title=draft.contact_title,
        contact_email=draft.contact_email,
        kinds=[k.value for k in draft.kinds],
        status=NominationStatus.PENDING.value,
        via=via or None,
    )
    try:
        with session.begin_nested():
            session.add(nomination)
            session.flush()
    except IntegrityError:  # the same form submitted twice at once: the other one recorded it
        return session.scalars(select(Nomination).where(Nomination.via == via)).one()
    audit.record(
        session, actor, "nomination.received", "customer", customer.id,
        nomination_id=nomination.id, kinds=nomination.kinds, contact=draft.contact_name,
    )  # fmt: skip
    for manager in settings.managers:
        enqueue(
            session,
            key=f"{subject(nomination.id)}:card:{manager}",
            kind=NOMINATION_CARD,
            recipient=manager,
            subject=subject(nomination.id),
        )
    rq.refresh_homes(session, settings.managers)
    return nomination


def load_nomination(session: Session, nomination_id: int) -> Nomination:
    found = session.get(Nomination, nomination_id)
    if found is None:
        raise NotFound("That nomination is no longer on record.")
    return found


def nomination_to_decide(session: Session, settings: Settings, nomination_id: int, actor: str) -> Nomination:
    """A pending nomination a manager may decide; refused for anyone else or once it is decided."""
    cu.require_manager(settings, actor, "accept or decline nominations")
    nomination = load_nomination(session, nomination_id)
    if nomination.status != NominationStatus.PENDING:
        verb = "accepted" if nomination.status == NominationStatus.ACCEPTED else "declined"
        raise InvalidTransition(
            f"The nomination of {escape(nomination.customer.name)} was already {verb} by "
            f"{mention(nomination.decided_by)}."
        )
    return nomination


def _decided(session: Session, settings: Settings, nomination: Nomination, actor: str, now: datetime) -> None:
    nomination.decided_by = actor
    nomination.decided_at = now
    session.flush()
    key = subject(nomination.id)
    enqueue_refresh(session, key, (NOMINATION_CARD,), nomination.version)
    enqueue(session, key=f"{key}:decided", kind=NOMINATION_DECIDED, recipient=nomination.nominated_by, subject=key)
    rq.refresh_homes(session, settings.managers)


def accept(
    session: Session, settings: Settings, nomination_id: int, actor: str, now: datetime | None = None
) -> Nomination:
    """The customer becomes referenceable, with the nominated contact on record, audited on its profile."""
    now = now or utcnow()
    nomination = nomination_to_decide(session, settings, nomination_id, actor)
    customer = nomination.customer
    customer.referenceable = True
    customer.not_referenceable_reason = ""
    known = next((c for c in customer.contacts if c.name.casefold() == nomination.contact_name.casefold()), None)
    if known is None:
        primary = not any(c.is_primary for c in customer.contacts)
        customer.contacts.append(
            Contact(
                name=nomination.contact_name,
                title=nomination.contact_title,
                email=nomination.contact_email,
                is_primary=primary,
            )
        )
    nomination.status = NominationStatus.ACCEPTED.value
    audit.record(
        session, actor, "nomination.accepted", "customer", customer.id,
        nomination_id=nomination.id, nominated_by=nomination.nominated_by, kinds=nomination.kinds,
        contact=nomination.contact_name,
    )  # fmt: skip
    _decided(session, settings, nomination, actor, now)
    return nomination


def decline(
    session: Session, settings: Settings, nomination_id: int, reason: str, actor: str, now: datetime | None = None
) -> Nomination:
    """Declined with a reason the nominator is told."""
    now = now or utcnow()
    nomination = nomination_to_decide(session, settings, nomination_id, actor)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed({"reason": "Say why, so the nominator knows."})
    if len(reason) > LIMITS["reason"]:
        raise ValidationFailed(
            {"reason": f"Keep the reason under {LIMITS['reason']} characters (it has {len(reason)})."}
        )
    nomination.status = NominationStatus.DECLINED.value
    nomination.decline_reason = reason
    audit.record(
        session, actor, "nomination.declined", "customer", nomination.customer_id,
        nomination_id=nomination.id, reason=reason,
    )  # fmt: skip
    _decided(session, settings, nomination, actor, now)
    return nomination


def pending(session: Session, limit: int = 10) -> tuple[list[Nomination], int]:
    """The oldest pending nominations (for a manager's App Home) and how many there are."""
    where = Nomination.status == NominationStatus.PENDING.value
    found = session.scalars(select(Nomination).where(where).order_by(Nomination.created_at, Nomination.id).limit(limit))
    total = session.scalar(select(func.count()).select_from(Nomination).where(where)) or 0
    return list(found), total


# -- the offer after a promoter's check-in ------------------------------------------------------------------


def quarter(moment: datetime, settings: Settings) -> str:
    local = moment.astimezone(settings.tz)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


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
    """`bot.requests.answer_checkin`, then *Nominate as a reference?* to a promoter of a non-reference."""
    now = now or utcnow()
    checkin = rq.answer_checkin(session, settings, checkin_id, answer, actor, nps=nps, note=note, now=now)
    customer = checkin.customer
    promoter = answer == Happiness.HAPPY and nps is not None and nps >= PROMOTER_NPS
    if promoter and not customer.referenceable and _pending_for(session, customer.id) is None:
        enqueue(
            session,
            key=f"nomination-offer:{customer.id}:{quarter(now, settings)}",  # once per customer per quarter
            kind=NOMINATION_OFFER,
            recipient=actor,
            subject=f"checkin:{checkin.id}",
            params={"customer_id": customer.id, "nps": nps},
        )
    return checkin
