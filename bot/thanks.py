"""Closing the loop with the customers who helped: the account owner is asked, once, to thank them.

When a requester reports *Helped*, or the deal the reference supported is won, the account owner gets one
DM ("Acme's Hannah Weber helped win Globex (120,000): thank Hannah?") with *Thanked* (and an optional note
of how) and *Not now*. refbot never contacts the customer: the owner owns the relationship. The ask is a
row per request (unique), so a second outcome or a retried click never asks twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit
from bot import requests as rq
from bot.errors import InvalidTransition, NotAllowed, NotFound, ValidationFailed
from bot.outbox import enqueue, enqueue_refresh
from bot.settings import Settings
from bot.views.text import mention
from models import ReferenceRequest, Thanks
from models.enums import Outcome
from models.types import utcnow

THANKS_ASK = "thanks.ask"  # outbox kind: the owner's DM, updated in place once answered
NOTE_LIMIT = 500


class ThanksStatus(StrEnum):
    ASKED = "asked"
    THANKED = "thanked"
    NOT_NOW = "not_now"


def subject(thanks_id: int) -> str:
    return f"thanks:{thanks_id}"


def ask_for_thanks(session: Session, request: ReferenceRequest, now: datetime) -> Thanks | None:
    """Ask the customer's owner to thank them, once per request; nothing when nobody owns the account."""
    customer = request.customer
    if customer is None or not customer.owner_slack_id:
        return None
    existing = session.scalars(select(Thanks).where(Thanks.request_id == request.id)).first()
    if existing is not None:
        return existing
    thanks = Thanks(
        request_id=request.id,
        customer_id=customer.id,
        owner=customer.owner_slack_id,
        contact_name=request.contact.name if request.contact else "",
        status=ThanksStatus.ASKED.value,
        asked_at=now,
    )
    session.add(thanks)
    session.flush()
    key = subject(thanks.id)
    enqueue(session, key=f"{key}:ask", kind=THANKS_ASK, recipient=thanks.owner, subject=key)
    return thanks


def record_outcome(
    session: Session,
    settings: Settings,
    request_id: int,
    outcome: Outcome,
    actor: str,
    details: rq.OutcomeDetails | None = None,
    now: datetime | None = None,
) -> ReferenceRequest:
    """`bot.requests.record_outcome`, then the owner's thank-you ask when it helped or the deal was won."""
    now = now or utcnow()
    request = rq.record_outcome(session, settings, request_id, outcome, actor, details, now)
    if outcome == Outcome.HELPED or request.deal_won:
        ask_for_thanks(session, request, now)
    return request


def thanks_to_answer(session: Session, thanks_id: int, actor: str) -> Thanks:
    """The ask, for its owner only, while it is still open (a *Not now* may still be followed by thanks)."""
    thanks = session.get(Thanks, thanks_id)
    if thanks is None:
        raise NotFound("That thank-you reminder is no longer on record.")
    if thanks.owner != actor:
        raise NotAllowed(f"Only the account owner, {mention(thanks.owner)}, records thanks for this customer.")
    if thanks.status == ThanksStatus.THANKED:
        raise InvalidTransition("You already recorded thanking them.")
    return thanks


def _answered(session: Session, thanks: Thanks, status: ThanksStatus, actor: str, now: datetime) -> None:
    thanks.status = status.value
    thanks.decided_at = now
    session.flush()
    enqueue_refresh(session, subject(thanks.id), (THANKS_ASK,), thanks.version)


def thanked(session: Session, thanks_id: int, note: str, actor: str, now: datetime | None = None) -> Thanks:
    """The owner thanked the customer (and how, if they say): on the customer's profile from now on."""
    now = now or utcnow()
    thanks = thanks_to_answer(session, thanks_id, actor)
    note = note.strip()
    if len(note) > NOTE_LIMIT:
        raise ValidationFailed({"note": f"Keep the note under {NOTE_LIMIT} characters (it has {len(note)})."})
    thanks.note = note
    _answered(session, thanks, ThanksStatus.THANKED, actor, now)
    audit.record(
        session, actor, "thanks.given", "customer", thanks.customer_id,
        request_id=thanks.request_id, contact=thanks.contact_name, note=note,
    )  # fmt: skip
    return thanks


def not_now(session: Session, thanks_id: int, actor: str, now: datetime | None = None) -> Thanks:
    now = now or utcnow()
    thanks = thanks_to_answer(session, thanks_id, actor)
    _answered(session, thanks, ThanksStatus.NOT_NOW, actor, now)
    return thanks
