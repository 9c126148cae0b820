"""What an operator sees: Prometheus metrics, JSON logs with request ids, and secrets kept out of both.

Metrics live in one registry per process (`Metrics`), exposed at `GET /metrics`. Logs are one JSON object
per line with the request id of the Slack delivery being handled; a redacting filter removes tokens,
the signing secret and database passwords from every record before it is written.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from pythonjsonlogger.json import JsonFormatter
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select

from models import JobRun, OutboxMessage
from models.db import Database

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("refbot_request_id", default="-")

ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0)


class Metrics:
    """The process's metrics; one instance per `create_app`, so tests never share counters."""

    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "refbot_slack_requests_total",
            "Slack requests received, by payload type and HTTP status",
            ["type", "status"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "refbot_ack_seconds",
            "Time from receiving a Slack request to sending the acknowledgement",
            ["type"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.slack_api_errors = Counter(
            "refbot_slack_api_errors_total",
            "Slack Web API calls that failed, by method and error",
            ["method", "error"],
            registry=self.registry,
        )
        self.slack_api_calls = Counter(
            "refbot_slack_api_calls_total", "Slack Web API calls made, by method", ["method"], registry=self.registry
        )
        self.job_runs = Counter(
            "refbot_job_runs_total",
            "Scheduled job runs by this process, by job and result",
            ["job", "result"],
            registry=self.registry,
        )
        self.registry.register(_OutboxCollector(db))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _OutboxCollector:
    """Outbox backlog and failures, read from the database at scrape time (shared by all replicas)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterable[GaugeMetricFamily]:
        by_status = GaugeMetricFamily("refbot_outbox_messages", "Outbox rows by status", labels=["status"])
        jobs = GaugeMetricFamily("refbot_job_runs_recorded", "Job runs recorded in the database", labels=["job"])
        try:
            with self.db.reading() as session:
                rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
                runs = session.execute(select(JobRun.job, func.count()).group_by(JobRun.job)).all()
        except Exception:  # the database being down must not break the scrape of the other metrics
            return [by_status, jobs]
        for status, count in rows:
            by_status.add_metric([status], count)
        for job, count in runs:
            jobs.add_metric([job], count)
        return [by_status, jobs]


class InstrumentedWebClient(WebClient):
    """A WebClient that counts its calls and failures per method (for `refbot_slack_api_*`)."""

    metrics: Metrics | None = None

    def api_call(self, api_method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        metrics = self.metrics
        if metrics is not None:
            metrics.slack_api_calls.labels(api_method).inc()
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            if metrics is not None:
                metrics.slack_api_errors.labels(api_method, str(exc.response.get("error") or "http")).inc()
            raise
        except Exception as exc:
            if metrics is not None:
                metrics.slack_api_errors.labels(api_method, type(exc).__name__).inc()
            raise


# -- logging -------------------------------------------------------------------------------------------

_SECRET_PATTERNS = [
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?<=://)([^:/@\s]+):([^@/\s]+)@"),  # user:password@ in URLs
]


class RedactSecrets:
    """Removes Slack tokens, the signing secret and URL passwords from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(lambda m: f"{m.group(1)}:[redacted]@" if m.lastindex else "[redacted]", text)
        return text


class RedactingFormatter(logging.Formatter):
    """Formats with `inner`, then removes secrets from the finished line, tracebacks included.

    Redacting the output, not the record, leaves records untouched for any other handler.
    """

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.inner = inner
        self.redact = RedactSecrets(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact.clean(self.inner.format(record))


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the Slack delivery being handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def configure_logging(level: str, secrets: Iterable[str] = (), *, json_lines: bool = True) -> None:
    """One JSON object per line on stderr (or plain text for a person at a terminal), secrets removed."""
    handler = logging.StreamHandler(sys.stderr)
    inner: logging.Formatter
    if json_lines:
        inner = JsonFormatter(
            "{asctime}{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    else:
        inner = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    handler.setFormatter(RedactingFormatter(inner, secrets))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level, logging.INFO))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    queue = logging.getLogger("waitress.queue")
    if not any(isinstance(f, Throttle) for f in queue.filters):
        queue.addFilter(Throttle())


class Throttle(logging.Filter):
    """Lets one record through per `seconds`, counting the rest into the next one that passes.

    For waitress's "Task queue depth is N": logged for every request that finds all threads busy, it is
    thousands of identical lines (and real CPU) exactly when the server is busiest. The ack-latency
    histogram in /metrics shows saturation better; a line a minute is enough for the log."""

    def __init__(self, seconds: float = 60.0) -> None:
        super().__init__()
        self.seconds = seconds
        self._last = float("-inf")
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self._last < self.seconds:
            self._dropped += 1
            return False
        if self._dropped:
            record.msg = f"{record.msg} ({self._dropped} more like it in the last {now - self._last:.0f} s)"
        self._last, self._dropped = now, 0
        return True


def new_request_id() -> str:
    return f"{time.time_ns():x}"[-12:]
