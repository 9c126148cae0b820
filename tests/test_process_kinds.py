"""The web and worker tiers as real processes: `serve --workers N` (pre-forked web processes plus a worker),
`serve --no-worker` beside `refbot worker`, and any mix of them on one database delivering every message
exactly once — also when a worker is killed with SIGKILL in the middle of a fan-out."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import CheckIn, Customer, InboundDelivery
from models.db import Database
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.bulk import bulk_insert, stale_customers
from tests.conftest import MANAGER, REP, SIGNING_SECRET, migrate_to_head
from tests.postgres import private_schema
from tests.processes import Serve

QUIET_SCHEDULE = {
    "REFBOT_SCHEDULE_REMINDERS": "0 0 1 1 *",
    "REFBOT_SCHEDULE_CONSENTS": "0 0 1 1 *",
    "REFBOT_SCHEDULE_DIGEST": "0 0 1 1 *",
    "REFBOT_SCHEDULE_CLEANUP": "0 0 1 1 *",
}


def _backend_url(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'kinds.db'}"
        migrate_to_head(url)
        yield url
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("needs TEST_DATABASE_URL (PostgreSQL)")
    with private_schema(base, "refbot_kinds") as url:
        migrate_to_head(url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _backend_url(request.param, tmp_path)


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    yield from _backend_url("postgresql", tmp_path)


def dms(fake: FakeSlack, users: set[str]) -> Counter[str]:
    return Counter(
        str(c.args.get("channel")) for c in fake.calls("chat.postMessage") if c.ok and c.args.get("channel") in users
    )


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout}s")


def test_prefork_serve_answers_slack_and_its_worker_delivers(url: str, fake: FakeSlack, tmp_path: Path) -> None:
    """`serve --workers 2`: two web processes share the port, the worker beside them posts the DMs at once
    (woken, not polled: the poll is 30 s here), and SIGTERM stops all of it cleanly."""
    db = Database(url)
    with db.transaction() as session:
        factories.customer(session, "Acme Corp")
    serve = Serve(url, fake.url, tmp_path, command=("serve", "--workers", "2"), REFBOT_OUTBOX_POLL_SECONDS="30")
    try:
        serve.ready()
        assert "2 web processes" in "\n".join(serve.stdout)
        client = SignedClient(f"{serve.url}/slack/events", SIGNING_SECRET, fake=fake)
        assert client.command(REP, "request Globex").status == 200
        view = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
        started = time.monotonic()
        assert client.view_submission(REP, view, {"ref_type": "call"}).status == 200
        wait_until(lambda: dms(fake, {MANAGER})[MANAGER] == 1, 10, "no manager card")
        assert time.monotonic() - started < 10  # far below the 30 s poll: the web process woke the worker
        wait_until(lambda: dms(fake, {REP})[REP] == 1, 10, "no receipt to the rep")
        with db.reading() as session:  # one delivery recorded however many web processes there are
            assert session.scalar(select(func.count()).select_from(InboundDelivery)) >= 2
        serve.process.send_signal(signal.SIGTERM)
        assert serve.wait(40) == 0
        assert "refbot: stopped" in "\n".join(serve.stdout)
        assert dms(fake, {MANAGER, REP}) == Counter({MANAGER: 1, REP: 1})
        assert fake.violations == []
    finally:
        serve.stop()
        db.dispose()


def test_web_only_and_worker_processes_split_the_work(url: str, fake: FakeSlack, tmp_path: Path) -> None:
    """`serve --no-worker` posts nothing itself; a `refbot worker` started later delivers what it enqueued."""
    db = Database(url)
    with db.transaction() as session:
        factories.customer(session, "Acme Corp")
    web = Serve(url, fake.url, tmp_path, command=("serve", "--no-worker"))
    worker: Serve | None = None
    try:
        web.ready()
        client = SignedClient(f"{web.url}/slack/events", SIGNING_SECRET, fake=fake)
        assert client.command(REP, "request Globex").status == 200
        view = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
        assert client.view_submission(REP, view, {"ref_type": "call"}).status == 200
        time.sleep(1.5)
        assert dms(fake, {MANAGER, REP}) == Counter(), "a web-only process delivered the outbox itself"
        worker = Serve(url, fake.url, tmp_path, command=("worker",))
        worker.ready()
        wait_until(lambda: dms(fake, {MANAGER, REP}) == Counter({MANAGER: 1, REP: 1}), 15, "the worker did not deliver")
        worker.process.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0 and "refbot worker: stopped" in "\n".join(worker.stdout)
    finally:
        web.stop()
        if worker is not None:
            worker.stop()
        db.dispose()


def test_every_process_kind_on_one_postgres_delivers_each_message_once(
    pg_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    """Plain serve, a pre-forked serve with its worker, a web-only serve and two workers, all scheduling
    check-in rounds every 2 s on one database; one worker is SIGKILLed in the middle of a slow fan-out."""
    db = Database(pg_url)
    schedule = {
        "REFBOT_SCHEDULER": "on",
        "REFBOT_SCHEDULE_CHECKINS": "*/2 * * * * *",
        **QUIET_SCHEDULE,
        "REFBOT_OUTBOX_LEASE_SECONDS": "3",
        "REFBOT_RATE_GLOBAL": "1000",
        "REFBOT_LOG_LEVEL": "WARNING",
    }
    kinds = [("serve",), ("serve", "--workers", "2"), ("serve", "--no-worker"), ("worker",), ("worker",)]
    processes = [Serve(pg_url, fake.url, tmp_path, command=kind, **schedule) for kind in kinds]
    try:
        for process in processes:
            process.ready()
        owners = [f"UKIND{n:04d}" for n in range(40)]
        fake.fail("chat.postMessage", delay=0.2, times=10_000)
        bulk_insert(db, {Customer: stale_customers(owners, 200, days_ago=100, tag="K")})
        wait_until(lambda: len(dms(fake, set(owners))) >= 5, 30, "the fan-out did not start")
        assert len(dms(fake, set(owners))) < len(owners), "the kill must land mid fan-out"
        processes[3].process.kill()  # SIGKILL a worker holding leases
        processes[3].wait(10)
        wait_until(lambda: len(dms(fake, set(owners))) == len(owners), 90, "not every owner got a DM")
        time.sleep(4)  # the killed worker's leases (3 s) expire and are taken over: still no duplicate
        counts = dms(fake, set(owners))
        assert set(counts.values()) == {1}, counts
        with db.reading() as session:
            assert session.scalar(select(func.count()).select_from(CheckIn)) == 200
        assert fake.violations == []
    finally:
        for process in processes:
            process.stop()
        db.dispose()


def _write_rows(url: str, prefix: str, count: int) -> None:
    db = Database(url)
    try:
        for n in range(count):
            with db.transaction() as session:
                factories.customer(session, f"{prefix} {n}")
    finally:
        db.dispose()


def test_sqlite_writers_in_two_processes_queue_behind_each_other(tmp_path: Path) -> None:
    """WAL, a busy timeout and write transactions that take the lock up front (models/db.py): two processes
    writing at once each wait their turn; nothing fails with "database is locked" and nothing is lost."""
    url = f"sqlite:///{tmp_path / 'two.db'}"
    migrate_to_head(url)
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_rows, args=(url, name, 150)) for name in ("Left", "Right")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert [w.exitcode for w in writers] == [0, 0]
    db = Database(url)
    try:
        with db.reading() as session:
            assert session.scalar(select(func.count()).select_from(Customer)) == 300
    finally:
        db.dispose()
