"""Type-ahead and candidate-ranking latency with 100,000 customers, beside a plain indexed LIKE.

    .venv/bin/python bench/ranking_bench.py [--customers 100000] [--postgres URL]

Loads a realistic customer list (industries, regions, products, check-ins, past uses) into a fresh SQLite
file — and a fresh schema on PostgreSQL when a URL is given (or TEST_DATABASE_URL is set) — then measures
p50/p95 of the "specific customer" type-ahead and of ranking candidates for a request, and of a plain
`SELECT … WHERE name_key LIKE 'prefix%'` on the indexed column as the floor, in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench.databases import on_each_database  # noqa: E402
from bot import migrate  # noqa: E402
from bot.matching import rank_candidates  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.suggestions import search_customers  # noqa: E402
from models import CheckIn, Contact, Customer, ReferenceRequest, ReferenceUse  # noqa: E402
from models.db import Database  # noqa: E402
from tests.bulk import bulk_insert, customer_row  # noqa: E402

TARGET_TYPEAHEAD_P95_MS = 100
TARGET_RANKING_P95_MS = 200

FIRST = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Hooli",
    "Pied",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Oscorp",
    "Aperture",
]
SECOND = [
    "Bank",
    "Foods",
    "Health",
    "Systems",
    "Logistics",
    "Energy",
    "Labs",
    "Media",
    "Retail",
    "Insurance",
    "Motors",
    "Telecom",
    "Pharma",
    "Capital",
]
LEGAL = ["Inc", "Ltd", "GmbH", "LLC", "plc", "SA", "Corp", ""]
INDUSTRIES = [
    "Fintech",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Logistics",
    "Energy",
    "Media",
    "Insurance",
    "Telecom",
    "Pharma",
    "Public",
    "Education",
]
REGIONS = ["EMEA", "North America", "LATAM", "APAC", "DACH"]
SEGMENTS = ["Enterprise", "Mid-market", "SMB"]
PRODUCTS = ["Payments", "Ledger", "Analytics", "Risk", "Onboarding", "Billing", "Identity", "Reporting"]
TOPICS = ["migration", "SSO", "ROI", "security review", "rollout", "support", "integration", "compliance"]


def load(db: Database, count: int, seed: int = 7) -> list[str]:
    """Insert `count` customers with contacts, check-ins and uses; returns their names."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    names: list[str] = []
    customers, contacts, checkins, uses = [], [], [], []
    for i in range(1, count + 1):
        name = f"{rng.choice(FIRST)} {rng.choice(SECOND)} {i} {rng.choice(LEGAL)}".strip()
        names.append(name)
        checked = now - timedelta(days=rng.randint(1, 200)) if rng.random() < 0.9 else None
        answer = rng.choices(["happy", "concerns", "unhappy"], [85, 10, 5])[0] if checked else None
        customers.append(
            customer_row(
                name,
                f"c{i}.example.com",
                id=i,
                industry=rng.choice(INDUSTRIES),
                region=rng.choice(REGIONS),
                segment=rng.choice(SEGMENTS),
                products=rng.sample(PRODUCTS, rng.randint(1, 3)),
                topics=rng.sample(TOPICS, rng.randint(0, 3)),
                owner=f"U{rng.randint(1, 2000):06d}",  # drawn in this order: the same list on every run
                referenceable=rng.random() < 0.95,
                at=now,
                last_checkin_at=checked,
                last_checkin_answer=answer,
            )
        )
        contacts.append(
            {"id": i, "customer_id": i, "name": f"Contact {i}", "title": "VP", "email": "", "is_primary": True}
        )
        if checked:
            checkins.append(
                {
                    "customer_id": i,
                    "purpose": "ask_owner",
                    "status": "answered",
                    "asked_of": "U000001",
                    "asked_by": "system",
                    "asked_at": checked,
                    "answer": answer,
                    "note": "",
                    "answered_by": "U000001",
                    "answered_at": checked,
                    "version": 1,
                }
            )
        for _ in range(rng.choices([0, 1, 2, 3], [70, 18, 8, 4])[0]):
            uses.append(
                {
                    "customer_id": i,
                    "contact_id": i,
                    "ref_type": "call",
                    "used_at": now - timedelta(days=rng.randint(1, 300)),
                    "counted": True,
                }
            )
    bulk_insert(db, {Customer: customers, Contact: contacts, CheckIn: checkins, ReferenceUse: uses})
    return names


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm caches and the connection pool once
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def p95_verdict(values: list[float], target: float | None) -> tuple[bool, str]:
    """Whether the p95 of `values` (ms) is within `target`, and the table's words for it ("" with no target)."""
    if target is None:
        return True, ""
    met = pct(values, 95) <= target
    return met, f"≤ {target} ms {'met' if met else 'MISSED'}"


def measure(label: str, url: str, count: int, runs: int) -> bool:
    db = Database(url)
    migrate.upgrade(db.engine)
    started = time.perf_counter()
    names = load(db, count)
    print(f"\n{label}: loaded {count:,} customers in {time.perf_counter() - started:.1f} s")
    settings = Settings(database_url=url, managers=("U0MANAGER",))
    deps = SimpleNamespace(db=db, settings=settings)
    rng = random.Random(11)
    queries = [rng.choice(names)[: rng.randint(3, 8)].lower() for _ in range(runs)]
    words = [rng.choice(names).split()[1][:5].lower() for _ in range(runs)]

    def baseline() -> None:
        q = queries[rng.randrange(runs)]
        with db.reading() as session:
            session.execute(select(Customer.id, Customer.name).where(Customer.name_key.like(f"{q}%")).limit(20)).all()

    def typeahead() -> None:
        search_customers(deps, rng.choice(queries + words))  # type: ignore[arg-type]

    now = datetime.now(UTC)

    def ranking() -> None:
        request = ReferenceRequest(
            id=10**9,
            prospect="Bench",
            ref_type=rng.choice(["call", "case_study", "analyst"]),
            industry=rng.choice(INDUSTRIES),
            region=rng.choice(REGIONS),
            segment=rng.choice(SEGMENTS + [""]),
            products=rng.sample(PRODUCTS, 2),
            topics=rng.sample(TOPICS, 1),
            specific_customer_id=None,
        )
        with db.reading() as session:
            rank_candidates(session, settings, request, now)

    rows = [
        ("indexed LIKE 'prefix%' (floor)", timed(baseline, runs), None),
        ("type-ahead (specific customer)", timed(typeahead, runs), TARGET_TYPEAHEAD_P95_MS),
        ("candidate ranking", timed(ranking, max(20, runs // 2)), TARGET_RANKING_P95_MS),
    ]
    ok = True
    print(f"{'operation':34} {'p50 ms':>8} {'p95 ms':>8}  target p95")
    for name, values, target in rows:
        met, verdict = p95_verdict(values, target)
        ok &= met
        print(f"{name:34} {statistics.median(values):8.1f} {pct(values, 95):8.1f}  {verdict}")
    db.dispose()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores · python {sys.version.split()[0]}")
    ok = on_each_database(partial(measure, count=args.customers, runs=args.runs), args.postgres)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
