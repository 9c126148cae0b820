"""What `/reference show` and `/reference can-use` tell about one customer, as `assess` judges it.

Nothing here judges eligibility: `bot.eligibility.assess` does, so what show and can-use say is exactly
what a manager's Approve button would do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bot.customers.lookup import get_customer, named_exactly
from bot.customers.query import clean_text, parse_ref_type, unknown_type
from bot.eligibility import Assessment, assess, load_context
from bot.errors import ValidationFailed
from bot.settings import Settings
from models import AuditEntry, CheckIn, Consent, Customer, ReferenceRequest, ReferenceUse
from models.enums import CheckInStatus, RefType

PROFILE_USES = 10
PROFILE_CHANGES = 5


@dataclass
class PastUse:
    use: ReferenceUse
    request: ReferenceRequest | None


@dataclass
class Profile:
    """Everything `/reference show` tells about a customer."""

    customer: Customer
    assessment: Assessment  # as a reference call: health, fatigue, the contact to offer
    uses: list[PastUse]
    uses_total: int
    changes: list[AuditEntry]
    changes_total: int


def load_profile(session: Session, settings: Settings, customer_id: int, now: datetime) -> Profile:
    customer = get_customer(session, customer_id)
    context = load_context(session, settings, [customer.id], now, exclude_request=None)
    verdict = assess(customer, RefType.CALL, settings, now, context)
    uses = session.execute(
        select(ReferenceUse, ReferenceRequest)
        .outerjoin(ReferenceRequest, ReferenceUse.request_id == ReferenceRequest.id)
        .where(ReferenceUse.customer_id == customer.id)
        .order_by(ReferenceUse.used_at.desc(), ReferenceUse.id.desc())
        .limit(PROFILE_USES)
    ).all()
    uses_total = session.scalar(
        select(func.count()).select_from(ReferenceUse).where(ReferenceUse.customer_id == customer.id)
    )
    mine = and_(AuditEntry.entity == "customer", AuditEntry.entity_id == str(customer.id))
    changes = session.scalars(
        select(AuditEntry).where(mine).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(PROFILE_CHANGES)
    ).all()
    changes_total = session.scalar(select(func.count()).select_from(AuditEntry).where(mine))
    return Profile(
        customer=customer,
        assessment=verdict,
        uses=[PastUse(use, request) for use, request in uses],
        uses_total=uses_total or 0,
        changes=list(changes),
        changes_total=changes_total or 0,
    )


def answered_checkins(customer: Customer) -> list[CheckIn]:
    """Answered check-ins, most recent first."""
    answered = [c for c in customer.checkins if c.status == CheckInStatus.ANSWERED and c.answered_at is not None]
    return sorted(answered, key=lambda c: (c.answered_at, c.id), reverse=True)


@dataclass
class CanUse:
    """`/reference can-use`: yes, no, or not yet (a check-in first), with `assess`'s reasons."""

    assessment: Assessment
    ref_type: RefType
    consent: Consent | None

    @property
    def customer(self) -> Customer:
        return self.assessment.customer

    @property
    def answer(self) -> str:
        if self.assessment.blockers:
            return "no"
        return "not_yet" if self.assessment.needs_checkin else "yes"


def parse_can_use(text: str, session: Session | None = None) -> tuple[str, RefType | None]:
    """`acme corp case study` → ("acme corp", CASE_STUDY): the type is the last one to three words.

    With a `session`, the whole text is tried as a customer first: `Acme Corp` (no type) → ("Acme Corp",
    None), so the caller asks which kind of use, rather than reading "Corp" as a type it doesn't know.
    """
    text = clean_text(text)
    if session is not None and text and named_exactly(session, text) is not None:
        return text.strip('"'), None
    words = text.split()
    if len(words) < 2:
        raise ValidationFailed(
            {"query": "Name a customer and a kind of use, e.g. `/reference can-use acme.com case_study`."}
        )
    for size in (3, 2, 1):
        if len(words) > size:
            ref_type = parse_ref_type(" ".join(words[-size:]), fuzzy=False)
            if ref_type is not None:
                return " ".join(words[:-size]).strip('"'), ref_type
    ref_type = parse_ref_type(words[-1])
    if ref_type is None:
        raise ValidationFailed({"query": unknown_type(words[-1])})
    return " ".join(words[:-1]).strip('"'), ref_type


def can_use(session: Session, settings: Settings, customer_id: int, ref_type: RefType, now: datetime) -> CanUse:
    customer = get_customer(session, customer_id)
    context = load_context(session, settings, [customer.id], now, exclude_request=None)
    verdict = assess(customer, ref_type, settings, now, context)
    consent = next((c for c in customer.consents if c.ref_type == ref_type), None)
    return CanUse(verdict, ref_type, consent if ref_type.is_public else None)
