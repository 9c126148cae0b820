"""The outbox: Slack messages recorded with the decision that causes them, delivered after commit.

Why: a decision and its notification must never disagree. A crash after the commit still delivers the
message (the row is there); a Slack outage delays it (retried with backoff); a second identical effect
is impossible (the idempotency key is unique). Several processes may run workers against one database:
each row is *claimed* with a conditional UPDATE (a lease), so exactly one of them sends it.

Rows name what to say, not the words: `bot.notifications` renders them from the database at delivery,
so a card always shows the request's current state. A `refresh` row re-renders cards already sent
(`chat.update`), which is how "Approved by @x · 14:02" replaces the buttons in place.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from http.client import HTTPException
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.ratelimit import Pacer
from bot.wakeup import Listener, Notifier
from models import InboundDelivery, OutboxMessage
from models.db import Database
from models.enums import OutboxStatus
from models.types import utcnow

log = logging.getLogger(__name__)

REFRESH = "refresh"

# Slack errors that no retry will fix: recorded as failed and surfaced, never retried forever.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "user_not_found",
        "account_inactive",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "cant_update_message",
        "message_not_found",
        "user_disabled",
        "restricted_action",
    }
)
MAX_ATTEMPTS = 40  # with the backoff below: about eight hours of trying before giving up
# A claimed row whose worker vanished (a crash, kill -9) is taken over after this long.
LEASE = timedelta(seconds=60)
# Recorded on a row whose last attempt may have reached Slack (a timeout, a dropped connection, a worker
# that died mid-send): before sending it again the worker looks for it in the conversation's history.
UNCERTAIN = "uncertain: "
METADATA_EVENT = "refbot_outbox"
# Key of a dict in `session.info` while the worker renders a group of rows in one reading (see `_deliver`).
RENDER_CACHE = "refbot_render_cache"
# `session.info` key: the idempotency keys `enqueue` was given in this session, in order, so a caller
# (`refbot jobs run`) can say afterwards where exactly the messages it queued stand.
ENQUEUED_KEYS = "refbot_enqueued_keys"
# A worker whose passes keep failing (the database unreachable) waits up to this long between tries.
MAX_IDLE_BACKOFF = 15.0


# Two inserts run on every request and every message, built once (Core, on the tables: no ORM bookkeeping).
_ENQUEUE = {
    name: insert(OutboxMessage.__table__).on_conflict_do_nothing(index_elements=["idempotency_key"])
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
_REMEMBER = {
    name: insert(InboundDelivery.__table__).on_conflict_do_nothing().returning(InboundDelivery.__table__.c.key)
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


@dataclass(frozen=True)
class Rendered:
    """What to send: the notification text (for Slack's notification and screen readers) and blocks.

    `view` instead makes it a `views.publish` of the recipient's App Home. `files` are uploaded first
    (files upload v2, not shared anywhere by themselves) and an image block whose `slack_file.id` is
    `"file:<name>"` is pointed at the uploaded file, so a chart appears inside the message itself.
    """

    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    view: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)  # name → (filename, data, title)


Renderer = Callable[[Session, OutboxMessage], "Rendered | None"]


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    recipient: str,
    subject: str = "",
    params: dict[str, Any] | None = None,
) -> None:
    """Record a message to send once this transaction commits; a key already used is a no-op."""
    now = utcnow()
    values = {
        "idempotency_key": key,
        "kind": kind,
        "recipient": recipient,
        "subject": subject,
        "params": params or {},
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }
    connection = session.connection()
    connection.execute(_ENQUEUE[connection.dialect.name], values)
    session.info.setdefault(ENQUEUED_KEYS, []).append(key)


def enqueue_refresh(session: Session, subject: str, kinds: tuple[str, ...], version: object) -> None:
    """Re-render, in place, every card of `kinds` already sent about `subject`."""
    enqueue(
        session,
        key=f"{subject}:refresh:{version}",
        kind=REFRESH,
        recipient="",
        subject=subject,
        params={"kinds": list(kinds)},
    )


def remember_delivery(session: Session, key: str) -> bool:
    """Record an inbound Slack delivery; False when it was seen before (a retry: do nothing again)."""
    connection = session.connection()
    # RETURNING, not rowcount: drivers disagree on rowcount for a skipped ON CONFLICT insert.
    found = connection.execute(_REMEMBER[connection.dialect.name], {"key": key, "received_at": utcnow()})
    return found.first() is not None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class _Retry(Exception):
    def __init__(self, reason: str, after: float | None = None, counts: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after
        self.counts = counts


class OutboxWorker:
    """Delivers due outbox rows; one per process, woken by `kick()` after each commit."""

    def __init__(
        self,
        db: Database,
        client: WebClient,
        renderers: dict[str, Renderer],
        *,
        poll_seconds: float = 2.0,
        worker_id: str | None = None,
        on_permanent_failure: Callable[[OutboxMessage], None] | None = None,
        pacer: Pacer | None = None,
        lease: timedelta = LEASE,
        notifier: Notifier | None = None,
        listener: Listener | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.renderers = renderers
        self.poll_seconds = poll_seconds
        self.pacer = pacer or Pacer(per_channel=1.0, total=20.0)
        self.lease = lease
        self.worker_id = worker_id or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.on_permanent_failure = on_permanent_failure
        # Web-only processes deliver nothing themselves: `kick()` wakes the worker processes instead
        # (`notifier`); a worker process hears them through `listener`. See bot/wakeup.py.
        self.notifier = notifier
        self.listener = listener
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._drain_until: float | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._drain_until = None
            self._thread = threading.Thread(target=self._run, name="refbot-outbox", daemon=True)
            self._thread.start()
            if self.listener is not None:
                self.listener.start(self._wake.set)

    def stop(self, timeout: float = 10.0) -> None:
        """Deliver what is due (a graceful shutdown drains the outbox), then stop.

        No new delivery starts after most of `timeout` has passed, so the worker is not cut off mid-send when
        the process exits; rows still due then simply wait in the outbox for the next process.
        """
        self._drain_until = time.monotonic() + timeout * 0.8
        if self.listener is not None:
            self.listener.stop()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def kick(self) -> None:
        """Deliver soon: called after a transaction that enqueued messages has committed."""
        self._wake.set()
        if self.notifier is not None:
            self.notifier.notify()

    def _draining_too_long(self) -> bool:
        return self._drain_until is not None and time.monotonic() > self._drain_until

    def _run(self) -> None:
        failures = 0  # passes in a row that failed (the database gone): wait longer each time, log less
        while True:
            self._wake.wait(self.poll_seconds if not failures else self._backoff(failures))
            self._wake.clear()
            stopping = self._stop.is_set()  # a stop during this pass still gets one full pass after it
            try:
                while self.deliver_due() and not self._draining_too_long():
                    pass
            except Exception as exc:  # a database blip must not kill the worker thread; it tries again later
                failures += 1
                if failures == 1:
                    log.exception("outbox delivery pass failed; retrying with backoff")
                else:
                    log.warning("outbox delivery pass failed (%d in a row): %s", failures, _first_line(exc))
            else:
                if failures:
                    log.info("outbox delivery works again after %d failed passes", failures)
                failures = 0
            if stopping:
                return
            if self._stop.is_set():
                self._wake.set()  # stopped mid-pass: the final pass goes at once

    def _backoff(self, failures: int) -> float:
        return min(self.poll_seconds * 2.0**failures, max(self.poll_seconds, MAX_IDLE_BACKOFF))

    # -- delivery --------------------------------------------------------------------------------

    def deliver_due(self, limit: int = 50) -> int:
        """Claim and deliver up to `limit` due rows; returns how many were attempted."""
        now = utcnow()
        with self.db.reading() as session:
            due = session.execute(
                select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.subject)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            ).all()
        done = 0
        # Rows of one kind about one subject (a request's card for each manager) are enqueued together and
        # delivered together: rendered in one reading, so what they share is computed once.
        for _, group in itertools.groupby(due, key=lambda row: (row.kind, row.subject)):
            if self._draining_too_long():
                break
            claimed = [row.id for row in group if self._claim(row.id)]
            if claimed:
                self._deliver(claimed)
                done += len(claimed)
        return done

    def _claim(self, row_id: int) -> bool:
        """Take the row for one lease; a previous claim that was never released makes it uncertain."""
        now = utcnow()
        with self.db.transaction() as session:
            previous = session.execute(
                select(OutboxMessage.claimed_by).where(OutboxMessage.id == row_id).with_for_update()
            ).scalar_one_or_none()
            result = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == row_id,
                    OutboxMessage.status == OutboxStatus.PENDING,
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                )
                .values(claimed_by=self.worker_id, claimed_until=now + self.lease)
            )
            if result.rowcount != 1:
                return False
            if previous is not None:  # its worker died between claiming and recording the result
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id)
                    .values(last_error=f"{UNCERTAIN}previous worker {previous} stopped mid-delivery")
                )
            return True

    def _deliver(self, row_ids: list[int]) -> None:
        """Render the claimed rows in one reading of the database, then send each and record its result."""
        outcomes: list[tuple[int, Any]] = []  # per row: a plan to send, a result to record, or a _Retry
        with self.db.reading() as session:
            session.info[RENDER_CACHE] = {}  # renderers may keep what several rows of this reading share
            for row_id in row_ids:
                outcomes.append((row_id, self._render(session, row_id)))
        for row_id, outcome in outcomes:
            if isinstance(outcome, list):
                outcome = self._attempt(row_id, functools.partial(self._send, outcome))
            if isinstance(outcome, _Retry):
                self._reschedule(row_id, outcome)
            elif outcome is not None:
                self._finish(row_id, outcome)

    def _render(self, session: Session, row_id: int) -> Any:
        def plan() -> Any:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return None
            if row.kind != REFRESH and row.last_error.startswith(UNCERTAIN):
                found = self._find_posted(row)
                if found is not None:
                    return (OutboxStatus.SENT.value, found[0], found[1], "")
            return self._plan_refresh(session, row) if row.kind == REFRESH else self._plan_post(session, row)

        return self._attempt(row_id, plan)

    @staticmethod
    def _attempt(row_id: int, step: Callable[[], Any]) -> Any:
        """The step's value, or the _Retry that reschedules the row (a renderer bug is one too: the row is kept,
        with why, and tried later)."""
        try:
            return step()
        except _Retry as retry:
            return retry
        except Exception as exc:
            log.exception("outbox row %s could not be rendered or sent", row_id)
            return _Retry(f"render failed: {exc!r}")

    def _find_posted(self, row: OutboxMessage) -> tuple[str, str] | None:
        """(channel, ts) of this row's message if an earlier attempt did post it, found by its metadata."""
        try:
            channel = row.slack_channel or row.recipient
            if channel[:1] in ("U", "W"):
                channel = self.client.conversations_open(users=channel)["channel"]["id"]
            history = self.client.conversations_history(
                channel=channel, oldest=f"{row.created_at.timestamp() - 1:.6f}", limit=200, include_all_metadata=True
            )
        except SlackApiError as exc:
            raise _Retry(f"{UNCERTAIN}cannot check history ({exc.response.get('error')})", counts=False) from None
        except (URLError, TimeoutError, ConnectionError, HTTPException, OSError) as exc:
            raise _Retry(f"{UNCERTAIN}network: {exc!r}") from None
        for message in history.get("messages", []):
            meta = message.get("metadata") or {}
            if (
                meta.get("event_type") == METADATA_EVENT
                and meta.get("event_payload", {}).get("key") == row.idempotency_key
            ):
                return channel, str(message["ts"])
        return None

    def _plan_post(self, session: Session, row: OutboxMessage) -> list[tuple[str, dict[str, Any]]]:
        rendered = self.renderers[row.kind](session, row)
        if rendered is None:
            return []
        if rendered.view is not None:
            return [("views_publish", {"user_id": row.recipient, "view": rendered.view})]
        if rendered.files:
            return [("_post_with_files", {"row": row, "rendered": rendered})]
        return [
            (
                "chat_postMessage",
                {
                    "channel": row.recipient,
                    "text": rendered.text,
                    "blocks": rendered.blocks,
                    "unfurl_links": False,
                    "metadata": {"event_type": METADATA_EVENT, "event_payload": {"key": row.idempotency_key}},
                },
            )
        ]

    def _plan_refresh(self, session: Session, row: OutboxMessage) -> list[tuple[str, dict[str, Any]]]:
        kinds = row.params.get("kinds", [])
        targets = session.scalars(
            select(OutboxMessage).where(OutboxMessage.subject == row.subject, OutboxMessage.kind.in_(kinds))
        ).all()
        if any(t.status == OutboxStatus.PENDING for t in targets):
            # The card itself is not out yet; it will render the current state when it goes. Wait for it
            # rather than risk its old rendering landing after this refresh.
            raise _Retry("waiting for the card to be posted first", after=1.0, counts=False)
        plan = []
        for target in targets:
            if target.status != OutboxStatus.SENT or not target.slack_ts:
                continue
            rendered = self.renderers[target.kind](session, target)
            if rendered is None:
                continue
            plan.append(
                (
                    "chat_update",
                    {
                        "channel": target.slack_channel,
                        "ts": target.slack_ts,
                        "text": rendered.text,
                        "blocks": rendered.blocks,
                    },
                )
            )
        return plan

    def _send(self, plan: list[tuple[str, dict[str, Any]]]) -> tuple[str, str | None, str | None, str]:
        """Call Slack; returns (status, channel, ts, error) for the row."""
        channel = ts = None
        for method, kwargs in plan:
            if method in ("chat_postMessage", "_post_with_files"):  # ~1 message/s per channel: a posting limit
                self.pacer.acquire(str(kwargs.get("channel") or ""))
            try:
                if method == "_post_with_files":
                    response = self._post_with_files(kwargs["row"], kwargs["rendered"])
                else:
                    response = getattr(self.client, method)(**kwargs)
            except SlackApiError as exc:
                error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
                if exc.response.status_code == 429 or error == "ratelimited":
                    after = float(exc.response.headers.get("Retry-After", "1") or 1)
                    raise _Retry(f"rate limited ({error})", after=after) from None
                if error in PERMANENT_ERRORS:
                    return OutboxStatus.FAILED.value, None, None, error
                raise _Retry(error) from None
            except (URLError, TimeoutError, ConnectionError, HTTPException, OSError) as exc:
                # Slack may have posted it before the connection failed: check before sending it again.
                prefix = UNCERTAIN if method in ("chat_postMessage", "_post_with_files") else ""
                raise _Retry(f"{prefix}network: {exc!r}") from None
            channel, ts = response.get("channel", channel), response.get("ts", ts)
        status = OutboxStatus.SENT if plan else OutboxStatus.SKIPPED
        return status.value, channel, ts, ""

    def _post_with_files(self, row: OutboxMessage, rendered: Rendered) -> Any:
        """Upload the files (unshared), then post the message with image blocks pointing at them.

        A retry may upload a file again (an unshared orphan, harmless); the message itself stays
        exactly-once through the same key-in-metadata check as every post.
        """
        file_ids: dict[str, str] = {}
        for name, (filename, data, title) in rendered.files.items():
            upload = self.client.files_upload_v2(content=data, filename=filename, title=title)
            file_ids[f"file:{name}"] = str(upload["file"]["id"])
        blocks = json.loads(json.dumps(rendered.blocks))
        for block in blocks:
            slack_file = block.get("slack_file") if isinstance(block, dict) else None
            if isinstance(slack_file, dict) and slack_file.get("id") in file_ids:
                slack_file["id"] = file_ids[slack_file["id"]]
        return self.client.chat_postMessage(
            channel=row.recipient,
            text=rendered.text,
            blocks=blocks,
            unfurl_links=False,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": row.idempotency_key}},
        )

    def _finish(self, row_id: int, result: tuple[str, str | None, str | None, str]) -> None:
        status, channel, ts, error = result
        with self.db.transaction() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.status = status
            row.attempts += 1
            row.claimed_until = None
            row.claimed_by = None
            row.sent_at = utcnow() if status in (OutboxStatus.SENT, OutboxStatus.SKIPPED) else None
            if row.kind != REFRESH:
                row.slack_channel, row.slack_ts = channel, ts
            row.last_error = error
        if status == OutboxStatus.FAILED:
            log.warning("outbox %s (%s to %s) failed permanently: %s", row_id, row.kind, row.recipient, error)
            if self.on_permanent_failure is not None:
                self.on_permanent_failure(row)

    def _reschedule(self, row_id: int, retry: _Retry) -> None:
        with self.db.transaction() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return
            if retry.counts:
                row.attempts += 1
            row.claimed_until = None
            row.claimed_by = None
            sticky = row.last_error.startswith(UNCERTAIN) and not retry.reason.startswith(UNCERTAIN)
            row.last_error = UNCERTAIN + retry.reason if sticky else retry.reason
            if row.attempts >= MAX_ATTEMPTS:
                row.status = OutboxStatus.FAILED
                log.warning("outbox %s gave up after %s attempts: %s", row_id, row.attempts, retry.reason)
                return
            delay = retry.after if retry.after is not None else min(5.0 * 2 ** max(row.attempts - 1, 0), 900.0)
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
        log.info("outbox %s will be retried in %.1fs: %s", row_id, delay, retry.reason)
