"""Type-ahead for the request form's "specific customer" field (`block_suggestion` → options)."""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz, process
from slack_bolt import Ack, App
from sqlalchemy import or_, select

from bot import ids
from bot.deps import Deps
from bot.views.text import plain
from models import Customer

MAX_OPTIONS = 20
SCAN = 500


def _like(term: str) -> str:
    """A LIKE pattern that matches `term` literally (no user-typed % or _ wildcards)."""
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_customers(deps: Deps, query: str) -> list[tuple[int, str, str]]:
    """(id, name, domain) of the customers best matching `query`, most similar first."""
    query = query.strip()[:100]
    if not query:
        return []
    with deps.db.reading() as session:
        rows = session.execute(
            select(Customer.id, Customer.name, Customer.domain)
            .where(
                or_(
                    Customer.name_key.like(_like(query), escape="\\"),
                    Customer.domain.like(_like(query), escape="\\"),
                )
            )
            .limit(SCAN)
        ).all()
    if not rows:
        return []
    names = {row.id: row.name for row in rows}
    ranked = process.extract(query, names, scorer=fuzz.WRatio, processor=str.lower, limit=MAX_OPTIONS)
    by_id = {row.id: row for row in rows}
    return [(cid, by_id[cid].name, by_id[cid].domain or "") for _, _, cid in ranked]


def register(app: App, deps: Deps) -> None:
    @app.options(ids.SPECIFIC_CUSTOMER)
    def suggest(ack: Ack, body: dict[str, Any]) -> None:
        options: list[dict[str, Any]] = []
        for customer_id, name, domain in search_customers(deps, body.get("value") or ""):
            label = f"{name} ({domain})" if domain else name
            options.append({"text": plain(label, 75), "value": str(customer_id)})
        ack(options=options)
