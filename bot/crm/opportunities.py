"""Opportunities in refbot: the request form's type-ahead over a rep's own open deals, what picking one fills
in, and linking a request to a deal (by the rep in the form, or by a manager later).

A rep sees only the open opportunities they own in the CRM (their CRM user maps to their Slack user by
e-mail, `bot.crm.sync`); a manager linking a request later may pick any open one. The link is what lets the
next sync record won/lost and the CRM's amount, and what the write-back (`bot.crm.writeback`) writes to.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot import audit
from bot.crm import writeback
from bot.crm.mapping import crm_label
from bot.errors import InvalidTransition, NotAllowed, NotFound, ValidationFailed
from bot.settings import Settings
from bot.views.text import escape
from models import CrmAccount, CrmUser, Opportunity, ReferenceRequest
from models.enums import RequestStatus

MAX_OPTIONS = 20


@dataclass(frozen=True)
class Pick:
    """One opportunity as the form shows it, and what picking it fills in."""

    id: int
    label: str
    prospect: str
    amount: Decimal | None
    industry: str
    region: str


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _owned_by(slack_user: str) -> object:
    return Opportunity.owner_crm_id.in_(
        select(CrmUser.crm_id).where(CrmUser.slack_id == slack_user, CrmUser.crm == Opportunity.crm)
    )


def _label(name: str, account: str | None, amount: Decimal | None) -> str:
    parts = [name]
    if account and account.casefold() not in name.casefold():
        parts.append(account)
    if amount is not None:
        parts.append(f"{amount:,.0f}")
    return " · ".join(parts)


def suggest(session: Session, slack_user: str, query: str, *, anyone: bool = False) -> list[Pick]:
    """Open opportunities matching `query` (deal or account name): the user's own, or anyone's (a manager)."""
    text = " ".join(query.split())[:100].casefold()
    stmt = (
        select(Opportunity, CrmAccount)
        .outerjoin(CrmAccount, (CrmAccount.crm == Opportunity.crm) & (CrmAccount.crm_id == Opportunity.account_crm_id))
        .where(Opportunity.is_closed.is_(False), Opportunity.deleted.is_(False))
    )
    if not anyone:
        stmt = stmt.where(_owned_by(slack_user))
    if text:
        stmt = stmt.where(
            or_(
                func.lower(Opportunity.name).like(_like(text), escape="\\"),
                func.lower(CrmAccount.name).like(_like(text), escape="\\"),
            )
        )
    rows = session.execute(stmt.order_by(Opportunity.close_date, Opportunity.name).limit(MAX_OPTIONS)).all()
    return [_pick(opportunity, account) for opportunity, account in rows]


def _pick(opportunity: Opportunity, account: CrmAccount | None) -> Pick:
    return Pick(
        id=opportunity.id,
        label=_label(opportunity.name, account.name if account else None, opportunity.amount),
        prospect=account.name if account else opportunity.name,
        amount=opportunity.amount,
        industry=account.industry if account else "",
        region=account.region if account else "",
    )


def pick(session: Session, slack_user: str, opportunity_id: int, *, anyone: bool = False) -> Pick:
    """The opportunity a user picked, re-read and re-checked (a picked option's value is never trusted)."""
    row = session.execute(
        select(Opportunity, CrmAccount)
        .outerjoin(CrmAccount, (CrmAccount.crm == Opportunity.crm) & (CrmAccount.crm_id == Opportunity.account_crm_id))
        .where(Opportunity.id == opportunity_id)
    ).first()
    if row is None or row[0].deleted:
        raise NotFound("That opportunity is no longer in the CRM; pick another.")
    opportunity, account = row
    if opportunity.is_closed:
        raise InvalidTransition(f"*{escape(opportunity.name)}* is already closed in {crm_label(opportunity.crm)}.")
    if not anyone:
        owned = session.scalar(select(Opportunity.id).where(Opportunity.id == opportunity_id, _owned_by(slack_user)))
        if owned is None:
            raise NotAllowed(
                f"*{escape(opportunity.name)}* is not one of your opportunities in {crm_label(opportunity.crm)}."
            )
    return _pick(opportunity, account)


def checked_for_form(session: Session, requester: str, opportunity_id: int) -> int:
    """The opportunity a submitted form links, if it is still the rep's and open; else the form's error."""
    try:
        return pick(session, requester, opportunity_id).id
    except (NotFound, NotAllowed, InvalidTransition) as exc:
        raise ValidationFailed({"opportunity": str(exc).replace("*", "")}) from None


def link(session: Session, settings: Settings, request_id: int, opportunity_id: int, actor: str) -> ReferenceRequest:
    """Link a request to an opportunity: its requester (their own deal) or a manager (any open deal).

    A request already approved gets its write-back now, as if it had been linked from the start.
    """
    request = session.get(ReferenceRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound(f"There is no request #{request_id}.")
    manager = settings.is_manager(actor)
    if not manager and actor != request.requester_id:
        raise NotAllowed(f"Only the requester or a reference manager can link request #{request_id} to an opportunity.")
    if request.opportunity_id == opportunity_id:
        return request
    if request.opportunity_id is not None and not manager:
        raise NotAllowed(f"Request #{request_id} is already linked; ask a reference manager to change it.")
    chosen = pick(session, actor, opportunity_id, anyone=manager)
    opportunity = session.get(Opportunity, chosen.id)
    assert opportunity is not None
    request.opportunity_id = opportunity.id
    audit.record(
        session,
        actor,
        "request.linked_to_opportunity",
        "request",
        request.id,
        sentence=f"request #{request.id} linked to {crm_label(opportunity.crm)} opportunity "
        f"{opportunity.crm_id} ({opportunity.name})",
    )
    session.flush()
    if RequestStatus(request.status) in (RequestStatus.APPROVED, RequestStatus.COMPLETED):
        writeback.record_decision(session, request, "approved")
    return request
