"""The playground's workspace: refbot, the project's Slack fake, the demo's people and a clock that can move.

`Workspace` starts the real bot (the same `HttpServer` and `create_app` as `refbot serve`) against the
Slack fake on loopback, seeds the demo's customers, and then does for the web page what a Slack client
does for a person: every command, click, pick and submission goes to refbot as the signed request Slack
would send (`slackfake.client.SignedClient`), and what the bot did comes back from the fake's store as it
stands now (messages updated in place, ephemerals, modals, App Homes). The page never decides anything.

Time: the whole process reads a `models.clock.ShiftedClock` while the workspace runs, so "advance by a
week" moves the bot's notion of now, and the scheduled jobs run at that time, as the scheduler would.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot import demo, migrate
from bot.app import Refbot, create_app
from bot.jobs import JOBS, run_job
from bot.server import HttpServer
from bot.settings import Settings
from models import Customer
from models.clock import ShiftedClock, running_on
from models.db import Database, DatabaseUnavailable
from slackfake.client import Response, SignedClient, build_state_values
from slackfake.server import FakeSlack

log = logging.getLogger(__name__)

COMMAND = "/reference"
DIGEST_CHANNEL = "C0REFPROGRAM"
SALES_CHANNEL = "C0SALES"
# Public channels everyone is in: the digest's, and one where reps ask each other (for shadow capture).
CHANNELS = {DIGEST_CHANNEL: "reference-program", SALES_CHANNEL: "sales"}
BOT_TIMEZONE = "Europe/London"
# Each person sees `<!date^…>` in their own zone, as in Slack.
TIME_ZONES = {
    demo.REP: "America/New_York",
    demo.MANAGER: "Europe/London",
    demo.OWNER: "Europe/Berlin",
    demo.OTHER_OWNER: "Asia/Singapore",
}
READ_ONLY_DM = "Sending messages to this app has been turned off."
"""What Slack says in an app's Messages tab when the app made it read-only (manifest.yml does)."""


class PlaygroundError(Exception):
    """Something the person at the page should be told, in one sentence."""


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    role: str
    tz: str


@dataclass
class Item:
    """One message in a conversation as a person sees it: a posted message or an ephemeral one."""

    key: str
    ts: str
    payload: dict[str, Any]
    ephemeral: bool = False
    sender: str = "refbot"
    app: bool = True


@dataclass
class _EphemeralClick:
    user: str
    channel: str
    key: str
    at: float


@dataclass
class _Local:
    """An ephemeral the Slack client itself shows: a command's acknowledgement or Slack's own refusal."""

    user: str
    channel: str
    ts: str
    payload: dict[str, Any]
    sender: str = "refbot"


@dataclass
class Workspace:
    """refbot + the Slack fake + the people, on loopback; `start()` before use, `stop()` after."""

    database_url: str | None = None
    people: list[Person] = field(default_factory=list)
    clock: ShiftedClock = field(default_factory=ShiftedClock)
    fake: FakeSlack = field(init=False)
    settings: Settings = field(init=False)
    db: Database = field(init=False)
    customers_seeded: int = 0

    def __post_init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._lock = threading.RLock()
        self._closed_views: set[str] = set()
        self._local: list[_Local] = []
        self._clicks: list[_EphemeralClick] = []
        self._posted_offset: dict[str, timedelta] = {}
        self._bot: Refbot | None = None

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> Workspace:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._stack.enter_context(running_on(self.clock))
        self.fake = FakeSlack(token=demo.BOT_TOKEN).start()
        self._stack.callback(self.fake.stop)
        demo.add_people(self.fake, TIME_ZONES)
        self.people = [Person(uid, name, role, TIME_ZONES.get(uid, "UTC")) for uid, name, role in demo.PEOPLE]
        url = self.database_url
        if url is None:
            folder = Path(tempfile.mkdtemp(prefix="refbot-playground-"))
            self._stack.callback(shutil.rmtree, folder, ignore_errors=True)
            url = f"sqlite:///{folder / 'playground.db'}"
        self.db = Database(url)
        self._stack.callback(self.db.dispose)
        self._prepare_database()
        signing_secret = secrets.token_hex(16)
        self.settings = Settings(
            slack_bot_token=demo.BOT_TOKEN,
            slack_signing_secret=signing_secret,
            slack_api_url=self.fake.url,
            database_url=url,
            managers=(demo.MANAGER,),
            digest_channel=DIGEST_CHANNEL,
            timezone=BOT_TIMEZONE,
            outbox_poll_seconds=0.3,
            slack_timeout_seconds=5,
            run_scheduler=False,  # the page's buttons run the jobs, at the playground's time
            rate_per_channel=50.0,
            rate_global=100.0,
        )
        self._bot = create_app(self.settings, db=self.db)
        server = HttpServer(self._bot, host="127.0.0.1", port=0, threads=6).start_background()
        self._stack.callback(server.stop)
        self.slack = SignedClient(f"{server.url}/slack/events", signing_secret, fake=self.fake)

    def _prepare_database(self) -> None:
        """Bring the schema up (SQLite) or insist it is current; seed the demo's customers into an empty one."""
        try:
            self.db.check()
        except DatabaseUnavailable as exc:
            raise PlaygroundError(str(exc)) from None
        if self.db.url.startswith("sqlite"):
            migrate.upgrade(self.db.engine)
        elif not migrate.is_current(self.db.engine):
            raise PlaygroundError(
                f"the database schema is at revision {migrate.current_revision(self.db.engine) or 'none'}, "
                f"not {migrate.head_revision(self.db.engine)}: run `refbot db upgrade` against it first."
            )
        with self.db.reading() as session:
            existing = session.scalar(select(func.count()).select_from(Customer)) or 0
            owners = sorted(
                {o for o in session.scalars(select(Customer.owner_slack_id).distinct()) if o}
                - {uid for uid, _, _ in demo.PEOPLE}
            )
        if not existing:
            self.customers_seeded = len(demo.seed(self.db, self.clock.now()))
        for owner in owners:  # an existing database's owners: people of this workspace too
            self.fake.add_user(owner, owner, real_name=owner)
            self.people.append(Person(owner, owner, "account owner", "UTC"))

    def stop(self) -> None:
        self._stack.close()

    # --- who sees what -----------------------------------------------------------------------------------
    def person(self, user_id: str) -> Person:
        for person in self.people:
            if person.user_id == user_id:
                return person
        raise PlaygroundError(f"there is nobody called {user_id} in this workspace")

    def names(self) -> dict[str, str]:
        return self.fake.user_names()

    def dm(self, user_id: str) -> str:
        return self.fake.dm_channel(user_id)

    def dm_count(self, user_id: str) -> int:
        """How many messages refbot's DM with `user_id` holds (the page turns new ones into an unread badge)."""
        return len(self.fake.messages(self.dm(user_id)))

    def conversation(self, user_id: str, channel: str) -> list[Item]:
        """What `user_id` sees in `channel`, oldest first: posts, then their ephemerals in place."""
        with self._lock:
            items: dict[str, Item] = {}
            names = self.names()
            for message in self.fake.messages(channel):
                key = f"m-{message.ts}"
                if message.bot_id:
                    items[key] = Item(key, message.ts, message.as_dict())
                else:  # a person's message
                    sender = names.get(str(message.user), str(message.user))
                    items[key] = Item(key, message.ts, message.as_dict(), sender=sender, app=False)
            ephemerals = [e for e in self.fake.ephemerals(user_id) if e.get("channel") == channel]
            for entry in sorted(ephemerals, key=lambda e: float(e["message_ts"])):
                target = self._replaced_by(entry, user_id, channel, items) if entry.get("replace_original") else None
                if target is not None:
                    items[target] = Item(target, items[target].ts, entry, ephemeral=True)
                else:
                    key = f"e-{entry['message_ts']}"
                    items[key] = Item(key, str(entry["message_ts"]), entry, ephemeral=True)
            for local in self._local:
                if local.user == user_id and local.channel == channel:
                    key = f"l-{local.ts}"
                    items[key] = Item(key, local.ts, local.payload, True, local.sender, local.sender == "refbot")
        return sorted(items.values(), key=lambda item: float(item.ts))

    def _replaced_by(self, entry: Mapping[str, Any], user: str, channel: str, items: dict[str, Item]) -> str | None:
        """The ephemeral a `replace_original` response_url post replaces: the one this person last clicked."""
        at = float(entry["message_ts"])
        clicked = [c for c in self._clicks if c.user == user and c.channel == channel and c.at <= at]
        for click in reversed(clicked):
            if click.key in items:
                return click.key
        return None

    def posted_at(self, ts: str) -> datetime:
        """When a message was posted on the playground's clock (the clock's offset when it first appeared)."""
        offset = self._posted_offset.setdefault(ts, self.clock.offset)
        return datetime.fromtimestamp(float(ts), UTC) + offset

    def modal(self, user_id: str) -> dict[str, Any] | None:
        """The modal open in front of `user_id`, if any."""
        try:
            view = self.fake.last_view(user_id)
        except AssertionError:
            return None
        return None if view["id"] in self._closed_views else view

    def home(self, user_id: str) -> dict[str, Any] | None:
        return self.fake.home(user_id)

    def file(self, file_id: str) -> bytes | None:
        for upload in self.fake.uploads():
            if upload.file_id == file_id:
                return upload.data
        return None

    def violations(self) -> list[str]:
        return list(self.fake.violations)

    # --- what a person does ------------------------------------------------------------------------------
    def send(self, user_id: str, channel: str, text: str) -> None:
        """The composer: a slash command goes to refbot; in refbot's DM nothing else can be sent; in a
        channel a message is posted and refbot gets the `message` event Slack would send it."""
        self.person(user_id)
        text = text.strip()
        if not text:
            return
        if not text.startswith("/"):
            if channel not in CHANNELS:
                raise PlaygroundError(READ_ONLY_DM)
            self._post_in_channel(user_id, channel, text)
            return
        command, _, rest = text.partition(" ")
        if command != COMMAND:
            self._tell(
                user_id,
                channel,
                f"`{command}` is not a valid command. In Slack, all messages that start with the “/” character "
                "are interpreted as commands.",
                sender="Slackbot",
            )
            return
        response = self.slack.command(user_id, rest.strip(), channel_id=channel, command=COMMAND)
        if response.status != 200:
            self._tell(user_id, channel, f'{COMMAND} failed with the error "dispatch_failed"', sender="Slackbot")
            return
        answer = response.json()
        if isinstance(answer, dict) and (answer.get("text") or answer.get("blocks")):
            self._tell_payload(user_id, channel, answer)
        elif response.body.strip() and answer is None:
            self._tell(user_id, channel, response.body.strip())

    def act(self, user_id: str, surface: Mapping[str, Any], action: Mapping[str, Any]) -> None:
        """A click or a pick on a message, an ephemeral, a modal or the App Home, sent as block_actions."""
        self.person(user_id)
        kind = str(surface.get("kind") or "")
        action_id = str(action.get("action_id") or "")
        element = str(action.get("kind") or "button")
        value = action.get("value")
        if kind == "message":
            message = self.fake.message(str(surface.get("channel")), str(surface.get("ts")))
            if message is None:
                raise PlaygroundError("that message is no longer there")
            target: dict[str, Any] = message.as_dict()
            args: dict[str, Any] = {"message": target}
        elif kind == "ephemeral":
            target = self._ephemeral(user_id, str(surface.get("channel")), str(surface.get("key")))
            self._clicks.append(_EphemeralClick(user_id, target["channel"], str(surface.get("key")), time.time()))
            args = {"message": target}
        elif kind in ("modal", "home"):
            view = self.modal(user_id) if kind == "modal" else self.home(user_id)
            if view is None:
                raise PlaygroundError("that view is closed")
            values = action.get("values")
            if kind == "modal" and isinstance(values, Mapping):
                view = {**view, "state": {"values": build_state_values(view, _form_values(view, values))}}
            target = view
            args = {"view": view}
        else:
            raise PlaygroundError(f"unknown surface {kind!r}")
        if element == "button":
            response = self.slack.click(user_id, target, action_id, value=None if value is None else str(value))
        else:
            response = self.slack.block_action(
                user_id,
                action_id,
                value=_pick(element, value),
                block_id=str(action.get("block_id") or "") or None,
                **args,
            )
        _require_ok(response)

    def _post_in_channel(self, user_id: str, channel: str, text: str) -> None:
        message = self.fake.post_as_user(user_id, channel, text)
        event = {
            "type": "message",
            "channel": channel,
            "channel_type": "channel",
            "user": user_id,
            "team": self.fake.team_id,
            "text": text,
            "ts": message.ts,
        }
        _require_ok(self.slack.event(event))

    def _ephemeral(self, user_id: str, channel: str, key: str) -> dict[str, Any]:
        for item in self.conversation(user_id, channel):
            if item.key == key:
                payload = {k: v for k, v in item.payload.items() if k != "ts"}
                payload.setdefault("channel", channel)
                return payload
        raise PlaygroundError("that message is no longer there")

    def submit(self, user_id: str, view_id: str, values: Mapping[str, Any]) -> dict[str, str]:
        """Submit the open modal; {} when Slack would close it, else {block_id: error} to show in it."""
        view = self.modal(user_id)
        if view is None or view["id"] != view_id:
            raise PlaygroundError("that form is closed")
        response = self.slack.view_submission(user_id, view, _form_values(view, values))
        if response.status != 200:
            raise PlaygroundError("We had some trouble connecting. Try again?")
        answer = response.json() or {}
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if action == "errors":
            return {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
        if action == "update" and isinstance(answer.get("view"), dict):
            self.fake.replace_view(view_id, answer["view"])
            return {}
        self._closed_views.add(view_id)
        return {}

    def close(self, user_id: str, view_id: str) -> None:
        """The modal's Close button: it closes. (refbot's modals never set `notify_on_close`, so Slack would
        send nothing; the fake's signed client has no `view_closed` payload to send either.)"""
        view = self.modal(user_id)
        if view is not None and view["id"] == view_id:
            self._closed_views.add(view_id)

    def suggest(self, user_id: str, view_id: str, action_id: str, query: str) -> list[dict[str, str]]:
        """external_select: ask refbot for options as the person types, as Slack does."""
        view = self.modal(user_id)
        if view is None or view["id"] != view_id:
            return []
        response = self.slack.block_suggestion(user_id, action_id, query, view=view)
        answer = response.json() if response.status == 200 else None
        options: list[dict[str, str]] = []
        if isinstance(answer, dict):
            flat = list(answer.get("options") or [])
            for group in answer.get("option_groups") or []:
                flat.extend(group.get("options") or [])
            for option in flat:
                label = str((option.get("text") or {}).get("text") or option.get("value"))
                options.append({"value": str(option.get("value")), "label": label})
        return options

    def open_home(self, user_id: str) -> None:
        """Opening the App Home tab: Slack sends `app_home_opened` every time."""
        self.person(user_id)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.dm(user_id),
            "tab": "home",
        }
        home = self.home(user_id)
        if home is not None:
            event["view"] = home
        _require_ok(self.slack.event(event))

    # --- time ----------------------------------------------------------------------------------------------
    def run_jobs(self) -> list[str]:
        """Every scheduled job, once, at the playground's time (a job already run in this period says so)."""
        now = self.clock.now()
        lines: list[str] = []
        for name in JOBS:
            result = run_job(self.db, self.settings, name, now=now, worker="playground")
            if result.skipped:
                lines.append(f"{name}: {result.skipped}")
            elif result.lines:
                lines.extend(f"{name}: {line}" for line in result.lines)
            else:
                lines.append(f"{name}: nothing due")
        if self._bot is not None:
            self._bot.deps.outbox.kick()
        return lines

    def advance(self, by: timedelta) -> list[str]:
        """Move the clock forward, then run the jobs once, as the scheduler would have meanwhile."""
        with self._lock:
            for message in self.fake.messages():
                self.posted_at(message.ts)
            for entry in self.fake.ephemerals():
                self.posted_at(str(entry["message_ts"]))
            for local in self._local:
                self.posted_at(local.ts)
            self.clock.advance(by)
        return self.run_jobs()

    # --- helpers ---------------------------------------------------------------------------------------
    def _tell(self, user_id: str, channel: str, text: str, *, sender: str = "refbot") -> None:
        self._tell_payload(user_id, channel, {"text": text}, sender=sender)

    def _tell_payload(self, user_id: str, channel: str, payload: Mapping[str, Any], *, sender: str = "refbot") -> None:
        with self._lock:
            ts = f"{time.time():.6f}"
            self._local.append(_Local(user_id, channel, ts, json.loads(json.dumps(dict(payload))), sender))


def _require_ok(response: Response) -> None:
    if response.status != 200:
        raise PlaygroundError(f"refbot did not answer that (HTTP {response.status}); Slack would show a warning")


def _pick(element: str, value: Any) -> Any:
    """A picked value as the signed client takes it (external selects carry their label)."""
    if element in ("external_select",) and isinstance(value, Mapping):
        return (str(value.get("value")), str(value.get("label") or value.get("value")))
    return value


def _form_values(view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The page's form ({"block_id/action_id": value}) as the signed client's values, empties as None."""
    out: dict[str, Any] = {}
    known = {
        f"{b.get('block_id')}/{(b.get('element') or {}).get('action_id')}": str((b.get("element") or {}).get("type"))
        for b in view.get("blocks") or []
        if b.get("type") == "input"
    }
    for key, raw in values.items():
        kind = known.get(key)
        if kind is None:
            continue
        if raw in ("", [], None):
            out[key] = None
        elif kind in ("external_select", "multi_external_select"):
            single = kind == "external_select"
            out[key] = _pick(kind, raw) if single else [_pick("external_select", r) for r in raw]
        else:
            out[key] = raw
    return out
