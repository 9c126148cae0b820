"""App Home build + render latency per role with 100,000 customers and 100,000 requests, beside a plain
indexed query.

    .venv/bin/python bench/home_bench.py [--customers 100000] [--requests 100000] [--runs 50] [--postgres URL]

Loads a realistic program into a fresh SQLite file — and a fresh schema on PostgreSQL when a URL is given
(or TEST_DATABASE_URL is set): the customers of bench/ranking_bench.py (check-ins, contacts, past uses),
public-use consents, pending check-ins, and requests over two years from 500 reps (about 1 % still open,
a quarter approved and waiting for their outcome). Then measures p50/p95 of building a person's Home and
rendering it to the JSON sent with views.publish, per role — a manager, an account owner, a rep, and a
manager who also owns customers and requests — as the tab opening does it (facts from before a change
and unranked requests are left to a background refresh) and as that background refresh does it (the
program's facts recomputed; and, cold, every queued request ranked). The floor is a plain
`SELECT … WHERE requester_id = ? ORDER BY id DESC LIMIT 10` on the indexed column, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ranking_bench import INDUSTRIES, PRODUCTS, REGIONS, SEGMENTS, TOPICS, p95_verdict, pct, timed  # noqa: E402
from ranking_bench import load as load_customers  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from bench.databases import on_each_database  # noqa: E402
from bot import home, migrate  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.views.home import home_view  # noqa: E402
from models import CheckIn, Consent, ReferenceRequest  # noqa: E402
from models.db import Database  # noqa: E402
from tests.bulk import bulk_insert  # noqa: E402

TARGET_P95_MS = 300
MANAGER = "U0MANAGER"
BUSY = "U000007"  # a manager who also owns customers (ranking_bench spreads them over U000001…U002000) and asks
OWNER = "U000042"
REPS = [f"UREP{i:05d}" for i in range(500)]
PUBLIC = ["case_study", "logo", "quote", "press_release"]
OUTCOMES = ["helped", "helped", "neutral", "hurt", "did_not_happen"]


def load_program(db: Database, customers: int, requests: int, seed: int = 5) -> dict[str, int]:
    """Consents, pending check-ins and `requests` requests on top of the customers already loaded."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    consents, checkins, rows = [], [], []
    for customer_id in range(1, customers + 1):
        if rng.random() < 0.2:
            for ref_type in rng.sample(PUBLIC, rng.randint(1, 2)):
                consents.append(
                    {
                        "customer_id": customer_id,
                        "ref_type": ref_type,
                        "approved_by": "CMO",
                        "approved_on": (now - timedelta(days=400)).date(),
                        "expires_on": (now + timedelta(days=rng.randint(-100, 500))).date(),
                        "recorded_by": MANAGER,
                        "recorded_at": now,
                    }
                )
        if rng.random() < 0.03:  # a periodic check-in nobody has answered yet
            checkins.append(
                {
                    "customer_id": customer_id,
                    "purpose": "periodic",
                    "status": "pending",
                    "asked_of": f"U{rng.randint(1, 2000):06d}",
                    "asked_by": "refbot",
                    "asked_at": now - timedelta(days=rng.randint(0, 20)),
                    "note": "",
                    "version": 1,
                }
            )
    for i in range(1, requests + 1):
        requester = BUSY if i % 100 == 0 else rng.choice(REPS)
        created = now - timedelta(days=rng.uniform(0, 730))
        status = rng.choices(
            ["completed", "approved", "declined", "cancelled", "submitted", "awaiting_checkin"],
            [55, 25, 11, 8, 0.7, 0.3],
        )[0]
        decided = (
            created + timedelta(hours=rng.uniform(1, 96)) if status not in ("submitted", "awaiting_checkin") else None
        )
        outcome = rng.choice(OUTCOMES) if status == "completed" else None
        customer = rng.randint(1, customers) if status in ("completed", "approved", "awaiting_checkin") else None
        rows.append(
            {
                "id": i,
                "requester_id": requester,
                "prospect": f"Prospect {i}",
                "ref_type": rng.choice(["call", "call", "site_visit", "case_study", "logo"]),
                "industry": rng.choice(INDUSTRIES),
                "products": rng.sample(PRODUCTS, 2),
                "region": rng.choice(REGIONS),
                "segment": rng.choice(SEGMENTS),
                "topics": rng.sample(TOPICS, 1),
                "needed_by": (created + timedelta(days=rng.randint(3, 40))).date() if rng.random() < 0.5 else None,
                "notes": "",
                "status": status,
                "customer_id": customer,
                "decided_by": MANAGER if decided else None,
                "decided_at": decided,
                "decline_reason": "Too early" if status == "declined" else "",
                "outcome": outcome,
                "outcome_by": requester if outcome else None,
                "outcome_at": decided + timedelta(days=rng.randint(1, 30)) if outcome and decided else None,
                "deal_stage": "",
                "amount_influenced": Decimal(rng.randint(0, 500)) * 1000 if outcome == "helped" else None,
                "feedback": "",
                "created_at": created,
                "updated_at": created,
                "version": 1,
            }
        )
        if status == "awaiting_checkin" and customer is not None:
            checkins.append(
                {
                    "customer_id": customer,
                    "request_id": i,
                    "purpose": "approval",
                    "status": "pending",
                    "asked_of": f"U{rng.randint(1, 2000):06d}",
                    "asked_by": MANAGER,
                    "asked_at": created + timedelta(hours=2),
                    "note": "",
                    "version": 1,
                }
            )
    for customer_id in range(1, 8):  # the measured owner has check-ins waiting too
        checkins.append(
            {
                "customer_id": customer_id,
                "purpose": "periodic",
                "status": "pending",
                "asked_of": OWNER,
                "asked_by": "refbot",
                "asked_at": now - timedelta(days=customer_id),
                "note": "",
                "version": 1,
            }
        )
    bulk_insert(db, {Consent: consents, ReferenceRequest: rows, CheckIn: checkins})
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("SELECT setval('reference_requests_id_seq', (SELECT max(id) FROM reference_requests))"))
            conn.execute(text("ANALYZE"))  # what autovacuum does soon after a bulk load
    return {"consents": len(consents), "checkins": len(checkins), "requests": len(rows)}


def measure(label: str, url: str, customers: int, requests: int, runs: int) -> bool:
    db = Database(url)
    migrate.upgrade(db.engine)
    started = time.perf_counter()
    load_customers(db, customers)
    counts = load_program(db, customers, requests)
    print(
        f"\n{label}: loaded {customers:,} customers, {counts['requests']:,} requests, {counts['consents']:,} "
        f"consents, {counts['checkins']:,} pending check-ins in {time.perf_counter() - started:.1f} s"
    )
    settings = Settings(database_url=url, managers=(MANAGER, BUSY), timezone="Europe/Berlin")
    rng = random.Random(3)
    memory = home.HomeMemory()  # what the app would own: one per process
    sizes: dict[str, tuple[int, int]] = {}

    def baseline() -> None:
        with db.reading() as session:
            session.execute(
                select(ReferenceRequest.id, ReferenceRequest.prospect, ReferenceRequest.status)
                .where(ReferenceRequest.requester_id == rng.choice(REPS))
                .order_by(ReferenceRequest.id.desc())
                .limit(10)
            ).all()

    def publish(user: str, name: str, forget: str = "", budget: float | None = None) -> Callable[[], None]:
        """Build + render `user`'s Home as the tab opening does (allow_stale), or as the background refresh
        does (`budget` given: current facts, more ranking). `forget`: "change" (the program changed since
        the facts were computed), "facts" (none computed in this process yet) or "all" (nothing remembered)."""

        def run() -> None:
            if forget:
                memory.facts.clear()
            if forget in ("facts", "all"):
                memory.latest_facts.clear()
            if forget == "all":
                memory.picks.clear()
            now = datetime.now(UTC)
            with db.reading() as session:
                built = home.build_home(
                    session, settings, user, now, memory=memory, rank_budget=budget, allow_stale=budget is None
                )
                view = home_view(built, settings, now)
            sizes[name] = (len(view["blocks"]), len(json.dumps(view)))
            incomplete[name] = built.incomplete

        return run

    incomplete: dict[str, bool] = {}
    warm = publish(MANAGER, "warm-up", budget=60.0)
    warm()  # every queued request ranked: what delivering the managers' cards leaves remembered
    rep = rng.choice(REPS)
    scenarios: list[tuple[str, str | None, Callable[[], None], int | None, int]] = [
        ("indexed query (floor)", None, baseline, None, runs),
        ("manager, all remembered", "m", publish(MANAGER, "m"), TARGET_P95_MS, runs),
        ("manager, just after a change", "mf", publish(MANAGER, "mf", "change"), TARGET_P95_MS, runs),
        ("manager, first visit in a process", "mp", publish(MANAGER, "mp", "facts"), TARGET_P95_MS, runs),
        ("account owner", "o", publish(OWNER, "o"), TARGET_P95_MS, runs),
        ("rep", "r", publish(rep, "r"), TARGET_P95_MS, runs),
        ("manager + owner + rep, after a change", "b", publish(BUSY, "b", "change"), TARGET_P95_MS, runs),
        ("manager, cold process", "mc", publish(MANAGER, "mc", "all"), TARGET_P95_MS, runs),
        (
            "background refresh after a change",
            "bf",
            publish(MANAGER, "bf", "facts", budget=home.BACKGROUND_BUDGET),
            TARGET_P95_MS,
            runs,
        ),
        (
            "background refresh, cold (all ranked)",
            "bg",
            publish(MANAGER, "bg", "all", budget=home.BACKGROUND_BUDGET),
            None,
            max(5, runs // 5),
        ),
    ]
    rows = []
    for name, key, fn, target, count in scenarios:
        warm()  # every queued request ranked again (a cold scenario forgets them)
        rows.append((name, key, timed(fn, count), target))
    ok = True
    print(f"{'Home build + render':40} {'p50 ms':>8} {'p95 ms':>8} {'blocks':>7}  target p95")
    for name, key, values, target in rows:
        met, verdict = p95_verdict(values, target)
        ok &= met
        blocks = str(sizes[key][0]) if key else ""
        note = " (a background refresh follows)" if key and incomplete.get(key) else ""
        print(f"{name:40} {statistics.median(values):8.1f} {pct(values, 95):8.1f} {blocks:>7}  {verdict}{note}")
    db.dispose()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores · python {sys.version.split()[0]}")
    run = partial(measure, customers=args.customers, requests=args.requests, runs=args.runs)
    return 0 if on_each_database(run, args.postgres) else 1


if __name__ == "__main__":
    sys.exit(main())
