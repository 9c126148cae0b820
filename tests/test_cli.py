"""The command line as an operator meets it: real processes, one-sentence errors, a real `refbot serve`."""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.db import Database
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests.conftest import BOT_TOKEN, MANAGER, REP, SIGNING_SECRET
from tests.postgres import private_schema
from tests.processes import Serve, refbot


def test_help_lists_the_commands() -> None:
    result = refbot("--help")
    assert result.returncode == 0
    for command in ("serve", "socket", "db", "import", "demo"):
        assert command in result.stdout


def test_missing_token_is_one_sentence_not_a_traceback(tmp_path: Path) -> None:
    result = refbot("serve", "--port", "0", cwd=tmp_path, env={"REFBOT_MANAGERS": MANAGER})
    assert result.returncode == 1
    assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_socket_mode_needs_an_app_token(tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "REFBOT_MANAGERS": MANAGER}
    result = refbot("socket", cwd=tmp_path, env=env)
    assert result.returncode == 1 and "SLACK_APP_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_sentence(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "REFBOT_MANAGERS": MANAGER,
        "DATABASE_URL": "postgresql+psycopg://refbot:hunter2@127.0.0.1:1/refbot",
        "REFBOT_DB_STARTUP_WAIT": "0",  # no waiting for it to come up (tests/test_faults.py covers the wait)
    }
    result = refbot("serve", "--port", "0", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "Cannot reach the database at postgresql+psycopg://refbot:***@127.0.0.1:1/refbot" in result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    assert "current: empty" in refbot("db", "current", cwd=tmp_path, env=env).stdout
    upgraded = refbot("db", "upgrade", cwd=tmp_path, env=env)
    assert upgraded.returncode == 0 and "(was empty)" in upgraded.stdout
    assert "already current" in refbot("db", "upgrade", cwd=tmp_path, env=env).stdout
    current = refbot("db", "current", cwd=tmp_path, env=env).stdout
    assert "run `refbot db upgrade`" not in current


def test_postgres_schema_must_be_upgraded_first(tmp_path: Path) -> None:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("needs TEST_DATABASE_URL (PostgreSQL)")
    with private_schema(base, "refbot_cli") as url:
        env = {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s",
            "REFBOT_MANAGERS": MANAGER,
            "DATABASE_URL": url,
        }
        result = refbot("serve", "--port", "0", cwd=tmp_path, env=env)
        assert result.returncode == 1 and "run `refbot db upgrade` first" in result.stderr
        assert refbot("db", "upgrade", cwd=tmp_path, env=env).returncode == 0


@pytest.fixture
def serve_process(fake: FakeSlack, database_url: str, db: Database, tmp_path: Path) -> Iterator[Serve]:
    """`refbot serve --port 0` as a real process, against the Slack fake and the test database."""
    serve = Serve(database_url, fake.url, tmp_path, REFBOT_LOG_LEVEL="DEBUG")  # the chattiest logs: still no secret
    try:
        serve.ready()
        yield serve
    finally:
        serve.stop()


def test_real_serve_process_handles_a_signed_request_end_to_end(serve_process: Serve, fake: FakeSlack) -> None:
    url, process = serve_process.url, serve_process.process
    with urllib.request.urlopen(f"{url}/healthz") as response:
        assert json.loads(response.read())["ok"] is True
    client = SignedClient(f"{url}/slack/events", SIGNING_SECRET, fake=fake)
    assert client.command(REP, "request Globex", signature="v0=bad").status == 401
    assert client.command(REP, "request Globex").status == 200
    view = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    submitted = client.view_submission(REP, view, {"ref_type": "call"})
    assert submitted.status == 200
    fake.wait_for(lambda f: [m for m in f.messages(REP) if "sent to the reference team" in m.text])
    fake.wait_for(lambda f: f.messages(MANAGER))
    process.send_signal(signal.SIGTERM)
    assert serve_process.wait(15) == 0
    logs = serve_process.logs
    assert logs.strip(), "serve logged nothing at DEBUG"
    assert BOT_TOKEN not in logs and SIGNING_SECRET not in logs
    assert all(json.loads(line)["level"] for line in logs.splitlines() if line.startswith("{"))
