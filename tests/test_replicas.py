"""Three real `refbot serve` processes on one PostgreSQL: every scheduled run happens once, every message
is delivered exactly once — also when one replica is killed with SIGKILL in the middle of a fan-out."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
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
from tests.conftest import BOT_TOKEN, MANAGER, SIGNING_SECRET, migrate_to_head
from tests.postgres import private_schema

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


class Replica:
    def __init__(self, url: str, fake: FakeSlack, tmp: Path, name: str) -> None:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.url,
            "DATABASE_URL": url,
            "REFBOT_MANAGERS": MANAGER,
            "REFBOT_SCHEDULE_CHECKINS": "*/2 * * * * *",
            "REFBOT_SCHEDULE_REMINDERS": "0 0 1 1 *",
            "REFBOT_SCHEDULE_CONSENTS": "0 0 1 1 *",
            "REFBOT_OUTBOX_POLL_SECONDS": "0.2",
            "REFBOT_OUTBOX_LEASE_SECONDS": "3",
            "REFBOT_SLACK_TIMEOUT_SECONDS": "5",
            "REFBOT_RATE_GLOBAL": "1000",
            "REFBOT_LOG_LEVEL": "WARNING",
        }
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=tmp,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + 30
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.5)
            if ready and self.process.stdout.readline().startswith("refbot listening on"):
                return
            if self.process.poll() is not None:
                raise AssertionError(f"replica {name} exited with {self.process.returncode}")
        raise AssertionError(f"replica {name} did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


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
    replicas = [Replica(pg_url, fake, tmp_path, f"r{i}") for i in range(3)]
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
        replicas[0].kill()
        replicas[0] = Replica(pg_url, fake, tmp_path, "r0-restarted")
        wait_all_delivered(fake, second, timeout=60)
        time.sleep(4)  # leases of the killed replica expire (3 s) and are taken over: still no duplicate
        counts = round_dms(fake, second)
        assert len(counts) == OWNERS and set(counts.values()) == {1}, counts
        assert fake.violations == []
    finally:
        for replica in replicas:
            replica.stop()
        db.dispose()
