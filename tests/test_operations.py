"""Operating refbot: /metrics in Prometheus format, JSON logs with request ids, and no secret in any log."""

from __future__ import annotations

import io
import json
import logging
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bot.observability import RedactingFormatter, RedactSecrets, Throttle, configure_logging
from bot.server import HttpServer
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests.conftest import BOT_TOKEN, REP, SIGNING_SECRET


def scrape(server: HttpServer) -> str:
    with urllib.request.urlopen(f"{server.url}/metrics") as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode()


def test_metrics_count_requests_latency_outbox_and_slack_errors(
    slack: SignedClient, fake: FakeSlack, server: HttpServer, db: Any
) -> None:
    assert slack.command(REP, "help").status == 200
    assert slack.command(REP, "help", signature="v0=" + "0" * 64).status == 401
    fake.fail("views.open", error="expired_trigger_id")
    slack.command(REP, "request Globex")
    fake.wait_for(lambda f: f.ephemerals(REP))
    text = scrape(server)
    assert 'refbot_slack_requests_total{status="200",type="command"}' in text
    assert 'refbot_slack_requests_total{status="401",type="unknown"} 1.0' in text
    assert 'refbot_ack_seconds_bucket{le="0.3",type="command"}' in text
    assert 'refbot_slack_api_errors_total{error="expired_trigger_id",method="views.open"} 1.0' in text
    assert "refbot_outbox_messages" in text


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging() replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_logs_carry_request_ids_and_no_secrets(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", secrets=[BOT_TOKEN, SIGNING_SECRET], json_lines=True)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    log = logging.getLogger("refbot.test")
    log.info("token %s secret %s", "xoxb-1234-abcdef", SIGNING_SECRET)
    log.warning("db postgresql+psycopg://refbot:hunter2@db:5432/refbot and app token xapp-1-A0-xyz")
    try:
        raise RuntimeError(f"failed with {BOT_TOKEN}")
    except RuntimeError:
        log.exception("boom")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["INFO", "WARNING", "ERROR"]
    assert all("request_id" in line for line in lines)
    blob = stream.getvalue()
    for secret in ("xoxb-1234-abcdef", SIGNING_SECRET, "hunter2", "xapp-1-A0-xyz", BOT_TOKEN):
        assert secret not in blob
    assert "refbot:[redacted]@db" in blob


def test_waitress_queue_warnings_are_throttled(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", json_lines=False)
    configure_logging("INFO", json_lines=False)  # configured twice (tests, `refbot demo`): still one filter
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    queue = logging.getLogger("waitress.queue")
    throttle = next(f for f in queue.filters if isinstance(f, Throttle))
    assert sum(isinstance(f, Throttle) for f in queue.filters) == 1
    throttle._last, throttle._dropped = float("-inf"), 0  # whatever an earlier test in this process logged
    for depth in range(1, 501):
        queue.warning("Task queue depth is %d", depth)
    assert stream.getvalue().count("Task queue depth") == 1
    throttle._last -= throttle.seconds  # a minute later
    queue.warning("Task queue depth is %d", 3)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "Task queue depth is 3 (499 more like it in the last 60 s)" in lines[1]
    logging.getLogger("refbot.test").warning("other loggers are not throttled")
    logging.getLogger("refbot.test").warning("other loggers are not throttled")
    assert stream.getvalue().count("not throttled") == 2


def test_redaction_keeps_ordinary_text_and_leaves_records_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "request %s for %s", (12, "s3cret-value"), None)
    line = RedactingFormatter(logging.Formatter("%(message)s"), ["s3cret-value"]).format(record)
    assert line == "request 12 for [redacted]"
    assert record.getMessage() == "request 12 for s3cret-value"  # other handlers see the record unchanged
    assert RedactSecrets().clean("request 12 for Globex") == "request 12 for Globex"


def test_no_token_warning_from_bolt_at_start_up(
    settings: Any, db: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.app import create_app

    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)  # as in every deployment: Bolt reads it by itself
    with caplog.at_level(logging.WARNING):
        create_app(settings, db=db)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("refbot")] == []
