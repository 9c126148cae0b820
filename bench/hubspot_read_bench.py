"""HubSpot connector read throughput against the fake, beside a fetch-and-parse floor measured in the same run.

    .venv/bin/python bench/hubspot_read_bench.py [--companies 100000] [--model-pages 60]

The fake (`crmfake/hubspot.py`) runs in a child process, as HubSpot is another machine: it is seeded with
`--companies` companies, three contacts and two deals per company (the issue's 100,000 / 300,000 / 200,000)
and 200 owners. Then, in this process:

- **floor**: the same list pages (same `properties`, `associations`, 100 a page) fetched with plain urllib3
  on one keep-alive connection and `json.loads`: what any client must pay for this fake;
- **connector full pass**: `HubSpotConnector.users/accounts/contacts/opportunities(None)`, records built;
- **the library's models**: `--model-pages` pages of contacts through `basic_api.get_page` as the generated
  client does by default (deserialised into model objects), beside the same pages with the connector's
  `_preload_content=False` + `json.loads`: the reason the connector parses JSON itself;
- **incremental**: 1,000 records changed in the fake (a third of each object), then each stream read since
  the full pass's watermark (search + associations v4), beside one search since the same watermark paged
  by `after` offsets and fetched raw.

Only reading: the sync engine's database work is measured by the sync benchmark. Figures come with the load
average: the machine is shared, so wall times are only as good as the quiet they were taken in.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import urllib3  # noqa: E402

from bot.crm.connector import CrmAccount, CrmContact, CrmOpportunity, CrmUser, HubSpotConfig  # noqa: E402
from bot.crm.hubspot import COMPANY_PROPERTIES, CONTACT_PROPERTIES, DEAL_PROPERTIES, HubSpotConnector  # noqa: E402

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_INDUSTRIES = ("Software", "Manufacturing", "Retail", "Finance", "Healthcare")
_COUNTRIES = ("DE", "US", "FR", "GB", "JP", "BR")


def _seed(fake: Any, companies: int) -> dict[str, list[str]]:
    owners = [fake.upsert(CrmUser("", f"rep{n}@example.com", f"Rep {n}", n % 17 != 0, _EPOCH)) for n in range(200)]
    ids: dict[str, list[str]] = {"companies": [], "contacts": [], "deals": []}
    for n in range(companies):
        company = fake.upsert(
            CrmAccount(
                "", f"Company {n}", f"company{n}.example.com", _INDUSTRIES[n % 5], _COUNTRIES[n % 6], 10 + n % 5000,
                Decimal(1000 * (n % 997)), owners[n % 200], n % 3 == 0, _EPOCH,
            )
        )  # fmt: skip
        ids["companies"].append(company)
        for k in range(3):
            ids["contacts"].append(
                fake.upsert(
                    CrmContact("", company, f"First{k}", f"Last{n}", "CTO", f"p{k}@company{n}.example.com", _EPOCH)
                )
            )
        for k in range(2):
            closed = (n + k) % 4 == 0
            deal = CrmOpportunity(
                "", f"Deal {n}-{k}", company, Decimal(5000 + n % 100), "Negotiation", date(2026, 12, 1), closed,
                closed and n % 2 == 0, owners[n % 200], _EPOCH,
            )  # fmt: skip
            ids["deals"].append(fake.upsert(deal))
    return ids


def _serve(companies: int, conn: Any) -> None:
    """The child: seed, serve, change 1,000 records when asked, stop when told."""
    from crmfake.hubspot import HubSpotFake

    fake = HubSpotFake()
    started = time.perf_counter()
    ids = _seed(fake, companies)
    fake.start()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    conn.send({"env": fake.env(), "seed_seconds": time.perf_counter() - started, "rss_mb": rss})
    while True:
        message = conn.recv()
        if message == "change":
            for n, company in enumerate(ids["companies"][:334]):
                fake.upsert(
                    CrmAccount(company, f"Company {n} (renamed)", None, None, None, None, None, None, True, _EPOCH)
                )
            for contact in ids["contacts"][:333]:
                fake.upsert(CrmContact(contact, ids["companies"][0], "New", "Name", "CEO", None, _EPOCH))
            for deal in ids["deals"][:333]:
                fake.upsert(
                    CrmOpportunity(
                        deal, "Won deal", ids["companies"][0], Decimal(9), "Closed Won", None, True, True, None, _EPOCH
                    )
                )
            conn.send("changed")
        elif message == "stop":
            fake.stop()
            conn.send("stopped")
            return


def _timed(run: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = run()
    return count, time.perf_counter() - started


def _floor_list(base: str, token: str, object_type: str, properties: tuple[str, ...], associations: bool) -> int:
    """The same pages the connector asks for, with plain urllib3 and json.loads: nothing else."""
    pool = urllib3.HTTPConnectionPool(urllib3.util.parse_url(base).host, urllib3.util.parse_url(base).port, maxsize=1)
    headers = {"Authorization": f"Bearer {token}"}
    count, after = 0, None
    while True:
        fields: list[tuple[str, str]] = [
            ("limit", "100"),
            *(("properties", p) for p in properties),
            ("archived", "false"),
        ]
        if associations:
            fields.append(("associations", "companies"))
        if after:
            fields.append(("after", after))
        body = json.loads(pool.request("GET", f"/crm/v3/objects/{object_type}", fields=fields, headers=headers).data)
        count += len(body["results"])
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            return count


def _floor_search(
    base: str, token: str, object_type: str, stamp: str, since_ms: str, properties: tuple[str, ...]
) -> int:
    """One search since the watermark, paged by `after` offsets (fine for 1,000 results on a quiet fake)."""
    pool = urllib3.HTTPConnectionPool(urllib3.util.parse_url(base).host, urllib3.util.parse_url(base).port, maxsize=1)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    count, after = 0, "0"
    while True:
        request = {
            "filterGroups": [{"filters": [{"propertyName": stamp, "operator": "GT", "value": since_ms}]}],
            "sorts": [{"propertyName": stamp, "direction": "ASCENDING"}],
            "properties": [*properties, stamp],
            "limit": 200,
            "after": after,
        }
        path = f"/crm/v3/objects/{object_type}/search"
        answer = pool.request("POST", path, body=json.dumps(request), headers=headers)
        body = json.loads(answer.data)
        count += len(body["results"])
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--model-pages", type=int, default=60)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores, shared with other engineers' work)")
    parent, child = multiprocessing.get_context("fork").Pipe()
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(args.companies, child), daemon=True)
    server.start()
    ready = parent.recv()
    env = ready["env"]
    base, token = env["HUBSPOT_API_URL"], env["HUBSPOT_ACCESS_TOKEN"]
    seeded = f"{ready['seed_seconds']:.1f} s ({ready['rss_mb']:.0f} MB RSS)"
    print(f"fake seeded with {args.companies * 6:,} records in {seeded}")
    config = HubSpotConfig(api_url=base, access_token=token)
    rows: list[tuple[str, int, float]] = []
    try:
        floor = [
            ("companies", COMPANY_PROPERTIES + ("lifecyclestage",), False),
            ("contacts", CONTACT_PROPERTIES, True),
            ("deals", DEAL_PROPERTIES, True),
        ]
        total_floor = 0.0
        for object_type, properties, associations in floor:
            count, seconds = _timed(
                lambda o=object_type, p=properties, a=associations: _floor_list(base, token, o, p, a)
            )
            rows.append((f"floor: list {object_type} (urllib3 + json.loads)", count, seconds))
            total_floor += seconds
        connector = HubSpotConnector(config)
        watermarks: dict[str, datetime | None] = {}
        total_connector = 0.0
        for stream in ("users", "accounts", "contacts", "opportunities"):

            def read(s: str = stream) -> int:
                count = 0
                for page in getattr(connector, s)(None):
                    count += len(page.records)
                    watermarks[s] = page.watermark
                return count

            count, seconds = _timed(read)
            rows.append((f"connector full pass: {stream}", count, seconds))
            total_connector += seconds
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        objects = connector._objects  # the library's own API object, as the connector built it
        pages = args.model_pages

        def through(preload: bool) -> int:
            count, after = 0, None
            for _ in range(pages):
                kwargs: dict[str, Any] = {"limit": 100, "after": after, "properties": list(CONTACT_PROPERTIES)}
                kwargs["associations"] = ["companies"]
                if preload:
                    page = objects.get_page("contacts", **kwargs)
                    count += len(page.results)
                    after = page.paging.next.after if page.paging and page.paging.next else None
                else:
                    body = json.loads(objects.get_page("contacts", _preload_content=False, **kwargs).data)
                    count += len(body["results"])
                    after = body.get("paging", {}).get("next", {}).get("after")
            return count

        rows.append(("library models: contacts pages (default)", *_timed(lambda: through(True))))
        rows.append(("library, _preload_content=False + json.loads", *_timed(lambda: through(False))))

        parent.send("change")
        parent.recv()
        total_incremental, total_incremental_floor = 0.0, 0.0
        for stream, object_type, stamp, properties in (
            ("accounts", "companies", "hs_lastmodifieddate", COMPANY_PROPERTIES),
            ("contacts", "contacts", "lastmodifieddate", CONTACT_PROPERTIES),
            ("opportunities", "deals", "hs_lastmodifieddate", DEAL_PROPERTIES),
        ):
            since = watermarks[stream]
            assert since is not None
            since_ms = str(int(since.timestamp() * 1000))
            count, seconds = _timed(
                lambda o=object_type, s=stamp, p=properties, m=since_ms: _floor_search(base, token, o, s, m, p)
            )
            rows.append((f"floor: search {object_type} since the watermark", count, seconds))
            total_incremental_floor += seconds
            count, seconds = _timed(lambda s=stream, w=since: sum(len(p.records) for p in getattr(connector, s)(w)))
            rows.append((f"connector incremental: {stream}", count, seconds))
            total_incremental += seconds
        connector.close()
    finally:
        parent.send("stop")
        parent.recv()
        server.join(timeout=10)

    print(f"\n{'what':58} {'records':>9} {'seconds':>8} {'records/s':>10}")
    for label, count, seconds in rows:
        print(f"{label:58} {count:>9,} {seconds:>8.2f} {count / seconds if seconds else 0:>10,.0f}")
    print(f"\nfull pass: connector {total_connector:.1f} s beside the floor's {total_floor:.1f} s "
          f"(×{total_connector / total_floor:.2f}); reader peak RSS {rss:.0f} MB")  # fmt: skip
    print(f"incremental of 1,000 changed records: connector {total_incremental:.2f} s beside the floor's "
          f"{total_incremental_floor:.2f} s")  # fmt: skip
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
