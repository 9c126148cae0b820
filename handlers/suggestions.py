"""Type-ahead for the request form's "specific customer" field (`block_suggestion` → options).

Ranked by `bot.customers.suggest`: the exact name, then names starting with what was typed, then names
containing it, then the most similar (so "acme crop" still offers Acme Corp); `%` and `_` are literal.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot import customers, ids
from bot.deps import Deps
from bot.views.text import clip, plain

MAX_OPTIONS = 20


def search_customers(deps: Deps, query: str) -> list[tuple[int, str, str]]:
    """(id, name, domain) of the customers best matching `query`, most similar first."""
    with deps.db.reading() as session:
        return customers.suggest(session, query, MAX_OPTIONS)


def register(app: App, deps: Deps) -> None:
    @app.options(ids.SPECIFIC_CUSTOMER)
    def suggest(ack: Ack, body: dict[str, Any]) -> None:
        options: list[dict[str, Any]] = []
        for customer_id, name, domain in search_customers(deps, body.get("value") or ""):
            label = f"{clip(name, 50)} ({clip(domain, 70 - min(len(name), 50))})" if domain else name
            options.append({"text": plain(label, 75), "value": str(customer_id)})
        ack(options=options)
