"""Faceted search over the customer list: score every light row by words and facets, judge the best.

`search` scores words against names, domains, industries, products and topics and facets as filters
(`bot.customers.query` parses them); with a `type:` the best `JUDGED` are judged in full by
`bot.eligibility.assess`, so a customer that may not be used is never offered first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast, func, or_, select
from sqlalchemy.orm import Session

from bot.customers.lookup import load_full
from bot.customers.query import SearchQuery, contains_pattern
from bot.eligibility import Assessment, assess, load_context
from bot.matching import fit
from bot.settings import Settings
from models import Customer, ReferenceRequest
from models.enums import Happiness, RefType

PAGE_SIZE = 10
# Light rows scored per search, and (with a `type:`) how many of the best are judged in full.
SCAN_LIMIT = 5000
JUDGED = 300


@dataclass
class SearchResult:
    """One customer found: the verdict for the type asked about (a call if none), and why it fits."""

    assessment: Assessment
    relevance: float
    fits: list[str] = field(default_factory=list)

    @property
    def customer(self) -> Customer:
        return self.assessment.customer


@dataclass
class SearchPage:
    query: SearchQuery
    results: list[SearchResult]
    offset: int
    total: int  # customers matching
    ranked: int  # of which this many can be paged through (the best `JUDGED` when a type is judged)

    @property
    def has_next(self) -> bool:
        return self.offset + PAGE_SIZE < self.ranked

    @property
    def has_previous(self) -> bool:
        return self.offset > 0


def _fold(value: str) -> str:
    """Lower-cased without spaces, hyphens and underscores: "Fin-Tech" and "fintech" fold the same."""
    return re.sub(r"[\s\-_]+", "", value.lower())


def _folded(column: Any) -> ColumnElement[str]:
    lowered = func.lower(column)
    return func.replace(func.replace(func.replace(lowered, " ", ""), "-", ""), "_", "")


def json_forms(term: str) -> list[str]:
    """A term as it may appear inside a JSON column's text ("Zürich" is stored as "Z\\u00fcrich")."""
    escaped = json.dumps(term)[1:-1]
    return [term] if escaped == term else [term, escaped]


def _facet_condition(attr: str, values: Sequence[str]) -> ColumnElement[bool]:
    column = getattr(Customer, attr)
    options: list[ColumnElement[bool]] = []
    for value in values:
        folded = _fold(value)
        if not folded:
            continue
        if attr in ("products", "topics"):
            text = _folded(cast(column, String))
            options += [text.like(contains_pattern(form), escape="\\") for form in json_forms(folded)]
        else:
            options.append(_folded(column).like(contains_pattern(folded), escape="\\"))
    return or_(*options) if options else Customer.id.is_not(None)


def _word_condition(word: str) -> ColumnElement[bool]:
    pattern = contains_pattern(word)
    columns = [
        Customer.name_key,
        func.lower(Customer.domain),
        func.lower(Customer.industry),
        func.lower(Customer.region),
        func.lower(Customer.segment),
        func.lower(Customer.notes),
    ]
    options = [column.like(pattern, escape="\\") for column in columns]
    for attr in ("products", "topics"):
        text = func.lower(cast(getattr(Customer, attr), String))
        options += [text.like(contains_pattern(form), escape="\\") for form in json_forms(word)]
    return or_(*options)


def text_score(words: Sequence[str], row: Any) -> float:
    """How well the free text matches: a hit in the name counts most, one in the notes least."""
    if not words:
        return 0.0
    name = row.name_key or ""
    if " ".join(words) == name:
        return 120.0
    labels = " ".join((row.industry or "", row.region or "", row.segment or "")).lower()
    lists = " ".join([*(row.products or []), *(row.topics or [])]).lower()
    total = 0.0
    for word in words:
        if name == word:
            total += 100
        elif name.startswith(word) or f" {word}" in name:
            total += 85
        elif word in name:
            total += 70
        elif word in (row.domain or "").lower():
            total += 65
        elif word in labels:
            total += 50
        elif word in lists:
            total += 45
        elif word in (row.notes or "").lower():
            total += 30
        else:
            total += 20  # matched by the database in a form Python doesn't see (escaped text)
    return total / len(words)


def pseudo_requests(query: SearchQuery) -> list[ReferenceRequest]:
    """Transient requests (never added to a session) made of the facets, for `bot.matching.fit`.

    A facet given twice (`industry:fintech industry:banking`) means either, so there is one per combination.
    """
    criteria = query.criteria
    if not criteria:
        return []
    scalar = {attr: criteria.get(attr, ("",))[:3] for attr in ("industry", "region", "segment")}
    return [
        ReferenceRequest(
            ref_type=(query.ref_type or RefType.CALL).value,
            industry=industry,
            region=region,
            segment=segment,
            products=list(query.products),
            topics=list(query.topics),
        )
        for industry in scalar["industry"]
        for region in scalar["region"]
        for segment in scalar["segment"]
    ]


def facet_score(requests: Sequence[ReferenceRequest], row: Any) -> tuple[float, list[str]]:
    """The best fit to the facets; a label that merely contains a facet (the database's test) scores 60."""
    if not requests:
        return 0.0, []
    candidate = Customer(
        industry=row.industry or "",
        region=row.region or "",
        segment=row.segment or "",
        products=list(row.products or []),
        topics=list(row.topics or []),
    )
    best: tuple[float, list[str]] = (0.0, [])
    for request in requests:
        score, reasons = fit(request, candidate)
        if score > best[0]:
            best = (score, reasons)
    return (best[0], best[1]) if best[0] >= 60 else (60.0, best[1])


def _light_blocked(row: Any, settings: Settings, now: datetime) -> bool:
    """A cheap hint for ordering only (the verdict shown is always `assess`'s)."""
    if not row.referenceable:
        return True
    fresh = row.last_checkin_at is not None and (now - row.last_checkin_at).days <= settings.checkin_max_age_days
    return fresh and row.last_checkin_answer in (Happiness.CONCERNS, Happiness.UNHAPPY)


def search(session: Session, settings: Settings, query: SearchQuery, offset: int, now: datetime) -> SearchPage:
    """One page of customers matching `query`, best first.

    Every word must match somewhere (name, domain, industry, region, segment, products, topics, notes) and
    every facet must match its attribute. Ranked by fit to the facets and the words, then a fresh happy
    check-in. With `type:` the best `JUDGED` are judged for that type and the usable ones come first.
    """
    conditions: list[ColumnElement[bool]] = [_word_condition(word) for word in query.words]
    conditions += [_facet_condition(attr, values) for attr, values in query.criteria.items()]
    if query.owner:
        conditions.append(Customer.owner_slack_id == query.owner)
    light = select(
        Customer.id,
        Customer.name_key,
        Customer.domain,
        Customer.industry,
        Customer.region,
        Customer.segment,
        Customer.products,
        Customer.topics,
        Customer.notes,
        Customer.referenceable,
        Customer.last_checkin_at,
        Customer.last_checkin_answer,
    ).where(*conditions)
    # On a list larger than the scan, customers whose *name* matches are scanned first, then the freshest.
    in_name = [Customer.name_key.like(contains_pattern(word), escape="\\") for word in query.words]
    name_first = [case((or_(*in_name), 0), else_=1)] if in_name else []
    rows = session.execute(
        light.order_by(*name_first, Customer.last_checkin_at.desc().nulls_last(), Customer.id).limit(SCAN_LIMIT)
    ).all()
    total = len(rows)
    if total == SCAN_LIMIT:
        total = session.scalar(select(func.count()).select_from(Customer).where(*conditions)) or total

    requests = pseudo_requests(query)
    scored: dict[int, tuple[float, list[str], Any]] = {}
    for row in rows:
        facet, reasons = facet_score(requests, row)
        scored[row.id] = (facet + text_score(query.words, row), reasons, row)

    def light_order(cid: int) -> tuple[Any, ...]:
        relevance, _, row = scored[cid]
        checked = row.last_checkin_at.timestamp() if row.last_checkin_at else float("-inf")
        return (-relevance, _light_blocked(row, settings, now), -checked, row.name_key, cid)

    order = sorted(scored, key=light_order)
    ref_type = query.ref_type or RefType.CALL
    verdicts: dict[int, Assessment] = {}
    if query.ref_type is not None:
        # Judge the best in full for the type asked about, and put the usable ones first.
        order = order[:JUDGED]
        customers = load_full(session, order)
        context = load_context(session, settings, order, now, exclude_request=None)
        verdicts = {cid: assess(customers[cid], ref_type, settings, now, context) for cid in order}

        def judged_order(cid: int) -> tuple[Any, ...]:
            verdict = verdicts[cid]
            return (not verdict.eligible, verdict.needs_checkin, *light_order(cid))

        order.sort(key=judged_order)
    last_page = max(len(order) - 1, 0) // PAGE_SIZE * PAGE_SIZE
    offset = max(0, min(offset, last_page))
    page_ids = order[offset : offset + PAGE_SIZE]
    if not verdicts and page_ids:
        customers = load_full(session, page_ids)
        context = load_context(session, settings, page_ids, now, exclude_request=None)
        verdicts = {cid: assess(customers[cid], ref_type, settings, now, context) for cid in page_ids}
    results = [SearchResult(verdicts[cid], scored[cid][0], scored[cid][1]) for cid in page_ids]
    return SearchPage(query=query, results=results, offset=offset, total=total, ranked=len(order))
