"""Shared fixtures: every database test runs on SQLite and, when TEST_DATABASE_URL is set, PostgreSQL.

The end-to-end fixtures start the project's Slack fake and a real `refbot serve` HTTP server (the same
`HttpServer` the CLI runs) on loopback port 0, and drive it with properly signed requests.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import slack_sdk.http_retry.builtin_handlers
import slack_sdk.http_retry.handler
from sqlalchemy import create_engine

from bot import migrate
from bot.app import Refbot, create_app
from bot.outbox import OutboxWorker
from bot.server import HttpServer
from bot.settings import Settings
from models import Base
from models.db import Database
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests.postgres import private_schema

MANAGER = "UMANAGER1"
MANAGER_2 = "UMANAGER2"
REP = "UREP00001"
OWNER = "UOWNER001"
OTHER = "UOTHER001"
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def migrate_to_head(url: str) -> None:
    """Create the tables as `refbot db upgrade` does."""
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """In-process CLI runs install refbot's log handler on the root logger, bound to this test's captured
    stderr; put the root logger back afterwards so later tests do not write to a closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database per backend for the whole session (a private schema on PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'refbot.db'}"
        migrate_to_head(url)
        yield url
        return
    with private_schema(os.environ["TEST_DATABASE_URL"], f"refbot_test_{os.getpid()}") as url:
        migrate_to_head(url)
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The session's database, emptied before each test."""
    database = Database(database_url)
    with database.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
    yield database
    database.dispose()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, db: Database) -> Database:
    """`refbot` in this process, configured only through the environment, pointed at the test database (no
    Slack token, managers, time zone or log level leaking in from the shell that runs the tests)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("REFBOT_MANAGERS", "REFBOT_TIMEZONE", "SLACK_BOT_TOKEN", "SLACK_API_URL", "REFBOT_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    return db


@pytest.fixture
def client_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """slack_sdk's retry sleeps (Retry-After, backoff), recorded instead of slept: in-process tests stay fast.
    The outbox and fault tests use it for every test (`pytest.mark.usefixtures`)."""
    slept: list[float] = []
    clock = SimpleNamespace(sleep=slept.append)
    monkeypatch.setattr(slack_sdk.http_retry.handler, "time", clock)
    monkeypatch.setattr(slack_sdk.http_retry.builtin_handlers, "time", clock)
    return slept


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    slack = FakeSlack(token=BOT_TOKEN).start()
    for user_id, name in [
        (MANAGER, "Morgan (reference manager)"),
        (MANAGER_2, "Maya (reference manager)"),
        (REP, "Riley (sales)"),
        (OWNER, "Olivia (account owner)"),
        (OTHER, "Oscar (someone else)"),
    ]:
        slack.add_user(user_id, name.split()[0].lower(), real_name=name, email=f"{name.split()[0].lower()}@example.com")
    yield slack
    slack.stop()


def app_settings(fake: FakeSlack, database_url: str, **overrides: Any) -> Settings:
    """What an app under test runs with: the fake's Web API, two managers, a quick outbox, no scheduler, no pacing."""
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.url,
        database_url=database_url,
        managers=(MANAGER, MANAGER_2),
        timezone="Europe/Berlin",
        outbox_poll_seconds=0.2,
        slack_timeout_seconds=3,
        run_scheduler=False,
        rate_per_channel=1000.0,
        rate_global=1000.0,
        **overrides,
    )


@pytest.fixture
def settings(fake: FakeSlack, database_url: str) -> Settings:
    return app_settings(fake, database_url)


@pytest.fixture
def refbot(settings: Settings, db: Database) -> Refbot:
    """The app without an HTTP server (for tests that call the outbox or domain directly)."""
    return create_app(settings, db=db)


@pytest.fixture
def worker(refbot: Refbot) -> OutboxWorker:
    """The outbox of an app whose worker thread never runs: the test delivers by hand."""
    assert refbot.deps.outbox._thread is None, "tests that take `worker` deliver by hand"
    return refbot.deps.outbox


@pytest.fixture
def server(refbot: Refbot) -> Iterator[HttpServer]:
    http = HttpServer(refbot, host="127.0.0.1", port=0, threads=4).start_background()
    yield http
    http.stop()


@pytest.fixture
def slack(server: HttpServer, fake: FakeSlack) -> SignedClient:
    """Signed requests to the running server, as Slack would send them."""
    return SignedClient(f"{server.url}/slack/events", SIGNING_SECRET, fake=fake)


@pytest.fixture
def shared_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "shared", here / "shared"):
        if (candidate / "slack").is_dir():
            return candidate
    message = "../shared/slack (Slack's published schemas) is not beside this checkout"
    if os.environ.get("CI"):
        pytest.fail(message)  # CI always has shared/ beside the clone: its absence is a real failure
    pytest.skip(message)
