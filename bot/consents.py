"""Consents running out: the one question the weekly digest and the managers' App Home both ask.

A public use (a case study, a logo, a press release…) needs the customer's consent on record; one that
expires within REFBOT_CONSENT_NOTICE_DAYS is listed, soonest first, so a manager renews it in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.settings import Settings
from models import Consent, Customer


@dataclass(frozen=True)
class ExpiringConsent:
    customer_id: int
    name: str
    ref_type: str
    expires_on: date
    approved_by: str = ""


def expiring(session: Session, settings: Settings, today: date, limit: int) -> tuple[list[ExpiringConsent], int]:
    """The first `limit` consents that run out between `today` and the notice horizon, soonest first (then by
    customer name and type), and how many there are in all: one query, counting its matches as it goes."""
    horizon = today + timedelta(days=settings.consent_notice_days)
    rows = session.execute(
        select(
            Consent.customer_id,
            Customer.name,
            Consent.ref_type,
            Consent.expires_on,
            Consent.approved_by,
            func.count().over().label("total"),
        )
        .join(Customer, Customer.id == Consent.customer_id)
        .where(Consent.expires_on.is_not(None), Consent.expires_on >= today, Consent.expires_on <= horizon)
        .order_by(Consent.expires_on, Customer.name, Consent.ref_type)
        .limit(limit)
    ).all()
    found = [ExpiringConsent(r.customer_id, r.name, r.ref_type, r.expires_on, r.approved_by) for r in rows]
    return found, (rows[0].total if rows else 0)
