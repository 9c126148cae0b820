"""`/reference checkin <customer>`: a check-in now, outside the schedule (SPEC: ad-hoc check-ins).

A manager (or the account owner) asks: the owner gets the usual Happy / Some concerns / Unhappy card
through the outbox. The owner asking answers at once in a form instead; there is nobody else to ask.
Either way the answer goes through `bot.requests.answer_checkin`, the one path every check-in answer takes,
so it counts like any other: it blocks or unblocks use, reaches the managers when it is bad, and is in the
customer's history. A check-in already waiting for this customer is reused, never doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit
from bot.errors import InvalidTransition, NoOwnerToAnswer, NotAllowed, NotFound, OnlyOwnerAnswersNow
from bot.home_record import refresh_homes
from bot.kinds import CHECKIN_CARD
from bot.outbox import enqueue
from bot.requests import CheckinAnswer, answer_checkin
from bot.settings import Settings
from bot.views.text import escape, mention
from models import CheckIn, Customer
from models.enums import CheckInPurpose, CheckInStatus


@dataclass(frozen=True)
class AnswerYourself:
    """The owner asked: they answer in the form (`bot.views.checkins.checkin_now_modal`)."""

    customer: Customer


@dataclass(frozen=True)
class OwnerAsked:
    """The owner was asked (`created`), or had already been asked and has not answered yet."""

    customer: Customer
    checkin: CheckIn
    created: bool


def _customer(session: Session, customer_id: int) -> Customer:
    # Locked, so two managers asking at once make one check-in, not two (SQLite serialises writers anyway).
    customer = session.scalars(select(Customer).where(Customer.id == customer_id).with_for_update()).one_or_none()
    if customer is None:
        raise NotFound("That customer is no longer in the list.")
    return customer


def _require_manager_or_owner(settings: Settings, customer: Customer, actor: str) -> None:
    if actor != customer.owner_slack_id and not settings.is_manager(actor):
        owner = f" or {mention(customer.owner_slack_id)}, who owns it," if customer.owner_slack_id else ""
        raise NotAllowed(f"Only a reference manager{owner} can ask for a check-in on *{escape(customer.name)}*.")


def _waiting(session: Session, customer: Customer) -> CheckIn | None:
    return session.scalars(
        select(CheckIn)
        .where(CheckIn.customer_id == customer.id, CheckIn.status == CheckInStatus.PENDING)
        .order_by(CheckIn.asked_at, CheckIn.id)
        .limit(1)
    ).first()


def checkin_now(
    session: Session, settings: Settings, customer_id: int, actor: str, now: datetime
) -> AnswerYourself | OwnerAsked:
    """Ask the owner now, or, when the owner is the one asking, let them answer in the form."""
    customer = _customer(session, customer_id)
    _require_manager_or_owner(settings, customer, actor)
    if actor == customer.owner_slack_id:
        return AnswerYourself(customer)
    if not customer.owner_slack_id:
        raise InvalidTransition(
            f"*{escape(customer.name)}* has no account owner to ask; give it one with Edit on its profile."
        )
    waiting = _waiting(session, customer)
    if waiting is not None:
        return OwnerAsked(customer, waiting, created=False)
    checkin = CheckIn(
        customer_id=customer.id,
        purpose=CheckInPurpose.ASK_OWNER.value,
        status=CheckInStatus.PENDING.value,
        asked_of=customer.owner_slack_id,
        asked_by=actor,
        asked_at=now,
    )
    session.add(checkin)
    session.flush()
    subject = f"checkin:{checkin.id}"
    enqueue(session, key=f"{subject}:card", kind=CHECKIN_CARD, recipient=checkin.asked_of, subject=subject)
    audit.record(session, actor, "checkin.asked", "customer", customer.id, asked_of=checkin.asked_of)
    refresh_homes(session, [checkin.asked_of, *settings.managers])
    return OwnerAsked(customer, checkin, created=True)


def answer_now(
    session: Session, settings: Settings, customer_id: int, actor: str, said: CheckinAnswer, now: datetime
) -> CheckIn:
    """The owner's own answer: it answers the check-in already waiting for them, or a new one asked of them."""
    customer = _customer(session, customer_id)
    if actor != customer.owner_slack_id:
        raise NotAllowed(
            OnlyOwnerAnswersNow(customer.owner_slack_id, customer.name)
            if customer.owner_slack_id
            else NoOwnerToAnswer(customer.name)
        )
    checkin = _waiting(session, customer)
    if checkin is None:
        checkin = CheckIn(
            customer_id=customer.id,
            purpose=CheckInPurpose.ASK_OWNER.value,
            status=CheckInStatus.PENDING.value,
            asked_of=actor,
            asked_by=actor,
            asked_at=now,
        )
        session.add(checkin)
        session.flush()
    return answer_checkin(session, settings, checkin.id, said.happiness, actor, nps=said.nps, note=said.note, now=now)
