"""Three real `refbot serve` processes on one PostgreSQL: every scheduled run happens once, every message
is delivered exactly once — also when one replica is killed with SIGKILL in the middle of a fan-out."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

from models import CheckIn, Customer, JobRun
from models.db import Database
from slackfake.server import FakeSlack
from tests.bulk import bulk_insert, stale_customers
from tests.conftest import migrate_to_head
from tests.postgres import private_schema
from tests.processes import Serve

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="multi-process tests need PostgreSQL (TEST_DATABASE_URL)"
)

OWNERS = 50
PER_OWNER = 10


@pytest.fixture
def pg_url() -> Iterator[str]:
    with private_schema(os.environ["TEST_DATABASE_URL"], "refbot_replicas") as url:
        migrate_to_head(url)
        yield url


def seed_stale(db: Database, batch: str) -> list[str]:
    """OWNERS × PER_OWNER referenceable customers last checked 100 days ago; returns the owner IDs."""
    owners = [f"U{batch}{n:04d}" for n in range(OWNERS)]
    bulk_insert(db, {Customer: stale_customers(owners, OWNERS * PER_OWNER, days_ago=100, tag=batch)})
    return owners


def replica(url: str, fake: FakeSlack, tmp: Path) -> Serve:
    """A running `refbot serve` whose scheduler asks for check-ins every 2 s (the other jobs never), with
    3 s outbox leases and no pacing to speak of."""
    serve = Serve(
        url,
        fake.url,
        tmp,
        REFBOT_SCHEDULER="on",
        REFBOT_SCHEDULE_CHECKINS="*/2 * * * * *",
        REFBOT_SCHEDULE_REMINDERS="0 0 1 1 *",
        REFBOT_SCHEDULE_CONSENTS="0 0 1 1 *",
        REFBOT_OUTBOX_LEASE_SECONDS="3",
        REFBOT_RATE_GLOBAL="1000",
        REFBOT_LOG_LEVEL="WARNING",
    )
    serve.ready()
    return serve


def round_dms(fake: FakeSlack, owners: list[str]) -> Counter[str]:
    wanted = set(owners)
    return Counter(
        str(c.args.get("channel")) for c in fake.calls("chat.postMessage") if c.ok and c.args.get("channel") in wanted
    )


def wait_all_delivered(fake: FakeSlack, owners: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(round_dms(fake, owners)) == len(owners):
            return
        time.sleep(0.2)
    raise AssertionError(f"only {len(round_dms(fake, owners))} of {len(owners)} owners got their DM")


def test_three_replicas_run_each_period_once_and_survive_sigkill(pg_url: str, fake: FakeSlack, tmp_path: Path) -> None:
    db = Database(pg_url)
    first = seed_stale(db, "A")
    replicas = [replica(pg_url, fake, tmp_path) for _ in range(3)]
    try:
        wait_all_delivered(fake, first, timeout=40)
        time.sleep(3)  # several more schedule fires on every replica: nothing may be asked again
        assert set(round_dms(fake, first).values()) == {1}, round_dms(fake, first)
        with db.reading() as session:
            assert session.scalar(sql_select(func.count()).select_from(CheckIn)) == OWNERS * PER_OWNER
            runs = session.execute(sql_select(JobRun.period, func.count()).group_by(JobRun.period)).all()
        assert runs and all(count == 1 for _, count in runs), "a period was run twice"

        # Now a slow Slack, and a replica killed with SIGKILL in the middle of delivering the fan-out.
        fake.fail("chat.postMessage", delay=0.25, times=10_000)
        second = seed_stale(db, "B")
        deadline = time.monotonic() + 30
        while len(round_dms(fake, second)) < OWNERS // 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert 0 < len(round_dms(fake, second)) < OWNERS, "the kill must land mid fan-out"
        replicas[0].process.kill()  # SIGKILL
        replicas[0].wait(10)
        replicas[0] = replica(pg_url, fake, tmp_path)
        wait_all_delivered(fake, second, timeout=60)
        time.sleep(4)  # leases of the killed replica expire (3 s) and are taken over: still no duplicate
        counts = round_dms(fake, second)
        assert len(counts) == OWNERS and set(counts.values()) == {1}, counts
        assert fake.violations == []
    finally:
        for serve in replicas:
            serve.stop()
        db.dispose()
