"""`/reference assets` latency over 100,000 customers and 50,000 assets, beside a plain indexed query.

    .venv/bin/python bench/assets_bench.py [--customers 100000] [--assets 50000] [--postgres URL]

Loads the ranking benchmark's customer list and a content library (kinds, tags from their customers,
some expired, some used) into a fresh SQLite file, and a fresh schema on PostgreSQL when a URL is given
(or TEST_DATABASE_URL is set); then measures p50/p95 of `bot.assets.search_assets` (parse, scan, score,
judge the page with `bot.eligibility`) for facet, word and customer queries, and of a plain
`SELECT … WHERE title_key LIKE 'prefix%'` on the indexed column as the floor, in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench.databases import on_each_database  # noqa: E402
from bench.ranking_bench import FIRST, INDUSTRIES, PRODUCTS, TOPICS, load, p95_verdict, pct, timed  # noqa: E402
from bot import migrate  # noqa: E402
from bot.assets import parse_asset_query, search_assets  # noqa: E402
from bot.settings import Settings  # noqa: E402
from models import Asset, AssetUse, Consent  # noqa: E402
from models.db import Database  # noqa: E402
from models.enums import AssetKind  # noqa: E402
from tests.bulk import bulk_insert  # noqa: E402

TARGET_SEARCH_P95_MS = 150
WORDS = ["cuts", "onboarding", "migration", "story", "doubles", "approval", "rollout", "savings", "global", "launch"]


def load_assets(db: Database, customers: int, count: int, seed: int = 13) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    assets, uses, consents = [], [], []
    consented: set[tuple[int, str]] = set()
    for i in range(1, count + 1):
        customer_id = rng.randint(1, customers)
        kind = rng.choice(list(AssetKind))
        title = f"{rng.choice(FIRST)} {rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
        assets.append(
            {
                "id": i,
                "customer_id": customer_id,
                "kind": kind.value,
                "title": title,
                "title_key": title.lower(),
                "link": f"https://example.com/assets/{i}",
                "consent_type": kind.consent_type.value,
                "published_on": (now - timedelta(days=rng.randint(1, 900))).date(),
                "expires_on": (now + timedelta(days=rng.randint(-100, 700))).date() if rng.random() < 0.3 else None,
                "industry": rng.choice(INDUSTRIES),
                "products": rng.sample(PRODUCTS, rng.randint(1, 2)),
                "topics": rng.sample(TOPICS, rng.randint(0, 2)),
                "added_by": "U0MANAGER",
                "created_at": now - timedelta(days=rng.randint(1, 900)),
            }
        )
        key = (customer_id, kind.consent_type.value)
        if rng.random() < 0.7 and key not in consented:
            consented.add(key)
            consents.append(
                {
                    "customer_id": customer_id,
                    "ref_type": key[1],
                    "approved_by": "CMO",
                    "recorded_by": "U0MANAGER",
                    "recorded_at": now,
                    "expires_on": (now + timedelta(days=rng.randint(-60, 700))).date(),
                }
            )
        for _ in range(rng.choices([0, 1, 3], [70, 20, 10])[0]):
            uses.append(
                {
                    "asset_id": i,
                    "used_by": "U0REP",
                    "prospect": "Globex",
                    "opportunity": "",
                    "used_at": now - timedelta(days=rng.randint(1, 300)),
                }
            )
    bulk_insert(db, {Consent: consents, Asset: assets, AssetUse: uses})


def measure(label: str, url: str, customers: int, count: int, runs: int) -> bool:
    db = Database(url)
    migrate.upgrade(db.engine)
    started = time.perf_counter()
    load(db, customers)
    load_assets(db, customers, count)
    print(f"\n{label}: loaded {customers:,} customers and {count:,} assets in {time.perf_counter() - started:.1f} s")
    settings = Settings(database_url=url, managers=("U0MANAGER",))
    rng = random.Random(17)
    kinds = [k.value for k in AssetKind]
    queries = [
        *(
            f"kind:{rng.choice(kinds)} industry:{rng.choice(INDUSTRIES)} product:{rng.choice(PRODUCTS)}"
            for _ in range(runs)
        ),
        *(f"{rng.choice(WORDS)} {rng.choice(PRODUCTS).lower()}" for _ in range(runs)),
        *(f"customer:{rng.choice(FIRST).lower()} kind:{rng.choice(kinds)}" for _ in range(runs)),
        *(rng.choice(WORDS) for _ in range(runs)),
    ]
    prefixes = [f"{rng.choice(FIRST).lower()} {rng.choice(WORDS)[:3]}" for _ in range(runs)]
    now = datetime.now(UTC)

    def baseline() -> None:
        prefix = rng.choice(prefixes)
        with db.reading() as session:
            session.execute(select(Asset.id, Asset.title).where(Asset.title_key.like(f"{prefix}%")).limit(20)).all()

    def search() -> None:
        query = parse_asset_query(rng.choice(queries))
        with db.reading() as session:
            search_assets(session, settings, query, now)

    rows = [
        ("indexed LIKE 'prefix%' (floor)", timed(baseline, runs), None),
        ("/reference assets (mixed queries)", timed(search, runs), TARGET_SEARCH_P95_MS),
    ]
    ok = True
    print(f"{'operation':36} {'p50 ms':>8} {'p95 ms':>8}  target p95")
    for name, values, target in rows:
        met, verdict = p95_verdict(values, target)
        ok &= met
        print(f"{name:36} {statistics.median(values):8.1f} {pct(values, 95):8.1f}  {verdict}")
    db.dispose()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--assets", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores · python {sys.version.split()[0]} · shared with other engineers' runs")
    measure_each = partial(measure, customers=args.customers, count=args.assets, runs=args.runs)
    return 0 if on_each_database(measure_each, args.postgres) else 1


if __name__ == "__main__":
    sys.exit(main())
