"""Finding the one customer someone meant: by id, by exact domain or name, or by the closest names.

Used by `/reference show` and `can-use` (`lookup`: one, or the few they may have meant) and by the
request form's type-ahead (`suggest`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process, utils
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from bot.customers.query import clean_text, contains_pattern, domain_of
from bot.eligibility import ASSESS_LOADS
from bot.errors import NotFound
from bot.importer import name_key
from bot.views.text import escape
from models import Customer


def load_full(session: Session, ids: Sequence[int]) -> dict[int, Customer]:
    customers = session.scalars(select(Customer).where(Customer.id.in_(list(ids))).options(*ASSESS_LOADS)).all()
    return {c.id: c for c in customers}


def get_customer(session: Session, customer_id: int) -> Customer:
    """A customer by id, with what its profile and forms show; NotFound when it is gone."""
    customer = load_full(session, [customer_id]).get(customer_id)
    if customer is None:
        raise NotFound("That customer is no longer in the customer list.")
    return customer


MIN_SCORE = 70.0  # below this a name is not a match at all
CLEAR_LEAD = 8.0  # the best match wins outright when it leads the next by this much
MAX_CHOICES = 5


@dataclass
class Lookup:
    """The customer someone meant, or the few they may have meant."""

    customer: Customer | None
    choices: list[Customer] = field(default_factory=list)


def lookup(session: Session, text: str) -> Lookup:
    """Exact domain, then exact name, then the closest names; NotFound when nothing is close."""
    text = clean_text(text).strip('"')
    if not text:
        raise NotFound("Which customer? Give a name or a domain, e.g. `acme.com`.")
    domain = domain_of(text)
    if domain:
        found = session.scalars(select(Customer).where(Customer.domain == domain)).first()
        if found is not None:
            return Lookup(found)
    key = name_key(text)
    exact = session.scalars(select(Customer).where(Customer.name_key == key).order_by(Customer.id).limit(6)).all()
    if len(exact) == 1:
        return Lookup(exact[0])
    if exact:
        return Lookup(None, list(exact[:MAX_CHOICES]))
    rows = session.execute(
        select(Customer.id, Customer.name).where(Customer.name_key.like(contains_pattern(key), escape="\\")).limit(2000)
    ).all()
    if not rows:
        words = [w for w in key.split() if len(w) >= 3]
        if words:
            rows = session.execute(
                select(Customer.id, Customer.name)
                .where(or_(*(Customer.name_key.like(contains_pattern(w), escape="\\") for w in words)))
                .limit(2000)
            ).all()
    if not rows:
        rows = session.execute(select(Customer.id, Customer.name)).all()
    names = {row.id: row.name for row in rows}
    ranked = process.extract(
        text, names, scorer=fuzz.WRatio, processor=utils.default_process, limit=MAX_CHOICES + 1, score_cutoff=MIN_SCORE
    )
    if not ranked:
        raise NotFound(
            f"No customer matches “{escape(text[:100])}”. Search with `/reference find {escape(text[:100])}`."
        )
    ranked.sort(key=lambda hit: (-hit[1], len(hit[0]), hit[0]))
    if len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= CLEAR_LEAD:
        return Lookup(session.get(Customer, ranked[0][2]))
    close = [hit[2] for hit in ranked if ranked[0][1] - hit[1] < CLEAR_LEAD][:MAX_CHOICES]
    return Lookup(None, [c for c in (session.get(Customer, cid) for cid in close) if c is not None])


def named_exactly(session: Session, text: str) -> Customer | None:
    """The one customer whose domain or whole name `text` is, without guessing (None when not exactly one)."""
    text = clean_text(text).strip('"')
    domain = domain_of(text)
    if domain:
        found = session.scalars(select(Customer).where(Customer.domain == domain).limit(2)).all()
        if len(found) == 1:
            return found[0]
    exact = session.scalars(select(Customer).where(Customer.name_key == name_key(text)).limit(2)).all()
    return exact[0] if len(exact) == 1 else None


def suggest(session: Session, query: str, limit: int = 20) -> list[tuple[int, str, str]]:
    """(id, name, domain) for a type-ahead: exact, then names starting with it, then containing it, then
    the most similar; `%` and `_` are literal."""
    key = name_key(clean_text(query))[:100]
    if not key:
        return []
    starts = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    tier = case(
        (Customer.name_key == key, 0),
        (Customer.name_key.like(starts, escape="\\"), 1),
        (Customer.name_key.like("% " + starts, escape="\\"), 2),
        else_=3,
    )
    base = select(Customer.id, Customer.name, Customer.domain, Customer.name_key, tier.label("tier"))
    rows = session.execute(
        base.where(
            or_(
                Customer.name_key.like(contains_pattern(key), escape="\\"),
                func.lower(Customer.domain).like(contains_pattern(key), escape="\\"),
            )
        )
        .order_by(tier, func.length(Customer.name_key), Customer.name_key)
        .limit(500)
    ).all()
    cutoff = 0.0
    if not rows:
        # A typo ("acme crop"): any longer word of it, then the most similar names.
        words = [w for w in key.split() if len(w) >= 3]
        if not words:
            return []
        rows = session.execute(
            base.where(or_(*(Customer.name_key.like(contains_pattern(w), escape="\\") for w in words))).limit(500)
        ).all()
        cutoff = 60.0
    scored = []
    for row in rows:
        similarity = fuzz.ratio(key, row.name_key)
        if similarity >= cutoff:
            scored.append((row.tier, -similarity, len(row.name_key), row.name_key, row))
    scored.sort(key=lambda item: item[:4])
    return [(item[4].id, item[4].name, item[4].domain or "") for item in scored[:limit]]
