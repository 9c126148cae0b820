"""Drops a Slack delivery seen before (a retry, or the same request reaching two replicas)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse

from bot.deps import Deps
from bot.outbox import remember_delivery


def delivery_key(body: dict[str, Any]) -> str | None:
    """What identifies one delivery across retries: the event id, else the interaction's trigger id."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None  # block_suggestion: read-only, harmless to repeat


def register(app: App, deps: Deps) -> None:
    @app.middleware
    def drop_repeated_deliveries(body: dict[str, Any], next: Callable[[], Any]) -> Any:  # noqa: A002
        key = delivery_key(body)
        if key is not None:
            with deps.db.transaction() as session:
                first = remember_delivery(session, key)
            if not first:
                return BoltResponse(status=200, body="")
        return next()
