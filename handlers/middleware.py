"""Drops a Slack delivery seen before (a retry, or the same request reaching two replicas)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse

from bot.deps import Deps
from bot.outbox import remember_delivery

# The kind of Slack payload being handled ("command", "block_actions", "view_submission", "event:…"),
# for the ack-latency metric the WSGI layer records once Bolt has answered.
PAYLOAD_TYPE: contextvars.ContextVar[str] = contextvars.ContextVar("refbot_payload_type", default="unknown")


def payload_type(body: dict[str, Any]) -> str:
    if body.get("command"):
        return "command"
    if body.get("type") == "event_callback":
        return f"event:{(body.get('event') or {}).get('type', 'unknown')}"
    return str(body.get("type") or "unknown")


def delivery_key(body: dict[str, Any]) -> str | None:
    """What identifies one delivery across retries: the event id, else the interaction's trigger id."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None  # block_suggestion: read-only, harmless to repeat


def register(app: App, deps: Deps) -> None:
    @app.middleware
    def drop_repeated_deliveries(body: dict[str, Any], context: BoltContext, next: Callable[[], Any]) -> Any:  # noqa: A002
        PAYLOAD_TYPE.set(payload_type(body))
        # Bolt builds a plain WebClient per request; listeners get ours (same token and URL, retry handlers,
        # and the metrics that count Slack API errors by method).
        context["client"] = deps.client
        key = delivery_key(body)
        if key is not None:
            with deps.db.transaction() as session:
                first = remember_delivery(session, key)
            if not first:
                return BoltResponse(status=200, body="")
        return next()
