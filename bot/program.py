"""The content, recruiting and thanks facts the weekly digest and `/reference stats` add for a period.

Kept apart from `bot.digest`'s request numbers so each part reads in a few queries of its own: content
used in the period (top assets), content nobody used in 90 days, assets whose consent lapses within
REFBOT_CONSENT_NOTICE_DAYS; nominations received, accepted and declined and the pool against the previous
period, with the references who went inactive; and customers who helped but were not thanked after 14 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.settings import Settings
from models import Asset, AssetUse, Consent, Customer, Nomination, Thanks
from models.enums import Happiness

LISTED = 5
UNUSED_DAYS = 90
THANKS_GRACE_DAYS = 14


class Span(Protocol):
    start: datetime
    end: datetime


@dataclass(frozen=True)
class AssetCount:
    asset_id: int
    title: str
    customer: str
    uses: int


@dataclass(frozen=True)
class LapsingAsset:
    title: str
    customer: str
    consent_type: str
    expires_on: date


@dataclass(frozen=True)
class Program:
    top_assets: list[AssetCount]
    uses_total: int
    unused: list[str]  # titles of assets nobody used in UNUSED_DAYS (the oldest first)
    unused_total: int
    lapsing: list[LapsingAsset]
    lapsing_total: int
    nominations_received: int
    nominations_accepted: int
    nominations_declined: int
    pool: int
    pool_before: int
    went_unhappy: list[str]
    went_stale: list[str]
    not_thanked: list[str]  # "Acme Corp (Globex)": helped, owner asked, no thanks after THANKS_GRACE_DAYS
    not_thanked_total: int


def _content(session: Session, period: Span, now: datetime) -> tuple[list[AssetCount], int, list[str], int]:
    in_period = and_(AssetUse.used_at >= period.start, AssetUse.used_at < period.end)
    top = session.execute(
        select(Asset.id, Asset.title, Customer.name, func.count(AssetUse.id))
        .join(AssetUse, AssetUse.asset_id == Asset.id)
        .join(Customer, Asset.customer_id == Customer.id)
        .where(in_period)
        .group_by(Asset.id, Asset.title, Customer.name)
        .order_by(func.count(AssetUse.id).desc(), Asset.id)
        .limit(LISTED)
    ).all()
    uses_total = session.scalar(select(func.count()).select_from(AssetUse).where(in_period)) or 0
    since = now - timedelta(days=UNUSED_DAYS)
    recently_used = select(AssetUse.asset_id).where(AssetUse.used_at >= since)
    idle = and_(Asset.created_at < since, Asset.id.not_in(recently_used))
    unused = session.scalars(select(Asset.title).where(idle).order_by(Asset.created_at, Asset.id).limit(LISTED)).all()
    unused_total = session.scalar(select(func.count()).select_from(Asset).where(idle)) or 0
    return [AssetCount(*row) for row in top], uses_total, list(unused), unused_total


def lapsing_assets(session: Session, today: date, days: int) -> tuple[list[LapsingAsset], int]:
    """Assets whose consent (on the customer, for the asset's public use) expires within `days`."""
    lapsing = and_(Consent.expires_on >= today, Consent.expires_on <= today + timedelta(days=days))
    joined = (
        select(Asset.title, Customer.name, Asset.consent_type, Consent.expires_on)
        .join(Customer, Asset.customer_id == Customer.id)
        .join(Consent, and_(Consent.customer_id == Asset.customer_id, Consent.ref_type == Asset.consent_type))
        .where(lapsing)
    )
    rows = session.execute(joined.order_by(Consent.expires_on, Asset.id).limit(LISTED)).all()
    total = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    return [LapsingAsset(*row) for row in rows], total


def assets_depending_on(session: Session, consent: Consent) -> list[str]:
    """The titles of the assets that stop being usable when `consent` lapses (for its expiry notice)."""
    return list(
        session.scalars(
            select(Asset.title)
            .where(Asset.customer_id == consent.customer_id, Asset.consent_type == consent.ref_type)
            .order_by(Asset.id)
        )
    )


def _recruiting(session: Session, settings: Settings, period: Span) -> tuple[int, int, int, int, int]:
    def count(*where: object) -> int:
        return session.scalar(select(func.count()).select_from(Nomination).where(*where)) or 0

    received = count(Nomination.created_at >= period.start, Nomination.created_at < period.end)
    decided = (Nomination.decided_at >= period.start, Nomination.decided_at < period.end)
    accepted = count(*decided, Nomination.status == "accepted")
    declined = count(*decided, Nomination.status == "declined")
    pool = session.scalar(select(func.count()).select_from(Customer).where(Customer.referenceable.is_(True))) or 0
    return received, accepted, declined, pool, pool - accepted


def _inactive(session: Session, settings: Settings, period: Span) -> tuple[list[str], list[str]]:
    """References whose last check-in in the period was unhappy or concerned, and those that went stale in it."""
    referenceable = Customer.referenceable.is_(True)
    soured = session.scalars(
        select(Customer.name)
        .where(
            referenceable,
            Customer.last_checkin_at >= period.start,
            Customer.last_checkin_at < period.end,
            Customer.last_checkin_answer.in_([Happiness.CONCERNS.value, Happiness.UNHAPPY.value]),
        )
        .order_by(Customer.name)
        .limit(LISTED)
    ).all()
    age = timedelta(days=settings.checkin_max_age_days)
    stale = session.scalars(
        select(Customer.name)
        .where(
            referenceable,
            Customer.last_checkin_at >= period.start - age,
            Customer.last_checkin_at < period.end - age,
        )
        .order_by(Customer.name)
        .limit(LISTED)
    ).all()
    return list(soured), list(stale)


def _not_thanked(session: Session, now: datetime) -> tuple[list[str], int]:
    overdue = and_(
        or_(Thanks.status == "asked", Thanks.status == "not_now"),
        Thanks.asked_at <= now - timedelta(days=THANKS_GRACE_DAYS),
    )
    rows = session.scalars(select(Thanks).where(overdue).order_by(Thanks.asked_at).limit(LISTED)).all()
    total = session.scalar(select(func.count()).select_from(Thanks).where(overdue)) or 0
    return [f"{t.customer.name} ({t.request.prospect})" for t in rows], total


def program(session: Session, settings: Settings, period: Span, now: datetime) -> Program:
    top, uses_total, unused, unused_total = _content(session, period, now)
    today = now.astimezone(settings.tz).date()
    lapsing, lapsing_total = lapsing_assets(session, today, settings.consent_notice_days)
    received, accepted, declined, pool, pool_before = _recruiting(session, settings, period)
    unhappy, stale = _inactive(session, settings, period)
    not_thanked, not_thanked_total = _not_thanked(session, now)
    return Program(
        top_assets=top,
        uses_total=uses_total,
        unused=unused,
        unused_total=unused_total,
        lapsing=lapsing,
        lapsing_total=lapsing_total,
        nominations_received=received,
        nominations_accepted=accepted,
        nominations_declined=declined,
        pool=pool,
        pool_before=pool_before,
        went_unhappy=unhappy,
        went_stale=stale,
        not_thanked=not_thanked,
        not_thanked_total=not_thanked_total,
    )
