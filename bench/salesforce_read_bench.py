"""Reading a large org through the Salesforce connector, beside the floor of fetching and parsing the same pages.

    .venv/bin/python bench/salesforce_read_bench.py [--accounts 100000] [--contacts 300000]
        [--opportunities 200000] [--page-size 2000] [--changed 1000]

The project's Salesforce fake runs in a process of its own (`crmfake.process.FakeProcess`; seeded there by
`seed`, 1,000 records a SystemModstamp as a bulk load leaves them), so what is measured here is the
client's side. `seed` and `change` are there for other benchmarks to reuse the same org. In this process, in turn:

- floor: each object's SOQL query and every `nextRecordsUrl` after it, through a plain `requests.Session`
  with `json.loads` on each page: the least any client of the REST API must do;
- connector: `SalesforceConnector.accounts/contacts/opportunities(None)`, the pages as the sync engine gets
  them (simple-salesforce, Decimal amounts, dates, domains, records, watermarks);
- incremental: `--changed` records changed in the fake (a third of them deleted), then each stream read
  since its watermark (queryAll), through the connector.

Printed for each: wall seconds, this process's CPU seconds, records per second, and at the end this
process's peak RSS. The load average is printed at the start and the end: the machine is shared, so wall
time is only as good as its quiet, and CPU time is the steadier figure.

Targets this serves (issue 12, for the whole first sync, database writes included): 600,000 records in
≤ 3 minutes and ≤ 500 MB RSS; 1,000 changed records in ≤ 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SOQL = {  # the connector's own full-pass queries, so the floor reads exactly the same pages
    "Account": "SELECT Id, Name, Website, Industry, BillingCountry, NumberOfEmployees, AnnualRevenue, OwnerId, "
    "SystemModstamp, Type FROM Account ORDER BY SystemModstamp ASC, Id ASC",
    "Contact": "SELECT Id, AccountId, FirstName, LastName, Title, Email, SystemModstamp FROM Contact "
    "ORDER BY SystemModstamp ASC, Id ASC",
    "Opportunity": "SELECT Id, Name, AccountId, Amount, StageName, CloseDate, IsClosed, IsWon, OwnerId, "
    "SystemModstamp FROM Opportunity ORDER BY SystemModstamp ASC, Id ASC",
}
INDUSTRIES = ("Software", "Banking", "Retail", "Healthcare", "Manufacturing", "Media")
COUNTRIES = ("Germany", "United States", "France", "United Kingdom", "Japan", "Brazil")
STAGES = ("Prospecting", "Qualification", "Negotiation", "Closed Won", "Closed Lost")
BULK = 1000


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ---- run in the fake's process (through FakeProcess.call) -------------------------------------------

_SEEDED: dict[str, list[str]] = {}  # the ids `seed` created, for `change`; lives in the fake's process


def seed(fake: Any, accounts: int, contacts: int, opportunities: int) -> tuple[float, float]:
    """Fill the fake with 200 users and the given numbers of records; (seconds taken, MB RSS of its process)."""
    from bot.crm.connector import CrmAccount, CrmContact, CrmOpportunity, CrmUser

    started = time.perf_counter()
    now = datetime.now(UTC)
    ids = _SEEDED
    ids.update({"users": [], "accounts": [], "contacts": [], "opportunities": []})

    def bulk(stream: str, count: int, make: Callable[[int], Any]) -> None:
        for start in range(0, count, BULK):
            with fake.same_stamp():
                ids[stream].extend(fake.upsert(make(i)) for i in range(start, min(count, start + BULK)))

    bulk("users", 200, lambda i: CrmUser("", f"rep{i}@example.com", f"Rep Number{i}", True, now))
    users = ids["users"]
    bulk(
        "accounts",
        accounts,
        lambda i: CrmAccount(
            "",
            f"Company {i} GmbH",
            f"company{i}.example",
            INDUSTRIES[i % 6],
            COUNTRIES[i % 6],
            50 + i % 5000,
            Decimal(1_000_000 + i),
            users[i % len(users)],
            i % 10 == 0,
            now,
        ),  # fmt: skip
    )
    account_ids = ids["accounts"]
    bulk(
        "contacts",
        contacts,
        lambda i: CrmContact(
            "", account_ids[i % len(account_ids)], "Kim", f"Person{i}", "Head of IT", f"person{i}@example.com", now
        ),
    )
    bulk(
        "opportunities",
        opportunities,
        lambda i: CrmOpportunity(
            "",
            f"Deal {i}",
            account_ids[i % len(account_ids)],
            Decimal(5000 + i % 90000),
            STAGES[i % 5],
            date(2027, 1 + i % 12, 1 + i % 28),
            i % 5 >= 3,
            i % 5 == 3,
            users[i % len(users)],
            now,
        ),  # fmt: skip
    )
    return time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def change(fake: Any, count: int) -> None:
    """`count` seeded records changed across the three objects (accounts and contacts edited, opportunities
    deleted), as a busy quarter-hour in the CRM leaves them."""
    from bot.crm.connector import CrmAccount, CrmContact

    ids = _SEEDED
    now = datetime.now(UTC)
    for i in range(count):
        stream = ("accounts", "contacts", "opportunities")[i % 3]
        crm_id = ids[stream][(i * 7919) % len(ids[stream])]
        if stream == "accounts":
            fake.upsert(CrmAccount(crm_id, f"Renamed {i}", f"renamed{i}.example", "Software", "Germany", 10,
                                   None, None, True, now))  # fmt: skip
        elif stream == "contacts":
            fake.upsert(CrmContact(crm_id, None, "Kim", f"Moved{i}", "CIO", f"moved{i}@example.com", now))
        else:
            fake.delete(stream, crm_id)


# ---- the measurements ----------------------------------------------------------------------------------


def _floor(env: dict[str, str], version: str, page_size: int) -> Iterator[tuple[str, int]]:
    """Fetch and parse every page of the three full-pass queries, and nothing else."""
    import requests

    session = requests.Session()
    token = session.post(
        env["SALESFORCE_LOGIN_URL"] + "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": env["SALESFORCE_CLIENT_ID"],
            "client_secret": env["SALESFORCE_CLIENT_SECRET"],
        },
        timeout=30,
    ).json()
    headers = {"Authorization": f"Bearer {token['access_token']}", "Sforce-Query-Options": f"batchSize={page_size}"}
    base = token["instance_url"]
    for sobject, soql in SOQL.items():
        answer = session.get(f"{base}/services/data/v{version}/query/", params={"q": soql}, headers=headers,
                             timeout=60)  # fmt: skip
        count = 0
        while True:
            page = json.loads(answer.content)
            count += len(page["records"])
            if page["done"]:
                break
            answer = session.get(base + page["nextRecordsUrl"], headers=headers, timeout=60)
        yield sobject, count
    session.close()


def _measure(label: str, run: Callable[[], Iterator[tuple[str, int]]]) -> dict[str, tuple[int, float, float]]:
    results: dict[str, tuple[int, float, float]] = {}
    for sobject, count, wall, cpu in _timed(run):
        results[sobject] = (count, wall, cpu)
        print(f"  {label:<12} {sobject:<12} {count:>8,} records  {wall:7.2f} s wall  {cpu:7.2f} s CPU  "
              f"{count / wall if wall else 0:>9,.0f} records/s")  # fmt: skip
    total = sum(c for c, _, _ in results.values())
    wall = sum(w for _, w, _ in results.values())
    cpu = sum(c for _, _, c in results.values())
    print(f"  {label:<12} {'all':<12} {total:>8,} records  {wall:7.2f} s wall  {cpu:7.2f} s CPU  "
          f"{total / wall if wall else 0:>9,.0f} records/s")  # fmt: skip
    return results


def _timed(run: Callable[[], Iterator[tuple[str, int]]]) -> Iterator[tuple[str, int, float, float]]:
    wall, cpu = time.perf_counter(), _cpu()
    for sobject, count in run():
        now_wall, now_cpu = time.perf_counter(), _cpu()
        yield sobject, count, now_wall - wall, now_cpu - cpu
        wall, cpu = time.perf_counter(), _cpu()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=300_000)
    parser.add_argument("--opportunities", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=2000)
    parser.add_argument("--changed", type=int, default=1000)
    args = parser.parse_args()

    from crmfake.process import FakeProcess

    print(f"load average at start: {_load()} (2-core machine, shared with other work)")
    with FakeProcess("crmfake.salesforce:SalesforceFake") as crm:
        seeding, fake_rss = crm.call("bench.salesforce_read_bench:seed", args.accounts, args.contacts,
                                     args.opportunities)  # fmt: skip
        _measure_all(args, crm, seeding, fake_rss)
    print(f"load average at end: {_load()}")


def _measure_all(args: argparse.Namespace, crm: Any, seeding: float, fake_rss: float) -> None:
    from bot.crm.connector import SalesforceConfig
    from bot.crm.salesforce import SalesforceConnector

    env = crm.env
    print(f"fake seeded in its own process: {args.accounts:,} accounts, {args.contacts:,} contacts, "
          f"{args.opportunities:,} opportunities in {seeding:.1f} s ({fake_rss:.0f} MB RSS there)")  # fmt: skip
    os.environ["REQUESTS_CA_BUNDLE"] = env["REQUESTS_CA_BUNDLE"]  # how any client is pointed at the test CA
    config = SalesforceConfig(
        login_url=env["SALESFORCE_LOGIN_URL"],
        client_id=env["SALESFORCE_CLIENT_ID"],
        client_secret=env["SALESFORCE_CLIENT_SECRET"],
        page_size=args.page_size,
    )
    connector = SalesforceConnector(config)
    watermarks: dict[str, datetime | None] = {}

    def full_pass() -> Iterator[tuple[str, int]]:
        for sobject, read in (
            ("Account", connector.accounts), ("Contact", connector.contacts), ("Opportunity", connector.opportunities)
        ):  # fmt: skip
            count = 0
            for page in read(None):
                count += len(page.records)
                watermarks[sobject] = page.watermark
            yield sobject, count

    def incremental() -> Iterator[tuple[str, int]]:
        for sobject, read in (
            ("Account", connector.accounts), ("Contact", connector.contacts), ("Opportunity", connector.opportunities)
        ):  # fmt: skip
            yield sobject, sum(len(page.records) for page in read(watermarks[sobject]))

    print(f"full pass, {args.page_size} records a page:")
    floor = _measure("floor", lambda: _floor(env, config.api_version, args.page_size))
    through = _measure("connector", full_pass)
    crm.call("bench.salesforce_read_bench:change", args.changed)
    print(f"incremental, {args.changed:,} records changed:")
    changed = _measure("connector", incremental)
    connector.close()

    floor_wall = sum(w for _, w, _ in floor.values())
    wall = sum(w for _, w, _ in through.values())
    print(f"connector / floor: {wall / floor_wall if floor_wall else 0:.2f}x wall; "
          f"incremental {sum(w for _, w, _ in changed.values()):.2f} s for "
          f"{sum(c for c, _, _ in changed.values()):,} records")  # fmt: skip
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
