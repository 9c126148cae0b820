"""Which customers fit a request best (SPEC rule 6): fit first, then a fresh check-in, then rest since last use.

Fit is scored on the criteria the rep actually gave (industry, products, region, segment, topics); the
reasons travel with each candidate so the manager sees *why* it fits and what stands against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rapidfuzz import fuzz
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.eligibility import Assessment, assess, load_context
from bot.settings import Settings
from models import Customer, ReferenceRequest
from models.enums import RefType

# How much each criterion weighs when the rep gave it; the score is the share of given weight matched.
WEIGHTS = {"industry": 30.0, "products": 25.0, "region": 20.0, "segment": 10.0, "topics": 15.0}
# Two labels are "the same" at this similarity ("Fin-tech" ~ "fintech", "Healthcare" ~ "Health care").
SIMILAR = 85.0
# The candidate pool read per request; issue-level search/indexing is the customer database's job.
POOL_LIMIT = 2000


@dataclass
class Candidate:
    assessment: Assessment
    score: float
    fits: list[str] = field(default_factory=list)
    pinned: bool = False

    @property
    def customer(self) -> Customer:
        return self.assessment.customer


def _norm(value: str) -> str:
    return " ".join(value.lower().replace("-", " ").replace("_", " ").split())


def _same(a: str, b: str) -> bool:
    a, b = _norm(a), _norm(b)
    return bool(a and b) and (a == b or fuzz.ratio(a, b) >= SIMILAR)


def _overlap(wanted: list[str], have: list[str]) -> list[str]:
    return [w for w in wanted if any(_same(w, h) for h in have)]


def fit(request: ReferenceRequest, customer: Customer) -> tuple[float, list[str]]:
    """A 0–100 score over the criteria the rep gave, and the plain-words reasons for it."""
    given = 0.0
    matched = 0.0
    reasons: list[str] = []
    for attr in ("industry", "region", "segment"):
        wanted = getattr(request, attr)
        if not wanted:
            continue
        given += WEIGHTS[attr]
        if _same(wanted, getattr(customer, attr)):
            matched += WEIGHTS[attr]
            reasons.append(f"{attr} {getattr(customer, attr)}")
    for attr in ("products", "topics"):
        wanted_list = getattr(request, attr) or []
        if not wanted_list:
            continue
        given += WEIGHTS[attr]
        hits = _overlap(wanted_list, getattr(customer, attr) or [])
        if hits:
            matched += WEIGHTS[attr] * len(hits) / len(wanted_list)
            reasons.append(f"{attr[:-1] if len(hits) == 1 else attr} {', '.join(hits)}")
    if given == 0:
        return 0.0, []
    return round(100.0 * matched / given, 1), reasons


def _pool(session: Session, request: ReferenceRequest) -> list[Customer]:
    """Customers worth scoring: referenceable ones sharing a criterion (or all, when none was given)."""
    query = select(Customer).options(
        selectinload(Customer.checkins),
        selectinload(Customer.consents),
        selectinload(Customer.contacts),
        selectinload(Customer.incidents),
    )
    filters = [
        func.lower(getattr(Customer, attr)) == _norm(getattr(request, attr))
        for attr in ("industry", "region", "segment")
        if getattr(request, attr)
    ]
    query = query.where(Customer.referenceable.is_(True))
    if filters:
        # Exact matches first; fuzzy variants ("Fin-tech") still come from the rest of the pool.
        query = query.order_by(case((or_(*filters), 0), else_=1), Customer.id)
    else:
        query = query.order_by(Customer.id)
    return list(session.scalars(query.limit(POOL_LIMIT)))


def rank_candidates(
    session: Session, settings: Settings, request: ReferenceRequest, now: datetime, limit: int | None = None
) -> list[Candidate]:
    """The best customers for `request`, eligible ones first; each with its fit reasons and verdict."""
    customers = _pool(session, request)
    pinned_id = request.specific_customer_id
    if pinned_id is not None and all(c.id != pinned_id for c in customers):
        pinned = session.get(Customer, pinned_id)
        if pinned is not None:
            customers.insert(0, pinned)
    context = load_context(session, settings, [c.id for c in customers], now, exclude_request=request.id)
    ref_type = RefType(request.ref_type)
    candidates = []
    for customer in customers:
        score, reasons = fit(request, customer)
        verdict = assess(customer, ref_type, settings, now, context)
        candidates.append(Candidate(verdict, score, reasons, pinned=customer.id == pinned_id))

    def order(c: Candidate) -> tuple[object, ...]:
        a = c.assessment
        checked = a.last_checkin.answered_at if a.last_checkin and a.last_checkin.answered_at else None
        freshness = -(checked.timestamp()) if checked else float("inf")
        rest = a.last_used_at.timestamp() if a.last_used_at else float("-inf")
        over_limit = a.uses_in_window >= settings.fatigue_limit
        return (not c.pinned, not a.eligible, over_limit, -c.score, a.needs_checkin, freshness, rest, c.customer.name)

    candidates.sort(key=order)
    return candidates[: limit or settings.candidates_shown]
