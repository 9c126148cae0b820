"""The command line as an operator meets it: real processes, one-sentence errors, a real `refbot serve`."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.db import Database
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests.conftest import BOT_TOKEN, MANAGER, REP, SIGNING_SECRET
from tests.postgres import private_schema


def refbot(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**_clean_env(), **(env or {})},
        cwd=cwd,
    )


def _clean_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "SYSTEMROOT", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return env


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
def serve_process(
    fake: FakeSlack, database_url: str, db: Database, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`refbot serve --port 0` as a real process, against the Slack fake and the test database."""
    env = {
        **_clean_env(),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
        "DATABASE_URL": database_url,
        "REFBOT_MANAGERS": MANAGER,
        "REFBOT_OUTBOX_POLL_SECONDS": "0.2",
        "REFBOT_LOG_LEVEL": "DEBUG",  # the chattiest logs must still carry no secret
        "REFBOT_SCHEDULER": "off",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = ""
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    while time.monotonic() < deadline and not url:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if line.startswith("refbot listening on "):
                url = line.split()[3]
        if process.poll() is not None:
            raise AssertionError(f"refbot serve exited: {process.stderr.read() if process.stderr else ''}")
    assert url, "refbot serve did not say where it listens"
    yield url, process
    if process.poll() is None:
        process.kill()
        process.wait(10)


def test_real_serve_process_handles_a_signed_request_end_to_end(
    serve_process: tuple[str, subprocess.Popen[str]], fake: FakeSlack
) -> None:
    url, process = serve_process
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
    assert process.wait(15) == 0
    logs = process.stderr.read() if process.stderr else ""
    assert logs.strip(), "serve logged nothing at DEBUG"
    assert BOT_TOKEN not in logs and SIGNING_SECRET not in logs
    assert all(json.loads(line)["level"] for line in logs.splitlines() if line.startswith("{"))
