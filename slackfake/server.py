"""A fake Slack Web API on loopback, so the bot's real ``slack_sdk.WebClient`` can be exercised offline.

The bot is pointed at ``FakeSlack.url`` (``WebClient(base_url=...)``). Every request is recorded, answered
the way Slack answers it (ids, timestamps, error codes a bot branches on), checked against Block Kit limits,
and can be made to fail on purpose (rate limits, 5xx, error bodies, slowness) to test the bot's resilience.

Besides chat, views, users and uploads it covers what message shortcuts and importing from Slack need:
``chat.getPermalink`` (a stored message's archive link), ``files.info`` (a shared file's object, or
``file_not_found``) and ``url_private`` downloads, which, like Slack, need the bot token as a bearer and
answer anything else with a redirect to the login page. Custom workflow steps: ``start_function`` mints a
run's id and its own ``xwfp-`` token; ``functions.completeSuccess`` / ``functions.completeError`` must be
called with that token, once (``not_allowed_token_type``, ``function_execution_already_completed``).

State lives behind one re-entrant lock because ``ThreadingHTTPServer`` answers each request on its own thread
while the test thread reads the same state.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import email.parser
import email.policy
import hashlib
import json
import math
import re
import secrets
import threading
import time
import traceback
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

from slackfake.blockkit import validate_message, validate_view

T = TypeVar("T")

TRIGGER_TTL_SECONDS = 3.0
"""Slack lets a trigger_id be exchanged for a modal only within 3 seconds of the interaction."""
RESPONSE_URL_MAX_USES = 5
"""Slack accepts at most five posts to one response_url."""
MAX_VIEW_STACK = 3
"""views.push can stack at most three views in one modal."""

_JSON_FIELDS = ("blocks", "view", "attachments", "files", "metadata")
_ID_RE = re.compile(r"^[A-Z0-9]{2,}$")


def _monotonic() -> float:
    """Clock for trigger expiry; a module-level seam so tests can jump past 3 seconds without sleeping."""
    return time.monotonic()


def _real_seconds() -> float:
    """A monotonic clock that freezegun does not freeze, so ``wait_for`` times out even under frozen time."""
    if hasattr(time, "clock_gettime") and hasattr(time, "CLOCK_MONOTONIC"):
        return time.clock_gettime(time.CLOCK_MONOTONIC)
    return time.monotonic()


@dataclass(frozen=True)
class Call:
    """One request the fake received: what was asked, with which token, and what it answered."""

    method: str
    args: dict[str, Any]
    token: str | None
    response: dict[str, Any]
    status: int
    at: float

    @property
    def ok(self) -> bool:
        """Whether Slack would have called this a success (HTTP 200 and ``ok: true``)."""
        return self.status == 200 and bool(self.response.get("ok"))

    def summary(self) -> str:
        """One line for failure dumps: method, status, outcome and a clipped view of the arguments."""
        outcome = "ok" if self.ok else f"error={self.response.get('error')!r}"
        args = json.dumps(self.args, default=str, ensure_ascii=False)
        if len(args) > 240:
            args = args[:237] + "..."
        return f"{self.method} [{self.status}] {outcome} {args}"


@dataclass
class Message:
    """A message as it currently stands in the fake's store (after any chat.update)."""

    channel: str
    ts: str
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    user: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    team: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    edited: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The message object Slack returns and puts in interaction payloads, plus its ``channel``."""
        out: dict[str, Any] = {
            "type": "message",
            "channel": self.channel,
            "ts": self.ts,
            "text": self.text,
            "blocks": copy.deepcopy(self.blocks),
        }
        for key in ("user", "bot_id", "app_id", "team", "thread_ts", "metadata", "edited"):
            value = getattr(self, key)
            if value is not None:
                out[key] = copy.deepcopy(value)
        if self.attachments:
            out["attachments"] = copy.deepcopy(self.attachments)
        if self.files:
            out["files"] = copy.deepcopy(self.files)
        return out


@dataclass
class Upload:
    """A file the bot uploaded through files.getUploadURLExternal → upload URL → completeUploadExternal."""

    file_id: str
    filename: str
    length: int
    data: bytes | None = None
    title: str | None = None
    alt_txt: str | None = None
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False


@dataclass
class _Fault:
    """One scripted misbehaviour, consumed ``remaining`` times."""

    method: str
    status: int
    error: str | None
    retry_after: int | None
    delay: float | None
    remaining: int

    @property
    def fails(self) -> bool:
        """Whether the fault replaces the answer (a pure delay still answers normally)."""
        return self.retry_after is not None or self.status != 200 or self.error is not None


@dataclass
class _Trigger:
    """A trigger_id: who it belongs to, when it was issued (monotonic) and whether it was exchanged."""

    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class _ViewRecord:
    """A stored view with its owner; ``touched`` orders views by most recent open/push/update."""

    view: dict[str, Any]
    user_id: str | None
    kind: str
    touched: int


@dataclass
class _ResponseUrl:
    """What a response_url is bound to and how often it was used (Slack allows five)."""

    user_id: str
    channel: str | None
    ts: str | None
    uses: int = 0


def _invalid_arguments(message: str) -> _ApiError:
    """Slack's answer to a missing or malformed argument, with the reason in response_metadata."""
    return _ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


class _ApiError(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": ...}`` with optional extras."""

    def __init__(self, error: str, **extra: Any) -> None:
        """``extra`` carries Slack's side fields (``errors``, ``response_metadata``) into the answer."""
        super().__init__(error)
        self.payload: dict[str, Any] = {"ok": False, "error": error, **extra}


@dataclass
class _Reply:
    """An HTTP answer plus the dict recorded in the call log (text bodies get a synthetic one)."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]
    recorded: dict[str, Any]

    @classmethod
    def json(cls, payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> _Reply:
        """A JSON answer, as the Web API gives."""
        body = json.dumps(payload).encode("utf-8")
        return cls(status, body, "application/json; charset=utf-8", headers or {}, payload)

    @classmethod
    def text(cls, text: str, status: int, recorded: dict[str, Any]) -> _Reply:
        """A plain-text answer, as response URLs, uploads and 5xx errors give."""
        return cls(status, text.encode("utf-8"), "text/plain; charset=utf-8", {}, recorded)


class FakeSlack:
    """A scriptable, recording, validating stand-in for ``https://slack.com/api/`` on 127.0.0.1.

    Use as a context manager (or ``start()``/``stop()``), point ``WebClient(base_url=fake.url)`` at it, then
    assert on ``calls()``, ``messages()``, ``views()``, ``ephemerals()`` and ``violations``. Two things Slack
    does on the client's side are here for ``refbot playground``: ``post_as_user`` (a person's channel
    message) and ``replace_view`` (a submission answered with ``response_action: update``).
    """

    team_id = "T0FAKE"
    team_name = "Acme"
    team_domain = "acme"
    bot_user_id = "U0FAKEBOT"
    bot_id = "B0FAKEBOT"
    bot_name = "refbot"
    app_id = "A0FAKE"

    def __init__(self, *, token: str | None = "xoxb-test", host: str = "127.0.0.1", port: int = 0) -> None:
        """``token=None`` accepts any token (or none); otherwise calls must present exactly this one."""
        self.token = token
        self.host = host
        self._requested_port = port
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._generation = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._users: dict[str, dict[str, Any]] = {}
        self._dms: dict[str, str] = {}
        self._counter = 0
        self._last_ts_us = 0
        self.violations: list[str] = []
        """Every Block Kit violation seen, prefixed by method; a healthy test ends with ``== []``."""
        self._clear_state()
        self.add_user(self.bot_user_id, self.bot_name, real_name=self.bot_name.capitalize(), is_bot=True)
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "files.info": self._files_info,
            "functions.completeSuccess": self._functions_complete_success,
            "functions.completeError": self._functions_complete_error,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    def rate_limit(self, *, per_channel: float | None = None, total: float | None = None) -> None:
        """Enforce Slack-like posting limits on chat.postMessage (messages per second; None = unlimited).

        Over the limit the fake answers 429 with Retry-After, as Slack does; ``rate_limited`` counts them.
        Each bucket holds one second's worth of tokens, so a short burst passes and a flood does not.
        """
        with self._lock:
            self._rate_per_channel = per_channel
            self._rate_total = total
            self._buckets = {}
            self.rate_limited = 0

    def _rate_wait(self, channel: str) -> float:
        """Take a token from the channel's and the global bucket; seconds to wait if either is empty."""
        now = _real_seconds()
        waits = []
        for key, rate in (
            (f"channel:{self._resolve_channel(channel)}", self._rate_per_channel),
            ("*", self._rate_total),
        ):
            if not rate:
                continue
            tokens, at = self._buckets.get(key, (max(1.0, rate), now))
            tokens = min(max(1.0, rate), tokens + (now - at) * rate)
            if tokens < 1.0:
                waits.append((1.0 - tokens) / rate)
            self._buckets[key] = (tokens, now)
        if waits:
            return max(waits)
        for key in (f"channel:{self._resolve_channel(channel)}", "*"):
            if key in self._buckets:
                tokens, at = self._buckets[key]
                self._buckets[key] = (tokens - 1.0, at)
        return 0.0

    def _clear_state(self) -> None:
        """Everything ``reset()`` forgets; users and DM channel ids survive because they are identity."""
        self._calls: list[Call] = []
        self._rate_per_channel: float | None = None
        self._rate_total: float | None = None
        self._buckets: dict[str, tuple[float, float]] = {}
        self.rate_limited = 0
        self._messages: list[Message] = []
        self._ephemerals: list[dict[str, Any]] = []
        self._views: dict[str, _ViewRecord] = {}
        self._external_ids: dict[str, str] = {}
        self._homes: dict[str, str] = {}
        self._stacks: dict[str, list[str]] = {}
        self._faults: list[_Fault] = []
        self._triggers: dict[str, _Trigger] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._uploads: dict[str, Upload] = {}
        self._files: dict[str, dict[str, Any]] = {}  # files people shared (files.info), by id
        self._file_data: dict[str, bytes] = {}
        self.file_downloads: list[dict[str, Any]] = []  # every GET of a url_private, with the token shown
        self._executions: dict[str, dict[str, Any]] = {}  # custom step runs, by function_execution_id
        self._opened: set[str] = set()
        self.violations.clear()

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        """Bind (port 0 lets the OS choose, so tests can run in parallel) and serve on a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeSlack is already running")
        server = _Server((self.host, self._requested_port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeSlack:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        """Start on entry unless already running, so ``with FakeSlack() as fake`` just works."""
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        """Always release the port, even when the test failed."""
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port the OS gave us; only known once started."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` without a trailing slash; response and upload URLs hang off it."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The ``base_url`` to give ``slack_sdk.WebClient`` (it appends the method name)."""
        return f"{self.base_url}/api/"

    # --- users -----------------------------------------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "UTC",
        deleted: bool = False,
        is_bot: bool = False,
    ) -> dict[str, Any]:
        """Add (or replace) a workspace member that users.info / users.lookupByEmail will know about."""
        real = real_name or name
        try:
            zone = zoneinfo.ZoneInfo(tz)
            now = _dt.datetime.now(zone)
            delta = now.utcoffset()
            offset = int(delta.total_seconds()) if delta is not None else 0
            label = now.tzname() or tz
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            offset, label = 0, tz
        profile: dict[str, Any] = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": name,
            "display_name_normalized": name,
            "team": self.team_id,
            "image_72": f"https://avatars.example.invalid/{user_id}_72.png",
        }
        if email is not None:
            profile["email"] = email
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "real_name": real,
            "tz": tz,
            "tz_label": label,
            "tz_offset": offset,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }
        with self._lock:
            self._users[user_id] = user
            self._touch()
        return copy.deepcopy(user)

    def user(self, user_id: str) -> dict[str, Any] | None:
        """The Slack user object for ``user_id``, or None when the directory does not know them."""
        with self._lock:
            found = self._users.get(user_id)
            return copy.deepcopy(found) if found is not None else None

    def user_names(self) -> dict[str, str]:
        """``{user_id: display name}`` for rendering ``<@U…>`` mentions (see ``slackfake.render.to_text``)."""
        with self._lock:
            return {
                uid: u["profile"].get("display_name") or u.get("real_name") or u["name"]
                for uid, u in self._users.items()
            }

    # --- inspection ------------------------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        """Every recorded call in arrival order (optionally only one method's), as a copy."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(self, predicate: Callable[[FakeSlack], T], timeout: float = 5.0) -> T:
        """Poll until ``predicate(self)`` is truthy and return its value; the bot works on other threads.

        Raises AssertionError listing the most recent calls when it does not happen within ``timeout``.
        """
        deadline = _real_seconds() + timeout
        while True:
            with self._lock:
                generation = self._generation
            result = predicate(self)
            if result:
                return result
            remaining = deadline - _real_seconds()
            if remaining <= 0:
                raise AssertionError(f"FakeSlack.wait_for: condition not met within {timeout:g}s\n{self.dump()}")
            with self._changed:
                if self._generation == generation:
                    self._changed.wait(min(0.05, remaining))

    def dump(self, last: int = 20) -> str:
        """Human-readable tail of the call log plus any violations, for assertion messages."""
        with self._lock:
            calls = self._calls[-last:]
            skipped = len(self._calls) - len(calls)
            lines = [f"recent calls ({len(self._calls)} total):"]
            if skipped:
                lines.append(f"  ... {skipped} earlier call(s) omitted")
            lines.extend(f"  {c.summary()}" for c in calls)
            if not calls:
                lines.append("  (none)")
            if self.violations:
                lines.append("violations:")
                lines.extend(f"  {v}" for v in self.violations)
            return "\n".join(lines)

    def reset(self) -> None:
        """Forget calls, messages, views, triggers, response URLs, uploads, faults, violations; keep users."""
        with self._lock:
            self._clear_state()
            self._touch()

    def messages(self, channel_or_user: str | None = None) -> list[Message]:
        """Current messages in post order; a user id (U…/W…) means that user's DM channel."""
        with self._lock:
            channel = self._channel_filter(channel_or_user)
            return [copy.deepcopy(m) for m in self._messages if channel is None or m.channel == channel]

    def last_message(self, channel_or_user: str | None = None) -> Message:
        """The most recent current message (in a channel / a user's DM); AssertionError if there is none."""
        found = self.messages(channel_or_user)
        if not found:
            where = f" for {channel_or_user}" if channel_or_user else ""
            raise AssertionError(f"FakeSlack: no messages{where}\n{self.dump()}")
        return found[-1]

    def message(self, channel: str, ts: str) -> Message | None:
        """The current state of one message, or None if it was never posted or has been deleted."""
        with self._lock:
            found = self._find_message(self._channel_filter(channel) or channel, ts)
            return copy.deepcopy(found) if found is not None else None

    def start_function(self, callback_id: str) -> tuple[str, str]:
        """A custom step run starting in a workflow: its function_execution_id and its bot_access_token
        (an ``xwfp-`` token, valid for this run only, which Slack wants functions.complete* called with)."""
        with self._lock:
            execution_id = f"Fx{self._next_number():04d}{secrets.token_hex(4).upper()}"
            token = f"xwfp-{secrets.token_hex(12)}"
            self._executions[execution_id] = {"token": token, "callback_id": callback_id, "state": "running"}
            return execution_id, token

    def function_result(self, execution_id: str) -> dict[str, Any]:
        """How a run ended: ``{"state": "running"}``, ``{"state": "completed", "outputs": …}`` or
        ``{"state": "errored", "error": …}``."""
        with self._lock:
            found = self._executions[execution_id]
            return {k: copy.deepcopy(v) for k, v in found.items() if k != "token"}

    def _function_run(self, args: Mapping[str, Any]) -> dict[str, Any]:
        found = self._executions.get(str(args.get("function_execution_id") or ""))
        if found is None:
            raise _ApiError("function_execution_not_found")
        if args.get("_token") != found["token"]:
            raise _ApiError("not_allowed_token_type")  # a bot token, not the run's own
        if found["state"] != "running":
            raise _ApiError("function_execution_already_completed")
        return found

    def _functions_complete_success(self, args: dict[str, Any]) -> dict[str, Any]:
        """End a custom step run with its outputs (an object keyed by the manifest's output names)."""
        outputs = args.get("outputs")
        if isinstance(outputs, str):
            outputs = json.loads(outputs)
        if not isinstance(outputs, dict):
            raise _invalid_arguments("outputs must be an object")
        found = self._function_run(args)
        found.update(state="completed", outputs=outputs)
        return {"ok": True}

    def _functions_complete_error(self, args: dict[str, Any]) -> dict[str, Any]:
        """End a custom step run with an error message shown to the workflow's user."""
        error = args.get("error")
        if not isinstance(error, str) or not error:
            raise _invalid_arguments("error is required")
        found = self._function_run(args)
        found.update(state="errored", error=error)
        return {"ok": True}

    def person_uploads(self, user_id: str, name: str, data: bytes, *, url_private: str | None = None) -> dict[str, Any]:
        """A file a person dropped into Slack (e.g. into a ``file_input``): its object as files.info returns it.

        ``url_private`` is served by this fake (GET, ``Authorization: Bearer <bot token>`` required, as Slack
        requires); pass another URL to model a forged payload pointing elsewhere.
        """
        with self._lock:
            file_id = self._new_id("F")
            extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            private = url_private or f"{self.base_url}/files-pri/{self.team_id}-{file_id}/{quote(name)}"
            self._files[file_id] = {
                "id": file_id,
                "created": int(time.time()),
                "timestamp": int(time.time()),
                "name": name,
                "title": name,
                "mimetype": "text/csv" if extension == "csv" else "application/octet-stream",
                "filetype": extension,
                "pretty_type": extension.upper(),
                "user": user_id,
                "size": len(data),
                "mode": "hosted",
                "is_external": False,
                "is_public": False,
                "url_private": private,
                "url_private_download": private + ("&" if "?" in private else "?") + "download=1",
            }
            self._file_data[file_id] = bytes(data)
            return copy.deepcopy(self._files[file_id])

    def person_posts(self, channel: str, user_id: str, text: str) -> Message:
        """A message a person wrote (not the bot), stored so chat.getPermalink and shortcuts can find it."""
        with self._lock:
            message = Message(channel=channel, ts=self._next_ts(), text=text, user=user_id, team=self.team_id)
            self._messages.append(message)
            self._touch()
            return copy.deepcopy(message)

    def dm_channel(self, user_id: str) -> str:
        """The stable DM channel id for ``user_id`` ("D" + the rest of the id, suffixed if that collides)."""
        with self._lock:
            existing = self._dms.get(user_id)
            if existing is not None:
                return existing
            base = "D" + (user_id[1:] if len(user_id) > 1 else user_id)
            taken = set(self._dms.values())
            candidate, n = base, 1
            while candidate in taken:
                n += 1
                candidate = f"{base}{n}"
            self._dms[user_id] = candidate
            return candidate

    def ephemerals(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages (chat.postEphemeral, and response_url posts that were not in_channel)."""
        with self._lock:
            return [copy.deepcopy(e) for e in self._ephemerals if user_id is None or e.get("user") == user_id]

    def views(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Modals opened or pushed (latest state of each, with its ``id``), in the order they were opened."""
        with self._lock:
            return [
                copy.deepcopy(r.view)
                for r in self._views.values()
                if r.kind == "modal" and (user_id is None or r.user_id == user_id)
            ]

    def last_view(self, user_id: str) -> dict[str, Any]:
        """The modal most recently opened, pushed or updated for ``user_id``; AssertionError if none."""
        with self._lock:
            records = [r for r in self._views.values() if r.kind == "modal" and r.user_id == user_id]
            if not records:
                raise AssertionError(f"FakeSlack: no modal was opened for {user_id}\n{self.dump()}")
            return copy.deepcopy(max(records, key=lambda r: r.touched).view)

    def home(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for ``user_id``, or None."""
        with self._lock:
            view_id = self._homes.get(user_id)
            return copy.deepcopy(self._views[view_id].view) if view_id else None

    def post_as_user(self, user_id: str, channel: str, text: str) -> Message:
        """A person's message in a channel, as Slack stores it (the bot sees it in history; the caller sends
        the matching `message` event, since this fake does not deliver events by itself)."""
        with self._lock:
            if user_id not in self._users:
                raise KeyError(f"no user {user_id}")
            message = Message(channel=channel, ts=self._next_ts(), text=text, user=user_id, team=self.team_id)
            self._messages.append(message)
            self._touch()
            return copy.deepcopy(message)

    def replace_view(self, view_id: str, view: Mapping[str, Any]) -> dict[str, Any]:
        """Replace an open modal, as Slack does when a view_submission is answered ``response_action: update``.

        The new view is validated like views.update's; ValueError lists the violations (also recorded).
        """
        with self._lock:
            record = self._views.get(view_id)
            if record is None:
                raise KeyError(f"no view {view_id}")
            problems = validate_view(dict(view))
            if problems:
                self.violations.extend(f"response_action update: {p}" for p in problems)
                raise ValueError("; ".join(problems))
            full = self._full_view(
                view,
                view_id=view_id,
                root_view_id=record.view.get("root_view_id"),
                previous_view_id=record.view.get("previous_view_id"),
            )
            self._store_view(full, record.user_id, record.kind)
            self._touch()
            return copy.deepcopy(full)

    def uploads(self) -> list[Upload]:
        """Files started through files.getUploadURLExternal, with the bytes sent to the upload URL."""
        with self._lock:
            return [copy.deepcopy(u) for u in self._uploads.values()]

    # --- scripting -------------------------------------------------------------------------------------
    def issue_trigger(self, user_id: str) -> str:
        """Mint a trigger_id bound to ``user_id``; views.open must use it within 3 seconds, and only once."""
        with self._lock:
            trigger_id = f"{int(time.time() * 1000) % 10**11}.{self._next_number()}.{secrets.token_hex(16)}"
            self._triggers[trigger_id] = _Trigger(user_id=user_id, issued_at=_monotonic())
            return trigger_id

    def response_url(self, user_id: str, *, channel: str | None = None, ts: str | None = None) -> str:
        """Mint a response_url for ``user_id``; bind it to (channel, ts) for replace/delete_original."""
        with self._lock:
            token = secrets.token_urlsafe(18)
            resolved = self._resolve_channel(channel) if channel else None
            self._response_urls[token] = _ResponseUrl(user_id=user_id, channel=resolved or channel, ts=ts)
        return f"{self.base_url}/response/{token}"

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        delay: float | None = None,
        times: int = 1,
    ) -> None:
        """Script the next ``times`` calls of ``method`` ("*" = any) to misbehave; faults apply in order.

        ``status=429`` or ``retry_after`` → HTTP 429 + Retry-After; 5xx → that status; ``error`` → HTTP 200
        ``{"ok": false, "error": error}``; ``delay`` → answer late (and normally, if nothing else is set).
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(_Fault(method, status, error, retry_after, delay, times))

    # --- internals shared with the request handler -----------------------------------------------------
    def _touch(self) -> None:
        """Wake ``wait_for`` pollers: something changed. Call with the lock held."""
        self._generation += 1
        self._changed.notify_all()

    def _next_number(self) -> int:
        """A counter for ids and ordering; monotonic within one fake."""
        self._counter += 1
        return self._counter

    def _next_ts(self) -> str:
        """A Slack-style ``seconds.micros`` ts, strictly increasing even within one microsecond."""
        now = int(time.time() * 1_000_000)
        if now <= self._last_ts_us:
            now = self._last_ts_us + 1
        self._last_ts_us = now
        return f"{now // 1_000_000}.{now % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        """A Slack-looking unique id such as ``V0003A1B2C3`` for views and files."""
        return f"{prefix}{self._next_number():04d}{secrets.token_hex(3).upper()}"

    def _take_fault(self, method: str) -> _Fault | None:
        """Consume the first scripted fault matching ``method`` (or a star), in the order scripted."""
        with self._lock:
            for fault in self._faults:
                if fault.method in (method, "*"):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def _record(self, method: str, args: dict[str, Any], token: str | None, reply: _Reply) -> None:
        """Append to the call log (deep copies, so later mutation cannot rewrite history)."""
        call = Call(
            method=method,
            args=copy.deepcopy(args),
            token=token,
            response=copy.deepcopy(reply.recorded),
            status=reply.status,
            at=time.time(),
        )
        with self._lock:
            self._calls.append(call)
            self._touch()

    def _channel_filter(self, channel_or_user: str | None) -> str | None:
        """Interpret a user id as that user's DM channel for the inspection helpers."""
        if channel_or_user is None:
            return None
        if channel_or_user[:1] in ("U", "W"):
            return self.dm_channel(channel_or_user)
        return channel_or_user

    def _resolve_channel(self, channel: Any) -> str | None:
        """Map a chat.* ``channel`` argument to a conversation id, as Slack does for user ids (their DM)."""
        if not isinstance(channel, str) or not _ID_RE.match(channel):
            return None
        if channel[0] in ("U", "W"):
            return self.dm_channel(channel)
        if channel[0] in ("C", "G", "D"):
            return channel
        return None

    def _find_message(self, channel: str, ts: str) -> Message | None:
        """Look a stored message up by (channel, ts), as chat.update and response URLs do."""
        for message in self._messages:
            if message.channel == channel and message.ts == ts:
                return message
        return None

    def _invalid(self, method: str, problems: list[str], error: str = "invalid_blocks") -> _ApiError:
        """Record Block Kit violations and build Slack's ``invalid_blocks`` answer for them."""
        self.violations.extend(f"{method}: {p}" for p in problems)
        messages = [f"[ERROR] {p}" for p in problems]
        return _ApiError(error, errors=list(problems), response_metadata={"messages": messages})

    def _check_message(self, method: str, payload: Mapping[str, Any]) -> None:
        """Validate a message payload, answering msg_too_long when length is the only problem."""
        problems = validate_message(payload)
        if problems:
            only_length = all(p.startswith("text:") for p in problems)
            raise self._invalid(method, problems, "msg_too_long" if only_length else "invalid_blocks")

    def _bot_message(self, channel: str, args: Mapping[str, Any], ts: str) -> Message:
        """A stored message as posted by this bot, with Slack-filled ids in its blocks."""
        return Message(
            channel=channel,
            ts=ts,
            text=_text_arg(args),
            blocks=_normalize_blocks(args.get("blocks") or []),
            thread_ts=_str_or_none(args.get("thread_ts")),
            user=self.bot_user_id,
            bot_id=self.bot_id,
            app_id=self.app_id,
            team=self.team_id,
            attachments=copy.deepcopy(args.get("attachments") or []),
            metadata=copy.deepcopy(args.get("metadata")) if isinstance(args.get("metadata"), dict) else None,
        )

    def _serve_api(self, method: str, args: dict[str, Any], token: str | None) -> _Reply:
        """Answer one Web API call (faults already handled) under the state lock."""
        with self._lock:
            handler = self._methods.get(method)
            if handler is None:
                return _Reply.json({"ok": False, "error": "unknown_method", "req_method": method})
            if self.token is not None:
                if not token:
                    return _Reply.json({"ok": False, "error": "not_authed"})
                if token != self.token and not any(e["token"] == token for e in self._executions.values()):
                    return _Reply.json({"ok": False, "error": "invalid_auth"})
            if method.startswith("functions.complete"):
                args = {**args, "_token": token}
            if method == "chat.postMessage":
                wait = self._rate_wait(str(args.get("channel") or ""))
                if wait > 0:
                    self.rate_limited += 1
                    return _Reply.json(
                        {"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(max(1, math.ceil(wait)))}
                    )
            try:
                payload = handler(args)
            except _ApiError as exc:
                payload = exc.payload
            self._touch()
            return _Reply.json(payload)

    # --- Web API methods -------------------------------------------------------------------------------
    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        """Identity of the bot token; bots call this at start-up to learn their own user id."""
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        """Post to a channel or a user's DM, after Slack's argument and Block Kit checks."""
        channel = self._resolve_channel(args.get("channel"))
        if channel is None:
            raise _ApiError("channel_not_found")
        if not _has_content(args):
            raise _ApiError("no_text")
        self._check_message("chat.postMessage", args)
        message = self._bot_message(channel, args, self._next_ts())
        self._messages.append(message)
        api_message = message.as_dict()
        api_message.pop("channel")
        return {"ok": True, "channel": channel, "ts": message.ts, "message": api_message}

    def _locate(self, args: Mapping[str, Any]) -> Message:
        """Find the message a chat.update/delete names; Slack wants the DM's D… id, not the user id."""
        channel = args.get("channel")
        if not isinstance(channel, str) or not channel or channel[0] in ("U", "W"):
            raise _ApiError("channel_not_found")
        ts = args.get("ts")
        if not isinstance(ts, str) or not ts:
            raise _ApiError("message_not_found")
        message = self._find_message(channel, ts)
        if message is None:
            raise _ApiError("message_not_found")
        return message

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Replace text/blocks/attachments given, keep those omitted (Slack's merge rule)."""
        message = self._locate(args)
        merged = {
            "text": _text_arg(args) if args.get("text") is not None else message.text,
            "blocks": args["blocks"] if args.get("blocks") is not None else message.blocks,
            "attachments": (args["attachments"] if args.get("attachments") is not None else message.attachments),
        }
        if not _has_content(merged):
            raise _ApiError("no_text")
        self._check_message("chat.update", merged)
        message.text = merged["text"]
        message.blocks = _normalize_blocks(merged["blocks"])
        message.attachments = copy.deepcopy(merged["attachments"])
        if isinstance(args.get("metadata"), dict):
            message.metadata = copy.deepcopy(args["metadata"])
        message.edited = {"user": self.bot_user_id, "ts": self._next_ts()}
        api_message = message.as_dict()
        api_message.pop("channel")
        return {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": api_message,
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        """Record an only-you-can-see message for ``user``."""
        channel = self._resolve_channel(args.get("channel"))
        if channel is None:
            raise _ApiError("channel_not_found")
        user = args.get("user")
        if not isinstance(user, str) or not user:
            raise _ApiError("user_not_found")
        if not _has_content(args):
            raise _ApiError("no_text")
        self._check_message("chat.postEphemeral", args)
        ts = self._next_ts()
        self._ephemerals.append(
            {
                "via": "chat.postEphemeral",
                "user": user,
                "channel": channel,
                "message_ts": ts,
                "text": _text_arg(args),
                "blocks": _normalize_blocks(args.get("blocks") or []),
                "attachments": copy.deepcopy(args.get("attachments") or []),
                "thread_ts": _str_or_none(args.get("thread_ts")),
            }
        )
        return {"ok": True, "message_ts": ts}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        """Remove a stored message."""
        message = self._locate(args)
        self._messages.remove(message)
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        """Slack's archive link for a stored message."""
        message = self._locate({"channel": args.get("channel"), "ts": args.get("message_ts")})
        archive = f"https://{self.team_domain}.slack.com/archives/{message.channel}"
        link = f"{archive}/p{message.ts.replace('.', '')}"
        return {"ok": True, "channel": message.channel, "permalink": link}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest-first messages of a conversation, bounded by oldest/latest; metadata on request."""
        channel = str(args.get("channel") or "")
        if not channel:
            raise _ApiError("channel_not_found")
        channel = self._resolve_channel(channel)
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        limit = max(1, min(int(args.get("limit") or 100), 999))
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [m for m in self._messages if m.channel == channel and oldest <= float(m.ts) <= latest]
        found.sort(key=lambda m: float(m.ts), reverse=True)
        out = []
        for message in found[:limit]:
            item = message.as_dict()
            item.pop("channel", None)
            if not with_metadata:
                item.pop("metadata", None)
            out.append(item)
        return {"ok": True, "messages": out, "has_more": len(found) > limit}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """Open (or re-open) a DM or group DM; a single user maps to the same D… id as posts."""
        channel = args.get("channel")
        if isinstance(channel, str) and channel:
            return {"ok": True, "channel": {"id": channel}}
        users = args.get("users")
        ids = [u.strip() for u in users.split(",")] if isinstance(users, str) else list(users or [])
        ids = [u for u in ids if u]
        if not ids:
            raise _ApiError("users_list_not_supplied")
        if len(ids) == 1:
            conv_id = self.dm_channel(ids[0])
            extra: dict[str, Any] = {"is_im": True, "user": ids[0]}
        else:
            digest = hashlib.sha1(",".join(sorted(ids)).encode()).hexdigest()[:10].upper()
            conv_id = f"G{digest}"
            extra = {"is_mpim": True}
        already = conv_id in self._opened
        self._opened.add(conv_id)
        result: dict[str, Any] = {"ok": True, "channel": {"id": conv_id, **extra}}
        if already:
            result.update({"no_op": True, "already_open": True})
        return result

    def _full_view(
        self, view: Mapping[str, Any], *, view_id: str, root_view_id: str | None, previous_view_id: str | None
    ) -> dict[str, Any]:
        """The view object Slack returns: the app's fields plus id, hash, state and stack links."""
        out = copy.deepcopy(dict(view))
        out.update(
            {
                "id": view_id,
                "team_id": self.team_id,
                "type": view.get("type"),
                "blocks": _normalize_blocks(view.get("blocks") or []),
                "private_metadata": view.get("private_metadata") or "",
                "callback_id": view.get("callback_id") or "",
                "state": {"values": {}},
                "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
                "clear_on_close": bool(view.get("clear_on_close", False)),
                "notify_on_close": bool(view.get("notify_on_close", False)),
                "close": copy.deepcopy(view.get("close")),
                "submit": copy.deepcopy(view.get("submit")),
                "previous_view_id": previous_view_id,
                "root_view_id": root_view_id or view_id,
                "app_id": self.app_id,
                "external_id": view.get("external_id") or "",
                "app_installed_team_id": self.team_id,
                "bot_id": self.bot_id,
            }
        )
        return out

    def _view_arg(self, method: str, args: Mapping[str, Any], kind: str) -> dict[str, Any]:
        """Fetch and validate the ``view`` argument, requiring the surface the method serves."""
        view = args.get("view")
        if view is None:
            raise _invalid_arguments("missing required field: view")
        if not isinstance(view, dict):
            raise _invalid_arguments("view must be an object")
        problems = validate_view(view)
        if view.get("type") in ("modal", "home") and view.get("type") != kind:
            problems.append(f"type: {method} needs a {kind} view (got {view.get('type')!r})")
        if problems:
            raise self._invalid(method, problems)
        return view

    def _take_trigger(self, args: Mapping[str, Any]) -> _Trigger:
        """Check a trigger_id is known, unused and younger than 3 seconds; return it."""
        trigger_id = args.get("trigger_id")
        if not isinstance(trigger_id, str) or not trigger_id:
            raise _invalid_arguments("missing required field: trigger_id")
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise _ApiError("invalid_trigger_id")
        if trigger.used:
            raise _ApiError("exchanged_trigger_id")
        if _monotonic() - trigger.issued_at > TRIGGER_TTL_SECONDS:
            raise _ApiError("expired_trigger_id")
        return trigger

    def _claim_external_id(self, view: Mapping[str, Any], view_id: str) -> None:
        """external_id must be unique per workspace; refuse it when another view holds it."""
        external_id = view.get("external_id")
        if external_id:
            owner = self._external_ids.get(external_id)
            if owner is not None and owner != view_id:
                raise _ApiError("duplicate_external_id")

    def _store_view(self, view: dict[str, Any], user_id: str | None, kind: str) -> None:
        """Save a view's latest state and index its external_id."""
        for stale in [k for k, v in self._external_ids.items() if v == view["id"]]:
            del self._external_ids[stale]
        external_id = view.get("external_id")
        if external_id:
            self._external_ids[external_id] = view["id"]
        touched = self._next_number()
        self._views[view["id"]] = _ViewRecord(view=view, user_id=user_id, kind=kind, touched=touched)

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """Open a modal for the trigger's user; the view stack restarts with it."""
        trigger = self._take_trigger(args)
        view = self._view_arg("views.open", args, "modal")
        view_id = self._new_id("V")
        self._claim_external_id(view, view_id)
        full = self._full_view(view, view_id=view_id, root_view_id=None, previous_view_id=None)
        trigger.used = True
        self._store_view(full, trigger.user_id, "modal")
        self._stacks[trigger.user_id] = [view_id]
        return {"ok": True, "view": copy.deepcopy(full)}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        """Push onto the user's modal stack, at most three deep."""
        trigger = self._take_trigger(args)
        view = self._view_arg("views.push", args, "modal")
        stack = [v for v in self._stacks.get(trigger.user_id, []) if v in self._views]
        if len(stack) >= MAX_VIEW_STACK:
            raise _ApiError("push_limit_reached")
        view_id = self._new_id("V")
        self._claim_external_id(view, view_id)
        full = self._full_view(
            view,
            view_id=view_id,
            root_view_id=stack[0] if stack else None,
            previous_view_id=stack[-1] if stack else None,
        )
        trigger.used = True
        self._store_view(full, trigger.user_id, "modal")
        self._stacks[trigger.user_id] = [*stack, view_id]
        return {"ok": True, "view": copy.deepcopy(full)}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Replace a view found by id or external_id, honouring an optional hash check."""
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if not view_id and not external_id:
            raise _invalid_arguments("view_id or external_id is required")
        if not view_id:
            view_id = self._external_ids.get(str(external_id))
        record = self._views.get(str(view_id)) if view_id else None
        if record is None:
            raise _ApiError("not_found")
        expected_hash = args.get("hash")
        if expected_hash and expected_hash != record.view.get("hash"):
            raise _ApiError("hash_conflict")
        view = self._view_arg("views.update", args, record.kind)
        if not view.get("external_id") and record.view.get("external_id"):
            view = {**view, "external_id": record.view["external_id"]}
        self._claim_external_id(view, record.view["id"])
        full = self._full_view(
            view,
            view_id=record.view["id"],
            root_view_id=record.view.get("root_view_id"),
            previous_view_id=record.view.get("previous_view_id"),
        )
        self._store_view(full, record.user_id, record.kind)
        return {"ok": True, "view": copy.deepcopy(full)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        """Publish a Home tab for a user; its id is stable across publishes."""
        user_id = args.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise _invalid_arguments("missing required field: user_id")
        existing_id = self._homes.get(user_id)
        expected_hash = args.get("hash")
        if expected_hash and existing_id and expected_hash != self._views[existing_id].view.get("hash"):
            raise _ApiError("hash_conflict")
        view = self._view_arg("views.publish", args, "home")
        view_id = existing_id or self._new_id("V")
        self._claim_external_id(view, view_id)
        full = self._full_view(view, view_id=view_id, root_view_id=None, previous_view_id=None)
        self._store_view(full, user_id, "home")
        self._homes[user_id] = view_id
        return {"ok": True, "view": copy.deepcopy(full)}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """A user from the directory, or user_not_found."""
        user = self._users.get(str(args.get("user") or ""))
        if user is None:
            raise _ApiError("user_not_found")
        return {"ok": True, "user": copy.deepcopy(user)}

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        """Case-insensitive email lookup; Slack's error here is users_not_found."""
        wanted = str(args.get("email") or "").strip().lower()
        for user in self._users.values():
            if wanted and str(user["profile"].get("email", "")).lower() == wanted:
                return {"ok": True, "user": copy.deepcopy(user)}
        raise _ApiError("users_not_found")

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """A file's object (name, size, filetype, url_private …); ``file_not_found`` for an unknown id."""
        found = self._files.get(str(args.get("file") or ""))
        if found is None:
            raise _ApiError("file_not_found")
        return {"ok": True, "file": copy.deepcopy(found), "comments": [], "response_metadata": {"next_cursor": ""}}

    def _serve_private_file(self, name: str, token: str | None) -> _Reply:
        """GET url_private: the bytes with the bot token as a bearer, else Slack's login page (HTTP 302)."""
        file_id = name.split("/", 1)[0].split("-", 1)[-1]
        with self._lock:
            data = self._file_data.get(file_id)
            self.file_downloads.append({"file_id": file_id, "token": token})
        if self.token is not None and token != self.token:
            return _Reply(302, b"", "text/html", {"Location": f"https://{self.team_domain}.slack.com/?redir=%2F"}, {})
        if data is None:
            return _Reply.text("file_not_found", 404, {"ok": False, "error": "file_not_found"})
        return _Reply(200, data, "application/octet-stream", {}, {"ok": True, "length": len(data)})

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        """Start an upload: a file id and an upload URL served by this fake."""
        filename = args.get("filename")
        try:
            length = int(args.get("length"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            length = -1
        if not filename or length < 0:
            raise _invalid_arguments("filename and length are required")
        file_id = self._new_id("F")
        self._uploads[file_id] = Upload(
            file_id=file_id, filename=str(filename), length=length, alt_txt=_str_or_none(args.get("alt_txt"))
        )
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        """Finish uploads whose bytes arrived and share them to a channel as a message."""
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise _invalid_arguments("files is required")
        uploads: list[tuple[Upload, str | None]] = []
        for entry in files:
            upload = self._uploads.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if upload is None or upload.data is None:
                raise _ApiError("file_not_found")
            uploads.append((upload, _str_or_none(entry.get("title"))))
        channel_arg = args.get("channel_id") or (str(args.get("channels") or "").split(",")[0] or None)
        channel = self._resolve_channel(channel_arg) if channel_arg else None
        if channel_arg and channel is None:
            raise _ApiError("channel_not_found")
        described = []
        for upload, title in uploads:
            upload.title = title or upload.filename
            upload.completed = True
            upload.channel_id = channel
            upload.initial_comment = _str_or_none(args.get("initial_comment"))
            upload.thread_ts = _str_or_none(args.get("thread_ts"))
            described.append(
                {
                    "id": upload.file_id,
                    "title": upload.title,
                    "name": upload.filename,
                    "size": len(upload.data or b""),
                }
            )
        if channel is not None:
            share = self._bot_message(
                channel,
                {"text": args.get("initial_comment") or "", "thread_ts": args.get("thread_ts")},
                self._next_ts(),
            )
            share.files = copy.deepcopy(described)
            self._messages.append(share)
        return {"ok": True, "files": described}

    # --- response_url and upload endpoints -------------------------------------------------------------
    def _serve_response_url(self, token: str, payload: Any) -> _Reply:
        """Handle one response_url POST under the lock."""
        with self._lock:
            try:
                return self._response_url_post(token, payload)
            finally:
                self._touch()

    def _response_url_post(self, token: str, payload: Any) -> _Reply:
        """Slack's response_url rules: delete/replace the bound message, post in_channel, else ephemeral."""
        binding = self._response_urls.get(token)
        if binding is None:
            return _Reply.text("expired_url", 404, {"ok": False, "error": "expired_url"})
        binding.uses += 1
        if binding.uses > RESPONSE_URL_MAX_USES:
            return _Reply.text("used_url", 404, {"ok": False, "error": "used_url"})
        if not isinstance(payload, dict):
            return _Reply.text("invalid_payload", 400, {"ok": False, "error": "invalid_payload"})
        original = self._find_message(binding.channel, binding.ts) if binding.channel and binding.ts else None
        if _truthy(payload.get("delete_original")):
            if original is not None:
                self._messages.remove(original)
            return _Reply.text("ok", 200, {"ok": True})
        if not _has_content(payload):
            return _Reply.text("no_text", 400, {"ok": False, "error": "no_text"})
        problems = validate_message(payload)
        if problems:
            error = self._invalid("response_url", problems).payload
            return _Reply.text("invalid_blocks", 400, error)
        replace = _truthy(payload.get("replace_original"))
        if replace and original is not None:
            original.text = _text_arg(payload)
            original.blocks = _normalize_blocks(payload.get("blocks") or [])
            original.attachments = copy.deepcopy(payload.get("attachments") or [])
            original.edited = {"user": self.bot_user_id, "ts": self._next_ts()}
            return _Reply.text("ok", 200, {"ok": True})
        if payload.get("response_type") == "in_channel" and binding.channel and not replace:
            self._messages.append(self._bot_message(binding.channel, payload, self._next_ts()))
            return _Reply.text("ok", 200, {"ok": True})
        self._ephemerals.append(
            {
                "via": "response_url",
                "user": binding.user_id,
                "channel": binding.channel,
                "message_ts": self._next_ts(),
                "text": _text_arg(payload),
                "blocks": _normalize_blocks(payload.get("blocks") or []),
                "attachments": copy.deepcopy(payload.get("attachments") or []),
                "thread_ts": _str_or_none(payload.get("thread_ts")),
                "response_type": payload.get("response_type"),
                "replace_original": replace,
            }
        )
        return _Reply.text("ok", 200, {"ok": True})

    def _serve_upload(self, file_id: str, data: bytes) -> _Reply:
        """Receive the bytes for an upload URL."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                return _Reply.text("file_not_found", 404, {"ok": False, "error": "file_not_found"})
            upload.data = bytes(data)
            self._touch()
            return _Reply.text(f"OK - {len(data)}", 200, {"ok": True, "file_id": file_id, "size": len(data)})


def _fault_reply(fault: _Fault) -> _Reply:
    """The HTTP answer a scripted failure produces (see ``FakeSlack.fail``)."""
    if fault.retry_after is not None or fault.status == 429:
        retry_after = fault.retry_after if fault.retry_after is not None else 1
        return _Reply.json({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(retry_after)})
    if fault.status != 200:
        if fault.error is not None:
            return _Reply.json({"ok": False, "error": fault.error}, fault.status)
        try:
            phrase = HTTPStatus(fault.status).phrase
        except ValueError:
            phrase = "Error"
        return _Reply.text(
            f"{fault.status} {phrase}",
            fault.status,
            {"ok": False, "error": f"http_{fault.status}", "body": f"{fault.status} {phrase}"},
        )
    return _Reply.json({"ok": False, "error": fault.error})


def _normalize_blocks(blocks: Any) -> list[dict[str, Any]]:
    """Copy blocks, giving every block a block_id and every interactive element an action_id, as Slack does.

    Slack invents these when the app leaves them out; interaction payloads always carry them. Ours are
    derived from position so they stay stable across updates of the same layout.
    """
    if not isinstance(blocks, list):
        return []
    out = copy.deepcopy(blocks)
    taken = {b.get("block_id") for b in out if isinstance(b, dict) and b.get("block_id")}
    for index, block in enumerate(out):
        if not isinstance(block, dict):
            continue
        if not block.get("block_id"):
            candidate = _short_hash(f"block:{index}:{block.get('type')}")
            while candidate in taken:
                candidate = _short_hash(candidate)
            taken.add(candidate)
            block["block_id"] = candidate
        elements: list[Any] = []
        if isinstance(block.get("elements"), list) and block.get("type") == "actions":
            elements = block["elements"]
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                elements.append(block[key])
        for position, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") != "image" and not element.get("action_id"):
                element["action_id"] = _short_hash(f"action:{block['block_id']}:{position}")
    return out


def _short_hash(seed: str) -> str:
    """Five base-62 characters derived from ``seed``: short, stable ids like Slack's generated ones."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    number = int.from_bytes(hashlib.sha1(seed.encode()).digest()[:6], "big")
    chars = []
    for _ in range(5):
        number, rem = divmod(number, len(alphabet))
        chars.append(alphabet[rem])
    return "".join(chars)


def _has_content(payload: Mapping[str, Any]) -> bool:
    """Slack refuses messages with neither text, blocks nor attachments (no_text)."""
    text = payload.get("text")
    blocks = payload.get("blocks")
    attachments = payload.get("attachments")
    return bool(
        (isinstance(text, str) and text)
        or (isinstance(blocks, list) and blocks)
        or (isinstance(attachments, list) and attachments)
    )


def _text_arg(payload: Mapping[str, Any]) -> str:
    """The message text, or an empty string when absent or not a string."""
    text = payload.get("text")
    return text if isinstance(text, str) else ""


def _str_or_none(value: Any) -> str | None:
    """Normalise optional string arguments: empty and non-strings count as absent."""
    return value if isinstance(value, str) and value else None


def _truthy(value: Any) -> bool:
    """Form-encoded booleans arrive as strings; JSON ones as booleans."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _parse_args(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    """Merge query string and body (form, JSON or multipart) into one dict, decoding JSON-string fields."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json":
        data = json.loads(body.decode("utf-8") or "{}")
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        args.update(data)
    elif media == "multipart/form-data":
        parser = email.parser.BytesParser(policy=email.policy.HTTP)
        message = parser.parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True) or b""
            args[str(name)] = payload if part.get_filename() else payload.decode("utf-8", "replace")
    elif body:
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for key in _JSON_FIELDS:
        value = args.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            with contextlib.suppress(json.JSONDecodeError):
                args[key] = json.loads(value)
    return args


class _Server(ThreadingHTTPServer):
    """Threaded HTTP server whose request threads never block shutdown."""

    daemon_threads = True
    block_on_close = False
    fake: FakeSlack

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients that time out and hang up are part of what this server is for."""


class _Handler(BaseHTTPRequestHandler):
    """Routes /api/<method>, /response/<token> and /upload/<file_id> to the fake."""

    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by the stdlib
        """Silence per-request logging to stderr."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        """Slack accepts GET with a query string for read methods."""
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        """The normal way WebClient, WebhookClient and uploads call."""
        self._dispatch()

    def _dispatch(self) -> None:
        """Parse, apply faults, answer, record; a bug in the fake becomes a 500 and a violation."""
        fake = self.server.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        segments = [s for s in parts.path.split("/") if s]
        kind = segments[0] if segments else ""
        name = "/".join(segments[1:])
        method, args, token = "unknown", {}, None
        try:
            if kind == "api" and name:
                method = name
                try:
                    args = _parse_args(self.headers.get("Content-Type", ""), body, parts.query)
                except (ValueError, UnicodeDecodeError):
                    reply = _Reply.json({"ok": False, "error": "invalid_json"})
                    fake._record(method, {"raw": body.decode("utf-8", "replace")}, None, reply)
                    self._send(reply)
                    return
                token = _bearer(self.headers.get("Authorization")) or _str_or_none(args.pop("token", None))
                reply = self._with_faults(method, lambda: fake._serve_api(method, args, token))
            elif kind == "response" and name and self.command == "POST":
                method = "response_url"
                try:
                    args = json.loads(body.decode("utf-8") or "null")
                except (ValueError, UnicodeDecodeError):
                    args = {"raw": body.decode("utf-8", "replace")}
                reply = self._with_faults(method, lambda: fake._serve_response_url(name, args))
                if not isinstance(args, dict):
                    args = {"raw": args}
            elif kind == "files-pri" and name and self.command == "GET":
                method = "url_private"
                token = _bearer(self.headers.get("Authorization"))
                args = {"path": name}
                reply = self._with_faults(method, lambda: fake._serve_private_file(name, token))
            elif kind == "upload" and name and self.command == "POST":
                method = "upload"
                args = {"file_id": name, "length": len(body)}
                reply = self._with_faults(method, lambda: fake._serve_upload(name, body))
            else:
                reply = _Reply.text("not found", 404, {"ok": False, "error": "not_found", "path": parts.path})
        except Exception as exc:  # a bug in the fake must surface in the test, not hang the bot
            detail = "".join(traceback.format_exception(exc))
            reply = _Reply.json({"ok": False, "error": "fake_internal_error", "detail": detail}, 500)
            with fake._lock:
                fake.violations.append(f"{method}: fake_internal_error: {exc!r}")
        fake._record(method, args if isinstance(args, dict) else {"raw": args}, token, reply)
        self._send(reply)

    def _with_faults(self, method: str, serve: Callable[[], _Reply]) -> _Reply:
        """Apply the next scripted fault for ``method`` (sleeping outside the lock), or serve normally."""
        fault = self.server.fake._take_fault(method)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.fails:
            return _fault_reply(fault)
        return serve()

    def _send(self, reply: _Reply) -> None:
        """Write the answer; a client that already gave up (timeout) is not an error here."""
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Connection", "close")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        self.close_connection = True


def _bearer(header: str | None) -> str | None:
    """The token from ``Authorization: Bearer …``, which is how WebClient sends it."""
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None
