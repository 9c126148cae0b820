"""Delivery guarantees of the outbox (SPEC section 9): the real `OutboxWorker` against the Slack fake.

The background thread is never started: each test calls `deliver_due()` itself, and makes a rescheduled
row due again by moving its `next_attempt_at` back rather than by sleeping. slack_sdk's own retry handlers
still run (a 429 is retried by the client before the outbox sees it), but their sleeps are recorded
instead of slept, so the whole file stays fast.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
import slack_sdk.http_retry.builtin_handlers
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from bot import kinds
from bot import requests as rq
from bot.app import create_app
from bot.outbox import LEASE, MAX_ATTEMPTS, OutboxWorker, enqueue
from bot.settings import Settings
from models import OutboxMessage
from models.db import Database
from models.types import utcnow
from slackfake.server import FakeSlack
from tests.conftest import MANAGER, MANAGER_2, REP

# Clock tolerance for "next_attempt_at ≈ now + delay" (databases and this machine's clock agree to well under it).
TOLERANCE = timedelta(milliseconds=5)

pytestmark = pytest.mark.usefixtures("client_sleeps")  # what slack_sdk's retry handlers ask to sleep is recorded


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, with outgoing pacing out of the way: these tests are about retries, not pace."""
    return settings.with_overrides(rate_per_channel=1000.0, rate_global=1000.0)


# -- helpers --------------------------------------------------------------------------------------------


def submit(db: Database, settings: Settings, prospect: str = "Globex") -> int:
    """A real request: a receipt for the rep and a card per manager configured in `settings`."""
    draft = rq.parse_draft({"prospect": prospect, "ref_type": "call"}, utcnow().date())
    with db.transaction() as session:
        return rq.submit(session, settings, REP, draft).id


def submit_receipt_only(db: Database, settings: Settings) -> int:
    """A request whose only message is the rep's receipt (no managers configured): one outbox row."""
    request_id = submit(db, settings.with_overrides(managers=()))
    assert [r.kind for r in rows(db)] == [kinds.RECEIPT]
    return request_id


def rows(db: Database) -> list[OutboxMessage]:
    with db.reading() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def only_row(db: Database) -> OutboxMessage:
    (row,) = rows(db)
    return row


def make_due(db: Database, *ids: int) -> None:
    """Let time pass for these rows (all pending rows when none are named)."""
    stmt = update(OutboxMessage).where(OutboxMessage.status == "pending")
    if ids:
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    with db.transaction() as session:
        session.execute(stmt.values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def hold(db: Database, *ids: int) -> None:
    """Push these rows' next attempt an hour away (as a long outage for just them would)."""
    with db.transaction() as session:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(next_attempt_at=utcnow() + timedelta(hours=1))
        )


def deliver(worker: OutboxWorker) -> tuple[int, datetime, datetime]:
    """One delivery pass, bracketed by the clock: (rows attempted, started, finished)."""
    started = utcnow()
    done = worker.deliver_due()
    return done, started, utcnow()


def client_tries(worker: OutboxWorker, handler: type[RetryHandler]) -> int:
    """Calls one delivery pass makes for an error `handler` retries: slack_sdk's own tries, as configured."""
    return 1 + sum(h.max_retry_count for h in worker.client.retry_handlers if isinstance(h, handler))


def statuses(fake: FakeSlack, method: str = "chat.postMessage") -> list[int]:
    return [c.status for c in fake.calls(method)]


# -- delivered once ----------------------------------------------------------------------------------


def test_delivered_once_and_marked_sent(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker
) -> None:
    request_id = submit(db, settings)
    assert [(r.kind, r.recipient, r.status) for r in rows(db)] == [
        (kinds.RECEIPT, REP, "pending"),
        (kinds.MANAGER_CARD, MANAGER, "pending"),
        (kinds.MANAGER_CARD, MANAGER_2, "pending"),
    ]
    assert worker.deliver_due() == 3
    posts = fake.calls("chat.postMessage")
    assert [c.args["channel"] for c in posts] == [REP, MANAGER, MANAGER_2]
    assert all(c.ok for c in posts)
    for row, call in zip(rows(db), posts, strict=True):
        assert (row.status, row.attempts, row.last_error, row.claimed_until) == ("sent", 1, "", None)
        assert row.slack_channel == fake.dm_channel(row.recipient) == call.response["channel"]
        assert row.slack_ts == call.response["ts"]
        assert row.sent_at is not None
        stored = fake.message(row.slack_channel, row.slack_ts)
        assert stored is not None and stored.text == call.args["text"]
    assert fake.messages(REP)[0].text == f"Request #{request_id} for Globex sent to the reference team"
    # Nothing is due any more: later passes send nothing.
    assert worker.deliver_due() == 0
    make_due(db)
    assert worker.deliver_due() == 0
    assert len(fake.calls("chat.postMessage")) == 3
    assert [len(fake.messages(u)) for u in (REP, MANAGER, MANAGER_2)] == [1, 1, 1]
    assert fake.violations == []


def test_same_idempotency_key_is_one_row_and_one_message(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker
) -> None:
    request_id = submit_receipt_only(db, settings)
    subject = f"request:{request_id}"
    for _ in range(2):
        with db.transaction() as session:
            enqueue(session, key=f"{subject}:reminder", kind=kinds.RECEIPT, recipient=MANAGER, subject=subject)
            enqueue(session, key=f"{subject}:reminder", kind=kinds.RECEIPT, recipient=MANAGER_2, subject=subject)
    # submit's own receipt key, once more, is a no-op too.
    with db.transaction() as session:
        enqueue(session, key=f"{subject}:receipt", kind=kinds.RECEIPT, recipient=REP, subject=subject)
    assert [(r.idempotency_key, r.recipient) for r in rows(db)] == [
        (f"{subject}:receipt", REP),
        (f"{subject}:reminder", MANAGER),
    ]
    assert worker.deliver_due() == 2
    assert worker.deliver_due() == 0
    assert [c.args["channel"] for c in fake.calls("chat.postMessage")] == [REP, MANAGER]
    assert (len(fake.messages(REP)), len(fake.messages(MANAGER)), len(fake.messages(MANAGER_2))) == (1, 1, 0)


# -- transient failures: retried, then delivered exactly once ------------------------------------------


def test_rate_limit_waits_for_retry_after_then_delivers_once(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, client_sleeps: list[float]
) -> None:
    submit_receipt_only(db, settings)
    tries = client_tries(worker, RateLimitErrorRetryHandler)
    fake.fail("chat.postMessage", status=429, retry_after=1, times=5)
    failing_passes = 5 // tries  # passes whose every call is rate limited: the client gives up, the outbox waits
    for n in range(1, failing_passes + 1):
        done, started, finished = deliver(worker)
        assert done == 1
        assert statuses(fake) == [429] * (n * tries)
        row = only_row(db)
        assert (row.status, row.attempts, row.slack_ts, row.claimed_until) == ("pending", n, None, None)
        assert "rate limited" in row.last_error
        one_second = timedelta(seconds=1)
        assert started + one_second - TOLERANCE <= row.next_attempt_at <= finished + one_second + TOLERANCE
        assert worker.deliver_due() == 0  # not due before Retry-After has passed
        assert len(fake.calls("chat.postMessage")) == n * tries
        assert fake.messages(REP) == []
        make_due(db)

    assert worker.deliver_due() == 1
    assert statuses(fake) == [429] * 5 + [200]
    # The client slept before each of its own retries (one per 429 it did not hand back), honouring Retry-After.
    assert len(client_sleeps) == 5 - failing_passes and all(1.0 <= s < 2.0 for s in client_sleeps)
    row = only_row(db)
    assert (row.status, row.attempts, row.last_error) == ("sent", failing_passes + 1, "")
    assert len(fake.messages(REP)) == 1
    make_due(db)
    assert worker.deliver_due() == 0
    assert len(fake.calls("chat.postMessage")) == 6


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_back_off_exponentially_then_deliver_once(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, status: int
) -> None:
    submit_receipt_only(db, settings)
    # slack_sdk's ServerErrorRetryHandler retries 500 and 503 within the pass, never 502.
    per_pass = client_tries(worker, ServerErrorRetryHandler) if status in (500, 503) else 1
    fake.fail("chat.postMessage", status=status, times=2 * per_pass)

    delays = []
    for attempt in (1, 2):
        done, started, finished = deliver(worker)
        assert done == 1
        row = only_row(db)
        assert (row.status, row.attempts, row.slack_ts) == ("pending", attempt, None)
        assert str(status) in row.last_error
        assert len(fake.calls("chat.postMessage")) == attempt * per_pass
        low, high = row.next_attempt_at - finished, row.next_attempt_at - started
        assert low > timedelta(seconds=1) - TOLERANCE
        delays.append((low, high))
        assert worker.deliver_due() == 0  # backing off: not due yet
        make_due(db)
    # Exponential: the second wait is twice the first.
    (low1, high1), (low2, high2) = delays
    assert 2 * low1 - TOLERANCE <= high2 and low2 <= 2 * high1 + TOLERANCE
    assert low2 > high1

    assert worker.deliver_due() == 1
    assert statuses(fake) == [status] * (2 * per_pass) + [200]
    row = only_row(db)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, "")
    assert len(fake.messages(REP)) == 1


def test_invalid_auth_is_retried_not_permanent(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker
) -> None:
    submit_receipt_only(db, settings)
    fake.fail("chat.postMessage", error="invalid_auth")
    assert worker.deliver_due() == 1
    row = only_row(db)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "invalid_auth")
    assert row.next_attempt_at > utcnow()
    make_due(db)
    assert worker.deliver_due() == 1
    assert (only_row(db).status, len(fake.messages(REP))) == ("sent", 1)
    assert len(fake.calls("chat.postMessage")) == 2


def test_read_timeout_is_retried_then_delivered_once(
    db: Database, settings: Settings, fake: FakeSlack, client_sleeps: list[float]
) -> None:
    impatient = settings.with_overrides(slack_timeout_seconds=1)
    worker = create_app(impatient, db=db).deps.outbox
    submit_receipt_only(db, settings)
    # Slack answers too late, and with an error: nothing was posted by the call the client gave up on.
    fake.fail("chat.postMessage", delay=1.5, status=500)
    assert worker.deliver_due() == 1
    row = only_row(db)
    assert (row.status, row.attempts, row.slack_ts) == ("pending", 1, None)
    assert "TimeoutError" in row.last_error  # the client gave up before the (late) answer came
    assert client_sleeps == []  # slack_sdk does not retry a read timeout itself: the outbox does
    fake.wait_for(lambda f: f.calls("chat.postMessage"))  # the late answer has been given (to nobody)
    make_due(db)
    assert worker.deliver_due() == 1
    row = only_row(db)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert statuses(fake) == [500, 200]
    assert len(fake.messages(REP)) == 1


def test_read_timeout_after_slack_posted_does_not_post_twice(db: Database, settings: Settings, fake: FakeSlack) -> None:
    worker = create_app(settings.with_overrides(slack_timeout_seconds=1), db=db).deps.outbox
    submit_receipt_only(db, settings)
    fake.fail("chat.postMessage", delay=1.5)  # answered late, but normally: Slack did post it
    assert worker.deliver_due() == 1
    assert only_row(db).status == "pending"
    fake.wait_for(lambda f: f.calls("chat.postMessage"))
    assert len(fake.messages(REP)) == 1  # the message is there, though the bot never heard back
    make_due(db)
    worker.deliver_due()
    make_due(db)
    worker.deliver_due()
    assert len(fake.messages(REP)) == 1, "posted twice (SPEC 9: never sent twice)"
    row = only_row(db)
    assert row.status == "sent"
    assert (row.slack_channel, row.slack_ts) == (fake.dm_channel(REP), fake.messages(REP)[0].ts)


# -- permanent failures: recorded, never retried ---------------------------------------------------------


@pytest.mark.parametrize("error", ["channel_not_found", "user_not_found", "account_inactive"])
def test_permanent_errors_fail_the_row_and_are_not_retried(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, error: str
) -> None:
    submit_receipt_only(db, settings)
    fake.fail("chat.postMessage", error=error)
    assert worker.deliver_due() == 1
    row = only_row(db)
    assert (row.status, row.last_error, row.attempts, row.sent_at, row.slack_ts) == ("failed", error, 1, None, None)
    for _ in range(2):
        make_due(db)
        assert worker.deliver_due() == 0
    assert len(fake.calls("chat.postMessage")) == 1
    assert fake.messages(REP) == []


def test_unknown_recipient_fails_permanently(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker
) -> None:
    request_id = submit_receipt_only(db, settings)
    with db.transaction() as session:
        enqueue(session, key="lost", kind=kinds.RECEIPT, recipient="someone", subject=f"request:{request_id}")
    assert worker.deliver_due() == 2
    assert [(r.recipient, r.status, r.last_error) for r in rows(db)] == [
        (REP, "sent", ""),
        ("someone", "failed", "channel_not_found"),
    ]
    make_due(db)
    assert worker.deliver_due() == 0
    assert len(fake.calls("chat.postMessage")) == 2


def test_gives_up_after_max_attempts(db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker) -> None:
    submit_receipt_only(db, settings)
    with db.transaction() as session:
        session.execute(update(OutboxMessage).values(attempts=MAX_ATTEMPTS - 1))
    fake.fail("chat.postMessage", status=502)
    assert worker.deliver_due() == 1
    row = only_row(db)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert "502" in row.last_error
    make_due(db)
    assert worker.deliver_due() == 0
    assert len(fake.calls("chat.postMessage")) == 1


# -- crashes and concurrent workers ----------------------------------------------------------------------


def test_row_claimed_by_a_crashed_worker_is_delivered_once_its_lease_expires(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker
) -> None:
    submit_receipt_only(db, settings)
    # Another process claimed the row, then died before sending: its lease still runs.
    with db.transaction() as session:
        session.execute(update(OutboxMessage).values(claimed_by="crashed:1234", claimed_until=utcnow() + LEASE))
    assert worker.deliver_due() == 0
    assert fake.calls("chat.postMessage") == []
    # The lease runs out: this worker takes the row over and sends it, once.
    with db.transaction() as session:
        session.execute(update(OutboxMessage).values(claimed_until=utcnow() - timedelta(seconds=1)))
    assert worker.deliver_due() == 1
    row = only_row(db)
    assert (row.status, row.claimed_until, row.attempts) == ("sent", None, 1)
    assert worker.deliver_due() == 0
    assert len(fake.calls("chat.postMessage")) == 1 and len(fake.messages(REP)) == 1


@pytest.fixture
def second_worker(settings: Settings, database_url: str) -> Iterator[OutboxWorker]:
    """Another replica: its own app, client and connection pool on the same database."""
    other_db = Database(database_url)
    yield create_app(settings, db=other_db).deps.outbox
    other_db.dispose()


def test_two_workers_in_parallel_send_each_row_exactly_once(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, second_worker: OutboxWorker
) -> None:
    request_id = submit(db, settings.with_overrides(managers=()))
    subject = f"request:{request_id}"
    with db.transaction() as session:
        for n in range(1, 50):
            enqueue(session, key=f"{subject}:copy:{n}", kind=kinds.RECEIPT, recipient=f"UBULK{n:04d}", subject=subject)
    assert len(rows(db)) == 50
    assert worker.worker_id != second_worker.worker_id

    start = threading.Barrier(2)
    errors: list[BaseException] = []
    attempted: dict[str, int] = {}

    def run(w: OutboxWorker) -> None:
        try:
            start.wait(timeout=10)
            total = 0
            while done := w.deliver_due():
                total += done
            attempted[w.worker_id] = total
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in (worker, second_worker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert not any(t.is_alive() for t in threads)

    posts = fake.calls("chat.postMessage")
    channels = [c.args["channel"] for c in posts]
    assert len(posts) == 50
    assert sorted(channels) == sorted([REP] + [f"UBULK{n:04d}" for n in range(1, 50)])
    assert all(c.ok for c in posts)
    assert sum(attempted.values()) == 50
    final = rows(db)
    assert {(r.status, r.attempts) for r in final} == {("sent", 1)}
    assert len({r.slack_ts for r in final}) == 50


def test_client_rate_limit_sleep_longer_than_the_lease_does_not_post_twice(
    db: Database,
    settings: Settings,
    fake: FakeSlack,
    worker: OutboxWorker,
    second_worker: OutboxWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two replicas. A long Retry-After must never keep a delivery inside the client past its lease, or the
    other replica takes the row over and both post it."""
    submit_receipt_only(db, settings)
    lease = getattr(worker, "lease", LEASE)
    fake.fail("chat.postMessage", status=429, retry_after=int(lease.total_seconds() / 2) + 1, times=2)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        """Time passes inside worker 1's client; once its lease has run out, replica 2 does its pass."""
        slept.append(seconds)
        if sum(slept) >= lease.total_seconds():
            with db.transaction() as session:
                session.execute(update(OutboxMessage).values(claimed_until=utcnow() - timedelta(seconds=1)))
            second_worker.deliver_due()

    monkeypatch.setattr(slack_sdk.http_retry.builtin_handlers, "time", SimpleNamespace(sleep=sleep))
    for _ in range(3):  # a client that hands the 429 back to the outbox needs later passes
        worker.deliver_due()
        make_due(db)
        second_worker.deliver_due()
        make_due(db)
    assert only_row(db).status == "sent"
    assert len(fake.messages(REP)) == 1, "posted by both workers"
    assert statuses(fake).count(200) == 1


# -- refreshes -------------------------------------------------------------------------------------------


def test_refresh_waits_for_pending_card_then_updates_it_in_place(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker
) -> None:
    request_id = submit(db, settings)
    receipt, card_1, card_2 = (r.id for r in rows(db))
    hold(db, card_1, card_2)  # the managers' cards are not out yet
    with db.transaction() as session:
        rq.cancel(session, settings, request_id, REP)
    refresh = rows(db)[-1]
    assert (refresh.kind, refresh.subject, refresh.params) == (
        "refresh",
        f"request:{request_id}",
        {"kinds": list(kinds.REQUEST_CARDS)},
    )

    assert worker.deliver_due() == 2  # the receipt goes; the refresh finds cards still pending and waits
    waiting = rows(db)[-1]
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert waiting.last_error == "waiting for the card to be posted first"
    assert waiting.next_attempt_at > utcnow()
    assert fake.calls("chat.update") == []
    assert len(fake.calls("chat.postMessage")) == 1

    hold(db, refresh.id)
    make_due(db, card_1, card_2)
    assert worker.deliver_due() == 2
    assert len(fake.calls("chat.postMessage")) == 3
    assert fake.calls("chat.update") == []

    make_due(db, refresh.id)
    assert worker.deliver_due() == 1
    updates = fake.calls("chat.update")
    targets = [r for r in rows(db) if r.id in (receipt, card_1, card_2)]
    assert sorted((c.args["channel"], c.args["ts"]) for c in updates) == sorted(
        (r.slack_channel, r.slack_ts) for r in targets
    )
    assert all(c.ok for c in updates)
    done = rows(db)[-1]
    assert (done.status, done.attempts, done.slack_ts) == ("sent", 1, None)
    for user in (REP, MANAGER, MANAGER_2):
        (message,) = fake.messages(user)
        assert "Cancelled by" in message.text + str(message.blocks)
    make_due(db)
    assert worker.deliver_due() == 0
    assert len(fake.calls("chat.update")) == 3
    assert fake.violations == []


# -- rendering failures lose nothing -----------------------------------------------------------------------


@pytest.mark.parametrize("broken", ["subject", "kind"])
def test_render_failure_keeps_the_row_pending(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, broken: str
) -> None:
    request_id = submit_receipt_only(db, settings)
    subject, kind = (
        ("request:not-a-number", kinds.RECEIPT) if broken == "subject" else (f"request:{request_id}", "no.such.kind")
    )
    with db.transaction() as session:
        enqueue(session, key="broken", kind=kind, recipient=MANAGER, subject=subject)
    assert worker.deliver_due() == 2
    row = rows(db)[-1]
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error.startswith("render failed: " + ("ValueError" if broken == "subject" else "KeyError"))
    assert [c.args["channel"] for c in fake.calls("chat.postMessage")] == [REP]
    # Repaired (a deploy with the fix, a corrected row), it goes out once.
    with db.transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(kind=kinds.RECEIPT, subject=f"request:{request_id}", next_attempt_at=utcnow())
        )
    assert worker.deliver_due() == 1
    assert rows(db)[-1].status == "sent"
    assert [c.args["channel"] for c in fake.calls("chat.postMessage")] == [REP, MANAGER]


def test_database_error_while_rendering_keeps_the_row(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit_receipt_only(db, settings)
    real = worker.renderers[kinds.RECEIPT]

    def failing(*args: object) -> None:
        raise OperationalError("SELECT …", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setitem(worker.renderers, kinds.RECEIPT, failing)
    assert worker.deliver_due() == 1
    row = only_row(db)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "OperationalError" in row.last_error and "server closed the connection" in row.last_error
    assert fake.calls("chat.postMessage") == []
    monkeypatch.setitem(worker.renderers, kinds.RECEIPT, real)
    make_due(db)
    assert worker.deliver_due() == 1
    assert only_row(db).status == "sent" and len(fake.messages(REP)) == 1
