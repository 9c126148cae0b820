"""Which customers fit a request best (SPEC rule 6): fit first, then a fresh check-in, then rest since last use.

Fit is scored on the criteria the rep actually gave (industry, products, region, segment, topics); the
reasons travel with each candidate so the manager sees *why* it fits and what stands against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import Row, case, func, literal, or_, select
from sqlalchemy.orm import Session

from bot.eligibility import ASSESS_LOADS, Assessment, assess, load_context
from bot.settings import Settings
from models import Customer, ReferenceRequest
from models.enums import RefType

# How much each criterion weighs when the rep gave it; the score is the share of given weight matched.
WEIGHTS = {"industry": 30.0, "products": 25.0, "region": 20.0, "segment": 10.0, "topics": 15.0}
# Two labels are "the same" at this similarity ("Fin-tech" ~ "fintech", "Healthcare" ~ "Health care").
SIMILAR = 85.0
# Light rows scored per request, and how many of the best are judged in full.
POOL_LIMIT = 1500
SHORTLIST = 60
# A good fit matches at least half of what the rep asked for, by weight. When one is left off a full card
# only because it is resting (fatigue), the card says so: the pool is thin for now, not empty.
GOOD_FIT = 50.0


@dataclass
class Candidate:
    assessment: Assessment
    score: float
    fits: list[str] = field(default_factory=list)
    pinned: bool = False

    @property
    def customer(self) -> Customer:
        return self.assessment.customer


class Ranking(list[Candidate]):
    """The candidates to show, best first (a plain list to every caller), plus `resting`: the good fits
    (fit ≥ GOOD_FIT) judged but left off only because fatigue rests them, best first."""

    def __init__(self, shown: list[Candidate], resting: list[Candidate]) -> None:
        super().__init__(shown)
        self.resting = resting


def _norm(value: str) -> str:
    return " ".join(value.lower().replace("-", " ").replace("_", " ").split())


@lru_cache(maxsize=65536)
def _same(a: str, b: str) -> bool:
    """Labels repeat across a customer list (a few dozen industries, regions, products), so memoise."""
    a, b = _norm(a), _norm(b)
    return bool(a and b) and (a == b or fuzz.ratio(a, b) >= SIMILAR)


def _overlap(wanted: list[str], have: list[str]) -> list[str]:
    return [w for w in wanted if any(_same(w, h) for h in have)]


def fit(request: ReferenceRequest, customer: Customer) -> tuple[float, list[str]]:
    """A 0–100 score over the criteria the rep gave, and the plain-words reasons for it."""
    return _fit(request, customer.industry, customer.region, customer.segment, customer.products, customer.topics)


def _fit(
    request: ReferenceRequest, industry: str, region: str, segment: str, products: list[str], topics: list[str]
) -> tuple[float, list[str]]:
    given = 0.0
    matched = 0.0
    reasons: list[str] = []
    for attr, have in (("industry", industry), ("region", region), ("segment", segment)):
        wanted = getattr(request, attr)
        if not wanted:
            continue
        given += WEIGHTS[attr]
        if _same(wanted, have):
            matched += WEIGHTS[attr]
            reasons.append(f"{attr} {have}")
    for attr, have_list in (("products", products), ("topics", topics)):
        wanted_list = getattr(request, attr) or []
        if not wanted_list:
            continue
        given += WEIGHTS[attr]
        hits = _overlap(wanted_list, have_list or [])
        if hits:
            matched += WEIGHTS[attr] * len(hits) / len(wanted_list)
            reasons.append(f"{attr[:-1] if len(hits) == 1 else attr} {', '.join(hits)}")
    if given == 0:
        return 0.0, []
    return round(100.0 * matched / given, 1), reasons


def _pool(session: Session, request: ReferenceRequest) -> list[Row[Any]]:
    """Light rows of the customers worth scoring.

    With criteria: the referenceable customers sharing at least one exact label, best partial score first
    (computed in SQL on industry/region/segment), then the freshest check-in; topped up with the freshest
    others when that leaves too few (so fuzzy variants like "Fin-tech" still get their chance).
    Without criteria: the freshest check-ins, from the index.
    """
    columns = select(
        Customer.id,
        Customer.industry,
        Customer.region,
        Customer.segment,
        Customer.products,
        Customer.topics,
        Customer.last_checkin_at,
    ).where(Customer.referenceable.is_(True))
    fresh = [Customer.last_checkin_at.desc().nulls_last(), Customer.id]
    matches = [
        (func.lower(getattr(Customer, attr)) == _norm(getattr(request, attr)), WEIGHTS[attr])
        for attr in ("industry", "region", "segment")
        if getattr(request, attr)
    ]
    if not matches:
        return list(session.execute(columns.order_by(*fresh).limit(POOL_LIMIT)))
    partial = sum((case((condition, weight), else_=0.0) for condition, weight in matches), start=literal(0.0))
    rows = list(
        session.execute(
            columns.where(or_(*(condition for condition, _ in matches)))
            .order_by(partial.desc(), *fresh)
            .limit(POOL_LIMIT)
        )
    )
    if len(rows) < SHORTLIST:
        seen = {row.id for row in rows}
        others = session.execute(columns.order_by(*fresh).limit(POOL_LIMIT))
        rows += [row for row in others if row.id not in seen][: POOL_LIMIT - len(rows)]
    return rows


def rank_candidates(
    session: Session, settings: Settings, request: ReferenceRequest, now: datetime, limit: int | None = None
) -> Ranking:
    """The best customers for `request`, eligible ones first; each with its fit reasons and verdict.

    Two stages keep this fast on a large list: fit is scored on light rows for the whole pool, and only
    the best-fitting shortlist is loaded in full and judged by `assess()`.
    """
    scores: dict[int, tuple[float, list[str], float]] = {}
    for row in _pool(session, request):
        score, reasons = _fit(request, row.industry, row.region, row.segment, row.products, row.topics)
        checked = row.last_checkin_at.timestamp() if row.last_checkin_at else float("-inf")
        scores[row.id] = (score, reasons, checked)
    shortlist = sorted(scores, key=lambda cid: (-scores[cid][0], -scores[cid][2], cid))[:SHORTLIST]
    pinned_id = request.specific_customer_id
    if pinned_id is not None and pinned_id not in shortlist:
        shortlist.insert(0, pinned_id)
    customers = session.scalars(select(Customer).where(Customer.id.in_(shortlist)).options(*ASSESS_LOADS)).all()
    context = load_context(session, settings, [c.id for c in customers], now, exclude_request=request.id)
    ref_type = RefType(request.ref_type)
    candidates = []
    for customer in customers:
        score, reasons = scores[customer.id][:2] if customer.id in scores else fit(request, customer)
        verdict = assess(customer, ref_type, settings, now, context)
        candidates.append(Candidate(verdict, score, reasons, pinned=customer.id == pinned_id))

    has_criteria = bool(request.industry or request.region or request.segment or request.products or request.topics)

    def order(c: Candidate) -> tuple[object, ...]:
        a = c.assessment
        checked = a.last_checkin.answered_at if a.last_checkin and a.last_checkin.answered_at else None
        freshness = -(checked.timestamp()) if checked else float("inf")
        rest = a.last_used_at.timestamp() if a.last_used_at else float("-inf")
        over_limit = a.uses_in_window >= settings.fatigue_limit
        misfit = has_criteria and c.score == 0  # eligible but irrelevant is no better than blocked but apt
        return (
            not c.pinned,
            misfit,
            not a.eligible,
            over_limit,
            -c.score,
            a.needs_checkin,
            freshness,
            rest,
            c.customer.name,
        )

    candidates.sort(key=order)
    shown = limit or settings.candidates_shown
    resting = [c for c in candidates[shown:] if c.score >= GOOD_FIT and c.assessment.resting]
    return Ranking(candidates[:shown], resting)
