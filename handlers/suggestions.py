"""Suggestions: type-ahead for the request form's "specific customer" field (`block_suggestion` → options),
and the "did you mean" for a mistyped `/reference` subcommand.

Ranked by `bot.customers.suggest`: the exact name, then names starting with what was typed, then names
containing it, then the most similar (so "acme crop" still offers Acme Corp); `%` and `_` are literal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rapidfuzz import fuzz
from slack_bolt import Ack, App

from bot import customers, ids
from bot.deps import Deps
from bot.views.text import clip, plain

MAX_OPTIONS = 20
# A subcommand is suggested only this similar (0–100) to what was typed: one typo in a short word
# ("mnie", "finf") still is; a different word that shares a few letters ("incident" ~ "mine": 50) is not.
CLOSE_ENOUGH = 75.0


def closest_subcommand(typed: str, names: Iterable[str]) -> str | None:
    """The subcommand `typed` was most likely meant to be, or None when none is close: a far-fetched
    "did you mean" sends people the wrong way, and the help that follows lists every subcommand anyway."""
    scored = [(fuzz.ratio(typed.lower(), name), name) for name in names]
    best = max(scored, default=(0.0, ""))
    return best[1] if best[0] >= CLOSE_ENOUGH else None


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
