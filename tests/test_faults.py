"""Faults (SPEC 9): Slack failing every way on every method the bot calls, the database going away, and the
process being stopped — nothing lost, nothing doubled, the user told, and recovery without a restart.

* Slack: 429 + Retry-After, 500/502/503, read timeouts, connection refused, `invalid_auth` and `ratelimited`
  bodies, on views.open (after a command and a button), chat.update, views.publish, files upload v2,
  conversations.open/history (the outbox's did-it-post check), chat.postEphemeral, users.lookupByEmail.
  The bot reaches the Web API through a `Gate` (a forwarding port that can be shut: connection refused).
* Database: unreachable when `serve` starts (retried with backoff, or one sentence and exit 1), connections
  dropped between and during requests, PostgreSQL restarted under a running `serve`, two replicas approving
  the same request at once. Whatever stops or restarts PostgreSQL uses a private throwaway cluster
  (initdb/pg_ctl on its own port), never the machine's shared server.
* Process: SIGTERM answers what is in flight and drains the outbox before exiting; SIGKILL after an
  acknowledged submission loses nothing: the restarted process delivers it, once.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import create_engine, func, text, update
from sqlalchemy import select as sql_select
from sqlalchemy.engine import make_url

from bot import migrate
from bot import requests as rq
from bot.app import Refbot, create_app, make_client
from bot.outbox import OutboxWorker, Rendered, enqueue
from bot.server import HttpServer
from bot.settings import Settings
from bot.views.requests import request_modal
from bot.views.text import section
from handlers.errors import tell_user
from models import AuditEntry, OutboxMessage, ReferenceRequest, ReferenceUse
from models.db import Database
from models.types import utcnow
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, MANAGER_2, OTHER, REP, SIGNING_SECRET, app_settings
from tests.processes import Serve
from tests.processes import refbot as refbot_cli
from tests.test_outbox import rows, submit
from tests.test_request_flow import settle

# -- Slack's ways of failing ---------------------------------------------------------------------------------

# name → FakeSlack.fail() arguments; "refused" shuts the gate instead (nothing listens at SLACK_API_URL).
FAULTS: dict[str, dict[str, Any] | None] = {
    "429": {"status": 429, "retry_after": 1},
    "500": {"status": 500},
    "502": {"status": 502},
    "503": {"status": 503},
    "ratelimited": {"error": "ratelimited"},
    "invalid_auth": {"error": "invalid_auth"},
    "timeout": {"delay": 1.25},  # answered (normally) after the client's 1 s timeout: Slack did act on it
    "refused": None,
}
# Slack's faults do not depend on the database: most of those tests run on SQLite only (the outbox's claims and
# leases on PostgreSQL are tests/test_outbox.py's). The database and process tests below run on both.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

pytestmark = pytest.mark.usefixtures("client_sleeps")  # slack_sdk's retry sleeps recorded, not slept


def calls_per_attempt(client: WebClient, fault: str) -> int:
    """How many HTTP calls one Web API call makes under `fault`: 1 + the client's own retries for it."""
    handler = {
        "429": RateLimitErrorRetryHandler,
        "500": ServerErrorRetryHandler,
        "503": ServerErrorRetryHandler,  # slack_sdk retries 500 and 503, never 502
        "refused": ConnectionErrorRetryHandler,
    }.get(fault)
    if handler is None:
        return 1
    return 1 + sum(h.max_retry_count for h in client.retry_handlers if isinstance(h, handler))


class Gate:
    """SLACK_API_URL as the bot sees it: forwards /api/… to the fake while open; while shut, nothing listens
    on its port (connection refused), as when Slack cannot be reached at all. Reopens on the same port."""

    def __init__(self, fake: FakeSlack) -> None:
        self.target = fake.base_url
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def open(self) -> Gate:
        if self._server is None:
            target = self.target

            class Forward(BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"

                def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                    pass

                def do_GET(self) -> None:  # noqa: N802
                    self.forward()

                def do_POST(self) -> None:  # noqa: N802
                    self.forward()

                def forward(self) -> None:
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    skip = ("host", "content-length", "connection")
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                    data = body if self.command == "POST" else None
                    outbound = urllib.request.Request(target + self.path, data=data, headers=headers)
                    try:
                        with urllib.request.urlopen(outbound, timeout=30) as answer:  # noqa: S310 - loopback
                            status, answer_headers, payload = answer.status, answer.headers, answer.read()
                    except urllib.error.HTTPError as exc:
                        status, answer_headers, payload = exc.code, exc.headers, exc.read()
                    try:
                        self.send_response(status)
                        for key, value in answer_headers.items():
                            if key.lower() not in ("content-length", "connection", "date", "server"):
                                self.send_header(key, value)
                        self.send_header("Content-Length", str(len(payload)))
                        self.send_header("Connection", "close")
                        self.end_headers()
                        self.wfile.write(payload)
                    except OSError:
                        pass  # the bot gave up waiting (a read timeout): nobody to answer
                    self.close_connection = True

            server = ThreadingHTTPServer(("127.0.0.1", self.port), Forward)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            self._server = server
        return self

    def shut(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fail(fake: FakeSlack, gate: Gate, method: str, fault: str, *, client: WebClient, attempts: int = 1) -> None:
    """Make the next `attempts` calls of `method` by `client` fail with `fault` (client retries included)."""
    if FAULTS[fault] is None:
        gate.shut()
    else:
        fake.fail(method, times=attempts * calls_per_attempt(client, fault), **FAULTS[fault])


def recover(gate: Gate, fault: str) -> None:
    """Slack is back: the gate is open, and a late answer to a timed-out call has been given."""
    gate.open()
    if fault == "timeout":
        time.sleep(0.5)  # the fake answers 1.25 s after the call; the client gave up after 1 s


def failed_then_retried(db: Database, worker: OutboxWorker, gate: Gate, fault: str) -> OutboxMessage:
    """A pass whose one row fails (kept pending, with the error), Slack recovering, and the pass that then
    takes the row again; returns the row as that second pass left it."""
    assert worker.deliver_due() == 1
    (row,) = rows(db)
    assert (row.status, row.attempts) == ("pending", 1) and row.last_error
    recover(gate, fault)
    make_due(db)
    assert worker.deliver_due() == 1
    (row,) = rows(db)
    return row


# -- fixtures --------------------------------------------------------------------------------------------------


@pytest.fixture
def gate(fake: FakeSlack) -> Iterator[Gate]:
    opened = Gate(fake).open()
    yield opened
    opened.shut()


@pytest.fixture
def settings(settings: Settings, gate: Gate) -> Settings:
    """The shared settings, with the Web API behind the gate and a 1 s client timeout."""
    return settings.with_overrides(slack_api_url=gate.url, slack_timeout_seconds=1)


def make_due(db: Database) -> None:
    """Let time pass for every pending row (its backoff or Retry-After is over)."""
    with db.transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1), claimed_until=None)
        )


def count(db: Database, model: Any, *where: Any) -> int:
    with db.reading() as session:
        return int(session.scalar(sql_select(func.count()).select_from(model).where(*where)) or 0)


def blob(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def buttons(message: Any, prefix: str) -> list[dict[str, Any]]:
    blocks = message.blocks if hasattr(message, "blocks") else message["blocks"]
    return [
        element
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if str(element.get("action_id", "")).startswith(prefix)
    ]


def told(fake: FakeSlack, user: str) -> list[str]:
    """The ephemeral messages `user` got (through a response_url or chat.postEphemeral)."""
    return [str(e.get("text", "")) + blob(e.get("blocks", [])) for e in fake.ephemerals(user)]


# -- the outbox worker thread: it outlives a database outage, and a stop drains it ---------------------------


def test_worker_thread_survives_failing_passes_backs_off_and_delivers_after(
    db: Database,
    settings: Settings,
    fake: FakeSlack,
    worker: OutboxWorker,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sqlalchemy.exc import OperationalError

    caplog.set_level(logging.INFO, logger="bot.outbox")
    submit(db, settings.with_overrides(managers=()))
    real, failures = worker.deliver_due, [3]

    def deliver_due(limit: int = 50) -> int:
        if failures[0]:
            failures[0] -= 1
            raise OperationalError("SELECT …", {}, Exception("server closed the connection unexpectedly"))
        return real(limit)

    monkeypatch.setattr(worker, "deliver_due", deliver_due)
    worker.poll_seconds = 0.05
    worker.start()
    try:
        fake.wait_for(lambda f: f.messages(REP), timeout=10)
    finally:
        worker.stop()
    failed = [r for r in caplog.records if "outbox delivery pass failed" in r.getMessage()]
    assert len(failed) == 3 and failed[0].exc_info and not any(r.exc_info for r in failed[1:])  # one traceback
    assert any("works again after 3 failed passes" in r.getMessage() for r in caplog.records)
    assert worker._backoff(1) < worker._backoff(2) < worker._backoff(3)  # 0.1, 0.2, 0.4 s: backing off
    assert {r.status for r in rows(db)} == {"sent"} and len(fake.messages(REP)) == 1


def test_stop_delivers_what_is_due_before_the_worker_ends(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker
) -> None:
    worker.poll_seconds = 3600  # it would not look again on its own for an hour
    worker.start()
    submit(db, settings)  # committed, but nobody kicked the worker: only the stop can deliver it
    worker.stop()
    assert {r.status for r in rows(db)} == {"sent"}
    assert [len(fake.messages(u)) for u in (REP, MANAGER, MANAGER_2)] == [1, 1, 1]


# -- Slack: interactive calls (views.open after a slash command or a button) ---------------------------------


def warm_up(slack: SignedClient) -> None:
    """A first request, while Slack is up: Bolt calls auth.test once per process, on the first request."""
    assert slack.command(OTHER, "help").status == 200


@SQLITE_ONLY
def test_first_request_with_slack_unreachable_fails_visibly_then_works_when_slack_is_back(
    slack: SignedClient, fake: FakeSlack, gate: Gate, db: Database
) -> None:
    """Bolt learns the bot's identity (auth.test) on a process's first request. With Slack's API unreachable
    then, the request is answered 500 and the user is told through the response_url; nothing is recorded, and
    the first request after Slack is back works: no restart needed."""
    gate.shut()
    assert slack.command(REP, "request Globex").status == 500
    (complaint,) = fake.wait_for(lambda f: told(f, REP))
    assert "Something went wrong" in complaint and "nothing was changed" in complaint
    assert fake.views(REP) == [] and count(db, ReferenceRequest) == 0
    gate.open()
    assert slack.command(REP, "request Globex").status == 200
    fake.wait_for(lambda f: f.calls("views.open"))  # the call log, not f.views(): a view is stored before its call
    assert [c.method for c in fake.calls() if c.method != "response_url"][:2] == ["auth.test", "views.open"]
    assert len(told(fake, REP)) == 1


@SQLITE_ONLY
@pytest.mark.parametrize("fault", list(FAULTS))
def test_request_form_slack_cannot_open_tells_the_rep_and_opens_once_slack_recovers(
    slack: SignedClient, fake: FakeSlack, gate: Gate, refbot: Refbot, db: Database, fault: str
) -> None:
    warm_up(slack)
    fail(fake, gate, "views.open", fault, client=refbot.deps.client)
    assert slack.command(REP, "request Globex").status == 200  # acknowledged at once, as Slack requires
    (complaint,) = fake.wait_for(lambda f: told(f, REP))
    assert "could not open the request form" in complaint or "Something went wrong" in complaint
    recover(gate, fault)
    # A read timeout may hide a modal Slack did open; nothing opens it a second time.
    late = 1 if fault == "timeout" else 0
    assert len(fake.views(REP)) == late
    assert count(db, ReferenceRequest) == 0 and rows(db) == []

    assert slack.command(REP, "request Globex").status == 200
    view = fake.wait_for(lambda f: len(f.views(REP)) == late + 1 and f.views(REP)[-1])
    assert slack.view_submission(REP, view, {"ref_type": "call"}).status == 200
    fake.wait_for(lambda f: [m for m in f.messages(REP) if "sent to the reference team" in m.text])
    assert count(db, ReferenceRequest) == 1
    assert len(told(fake, REP)) == 1, "told once, and nothing after Slack recovered"
    assert fake.violations == []


@SQLITE_ONLY
@pytest.mark.parametrize("fault", ["429", "503"])
def test_a_passing_fault_is_absorbed_by_the_clients_own_retry(
    slack: SignedClient, fake: FakeSlack, refbot: Refbot, fault: str, client_sleeps: list[float]
) -> None:
    fake.fail("views.open", times=1, **FAULTS[fault])  # type: ignore[arg-type]
    assert slack.command(REP, "request Globex").status == 200
    fake.wait_for(lambda f: f.views(REP))
    assert [c.status for c in fake.calls("views.open")] == [int(fault), 200]
    assert client_sleeps, "the retry waited (Retry-After or backoff) before trying again"
    time.sleep(0.2)
    assert told(fake, REP) == [] and len(fake.views(REP)) == 1


@SQLITE_ONLY
@pytest.mark.parametrize("fault", ["429", "503", "timeout", "refused"])
def test_decline_form_slack_cannot_open_tells_the_manager_and_changes_nothing(
    slack: SignedClient, fake: FakeSlack, gate: Gate, refbot: Refbot, db: Database, settings: Settings, fault: str
) -> None:
    warm_up(slack)
    with db.transaction() as session:
        factories.customer(session, "Acme Corp")
    request_id = submit(db, settings)
    refbot.deps.outbox.kick()
    settle(db, timeout=10)
    card = fake.messages(MANAGER)[0]
    (decline,) = buttons(card, "request.decline")
    fail(fake, gate, "views.open", fault, client=refbot.deps.client)
    assert slack.click(MANAGER, card, decline["action_id"]).status == 200
    fake.wait_for(lambda f: told(f, MANAGER))
    recover(gate, fault)
    late = 1 if fault == "timeout" else 0
    assert len(fake.views(MANAGER)) == late
    with db.reading() as session:
        assert session.get(ReferenceRequest, request_id).status == "submitted"

    assert slack.click(MANAGER, card, decline["action_id"]).status == 200
    modal = fake.wait_for(lambda f: len(f.views(MANAGER)) == late + 1 and f.views(MANAGER)[-1])
    assert "Decline" in blob(modal)
    assert len(told(fake, MANAGER)) == 1


# -- Slack: what the outbox delivers (chat.update, views.publish, files upload v2, the did-it-post check) ---


@pytest.mark.parametrize("fault", list(FAULTS))
def test_card_refresh_retries_chat_update_until_slack_recovers(
    db: Database, settings: Settings, fake: FakeSlack, gate: Gate, worker: OutboxWorker, fault: str
) -> None:
    request_id = submit(db, settings)
    assert worker.deliver_due() == 3  # the receipt and two managers' cards
    with db.transaction() as session:
        rq.cancel(session, settings, request_id, REP)  # → one refresh row: re-render the cards in place
    passes = 1 if fault == "timeout" else 2
    fail(fake, gate, "chat.update", fault, client=worker.client, attempts=passes)
    for attempt in range(1, passes + 1):
        assert worker.deliver_due() == 1
        refresh = rows(db)[-1]
        assert (refresh.kind, refresh.status, refresh.attempts) == ("refresh", "pending", attempt)
        assert refresh.last_error and refresh.next_attempt_at > utcnow()  # why, and backing off
        assert worker.deliver_due() == 0  # not due again before its backoff / Retry-After
        make_due(db)
    recover(gate, fault)
    make_due(db)
    assert worker.deliver_due() == 1
    refresh = rows(db)[-1]
    assert (refresh.status, refresh.last_error) == ("sent", "")
    for user in (REP, MANAGER, MANAGER_2):
        (message,) = fake.messages(user)  # updated in place: still one message each
        assert "Cancelled by" in message.text + blob(message.blocks)
    assert len(fake.calls("chat.postMessage")) == 3
    make_due(db)
    assert worker.deliver_due() == 0
    assert fake.violations == []


HOME_KIND = "test.home"
CHART_KIND = "test.chart"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def home_view(session: Any, row: OutboxMessage) -> Rendered:
    return Rendered(view={"type": "home", "blocks": [section(f"Home of <@{row.recipient}>")]})


def chart_message(session: Any, row: OutboxMessage) -> Rendered:
    image = {"type": "image", "slack_file": {"id": "file:chart"}, "alt_text": "requests per week"}
    return Rendered(
        text="Weekly chart",
        blocks=[section("*Weekly chart*"), image],
        files={"chart": ("chart.png", PNG, "Requests per week")},
    )


@SQLITE_ONLY
@pytest.mark.parametrize("fault", list(FAULTS))
def test_views_publish_through_the_outbox_is_retried_until_slack_recovers(
    db: Database, fake: FakeSlack, gate: Gate, worker: OutboxWorker, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(worker.renderers, HOME_KIND, home_view)
    with db.transaction() as session:
        enqueue(session, key=f"home:{REP}:1", kind=HOME_KIND, recipient=REP, subject=f"home:{REP}")
    fail(fake, gate, "views.publish", fault, client=worker.client)
    row = failed_then_retried(db, worker, gate, fault)
    assert (row.status, row.last_error) == ("sent", "")
    home = fake.home(REP)
    assert home is not None and f"Home of <@{REP}>" in blob(home)
    published = [c for c in fake.calls("views.publish") if c.ok]
    assert len(published) == (2 if fault == "timeout" else 1)  # a Home is replaced, never added to
    make_due(db)
    assert worker.deliver_due() == 0


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("step", "fault"),
    [
        ("files.getUploadURLExternal", "503"),
        ("upload", "500"),
        ("files.completeUploadExternal", "429"),
        ("files.completeUploadExternal", "invalid_auth"),
        ("chat.postMessage", "timeout"),  # posted, but the answer came too late: found, not posted again
        ("chat.postMessage", "ratelimited"),
        ("*", "refused"),
    ],
)
def test_message_with_an_uploaded_file_is_posted_once_whatever_step_fails(
    db: Database,
    fake: FakeSlack,
    gate: Gate,
    worker: OutboxWorker,
    step: str,
    fault: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(worker.renderers, CHART_KIND, chart_message)
    with db.transaction() as session:
        enqueue(session, key="chart:2026-W47", kind=CHART_KIND, recipient=REP, subject="chart")
    if step == "upload":  # the file's bytes go straight to the upload URL: no client retry there
        fake.fail("upload", status=500)
    else:
        fail(fake, gate, step, fault, client=worker.client)
    row = failed_then_retried(db, worker, gate, fault)
    assert row.status == "sent"
    (message,) = fake.messages(REP)
    assert (row.slack_channel, row.slack_ts) == (message.channel, message.ts)
    file_id = next(b["slack_file"]["id"] for b in message.blocks if b["type"] == "image")
    assert file_id.startswith("F") and any(u.file_id == file_id and u.completed for u in fake.uploads())
    assert len([c for c in fake.calls("chat.postMessage") if c.ok]) == 1
    make_due(db)
    assert worker.deliver_due() == 0


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("method", "fault"),
    [
        ("conversations.open", "503"),
        ("conversations.open", "invalid_auth"),
        ("conversations.history", "429"),
        ("conversations.history", "ratelimited"),
        ("*", "refused"),
    ],
)
def test_did_it_post_check_failing_never_posts_twice(
    db: Database, settings: Settings, fake: FakeSlack, gate: Gate, worker: OutboxWorker, method: str, fault: str
) -> None:
    submit(db, settings.with_overrides(managers=()))  # one row: the rep's receipt
    fake.fail("chat.postMessage", delay=1.25)  # Slack posts it, but answers after the client gave up
    assert worker.deliver_due() == 1
    fake.wait_for(lambda f: f.messages(REP), timeout=3)
    (row,) = rows(db)
    assert row.status == "pending" and row.last_error.startswith("uncertain: ")

    fail(fake, gate, method, fault, client=worker.client)
    make_due(db)
    assert worker.deliver_due() == 1
    (row,) = rows(db)
    assert row.status == "pending" and row.last_error.startswith("uncertain: "), "still checks before posting"
    assert len(fake.calls("chat.postMessage")) == 1, "posted again without knowing whether it was posted"

    recover(gate, fault)
    make_due(db)
    assert worker.deliver_due() == 1
    (row,) = rows(db)
    (message,) = fake.messages(REP)
    assert (row.status, row.slack_ts) == ("sent", message.ts)
    assert len(fake.calls("chat.postMessage")) == 1


# -- Slack: telling the user, and looking owners up for the importer ------------------------------------------


@SQLITE_ONLY
@pytest.mark.parametrize("fault", ["429", "503"])
def test_ephemeral_notice_survives_a_passing_fault(refbot: Refbot, fake: FakeSlack, fault: str) -> None:
    """A refusal reaches the user through chat.postEphemeral when there is no response_url."""
    body = {"user": {"id": REP}, "channel": {"id": "C0GENERAL"}}
    fake.fail("chat.postEphemeral", times=1, **FAULTS[fault])  # type: ignore[arg-type]
    tell_user(body, refbot.deps.client, None, "Request #4 was already approved.")
    assert [e["text"] for e in fake.ephemerals(REP)] == ["Request #4 was already approved."]
    assert [c.status for c in fake.calls("chat.postEphemeral")] == [int(fault), 200]


@SQLITE_ONLY
def test_ephemeral_notice_with_slack_unreachable_is_logged_not_raised(
    refbot: Refbot, fake: FakeSlack, gate: Gate, caplog: pytest.LogCaptureFixture
) -> None:
    body = {"user": {"id": REP}, "channel": {"id": "C0GENERAL"}}
    gate.shut()
    tell_user(body, refbot.deps.client, None, "Request #4 was already approved.")  # must not raise
    assert "could not tell user" in caplog.text and told(fake, REP) == []
    gate.open()
    tell_user(body, refbot.deps.client, None, "Request #4 was already approved.")
    assert len(told(fake, REP)) == 1


@SQLITE_ONLY
@pytest.mark.parametrize("fault", ["500"])
def test_notice_through_a_failing_response_url_still_reaches_the_user(
    refbot: Refbot, fake: FakeSlack, fault: str
) -> None:
    response_url = fake.response_url(REP, channel="C0GENERAL")
    body = {"user": {"id": REP}, "channel": {"id": "C0GENERAL"}, "response_url": response_url}
    fake.fail("response_url", **FAULTS[fault])  # type: ignore[arg-type]
    tell_user(body, refbot.deps.client, Respond(response_url=response_url), "Request #4 was already approved.")
    assert len(told(fake, REP)) == 1


@SQLITE_ONLY
@pytest.mark.parametrize("fault", list(FAULTS))
def test_owner_lookup_keeps_the_email_on_a_fault_and_resolves_once_slack_recovers(
    settings: Settings, fake: FakeSlack, gate: Gate, fault: str
) -> None:
    from bot.importing import SlackOwnerDirectory

    client = make_client(settings)  # the client `refbot import` uses
    fail(fake, gate, "users.lookupByEmail", fault, client=client)
    waited: list[float] = []
    user_id, why = SlackOwnerDirectory(client, sleep=waited.append).lookup("riley@example.com")
    if fault in ("429", "ratelimited"):  # rate limits are waited out: resolved
        assert (user_id, why) == (REP, "") and waited == [1.0]
    else:  # kept as e-mail, with the reason in the import report: nothing lost
        assert user_id is None and why.startswith("kept as e-mail")
    recover(gate, fault)
    assert SlackOwnerDirectory(client).lookup("riley@example.com") == (REP, "")  # the next import resolves it


# -- the database: a private PostgreSQL cluster these tests may stop and restart ------------------------------

PG_BIN = next(
    iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)),
    os.path.dirname(shutil.which("initdb") or "") or None,
)


class Cluster:
    """A throwaway PostgreSQL server (initdb + pg_ctl) on its own port, in a temporary directory.

    Never the machine's shared server: stopping and restarting this one disturbs nobody. initdb refuses to
    run as root, so as root the cluster belongs to the `postgres` account.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="refbot-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            shutil.chown(self.root, self.user)
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [f"{PG_BIN}/{tool}", *args],
            user=self.user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=check,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    @property
    def running(self) -> bool:
        return self._pg("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def ensure_running(self) -> None:
        if not self.running:
            self.start()

    def url(self, database: str = "postgres", application: str = "refbot-test") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}?application_name={application}"

    def sql(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True, connect_timeout=5
        ) as conn:
            cursor = conn.execute(statement, params or None)  # type: ignore[call-overload]
            return list(cursor.fetchall()) if cursor.description else []

    def backends(self, application: str, *, waiting_on_lock: bool = False) -> list[int]:
        return [
            pid
            for (pid,) in self.sql(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
                + (" AND wait_event_type = 'Lock'" if waiting_on_lock else ""),
                application,
            )
        ]

    def terminate(self, application: str, pid: int | None = None) -> int:
        """Cut connections the way a crashed backend or a failover does; returns how many were cut."""
        pids = [pid] if pid is not None else self.backends(application)
        return sum(1 for p in pids if self.sql("SELECT pg_terminate_backend(%s)", p)[0][0])

    def destroy(self) -> None:
        if self.running:
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if not PG_BIN or not os.path.exists(f"{PG_BIN}/initdb") or not os.path.exists(f"{PG_BIN}/pg_ctl"):
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed: no private cluster to stop and restart")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a `postgres` account: initdb cannot run")
    private = Cluster()
    try:
        private.start()
        private.sql("CREATE DATABASE refbot_template")
        engine = create_engine(private.url("refbot_template"))
        migrate.upgrade(engine)
        engine.dispose()
        yield private
    finally:
        private.destroy()


@pytest.fixture
def cluster_db(cluster: Cluster) -> Iterator[str]:
    """A fresh, migrated database on the private cluster (copied from a template: fast)."""
    cluster.ensure_running()
    name = f"refbot_{uuid.uuid4().hex[:10]}"
    cluster.sql(f'CREATE DATABASE "{name}" TEMPLATE refbot_template')
    yield name
    cluster.ensure_running()
    cluster.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- `refbot serve` as a real process -------------------------------------------------------------------------


def healthz(url: str) -> int:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def wait_healthz(url: str, status: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while healthz(url) != status:
        assert time.monotonic() < deadline, f"/healthz did not turn {status}"
        time.sleep(0.1)


# -- the database: unreachable when `serve` starts ------------------------------------------------------------


def test_serve_waits_for_a_database_that_comes_up_late(
    cluster: Cluster, cluster_db: str, fake: FakeSlack, tmp_path: Path
) -> None:
    cluster.stop()
    serve = Serve(cluster.url(cluster_db, "refbot-serve"), fake.url, tmp_path, REFBOT_DB_STARTUP_WAIT="30")
    try:
        serve.wait_for_line("database not reachable (attempt 2", stream="stderr")  # retrying, not given up
        assert serve.process.poll() is None
        cluster.start()  # about 3 s after refbot started
        url = serve.ready()
        assert healthz(url) == 200
        serve.process.send_signal(signal.SIGTERM)
        assert serve.wait() == 0
    finally:
        serve.stop()
        cluster.ensure_running()
    attempts = [line for line in serve.stderr if "database not reachable (attempt" in line]
    assert len(attempts) >= 2 and all("Cannot reach the database at" in line for line in attempts)
    assert any("database reachable after" in line for line in serve.stderr)
    assert "Traceback" not in serve.logs


def test_serve_gives_up_on_a_database_that_never_answers_and_other_commands_fail_at_once(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://refbot:hunter2@127.0.0.1:{free_port()}/refbot"
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "REFBOT_MANAGERS": MANAGER,
        "DATABASE_URL": url,
        "REFBOT_DB_STARTUP_WAIT": "3",
    }
    started = time.monotonic()
    result = refbot_cli("serve", "--port", "0", cwd=tmp_path, env=env)
    took = time.monotonic() - started
    assert result.returncode == 1 and 3 <= took < 20
    *logged, last = result.stderr.strip().splitlines()
    sentence = f"refbot: Cannot reach the database at {url.replace('hunter2', '***')}: "
    assert last.startswith(sentence) and last.endswith("Check DATABASE_URL and that the server is running.")
    # One line per attempt: at 0 s, 1 s, then 3 s (1, 2, 4 … seconds apart), the last one giving up.
    attempts = [line for line in logged if "database not reachable (attempt" in line]
    assert len(attempts) >= 2 and "retrying in 1.0s" in attempts[0] and "retrying in 2.0s" in attempts[1]
    assert f"after {len(attempts) + 1} attempts" in logged[-1] and "giving up" in logged[-1]
    assert "hunter2" not in result.stderr + result.stdout and "Traceback" not in result.stderr
    assert "refbot listening" not in result.stdout

    (tmp_path / "customers.csv").write_text("name,industry\nAcme,Fintech\n")
    for command in (["db", "current"], ["import", "customers.csv"]):
        started = time.monotonic()
        quick = refbot_cli(*command, cwd=tmp_path, env=env)
        assert quick.returncode == 1 and time.monotonic() - started < 10
        assert quick.stderr.strip().splitlines()[-1].startswith(sentence), quick.stderr
        assert "attempt" not in quick.stderr and "Traceback" not in quick.stderr


# -- the database: connections dropped between and during requests ------------------------------------------


def card_for(fake: FakeSlack, manager: str, request_id: int) -> Any:
    return fake.wait_for(lambda f: next((m for m in f.messages(manager) if f"#{request_id}" in m.text), None))


def approved_notices(fake: FakeSlack, request_id: int) -> list[Any]:
    return [m for m in fake.messages(REP) if "is approved" in m.text and f"#{request_id}:" in blob(m.blocks)]


def test_dropped_connections_fail_one_request_cleanly_and_the_next_works(
    cluster: Cluster, cluster_db: str, fake: FakeSlack
) -> None:
    settings = app_settings(fake, cluster.url(cluster_db, "refbot-app"), fatigue_limit=100, contact_fatigue_limit=100)
    bot = create_app(settings, db=Database(settings.database_url))
    server = HttpServer(bot, host="127.0.0.1", port=0, threads=4).start_background()
    slack = SignedClient(f"{server.url}/slack/events", SIGNING_SECRET, fake=fake)
    db = Database(cluster.url(cluster_db, "refbot-test"))
    try:
        with db.transaction() as session:
            factories.customer(session, "Acme Corp")
        first, second = submit(db, settings, "Globex"), submit(db, settings, "Initech")
        bot.deps.outbox.kick()
        cards = {request_id: card_for(fake, MANAGER, request_id) for request_id in (first, second)}
        approve = {rid: buttons(card, "request.approve")[0]["action_id"] for rid, card in cards.items()}

        # 1. Between two requests every pooled connection is cut: the next request still works (pre-ping).
        settle(db, timeout=10)  # every card out: the app's connections are idle in its pool
        assert cluster.terminate("refbot-app") >= 1
        assert slack.click(MANAGER, cards[first], approve[first]).status == 200
        fake.wait_for(lambda f: approved_notices(f, first))
        assert told(fake, MANAGER) == []

        # 2. A request's connection is cut while it waits inside its transaction: that one request fails
        #    cleanly (the manager is told, nothing is written); the next one works.
        with db.transaction() as session:
            session.execute(sql_select(ReferenceRequest).where(ReferenceRequest.id == second).with_for_update())
            assert slack.click(MANAGER, cards[second], approve[second]).status == 200  # acked first
            deadline = time.monotonic() + 10
            while not (stuck := cluster.backends("refbot-app", waiting_on_lock=True)):
                assert time.monotonic() < deadline, "the approval never reached the row lock"
                time.sleep(0.05)
            assert cluster.terminate("refbot-app", pid=stuck[0]) == 1
            (complaint,) = fake.wait_for(lambda f: told(f, MANAGER))
        assert "Something went wrong" in complaint and "nothing was changed" in complaint
        with db.reading() as session:
            assert session.get(ReferenceRequest, second).status == "submitted"
        assert count(db, ReferenceUse, ReferenceUse.request_id == second) == 0
        assert count(db, AuditEntry, AuditEntry.action == "request.approved", AuditEntry.entity_id == str(second)) == 0
        assert count(db, OutboxMessage, OutboxMessage.idempotency_key == f"request:{second}:approved") == 0

        assert slack.click(MANAGER, cards[second], approve[second]).status == 200
        fake.wait_for(lambda f: approved_notices(f, second))
        settle(db, timeout=10)
        assert count(db, ReferenceUse, ReferenceUse.request_id == second) == 1
        assert [len(approved_notices(fake, rid)) for rid in (first, second)] == [1, 1]
        assert len(told(fake, MANAGER)) == 1
    finally:
        server.stop()
        bot.deps.db.dispose()
        db.dispose()


# -- the database: PostgreSQL restarted under a running `refbot serve` ---------------------------------------


def test_serve_rides_out_a_postgresql_restart_without_being_restarted(
    cluster: Cluster, cluster_db: str, fake: FakeSlack, tmp_path: Path
) -> None:
    serve = Serve(cluster.url(cluster_db, "refbot-serve"), fake.url, tmp_path)
    db = Database(cluster.url(cluster_db, "refbot-test"))
    try:
        url = serve.ready()
        slack = SignedClient(f"{url}/slack/events", SIGNING_SECRET, fake=fake)
        assert healthz(url) == 200
        assert slack.command(REP, "request Globex").status == 200  # the pool now holds live connections
        view = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])

        cluster.stop()
        wait_healthz(url, 503)
        # While it is down, a submission fails cleanly: refused, the rep told, nothing half-written.
        down = slack.view_submission(REP, view, {"ref_type": "call"})
        assert down.status >= 500
        fake.wait_for(lambda f: [m for m in f.messages(REP) if "Something went wrong" in m.text])

        cluster.start()
        wait_healthz(url, 200)
        assert slack.view_submission(REP, view, {"ref_type": "call"}).status == 200
        fake.wait_for(lambda f: [m for m in f.messages(REP) if "sent to the reference team" in m.text])
        fake.wait_for(lambda f: f.messages(MANAGER))
        assert serve.process.poll() is None, "refbot had to be restarted"
        assert count(db, ReferenceRequest) == 1
        settle(db, timeout=10)
    finally:
        serve.stop()
        db.dispose()
        cluster.ensure_running()


# -- the database: two replicas approving the same request at once -------------------------------------------


@contextlib.contextmanager
def approvals_held(db: Database, request_id: int) -> Iterator[None]:
    """Hold the request (PostgreSQL: its row lock; SQLite: the write lock) so that clicks pile up behind it
    and then race the moment it is let go."""
    with db.transaction() as session:
        if db.dialect == "postgresql":
            session.execute(sql_select(ReferenceRequest).where(ReferenceRequest.id == request_id).with_for_update())
        else:
            session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: every writer queues behind this one
        yield


def with_application_name(url: str, name: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.update_query_dict({"application_name": name}).render_as_string(hide_password=False)


def waiting_backends(db: Database, names: tuple[str, ...]) -> int:
    with db.reading() as session:
        return int(
            session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND application_name = ANY(:names)"
                ),
                {"names": list(names)},
            )
            or 0
        )


def click_approve(client: SignedClient, manager: str, card: Any, answers: list[int]) -> None:
    answers.append(client.click(manager, card, buttons(card, "request.approve")[0]["action_id"]).status)


def test_two_replicas_approving_the_same_request_at_once_approve_it_exactly_once(
    database_url: str, db: Database, fake: FakeSlack
) -> None:
    tag = uuid.uuid4().hex[:8]
    names = (f"refbot-a-{tag}", f"refbot-b-{tag}")
    unlimited = {"fatigue_limit": 100, "contact_fatigue_limit": 100}  # the same customer, approved round after round
    settings = [app_settings(fake, with_application_name(database_url, name), **unlimited) for name in names]
    servers = [HttpServer(create_app(s, db=Database(s.database_url)), port=0, threads=4) for s in settings]
    clients = [
        SignedClient(f"{server.start_background().url}/slack/events", SIGNING_SECRET, fake=fake) for server in servers
    ]
    try:
        with db.transaction() as session:
            factories.customer(session, "Acme Corp")
        for round_ in range(3):
            request_id = submit(db, settings[0], f"Prospect {round_}")
            servers[round_ % 2].bot.deps.outbox.kick()
            cards = {manager: card_for(fake, manager, request_id) for manager in (MANAGER, MANAGER_2)}
            # Each manager clicks Approve on a different replica, at the same moment (who goes first alternates).
            clicks = [(MANAGER, clients[0]), (MANAGER_2, clients[1])][:: 1 if round_ % 2 == 0 else -1]
            answers: list[int] = []
            with approvals_held(db, request_id):
                threads = [
                    threading.Thread(target=click_approve, args=(client, manager, cards[manager], answers))
                    for manager, client in clicks
                ]
                for thread in threads:
                    thread.start()
                if db.dialect == "postgresql":
                    deadline = time.monotonic() + 10
                    while waiting_backends(db, names) < 2:
                        assert time.monotonic() < deadline, "the two approvals never met at the row lock"
                        time.sleep(0.05)
                else:
                    time.sleep(0.5)
            for thread in threads:
                thread.join(15)
            assert answers == [200, 200]
            marker = f"#{request_id} "

            def refusals(f: FakeSlack, marker: str = marker) -> list[tuple[str, str]]:
                return [(user, t) for user in (MANAGER, MANAGER_2) for t in told(f, user) if marker in t]

            fake.wait_for(refusals)
            fake.wait_for(lambda f, rid=request_id: approved_notices(f, rid))
            settle(db, timeout=10)
            time.sleep(0.2)
            refused = refusals(fake)
            with db.reading() as session:
                request = session.get(ReferenceRequest, request_id)
                assert request.status == "approved" and request.customer_id is not None
                winner = request.decided_by
            assert len(refused) == 1 and refused[0][0] != winner, refused
            assert f"already approved by <@{winner}>" in refused[0][1]
            assert count(db, ReferenceUse, ReferenceUse.request_id == request_id) == 1
            entity = AuditEntry.entity_id == str(request_id)
            assert count(db, AuditEntry, AuditEntry.action == "request.approved", entity) == 1
            assert count(db, OutboxMessage, OutboxMessage.idempotency_key == f"request:{request_id}:approved") == 1
            assert len(approved_notices(fake, request_id)) == 1
        assert fake.violations == []
    finally:
        for server in servers:
            server.stop()
            server.bot.deps.db.dispose()


# -- the process: SIGTERM drains, SIGKILL loses nothing acknowledged ------------------------------------------


@contextlib.contextmanager
def writes_held(db: Database) -> Iterator[None]:
    """Every Slack delivery waits at its first write until this exits (SQLite: the write lock; PostgreSQL: the
    table each delivery is recorded in), which keeps a request in flight for as long as a test needs."""
    with db.transaction() as session:
        if db.dialect == "postgresql":
            session.execute(text("LOCK TABLE inbound_deliveries IN EXCLUSIVE MODE"))
        else:
            session.execute(text("SELECT 1"))
        yield


def receipt(db: Database) -> str:
    """The receipt text for the one request in the database."""
    with db.reading() as session:
        (request_id,) = session.scalars(sql_select(ReferenceRequest.id)).all()
    return f"Request #{request_id} for Globex sent to the reference team"


def refused_connection(url: str) -> bool:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_answers_requests_in_flight_and_drains_the_outbox_before_exiting(
    database_url: str, db: Database, fake: FakeSlack, tmp_path: Path
) -> None:
    serve = Serve(database_url, fake.url, tmp_path)
    try:
        url = serve.ready()
        slack = SignedClient(f"{url}/slack/events", SIGNING_SECRET, fake=fake)
        assert slack.command(REP, "request Globex").status == 200
        view = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
        # In flight, after its ack: a form whose views.open Slack answers slowly.
        fake.fail("views.open", delay=2.0)
        assert slack.command(MANAGER, "request Initech").status == 200
        submitted: list[Any] = []
        with writes_held(db):
            # In flight, before its ack: a submission waiting for the database.
            sender = threading.Thread(
                target=lambda: submitted.append(slack.view_submission(REP, view, {"ref_type": "call"}))
            )
            sender.start()
            time.sleep(0.5)
            serve.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 5
            while not refused_connection(url):  # no new connections: the load balancer goes elsewhere
                assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
                time.sleep(0.05)
            assert serve.process.poll() is None and submitted == []
        sender.join(15)
        assert serve.wait(20) == 0
    finally:
        serve.stop()
    (response,) = submitted
    assert (response.status, response.body.strip()) == (200, "")  # answered, though SIGTERM came first
    assert fake.views(MANAGER), "views.open after the ack was cut off"
    assert [m.text for m in fake.messages(REP)] == [receipt(db)]
    assert len(fake.messages(MANAGER)) == 1
    assert {r.status for r in rows(db)} == {"sent"}, "the outbox was not drained before exit"
    assert "refbot: stopped" in serve.stdout


def test_sigkill_after_an_acknowledged_submission_loses_nothing(
    database_url: str, db: Database, fake: FakeSlack, tmp_path: Path
) -> None:
    gate = Gate(fake).open()
    lease = {"REFBOT_OUTBOX_LEASE_SECONDS": "2"}
    serve = Serve(database_url, gate.url, tmp_path, **lease)
    try:
        url = serve.ready()
        slack = SignedClient(f"{url}/slack/events", SIGNING_SECRET, fake=fake)
        warm_up(slack)
        gate.shut()  # from now on Slack cannot be reached, so nothing goes out before the kill
        response = slack.view_submission(REP, request_modal("Globex"), {"ref_type": "call"})
        assert (response.status, response.body.strip()) == (200, "")  # acknowledged: Slack closes the form
        serve.process.kill()
        serve.wait(10)
    finally:
        serve.stop()
    assert count(db, ReferenceRequest) == 1
    assert {(r.kind, r.status) for r in rows(db)} == {(rq.RECEIPT, "pending"), (rq.MANAGER_CARD, "pending")}
    assert fake.messages(REP) == [] and fake.messages(MANAGER) == []

    gate.open()
    with db.transaction() as session:  # the killed process's backoff is over by the time it is back
        session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    restarted = Serve(database_url, gate.url, tmp_path, **lease)
    try:
        restarted.ready()
        fake.wait_for(lambda f: f.messages(REP) and f.messages(MANAGER), timeout=15)
        settle(db, timeout=10)
        time.sleep(0.5)
    finally:
        restarted.stop()
        gate.shut()
    assert [m.text for m in fake.messages(REP)] == [receipt(db)]
    assert len(fake.messages(MANAGER)) == 1
    assert {r.status for r in rows(db)} == {"sent"}
