"""Influenced revenue and win rate as the CRM tells them: the deals a reference was granted for, closed.

Beside what reps report (`bot.digest.Counts`), the digest and `/reference stats` show, from the CRM: how
many opportunities linked to a granted reference closed in the period, how many were won (the win rate),
and the CRM's amount of those won. A reference that did not happen does not count. A deal counts in the
period of its close date in the CRM (or, without one, when the sync first saw it closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from bot.crm.mapping import crm_label
from models import Opportunity, ReferenceRequest
from models.enums import Outcome, RequestStatus


@dataclass(frozen=True)
class CrmInfluence:
    crm: str  # as people name it
    closed: int = 0
    won: int = 0
    revenue_won: Decimal = Decimal("0.00")

    @property
    def win_rate(self) -> float | None:
        return self.won / self.closed if self.closed else None


def _referenced() -> Any:
    """Opportunities some granted reference was for (approved or completed, and it happened)."""
    return select(ReferenceRequest.opportunity_id).where(
        ReferenceRequest.opportunity_id.is_not(None),
        ReferenceRequest.status.in_([RequestStatus.APPROVED.value, RequestStatus.COMPLETED.value]),
        or_(ReferenceRequest.outcome.is_(None), ReferenceRequest.outcome != Outcome.DID_NOT_HAPPEN.value),
    )


def crm_influence(
    session: Session, crm: str | None, start: datetime, end: datetime, tz: ZoneInfo
) -> CrmInfluence | None:
    """The CRM's figures for [start, end); None when no CRM is connected and no request was ever linked."""
    if crm is None:
        crm = session.scalar(select(Opportunity.crm).where(Opportunity.id.in_(_referenced())).limit(1))
        if crm is None:
            return None
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    in_period = or_(
        and_(Opportunity.close_date.is_not(None), Opportunity.close_date >= first, Opportunity.close_date < last),
        and_(Opportunity.close_date.is_(None), Opportunity.closed_at >= start, Opportunity.closed_at < end),
    )
    row = session.execute(
        select(
            func.count(),
            func.sum(_won_count()),
            func.sum(_won_amount()),
        ).where(
            Opportunity.crm == crm,
            Opportunity.is_closed.is_(True),
            Opportunity.deleted.is_(False),
            Opportunity.id.in_(_referenced()),
            in_period,
        )
    ).one()
    closed, won, revenue = row
    return CrmInfluence(
        crm_label(crm), int(closed or 0), int(won or 0), Decimal(revenue or 0).quantize(Decimal("0.01"))
    )


def _won_count() -> Any:
    return case((Opportunity.is_won.is_(True), 1), else_=0)


def _won_amount() -> Any:
    return case((Opportunity.is_won.is_(True), func.coalesce(Opportunity.amount, 0)), else_=0)
