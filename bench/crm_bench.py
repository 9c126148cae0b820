"""The CRM sync at size: a first sync of 100,000 accounts, 300,000 contacts and 200,000 opportunities, then an
incremental sync of 1,000 changed records, against each CRM fake, on each database, beside a floor.

    .venv/bin/python bench/crm_bench.py [--crm salesforce|hubspot|both] [--scale 1.0] [--postgres URL]

The fake (Salesforce over TLS, HubSpot over HTTP, both on loopback) runs in this process and is seeded
directly; every measurement runs in a fresh child process, so its peak RSS is refbot's own:

- floor: the connector alone (simple-salesforce / hubspot-api-client) reading and parsing every page of
  the four streams, nothing written: what fetching costs, the part of the sync refbot cannot make faster;
- first sync: `refbot crm sync` into an empty database (half the accounts are customers);
- incremental: 1,000 records changed in the CRM (400 accounts, 300 contacts, 300 opportunities), then a
  sync from the watermarks, beside its own floor (the connector reading the same changes; read twice and
  the second counted, since the HubSpot fake builds its search index on the first search after a change).

Targets on a 2-core machine: first sync ≤ 180 s and ≤ 500 MB RSS on each database; incremental ≤ 5 s.
The load average is printed: the machine is shared, so wall time is only as good as the quiet it had.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_FIRST_SECONDS = 180.0
TARGET_RSS_MB = 500.0
TARGET_INCREMENTAL_SECONDS = 5.0
ACCOUNTS, CONTACTS, OPPORTUNITIES, OWNERS = 100_000, 300_000, 200_000, 200
INDUSTRIES = ("Software", "Fintech", "Retail", "Healthcare", "Manufacturing", "Energy")
COUNTRIES = ("US", "Germany", "United Kingdom", "France", "Japan", "Brazil", "Canada", "Australia")


def _peak_rss_mb() -> float:
    """This process's peak RSS since it started: VmHWM, which exec resets. (`ru_maxrss` keeps the peak of the
    forked parent, here the fake holding 600,000 records, so it would report the fake's memory.)"""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- children ------------------------------------------------------------------------------------------


def child(mode: str, database_url: str) -> dict[str, Any]:
    """One measurement in this (fresh) process: `floor`, `floor-since`, or `sync`."""
    from bot.crm.connect import connect
    from bot.crm.connector import STREAMS
    from bot.crm.runner import sync_now
    from bot.settings import load_settings
    from models import CrmSyncState
    from models.db import Database

    settings = load_settings(dotenv_path=None)
    started, cpu = time.perf_counter(), _cpu()
    result: dict[str, Any] = {}
    if mode == "sync":
        from bot import migrate

        db = Database(database_url)
        migrate.upgrade(db.engine)
        started, cpu = time.perf_counter(), _cpu()
        report = sync_now(db, settings)
        result["error"] = report.error
        result["counts"] = {s: c.as_dict() for s, c in report.streams.items()}
        result["records"] = sum(c.read for c in report.streams.values())
        db.dispose()
    else:
        since: dict[str, datetime | None] = dict.fromkeys(STREAMS)
        if mode == "floor-since":
            from sqlalchemy import select

            db = Database(database_url)
            with db.reading() as session:
                for row in session.scalars(select(CrmSyncState)):
                    since[row.stream] = row.watermark
            db.dispose()
            started, cpu = time.perf_counter(), _cpu()
        connector = connect(settings)
        records = 0
        for stream in STREAMS:
            for page in getattr(connector, stream)(since[stream]):
                records += len(page.records)
        connector.close()
        result["records"] = records
    result.update(wall=time.perf_counter() - started, cpu=_cpu() - cpu, rss=_peak_rss_mb())
    return result


def run_child(mode: str, database_url: str, env: dict[str, str]) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--database", database_url],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode != 0:
        raise SystemExit(f"child {mode} failed:\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


# -- the CRM's contents ----------------------------------------------------------------------------------


def seed(fake: Any, scale: float) -> tuple[list[str], list[str], list[str], list[str]]:
    from bot.crm.connector import CrmAccount, CrmContact, CrmOpportunity, CrmUser

    rng = random.Random(12)
    now = datetime.now(UTC)
    owners = [
        fake.upsert(CrmUser("", f"owner{i}@example.com", f"Owner {i}", True, now))
        for i in range(int(OWNERS * scale) or 1)
    ]
    accounts = []
    for i in range(int(ACCOUNTS * scale)):
        accounts.append(
            fake.upsert(
                CrmAccount(
                    "",
                    f"Company {i} {rng.choice(('Inc', 'GmbH', 'Ltd', 'LLC'))}",
                    f"company{i}.example",
                    rng.choice(INDUSTRIES),
                    rng.choice(COUNTRIES),
                    rng.randint(5, 20_000),
                    None,
                    rng.choice(owners),
                    i % 2 == 0,
                    now,
                )
            )
        )
    contacts = [
        fake.upsert(
            CrmContact("", accounts[i % len(accounts)], "Alex", f"Person {i}", "CFO", f"p{i}@company.example", now)
        )
        for i in range(int(CONTACTS * scale))
    ]
    deals = [
        fake.upsert(
            CrmOpportunity(
                "",
                f"Deal {i}",
                accounts[i % len(accounts)],
                Decimal(rng.randint(1, 500) * 1000),
                None,
                None,
                False,
                False,
                rng.choice(owners),
                now,
            )
        )
        for i in range(int(OPPORTUNITIES * scale))
    ]
    return owners, accounts, contacts, deals


def change(fake: Any, accounts: list[str], contacts: list[str], deals: list[str], owners: list[str]) -> int:
    """1,000 records changed in the CRM (fewer at a smaller scale)."""
    from bot.crm.connector import CrmAccount, CrmContact, CrmOpportunity

    now = datetime.now(UTC)
    changed = 0
    for n, crm_id in enumerate(accounts[: min(400, len(accounts))]):
        fake.upsert(
            CrmAccount(
                crm_id,
                f"Company {n} Inc",
                f"company{n}.example",
                "Aerospace",
                "US",
                900,
                None,
                owners[0],
                n % 2 == 0,
                now,
            )
        )
        changed += 1
    for n, crm_id in enumerate(contacts[: min(300, len(contacts))]):
        fake.upsert(
            CrmContact(crm_id, accounts[n % len(accounts)], "Alex", f"Person {n}", "CEO", f"p{n}@company.example", now)
        )
        changed += 1
    for n, crm_id in enumerate(deals[: min(300, len(deals))]):
        fake.upsert(
            CrmOpportunity(
                crm_id,
                f"Deal {n}",
                accounts[n % len(accounts)],
                Decimal(77_000),
                "Closed Won",
                None,
                True,
                True,
                owners[0],
                now,
            )
        )
        changed += 1
    return changed


# -- the run -----------------------------------------------------------------------------------------------


def measure(crm: str, scale: float, postgres: str) -> bool:
    import tempfile

    from crmfake.hubspot import HubSpotFake
    from crmfake.salesforce import SalesforceFake
    from tests.postgres import private_schema

    fake = (SalesforceFake() if crm == "salesforce" else HubSpotFake()).start()
    try:
        started = time.perf_counter()
        owners, accounts, contacts, deals = seed(fake, scale)
        total = len(owners) + len(accounts) + len(contacts) + len(deals)
        print(f"\n{crm}: seeded {total:,} records in {time.perf_counter() - started:.0f} s (not measured)", flush=True)
        env = {k: v for k, v in fake.env().items()} | {"REFBOT_MANAGERS": "", "SLACK_BOT_TOKEN": ""}
        floor = run_child("floor", "", env)
        print(_row("floor: fetch and parse every page", floor), flush=True)
        ok = True
        databases: list[tuple[str, Any]] = [("SQLite", None)]
        if postgres:
            databases.append(("PostgreSQL", postgres))
        for label, server in databases:
            with tempfile.TemporaryDirectory() as tmp:
                if server is None:
                    ok &= _on_database(
                        label, f"sqlite:///{Path(tmp) / 'crm.db'}", env, fake, accounts, contacts, deals, owners, floor
                    )
                else:
                    with private_schema(server, "refbot_crm_bench") as url:
                        ok &= _on_database(label, url, env, fake, accounts, contacts, deals, owners, floor)
        return ok
    finally:
        fake.stop()


def _on_database(
    label: str,
    url: str,
    env: dict[str, str],
    fake: Any,
    accounts: list[str],
    contacts: list[str],
    deals: list[str],
    owners: list[str],
    floor: dict[str, Any],
) -> bool:
    first = run_child("sync", url, env)
    if first.get("error"):
        print(f"  {label}: the first sync stopped: {first['error']}")
        return False
    print(_row(f"{label}: first sync", first, floor), flush=True)
    changed = change(fake, accounts, contacts, deals, owners)
    run_child("floor-since", url, env)  # the first search after a change warms the fake's index: not counted
    since_floor = run_child("floor-since", url, env)
    incremental = run_child("sync", url, env)
    print(_row(f"{label}: floor: fetch {changed:,} changed records", since_floor), flush=True)
    print(_row(f"{label}: incremental sync of {changed:,} changed", incremental, since_floor), flush=True)
    # The next database's first sync reads these changes as part of everything: the same amount of work.
    met = (
        first["wall"] <= TARGET_FIRST_SECONDS
        and first["rss"] <= TARGET_RSS_MB
        and incremental["wall"] <= TARGET_INCREMENTAL_SECONDS
    )
    print(
        f"  {label}: targets (≤ {TARGET_FIRST_SECONDS:.0f} s, ≤ {TARGET_RSS_MB:.0f} MB, incremental ≤ "
        f"{TARGET_INCREMENTAL_SECONDS:.0f} s) {'met' if met else 'NOT met'}",
        flush=True,
    )
    return met


def _row(what: str, figures: dict[str, Any], floor: dict[str, Any] | None = None) -> str:
    rate = figures["records"] / figures["wall"] if figures["wall"] else 0
    beside = f" · {figures['wall'] / floor['wall']:.1f}× the floor" if floor and floor["wall"] else ""
    return (
        f"  {what:48} {figures['wall']:7.1f} s wall {figures['cpu']:7.1f} s CPU {figures['rss']:6.0f} MB "
        f"{figures['records']:>9,} records {rate:>8,.0f}/s{beside}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crm", choices=["salesforce", "hubspot", "both"], default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the target sizes (default 1.0)")
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", ""), help="PostgreSQL server URL")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--database", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.database)))
        return 0
    print(f"load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores, shared)")
    ok = True
    for crm in ("salesforce", "hubspot") if args.crm == "both" else (args.crm,):
        ok &= measure(crm, args.scale, args.postgres)
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
