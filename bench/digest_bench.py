"""Weekly-digest computation over 1,000,000 requests and 100,000 customers, beside a plain COUNT(*).

    .venv/bin/python bench/digest_bench.py [--requests 1000000] [--customers 100000] [--runs 5]
                                           [--postgres URL] [--skip-sqlite] [--no-index-check]

Loads three years of a large program into a fresh SQLite file — and a private schema on PostgreSQL when a
URL is given (or TEST_DATABASE_URL is set) — with the schema exactly as migrated: requests in every state
with decisions, outcomes, amounts and deals won; a use per approved request; a check-in history; consents.
Then times, as the median of `--runs` runs after one warm-up, in the same run on the same table:

- `SELECT COUNT(*) FROM reference_requests` (the floor),
- the weekly digest's figures (`bot.digest.compute`: 12-week series, this week vs last, timings, quarter
  to date, top references, fatigue, consents, health, waiting, thanks), the target being ≤ 2 s,
- `/reference stats quarter` (the same without the series, over two quarters of requests; it has no
  target of its own: the command is acknowledged at once and answered when ready),
- the chart PNG alone (matplotlib; what the outbox adds to the figures when it posts the digest).

When the migrated schema has no index on `reference_requests.created_at` / `.decided_at`, it then adds
them (in the benchmark's database only) and times again, to show what they buy. The exit status is the
verdict for the schema as migrated.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import inspect, text  # noqa: E402

from bench.databases import on_each_database  # noqa: E402
from bot import migrate  # noqa: E402
from bot.chart import render_chart  # noqa: E402
from bot.digest import compute, digest_week, quarter_of, stats  # noqa: E402
from bot.settings import Settings  # noqa: E402
from models import Customer  # noqa: E402
from models.db import Database  # noqa: E402

TARGET_SECONDS = 2.0
YEARS = 3
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Berlin: when the digest goes out
STATES = ["submitted", "awaiting_checkin", "approved", "completed", "declined", "cancelled"]
STATE_WEIGHTS = list(accumulate([2, 1, 14, 58, 15, 10]))
OUTCOMES = ["helped", "neutral", "hurt", "did_not_happen"]
OUTCOME_WEIGHTS = list(accumulate([55, 25, 8, 12]))
REF_TYPES = ["call", "call", "call", "site_visit", "name_drop", "case_study", "logo", "quote", "analyst"]

REQUEST_COLUMNS = [
    "id",
    "requester_id",
    "prospect",
    "ref_type",
    "industry",
    "products",
    "region",
    "segment",
    "topics",
    "notes",
    "status",
    "customer_id",
    "decided_by",
    "decided_at",
    "decline_reason",
    "outcome",
    "outcome_by",
    "outcome_at",
    "deal_stage",
    "deal_won",
    "amount_influenced",
    "feedback",
    "created_at",
    "updated_at",
    "version",
]
# Every column of the customers table but owner_email, in the model's order: what customers() yields.
CUSTOMER_COLUMNS = [column.name for column in Customer.__table__.columns if column.name != "owner_email"]
USE_COLUMNS = ["customer_id", "request_id", "ref_type", "used_at", "counted"]
CHECKIN_COLUMNS = [
    "customer_id",
    "purpose",
    "status",
    "asked_of",
    "asked_by",
    "asked_at",
    "answer",
    "nps",
    "note",
    "answered_by",
    "answered_at",
    "version",
]
CONSENT_COLUMNS = ["customer_id", "ref_type", "approved_by", "approved_on", "expires_on", "recorded_by", "recorded_at"]


def owner(n: int) -> str:
    return f"U{n:07d}"


def customers(count: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    for i in range(1, count + 1):
        checked = NOW - timedelta(days=rng.uniform(0, 40)) if rng.random() < 0.93 else None
        answer = rng.choices(["happy", "concerns", "unhappy"], [88, 8, 4])[0] if checked else None
        name = f"Customer {i} Ltd"
        yield (
            i, name, name.lower(), f"c{i}.example.com", "Fintech", "EMEA", "Enterprise", "[]", "[]",
            owner(rng.randint(1, 3000)), rng.random() < 0.95, "", "", "", checked, answer, NOW, NOW,
        )  # fmt: skip


def requests_and_uses(
    count: int, customer_count: int, rng: random.Random, uses: list[tuple[Any, ...]]
) -> Iterator[tuple[Any, ...]]:
    span = YEARS * 365 * 86400
    start = NOW - timedelta(seconds=span)
    for i in range(1, count + 1):
        created = start + timedelta(seconds=span * i / count + rng.uniform(-600, 600))
        status = rng.choices(STATES, cum_weights=STATE_WEIGHTS)[0]
        decided = outcome = outcome_at = won = amount = None
        customer = None
        if status not in ("submitted", "awaiting_checkin"):
            decided = created + timedelta(hours=rng.lognormvariate(2.5, 1.0))
        if status == "awaiting_checkin" or status in ("approved", "completed"):
            customer = rng.randint(1, customer_count)
        if status == "completed":
            outcome = rng.choices(OUTCOMES, cum_weights=OUTCOME_WEIGHTS)[0]
            outcome_at = decided + timedelta(days=rng.uniform(1, 40))  # type: ignore[operator]
            if outcome != "did_not_happen":
                won = rng.random() < 0.35
                amount = round(rng.uniform(5_000, 400_000), 2) if rng.random() < 0.6 else None
        # Nothing lies in the future: a recent request is still waiting, or approved with no outcome yet.
        if outcome_at is not None and outcome_at > NOW:
            status, outcome, outcome_at, won, amount = "approved", None, None, None, None
        if decided is not None and decided > NOW:
            status, decided, customer = "submitted", None, None
        ref_type = rng.choice(REF_TYPES)
        if status in ("approved", "completed"):
            uses.append((customer, i, ref_type, decided, outcome != "did_not_happen"))
        yield (
            i, owner(rng.randint(1, 3000)), f"Prospect {i}", ref_type, "", "[]", "", "", "[]", "", status,
            customer, "U0MANAGER" if decided else None, decided, "", outcome, owner(1) if outcome else None,
            outcome_at, "", won, amount, "", created, decided or created, 1,
        )  # fmt: skip


def checkins(customer_rows: list[tuple[Any, ...]], rng: random.Random) -> Iterator[tuple[Any, ...]]:
    for row in customer_rows:
        customer_id, owner_id, checked, answer = row[0], row[9], row[14], row[15]
        if checked is not None:
            yield (customer_id, "periodic", "answered", owner_id, "refbot", checked, answer, None, "", owner_id,
                   checked, 1)  # fmt: skip
        elif rng.random() < 0.3:
            asked = NOW - timedelta(days=rng.uniform(0, 20))
            yield (customer_id, "periodic", "pending", owner_id, "refbot", asked, None, None, "", None, None, 1)


def consents(customer_count: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    for customer_id in rng.sample(range(1, customer_count + 1), customer_count // 5):
        expires = (NOW + timedelta(days=rng.randint(-100, 700))).date() if rng.random() < 0.7 else None
        yield (customer_id, "case_study", "CMO", (NOW - timedelta(days=400)).date(), expires, "U0MANAGER", NOW)


# Raw sqlite3 inserts store timestamps the way SQLAlchemy's UTCDateTime does: naive UTC, microseconds.
sqlite3.register_adapter(datetime, lambda v: v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds"))
sqlite3.register_adapter(date, lambda v: v.isoformat())


def insert_rows(db: Database, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
    """Bulk insert: COPY on PostgreSQL, executemany on SQLite, in batches; returns the row count."""
    total = 0
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            raw = conn.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    total += 1
            return total
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 20_000:
                conn.exec_driver_sql(statement, batch)
                total += len(batch)
                batch = []
        if batch:
            conn.exec_driver_sql(statement, batch)
            total += len(batch)
    return total


Dataset = dict[str, tuple[list[str], list[tuple[Any, ...]]]]  # table → (columns, rows)


def generate(request_count: int, customer_count: int) -> Dataset:
    """The whole program as rows, made once and loaded into each database."""
    rng = random.Random(47)
    customer_rows = list(customers(customer_count, rng))
    uses: list[tuple[Any, ...]] = []
    request_rows = list(requests_and_uses(request_count, customer_count, rng, uses))
    return {
        "customers": (CUSTOMER_COLUMNS, customer_rows),
        "reference_requests": (REQUEST_COLUMNS, request_rows),
        "reference_uses": (USE_COLUMNS, uses),
        "checkins": (CHECKIN_COLUMNS, list(checkins(customer_rows, rng))),
        "consents": (CONSENT_COLUMNS, list(consents(customer_count, rng))),
    }


def load(db: Database, data: Dataset) -> dict[str, int]:
    counts = {table: insert_rows(db, table, columns, iter(rows)) for table, (columns, rows) in data.items()}
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql("SELECT setval('reference_requests_id_seq', (SELECT max(id) FROM reference_requests))")
            conn.exec_driver_sql("SELECT setval('customers_id_seq', (SELECT max(id) FROM customers))")
        conn.exec_driver_sql("ANALYZE")
    return counts


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm the caches and the connection pool once
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


PROPOSED_INDEXES = {"created_at": "ix_reference_requests_created_at", "decided_at": "ix_reference_requests_decided_at"}


def missing_indexes(db: Database) -> dict[str, str]:
    """The proposed single-column indexes on reference_requests that the migrated schema does not have."""
    indexed = {tuple(ix["column_names"]) for ix in inspect(db.engine).get_indexes("reference_requests")}
    return {column: name for column, name in PROPOSED_INDEXES.items() if (column,) not in indexed}


def measure(label: str, url: str, data: Dataset, args: argparse.Namespace) -> bool:
    db = Database(url)
    migrate.upgrade(db.engine)
    started = time.perf_counter()
    counts = load(db, data)
    loaded = ", ".join(f"{n:,} {what.replace('reference_', '')}" for what, n in counts.items())
    print(f"\n{label}: loaded {loaded} in {time.perf_counter() - started:.0f} s")
    settings = Settings(database_url=url, managers=("U0MANAGER",), timezone="Europe/Berlin")
    week = digest_week(NOW, settings.tz)
    this_quarter = quarter_of(NOW.astimezone(settings.tz).date(), settings.tz)
    result: dict[str, Any] = {}

    def count_all() -> None:
        with db.reading() as session:
            session.execute(text("SELECT COUNT(*) FROM reference_requests")).scalar_one()

    def weekly() -> None:
        with db.reading() as session:
            result["digest"] = compute(session, settings, week, NOW)

    def quarterly() -> None:
        with db.reading() as session:
            stats(session, settings, this_quarter, NOW)

    def chart() -> None:
        render_chart(result["digest"].series, f"Last 12 weeks to {week.label}")

    missing = missing_indexes(db)
    schema = "as migrated" + (f", without indexes on {' and '.join(missing)}" if missing else "")
    print(f"  schema {schema}")
    rows = [
        ("plain COUNT(*) over reference_requests (floor)", timed(count_all, args.runs), None),
        (f"weekly digest figures ({week.label})", timed(weekly, args.runs), TARGET_SECONDS),
        (f"/reference stats {this_quarter.label} (two quarters)", timed(quarterly, args.runs), None),
        ("the chart PNG (matplotlib, no database)", timed(chart, args.runs), None),
    ]
    digest = result["digest"]
    print(
        f"  {week.label}: {digest.counts.received:,} received, {digest.counts.approved:,} approved, "
        f"{digest.counts.completed:,} completed, {digest.to_decision.count:,} decision times, "
        f"{digest.over_limit_total:,} customers over the fatigue limit, {digest.stale_total:,} stale check-ins"
    )
    ok = report(rows)
    if missing and not args.no_index_check:
        with db.engine.begin() as conn:
            for column, name in missing.items():
                conn.exec_driver_sql(f"CREATE INDEX {name} ON reference_requests ({column})")
            conn.exec_driver_sql("ANALYZE")
        print(f"  with the proposed indexes on reference_requests.{' and .'.join(missing)}:")
        report(
            [
                ("plain COUNT(*) over reference_requests (floor)", timed(count_all, args.runs), None),
                (f"weekly digest figures ({week.label})", timed(weekly, args.runs), TARGET_SECONDS),
                (f"/reference stats {this_quarter.label} (two quarters)", timed(quarterly, args.runs), None),
            ]
        )
    db.dispose()
    return ok


def report(rows: list[tuple[str, list[float], float | None]]) -> bool:
    ok = True
    print(f"  {'operation':48} {'median s':>9} {'max s':>7}  target")
    for name, values, target in rows:
        verdict = ""
        if target is not None:
            met = statistics.median(values) <= target
            ok &= met
            verdict = f"≤ {target:.0f} s {'met' if met else 'MISSED'}"
        print(f"  {name:48} {statistics.median(values):9.3f} {max(values):7.3f}  {verdict}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", ""))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--no-index-check", action="store_true", help="skip timing with the extra indexes")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores · python {sys.version.split()[0]} · load average {os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    data = generate(args.requests, args.customers)
    took = time.perf_counter() - started
    print(f"generated {args.requests:,} requests and {args.customers:,} customers in {took:.0f} s")
    ok = on_each_database(partial(measure, data=data, args=args), args.postgres, sqlite=not args.skip_sqlite)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
