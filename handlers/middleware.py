"""Global middleware: requests from another workspace, payload types nobody handles, and repeated deliveries.

Each is answered here with a quick 2xx, before any listener runs or anything is written:

- **Another workspace.** refbot serves the one workspace its bot token belongs to. A request signed with
  our signing secret but carrying another team id (the app installed in a second workspace, or a Slack
  Connect user acting from theirs) must not act on this workspace's requests and customers. Our team
  is `auth.test`'s, which Bolt's single-workspace authorization calls once per process and caches; the
  payload's is Bolt's reading of it (`context.team_id`: `team.id`, `team_id`, or the event's
  authorization). The answer is a 200, not a 403: for events a non-2xx is retried and counts towards
  Slack switching off the app's event subscriptions for every workspace, and for a person a 4xx only
  shows Slack's generic error. A slash command gets one plain sentence instead, so the person knows why.
- **An unknown payload type** (a Slack feature switched on with no code behind it): acknowledged and
  logged at WARNING. Known types nobody claimed are answered by `handlers/fallback.py`.
- **A repeat** (a Slack retry, or the same request reaching two replicas): its `trigger_id`/`event_id`
  is recorded in `inbound_deliveries`; the second arrival is acknowledged and dropped.

Before all of this, and before Bolt itself, the WSGI layer is to call `screen_request` on the raw request:
Bolt parses a body before it checks its signature, and raises on some that Slack never sends. What passes
is parsed there once and handed to Bolt as it is (`bolt_request`).
"""

from __future__ import annotations

import contextvars
import copy
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.request.internals import build_context

from bot.deps import Deps
from bot.outbox import remember_delivery

log = logging.getLogger(__name__)

# The kind of Slack payload being handled ("command", "block_actions", "view_submission", "event:…"),
# for the ack-latency metric the WSGI layer records once Bolt has answered.
PAYLOAD_TYPE: contextvars.ContextVar[str] = contextvars.ContextVar("refbot_payload_type", default="unknown")

# Payload types Bolt can route to a listener (refbot's own, or the catch-alls in handlers/fallback.py).
ROUTABLE = frozenset(
    {
        "command",
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "interactive_message",
        "dialog_submission",
        "dialog_suggestion",
        "dialog_cancellation",
        "workflow_step_edit",
    }
)
FOREIGN_COMMAND = (
    "This refbot only works in the workspace it was set up for, so nothing was done. "
    "Ask your Slack admin which reference bot your workspace uses."
)


def payload_type(body: dict[str, Any]) -> str:
    if body.get("command"):
        return "command"
    if body.get("type") == "event_callback":
        event = body.get("event")
        return f"event:{event.get('type', 'unknown') if isinstance(event, dict) else 'unknown'}"
    return str(body.get("type") or "unknown")


def delivery_key(body: dict[str, Any]) -> str | None:
    """What identifies one delivery across retries: the event id, else the interaction's trigger id."""
    if body.get("event_id"):
        key = f"event:{body['event_id']}"
    elif body.get("trigger_id"):
        key = f"trigger:{body['trigger_id']}"
    else:
        return None  # block_suggestion: read-only, harmless to repeat
    # Slack's ids are short; anything longer than the column (only a forged request) is kept as its digest.
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def foreign_team(context: BoltContext) -> str | None:
    """The payload's team id when it is not the workspace of our token (None when it is ours, or unknown)."""
    ours = context.authorize_result.team_id if context.authorize_result is not None else None
    theirs = context.team_id
    # A payload with no team id at all is not a second installation's (Slack always names the team), and
    # one forged without it would need our signing secret, which could as well name our team: let it pass.
    if ours and theirs and theirs != ours:
        return theirs
    return None


def _refuse_foreign(kind: str, team: str, ours: str | None) -> BoltResponse:
    log.warning("refused a %s from workspace %s: this refbot serves %s", kind, team, ours)
    if kind == "command":
        body = json.dumps({"response_type": "ephemeral", "text": FOREIGN_COMMAND})
        return BoltResponse(status=200, body=body, headers={"content-type": "application/json;charset=utf-8"})
    return BoltResponse(status=200, body="")


def signed_by_slack(body: bytes, timestamp: str, signature: str | None, signing_secret: str) -> bool:
    """Slack's v0 signature over the raw bytes, within five minutes (slack_sdk's verifier needs UTF-8 text)."""
    if abs(time.time() - int(timestamp)) > 5 * 60:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), (signature or "").encode("utf-8", "replace"))


@dataclass(frozen=True)
class Screened:
    """What the WSGI layer learnt of a POST to /slack/events before Bolt: why to refuse it, or its text and
    payload parsed once (Bolt is handed them rather than parsing the body a second time)."""

    refusal: tuple[int, str] | None
    text: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


def screen_request(
    body: bytes, timestamp: str | None, signature: str | None, content_type: str | None, signing_secret: str
) -> Screened:
    """Screen a POST to /slack/events: refused as (HTTP status, error code), or its text and payload.

    For the WSGI layer, which has the raw request. Bolt parses a body *before* it checks the signature,
    and a body that is not what Slack sends (a `payload` that is not a JSON object, bytes that are not
    UTF-8) or a timestamp that is not a number make it raise: a 500 and a logged traceback, for anyone on
    the internet to cause. Checked here in Slack's order instead: the signature (401), then the shape (400).
    """
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return Screened((401, "invalid_request"))
    if signing_secret and not signed_by_slack(body, timestamp, signature, signing_secret):
        return Screened((401, "invalid_request"))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Screened((400, "malformed_request"))
    if not text:
        return Screened(None)
    try:
        if (content_type or "").split(";")[0].strip() == "application/json" or text.startswith("{"):
            parsed: Any = json.loads(text)
        else:
            fields = dict(parse_qsl(text, keep_blank_values=True))
            # Only a `payload` *field* makes an interaction: Bolt reads any body containing the word as one,
            # so `/reference find payload gateway` parsed by Bolt would be lost. Parsed here, it is a command.
            parsed = json.loads(fields["payload"]) if "payload" in fields else fields
    except ValueError:
        return Screened((400, "malformed_request"))
    if not isinstance(parsed, dict) or not _shaped_like_slack(parsed):
        return Screened((400, "malformed_request"))
    return Screened(None, text, parsed)


def bolt_request(screened: Screened, headers: dict[str, str], query: str) -> BoltRequest:
    """The BoltRequest for a screened POST, with the payload already parsed (Bolt would parse it again).

    The raw text stays on it, so Bolt's own signature check still runs over exactly what was signed."""
    request = BoltRequest(body="", query=query, headers=headers)  # type: ignore[arg-type]
    request.raw_body = screened.text
    request.body = screened.payload
    build_context(request.context, screened.payload)
    return request


# Envelope fields Bolt reads without checking their type, as Slack always sends them.
_OBJECTS = ("event", "view", "container", "message", "state")
_LISTS = ("actions", "authorizations")


def _shaped_like_slack(payload: dict[str, Any]) -> bool:
    if any(key in payload and not isinstance(payload[key], dict) for key in _OBJECTS):
        return False
    if any(key in payload and not isinstance(payload[key], list) for key in _LISTS):
        return False
    if any(not isinstance(item, dict) for key in _LISTS for item in payload.get(key) or []):
        return False
    view = payload.get("view")
    return view is None or isinstance(view.get("type"), str)


def register(app: App, deps: Deps) -> None:
    @app.middleware
    def screen_deliveries(req: BoltRequest, context: BoltContext, next: Callable[[], Any]) -> Any:  # noqa: A002
        body = req.body
        kind = payload_type(body)
        PAYLOAD_TYPE.set(kind)
        # Bolt builds a plain WebClient per request; listeners get ours (same token and URL, retry handlers,
        # and the metrics that count Slack API errors by method).
        context["client"] = deps.client
        if context.function_bot_access_token:  # a custom step's run: Slack wants its own token for complete*
            context["client"] = copy.copy(deps.client)
            context["client"].token = context.function_bot_access_token
        team = foreign_team(context)
        if team is not None:
            return _refuse_foreign(kind, team, context.authorize_result.team_id if context.authorize_result else None)
        if kind not in ROUTABLE and not kind.startswith("event:"):
            log.warning("acknowledged a %r payload that refbot has no listener for", kind[:60])
            return BoltResponse(status=200, body="")
        key = delivery_key(body)
        if key is not None:
            with deps.db.transaction() as session:
                first = remember_delivery(session, key)
            if not first:
                return BoltResponse(status=200, body="")
        return next()
