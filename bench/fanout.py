"""Check-in fan-out against a rate-limited Slack fake: achieved pace vs the configured limit, and no
message lost or doubled.

    .venv/bin/python bench/fanout.py [--customers 10000] [--owners 2000] [--rate 50] [--postgres URL]

Loads `customers` stale customers spread over `owners` account owners, runs the `checkins` job (one
grouped DM per owner per 20 customers), and lets one outbox worker deliver them to the project's Slack
fake, which enforces Slack-like limits (1 message/s per channel, `--rate` messages/s overall) and answers
429 with Retry-After beyond them. The worker's pacer is configured with the same limits. Prints the
messages/s achieved against the configured rate (target ≥ 95 %), the 429s seen, duplicates and lost.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.databases import on_each_database  # noqa: E402
from bot import migrate  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.jobs import run_job  # noqa: E402
from bot.settings import Settings  # noqa: E402
from models import Customer  # noqa: E402
from models.db import Database  # noqa: E402
from slackfake.server import FakeSlack  # noqa: E402
from tests.bulk import bulk_insert, stale_customers  # noqa: E402

TARGET_SHARE = 0.95


def seed(db: Database, customers: int, owners: int) -> list[str]:
    owner_ids = [f"U{n:07d}" for n in range(owners)]
    bulk_insert(db, {Customer: stale_customers(owner_ids, customers, days_ago=120)})
    return owner_ids


def measure(label: str, url: str, customers: int, owners: int, rate: float) -> bool:
    db = Database(url)
    migrate.upgrade(db.engine)
    owner_ids = seed(db, customers, owners)
    fake = FakeSlack(token="xoxb-bench").start()
    fake.rate_limit(per_channel=1.0, total=rate)
    settings = Settings(
        slack_bot_token="xoxb-bench",
        slack_api_url=fake.url,
        database_url=url,
        managers=("U0MANAGER",),
        run_scheduler=False,
        rate_per_channel=1.0,
        rate_global=rate,
        slack_timeout_seconds=10,
    )
    try:
        started = time.perf_counter()
        result = run_job(db, settings, "checkins")
        enqueued = time.perf_counter() - started
        worker = create_app(settings, db=db).deps.outbox
        started = time.perf_counter()
        while worker.deliver_due(limit=500):
            pass
        elapsed = time.perf_counter() - started
        posted = Counter(str(c.args.get("channel")) for c in fake.calls("chat.postMessage") if c.ok)
        expected = result.messages
        delivered = sum(posted.values())
        duplicates = sum(n - 1 for n in posted.values() if n > 1)
        lost = max(expected - len(posted), len(set(owner_ids) - set(posted)))
        achieved = delivered / elapsed if elapsed else 0.0
        share = achieved / rate
        ok = share >= TARGET_SHARE and duplicates == 0 and lost == 0
        print(f"\n{label}: {customers:,} stale customers, {owners:,} owners → {expected:,} grouped DMs")
        print(f"  job run (select + enqueue):   {enqueued:6.2f} s")
        print(f"  delivery:                     {elapsed:6.2f} s for {delivered:,} messages")
        print(
            f"  achieved pace:                {achieved:6.1f} msg/s vs configured {rate:.0f} msg/s "
            f"= {share:.1%} (target ≥ {TARGET_SHARE:.0%}) {'met' if share >= TARGET_SHARE else 'MISSED'}"
        )
        print(f"  429s from the fake:           {fake.rate_limited}")
        print(f"  duplicates: {duplicates} · lost: {lost} · owners reached: {len(posted):,} of {owners:,}")
        return ok
    finally:
        fake.stop()
        db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--owners", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=50.0, help="global messages/s (Slack's fake enforces it)")
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores · python {sys.version.split()[0]}")
    ok = on_each_database(partial(measure, customers=args.customers, owners=args.owners, rate=args.rate), args.postgres)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
