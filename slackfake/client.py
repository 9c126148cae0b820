"""Send requests to the bot exactly as Slack does: signed slash commands, interactions and events.

Tests and ``refbot demo`` drive the bot through its real HTTP entry point (``POST /slack/events``), so the
signature check, the form/JSON decoding and Bolt's routing are all exercised. Payloads mirror the shapes
Slack documents, down to the fields a handler might read (``container``, ``trigger_id``, ``response_url``,
``view.state.values``). When a ``FakeSlack`` is given, trigger ids and response URLs come from it, so the
bot's follow-up ``views.open`` and ``response_url`` posts land somewhere that checks them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict, Unpack
from urllib.parse import urlencode

from slackfake.server import _normalize_blocks

if TYPE_CHECKING:
    from slackfake.server import FakeSlack

VERIFICATION_TOKEN = "fake-verification-token"
"""Slack's legacy ``token`` field; Bolt ignores it but real payloads carry it."""
APP_ID = "A0FAKE"
BOT_USER_ID = "U0FAKEBOT"

_TEXT_VALUE_INPUTS = frozenset({"plain_text_input", "email_text_input", "url_text_input", "number_input"})
_SINGLE_OPTION = frozenset({"static_select", "external_select", "radio_buttons", "overflow"})
_MULTI_OPTION = frozenset({"multi_static_select", "multi_external_select", "checkboxes"})
_SELECTED_ID = {
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_users_select": ("selected_users", "initial_users"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
}


class SendOptions(TypedDict, total=False):
    """Knobs shared by every send, mostly for testing the bot's defences."""

    retry_num: int | None
    """Adds ``X-Slack-Retry-Num`` and ``X-Slack-Retry-Reason: http_timeout`` (Slack's redelivery)."""
    timestamp: int | None
    """Request timestamp to sign with (e.g. six minutes ago, to test replay protection)."""
    signature: str | None
    """Send this ``X-Slack-Signature`` instead of the correct one."""
    team_id: str | None
    """Workspace id to put in the payload instead of the client's."""
    raw_body: str | None
    """Send this body instead of the generated one (still signed unless ``signature`` is given)."""
    extra_headers: dict[str, str] | None
    """Additional or overriding HTTP headers."""
    trigger_id: str | None
    """Use this trigger_id instead of minting one (e.g. to replay one delivery byte for byte)."""


@dataclass(frozen=True)
class Response:
    """What the bot answered; 4xx/5xx are returned, never raised, because tests assert on them."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON (Bolt often acks with "")."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class SignedClient:
    """Posts Slack-shaped, v0-signed requests to the bot's events URL."""

    def __init__(
        self,
        url: str,
        signing_secret: str,
        *,
        fake: FakeSlack | None = None,
        team_id: str = "T0FAKE",
        team_domain: str = "acme",
        timeout: float = 10,
    ) -> None:
        """``url`` is the bot's events endpoint; ``fake`` supplies trigger ids and response URLs."""
        self.url = url
        self.signing_secret = signing_secret
        self.fake = fake
        self.team_id = team_id
        self.team_domain = team_domain
        self.timeout = timeout

    # --- request kinds ---------------------------------------------------------------------------------
    def command(
        self,
        user_id: str,
        text: str,
        *,
        command: str = "/reference",
        channel_id: str = "C0GENERAL",
        user_name: str | None = None,
        **opts: Unpack[SendOptions],
    ) -> Response:
        """Invoke a slash command as ``user_id`` in ``channel_id`` (form-encoded, like Slack)."""
        team_id = opts.get("team_id") or self.team_id
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": _channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name or self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._response_url(user_id, channel_id, None),
            "trigger_id": opts.get("trigger_id") or self._trigger(user_id),
        }
        return self._send(urlencode(fields), "application/x-www-form-urlencoded", opts)

    def block_action(
        self,
        user_id: str,
        action_id: str,
        *,
        value: Any = None,
        block_id: str | None = None,
        message: Any = None,
        view: Mapping[str, Any] | None = None,
        selected_option: Mapping[str, Any] | None = None,
        action_type: str = "button",
        **opts: Unpack[SendOptions],
    ) -> Response:
        """Send a ``block_actions`` interaction, as when a user clicks or picks something.

        ``message`` (a ``slackfake.server.Message``, a message dict with channel/ts, or an ephemeral from
        ``FakeSlack.ephemerals()``) or ``view`` supplies the container; the element named ``action_id`` is
        looked up in its blocks to fill in block_id, value, button text and element type.
        """
        team_id = opts.get("team_id") or self.team_id
        msg = _as_message(message) if message is not None else None
        blocks = (msg or {}).get("blocks") or (view or {}).get("blocks") or []
        found = _find_element(_normalize_blocks(blocks), action_id, value)
        action: dict[str, Any] = {"action_id": action_id}
        if found is not None:
            found_block_id, element = found
            action["block_id"] = block_id or found_block_id
            if element.get("type") == "button":
                action.update(_button_action(element, value))
            elif selected_option is not None:
                action.update({"type": element.get("type"), "selected_option": dict(selected_option)})
            else:
                action.update(_state_entry(element, value))
        else:
            action["block_id"] = block_id or secrets.token_urlsafe(4)[:5]
            action["type"] = action_type
            if selected_option is not None:
                action["selected_option"] = dict(selected_option)
            elif value is not None:
                action["value"] = value
        action["action_ts"] = f"{time.time():.6f}"
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id, team_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": opts.get("trigger_id") or self._trigger(user_id),
            "team": {"id": team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if view is not None:
            full_view = self._full_view(view, team_id)
            payload["container"] = {"type": "view", "view_id": full_view["id"]}
            payload["view"] = full_view
        else:
            msg = msg or {}
            channel_id = str(msg.get("channel") or "C0GENERAL")
            ts = msg.get("ts") or msg.get("message_ts") or f"{time.time():.6f}"
            ephemeral = "ts" not in msg
            payload["container"] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel_id,
                "is_ephemeral": ephemeral,
            }
            payload["channel"] = {"id": channel_id, "name": _channel_name(channel_id)}
            if msg:
                skip = ("channel", "via", "message_ts")
                inner = {k: v for k, v in msg.items() if k not in skip}
                inner.setdefault("ts", ts)
                inner.setdefault("type", "message")
                payload["message"] = inner
            payload["state"] = {"values": {}}
            payload["response_url"] = self._response_url(user_id, channel_id, None if ephemeral else ts)
        payload["actions"] = [action]
        return self._send_payload(payload, opts)

    def click(
        self,
        user_id: str,
        message_or_view: Any,
        action_id: str,
        *,
        value: str | None = None,
        **opts: Unpack[SendOptions],
    ) -> Response:
        """Click the button ``action_id`` (the one whose value is ``value``, if several) on a message or view.

        Raises LookupError naming the available buttons when there is no such button, because a test that
        clicks a button the bot never rendered is testing nothing.
        """
        target = _as_message(message_or_view)
        is_view = target.get("type") in ("modal", "home")
        buttons = [
            (bid, el)
            for bid, el in _elements(_normalize_blocks(target.get("blocks") or []))
            if el.get("type") == "button" and el.get("action_id") == action_id
        ]
        if not buttons:
            available = [
                f"{el.get('action_id')}={el.get('value')!r}"
                for _, el in _elements(_normalize_blocks(target.get("blocks") or []))
                if el.get("type") == "button"
            ]
            raise LookupError(f"no button with action_id {action_id!r}; buttons present: {available}")
        chosen = next((b for b in buttons if value is not None and b[1].get("value") == value), buttons[0])
        block_id, element = chosen
        kwargs: dict[str, Any] = {"view": target} if is_view else {"message": target}
        return self.block_action(user_id, action_id, value=element.get("value"), block_id=block_id, **kwargs, **opts)

    def message_shortcut(
        self, user_id: str, callback_id: str, message: Any, **opts: Unpack[SendOptions]
    ) -> Response:
        """A ``message_action`` payload, as when ``user_id`` picks a message shortcut on ``message``.

        Slack sends the message as it stands (type, user, ts, text, …), the channel it is in, a trigger_id and
        a response_url for answering in that channel.
        """
        team_id = opts.get("team_id") or self.team_id
        msg = _as_message(message)
        channel_id = str(msg.get("channel") or "C0GENERAL")
        inner = {k: v for k, v in msg.items() if k not in ("channel", "via", "message_ts")}
        inner.setdefault("type", "message")
        payload: dict[str, Any] = {
            "type": "message_action",
            "token": VERIFICATION_TOKEN,
            "action_ts": f"{time.time():.6f}",
            "team": {"id": team_id, "domain": self.team_domain},
            "user": self._user(user_id, team_id),
            "channel": {"id": channel_id, "name": _channel_name(channel_id)},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": opts.get("trigger_id") or self._trigger(user_id),
            "response_url": self._response_url(user_id, channel_id, None),
            "message_ts": str(msg.get("ts") or ""),
            "message": inner,
        }
        return self._send_payload(payload, opts)

    def view_submission(
        self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any], **opts: Unpack[SendOptions]
    ) -> Response:
        """Submit ``view`` with ``values`` keyed by action_id (or "block_id/action_id" when ambiguous).

        Plain Python values are turned into Slack's ``state.values`` shapes for each element type; inputs not
        mentioned carry their initial value, or nothing, as Slack sends them.
        """
        team_id = opts.get("team_id") or self.team_id
        full_view = self._full_view(view, team_id)
        full_view["state"] = {"values": build_state_values(full_view, values)}
        payload = {
            "type": "view_submission",
            "team": {"id": team_id, "domain": self.team_domain},
            "user": self._user(user_id, team_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": opts.get("trigger_id") or self._trigger(user_id),
            "view": full_view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._send_payload(payload, opts)

    def block_suggestion(
        self,
        user_id: str,
        action_id: str,
        value: str,
        *,
        view: Mapping[str, Any],
        block_id: str | None = None,
        **opts: Unpack[SendOptions],
    ) -> Response:
        """Ask the bot for external_select options, as Slack does while the user types ``value``."""
        team_id = opts.get("team_id") or self.team_id
        full_view = self._full_view(view, team_id)
        if block_id is None:
            found = _find_element(full_view["blocks"], action_id, None)
            block_id = found[0] if found is not None else secrets.token_urlsafe(4)[:5]
        payload = {
            "type": "block_suggestion",
            "user": self._user(user_id, team_id),
            "container": {"type": "view", "view_id": full_view["id"]},
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "team": {"id": team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "view": full_view,
        }
        return self._send_payload(payload, opts)

    def event(self, event: Mapping[str, Any], *, event_id: str | None = None, **opts: Unpack[SendOptions]) -> Response:
        """Deliver an Events API ``event_callback`` envelope (JSON) around ``event``."""
        team_id = opts.get("team_id") or self.team_id
        now = time.time()
        inner = dict(event)
        inner.setdefault("event_ts", f"{now:.6f}")
        bot_user = self.fake.bot_user_id if self.fake is not None else BOT_USER_ID
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "api_app_id": APP_ID,
            "event": inner,
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": bot_user,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_urlsafe(24)}",
        }
        return self._send(json.dumps(envelope), "application/json", opts)

    def function_executed(
        self, callback_id: str, inputs: Mapping[str, Any], **opts: Unpack[SendOptions]
    ) -> tuple[Response, str]:
        """A ``function_executed`` event, as when a workflow reaches this app's custom step ``callback_id``.

        Returns the bot's answer and the run's function_execution_id (ask the fake how the run ended).
        """
        if self.fake is not None:
            execution_id, token = self.fake.start_function(callback_id)
        else:
            execution_id, token = f"Fx{secrets.token_hex(5).upper()}", f"xwfp-{secrets.token_hex(12)}"
        event = {
            "type": "function_executed",
            "function": {
                "id": f"Fn{secrets.token_hex(5).upper()}",
                "callback_id": callback_id,
                "title": callback_id,
                "description": "",
                "type": "app",
                "input_parameters": [],
                "output_parameters": [],
                "app_id": APP_ID,
                "date_created": int(time.time()),
                "date_updated": int(time.time()),
                "date_deleted": 0,
            },
            "inputs": dict(inputs),
            "function_execution_id": execution_id,
            "workflow_execution_id": f"Wx{secrets.token_hex(5).upper()}",
            "bot_access_token": token,
        }
        return self.event(event, **opts), execution_id

    def post_raw(self, body: str, headers: Mapping[str, str]) -> Response:
        """POST ``body`` with exactly ``headers`` (no signing), for hostile-input tests."""
        return self._post(body.encode("utf-8"), dict(headers))

    # --- plumbing --------------------------------------------------------------------------------------
    def sign(self, body: str, timestamp: int) -> str:
        """Slack's v0 signature: ``v0=`` + hex HMAC-SHA256(secret, ``v0:{timestamp}:{body}``)."""
        base = f"v0:{timestamp}:{body}".encode()
        return "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()

    def _send_payload(self, payload: dict[str, Any], opts: SendOptions) -> Response:
        """Interactions arrive form-encoded as a single ``payload`` JSON field."""
        body = urlencode({"payload": json.dumps(payload)})
        return self._send(body, "application/x-www-form-urlencoded", opts)

    def _send(self, body: str, content_type: str, opts: SendOptions) -> Response:
        """Sign (unless told otherwise) and POST; the options exist to test the bot's defences."""
        if opts.get("raw_body") is not None:
            body = str(opts["raw_body"])
        timestamp = opts.get("timestamp")
        if timestamp is None:
            timestamp = int(time.time())
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "Accept": "application/json,*/*",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": opts.get("signature") or self.sign(body, timestamp),
        }
        retry_num = opts.get("retry_num")
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        headers.update(opts.get("extra_headers") or {})
        return self._post(body.encode("utf-8"), headers)

    def _post(self, data: bytes, headers: dict[str, str]) -> Response:
        """POST with urllib; HTTP errors are returned as responses, not raised."""
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310 - loopback URL
                text = resp.read().decode("utf-8", "replace")
                return Response(resp.status, text, dict(resp.headers.items()))
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            return Response(exc.code, text, dict(exc.headers.items()) if exc.headers else {})

    def _trigger(self, user_id: str) -> str:
        """A trigger id from the fake (so views.open is checked) or a realistic dummy."""
        if self.fake is not None:
            return self.fake.issue_trigger(user_id)
        return f"{int(time.time() * 1000) % 10**11}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"

    def _response_url(self, user_id: str, channel_id: str | None, ts: str | None) -> str:
        """A response_url from the fake (bound to the message, if any) or a realistic dummy."""
        if self.fake is not None:
            return self.fake.response_url(user_id, channel=channel_id, ts=ts)
        return f"https://hooks.slack.com/actions/{self.team_id}/{secrets.randbelow(10**12)}/{secrets.token_hex(12)}"

    def _user_name(self, user_id: str) -> str:
        """The user's handle from the fake's directory, else a lower-cased id."""
        user = self.fake.user(user_id) if self.fake is not None else None
        return str(user["name"]) if user else user_id.lower()

    def _user(self, user_id: str, team_id: str) -> dict[str, str]:
        """The ``user`` object interaction payloads carry."""
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": team_id}

    def _full_view(self, view: Mapping[str, Any], team_id: str) -> dict[str, Any]:
        """A view as Slack echoes it back in payloads, keeping the fake's id/hash when it has them."""
        view_id = str(view.get("id") or f"V{secrets.token_hex(5).upper()}")
        return {
            "id": view_id,
            "team_id": team_id,
            "type": view.get("type", "modal"),
            "blocks": _normalize_blocks(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata") or "",
            "callback_id": view.get("callback_id") or "",
            "state": json.loads(json.dumps(view.get("state") or {"values": {}})),
            "hash": view.get("hash") or f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": view.get("previous_view_id"),
            "root_view_id": view.get("root_view_id") or view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id") or "",
            "app_installed_team_id": team_id,
            "bot_id": view.get("bot_id") or "B0FAKEBOT",
        }


# --- state building ----------------------------------------------------------------------------------
def build_state_values(view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Slack's ``view.state.values`` ({block_id: {action_id: entry}}) for ``values`` keyed by action_id.

    Every input block appears, as in real submissions; unknown or ambiguous keys raise ValueError so a
    typo in a test fails loudly instead of submitting an empty form.
    """
    blocks = _normalize_blocks(view.get("blocks") or [])
    stateful = [(bid, el) for bid, el in _elements(blocks) if el.get("type") not in ("button", "image")]
    state: dict[str, dict[str, Any]] = {}
    for block in blocks:
        element = block.get("element")
        if block.get("type") == "input" and isinstance(element, dict):
            state.setdefault(block["block_id"], {})[element["action_id"]] = _initial_entry(element)
    for key, raw in values.items():
        block_id, element = _resolve_key(stateful, key)
        state.setdefault(block_id, {})[element["action_id"]] = _state_entry(element, raw)
    return state


def _resolve_key(stateful: list[tuple[str, dict[str, Any]]], key: str) -> tuple[str, dict[str, Any]]:
    """Map a ``values`` key (action_id or block_id/action_id) to exactly one element."""
    if "/" in key:
        wanted_block, wanted_action = key.split("/", 1)
        matches = [(b, e) for b, e in stateful if b == wanted_block and e.get("action_id") == wanted_action]
    else:
        matches = [(b, e) for b, e in stateful if e.get("action_id") == key]
    if not matches:
        known = sorted(f"{b}/{e.get('action_id')}" for b, e in stateful)
        raise ValueError(f"no input element with action_id {key!r} in this view; known: {known}")
    if len(matches) > 1:
        raise ValueError(f"action_id {key!r} is used in several blocks; say 'block_id/{key}'")
    return matches[0]


def _initial_entry(element: Mapping[str, Any]) -> dict[str, Any]:
    """The state Slack reports for an input the user left alone: its initial value, or empty."""
    kind = str(element.get("type"))
    if kind in _TEXT_VALUE_INPUTS:
        return {"type": kind, "value": element.get("initial_value")}
    if kind in _SINGLE_OPTION:
        return {"type": kind, "selected_option": _copy(element.get("initial_option"))}
    if kind in _MULTI_OPTION:
        return {"type": kind, "selected_options": _copy(element.get("initial_options") or [])}
    if kind == "datepicker":
        return {"type": kind, "selected_date": element.get("initial_date")}
    if kind == "timepicker":
        return {"type": kind, "selected_time": element.get("initial_time")}
    if kind == "datetimepicker":
        return {"type": kind, "selected_date_time": element.get("initial_date_time")}
    if kind in _SELECTED_ID:
        selected_key, initial_key = _SELECTED_ID[kind]
        default: Any = [] if kind.startswith("multi_") else None
        return {"type": kind, selected_key: _copy(element.get(initial_key, default))}
    if kind == "file_input":
        return {"type": kind, "files": []}
    return {"type": kind, "value": element.get("initial_value")}


def _state_entry(element: Mapping[str, Any], raw: Any) -> dict[str, Any]:
    """Turn a plain Python value into the state/action entry Slack sends for this element type."""
    kind = str(element.get("type"))
    if raw is None:
        return _initial_entry({"type": kind})
    if kind in _TEXT_VALUE_INPUTS:
        return {"type": kind, "value": str(raw)}
    if kind == "file_input":  # Slack sends the uploaded files' objects (as files.info describes them)
        return {"type": kind, "files": [_copy(f) for f in _as_list(raw)]}
    if kind in ("external_select", "multi_external_select"):
        if kind == "external_select":
            return {"type": kind, "selected_option": _external_option(raw)}
        chosen = raw if isinstance(raw, list) else [raw]
        return {"type": kind, "selected_options": [_external_option(r) for r in chosen]}
    if kind in _SINGLE_OPTION:
        return {"type": kind, "selected_option": _pick_option(element, raw)}
    if kind in _MULTI_OPTION:
        return {"type": kind, "selected_options": [_pick_option(element, r) for r in _as_list(raw)]}
    if kind == "datepicker":
        value = raw.isoformat() if isinstance(raw, _dt.date) else str(raw)
        return {"type": kind, "selected_date": value[:10]}
    if kind == "timepicker":
        value = raw.strftime("%H:%M") if isinstance(raw, _dt.time | _dt.datetime) else str(raw)
        return {"type": kind, "selected_time": value}
    if kind == "datetimepicker":
        value = int(raw.timestamp()) if isinstance(raw, _dt.datetime) else int(raw)
        return {"type": kind, "selected_date_time": value}
    if kind in _SELECTED_ID:
        selected_key, _ = _SELECTED_ID[kind]
        chosen = [str(r) for r in _as_list(raw)] if kind.startswith("multi_") else str(raw)
        return {"type": kind, selected_key: chosen}
    return {"type": kind, "value": raw}


def _button_action(element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    """The action entry for a button click: its text, value and style, as Slack sends them."""
    action: dict[str, Any] = {
        "type": "button",
        "text": _copy(element.get("text")),
        "value": value if value is not None else element.get("value"),
    }
    if element.get("style"):
        action["style"] = element["style"]
    if action["value"] is None:
        del action["value"]
    return action


def _external_option(raw: Any) -> dict[str, Any]:
    """External-select options come from the app, so build one from a value or (value, label)."""
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, tuple):
        value, label = raw
    else:
        value = label = raw
    return {"text": {"type": "plain_text", "text": str(label), "emoji": True}, "value": str(value)}


def _pick_option(element: Mapping[str, Any], raw: Any) -> dict[str, Any]:
    """Find the option whose value is ``raw`` (an option dict is taken as is)."""
    if isinstance(raw, Mapping):
        return dict(raw)
    options = list(_all_options(element))
    for option in options:
        if option.get("value") == str(raw):
            return _copy(option)
    values = [o.get("value") for o in options]
    where = f"{element.get('type')} {element.get('action_id')!r}"
    raise ValueError(f"{raw!r} is not an option of {where}: {values}")


def _all_options(element: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Options of an element, flattening option_groups."""
    yield from element.get("options") or []
    for group in element.get("option_groups") or []:
        yield from group.get("options") or []


def _elements(blocks: Sequence[Mapping[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (block_id, element) that can carry an action_id: actions, section accessories, inputs."""
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        block_id = str(block.get("block_id") or "")
        if block.get("type") == "actions":
            for element in block.get("elements") or []:
                if isinstance(element, dict):
                    yield block_id, element
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                yield block_id, block[key]


def _find_element(blocks: Sequence[Mapping[str, Any]], action_id: str, value: Any) -> tuple[str, dict[str, Any]] | None:
    """The element with ``action_id`` (preferring the one whose value matches), or None."""
    matches = [(b, e) for b, e in _elements(blocks) if e.get("action_id") == action_id]
    if not matches:
        return None
    for match in matches:
        if value is not None and match[1].get("value") == value:
            return match
    return matches[0]


def _as_message(obj: Any) -> dict[str, Any]:
    """Accept a ``Message`` (anything with ``as_dict``) or a mapping; return a plain dict copy."""
    if hasattr(obj, "as_dict"):
        return dict(obj.as_dict())
    if isinstance(obj, Mapping):
        return json.loads(json.dumps(dict(obj), default=str))
    raise TypeError(f"expected a message or view dict, got {type(obj).__name__}")


def _as_list(raw: Any) -> list[Any]:
    """Multi-value inputs accept one value or any collection of values."""
    if isinstance(raw, list | tuple | set | frozenset):
        return list(raw)
    return [raw]


def _copy(value: Any) -> Any:
    """Deep-copy JSON-like data so payloads never alias the caller's dicts."""
    return json.loads(json.dumps(value)) if value is not None else None


def _channel_name(channel_id: str) -> str:
    """What Slack calls a channel in payloads when the app cannot see its real name."""
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    name = channel_id[2:] if channel_id.startswith("C0") and len(channel_id) > 2 else channel_id
    return name.lower()
