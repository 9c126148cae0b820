"""Thousands of rows at once, with Core inserts: customer lists for the benchmarks and the multi-process tests.

tests/factories.py builds a few realistic objects through the ORM; this builds plain rows fast, every
column given, so a load of 100,000 customers takes seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from models.db import Database

BATCH = 5000


def customer_row(name: str, domain: str, owner: str, at: datetime, **columns: Any) -> dict[str, Any]:
    """Every column of a customers row: a referenceable Fintech/EMEA/Enterprise customer of `owner`, created
    and last checked (happy) at `at`; `columns` overrides any of them."""
    return {
        "name": name,
        "name_key": name.lower(),
        "domain": domain,
        "industry": "Fintech",
        "region": "EMEA",
        "segment": "Enterprise",
        "products": [],
        "topics": [],
        "owner_slack_id": owner,
        "referenceable": True,
        "not_referenceable_reason": "",
        "guidance": "",
        "notes": "",
        "last_checkin_at": at,
        "last_checkin_answer": "happy",
        "created_at": at,
        "updated_at": at,
        **columns,
    }


def stale_customers(owners: Sequence[str], count: int, *, days_ago: int, tag: str = "") -> list[dict[str, Any]]:
    """`count` customers spread evenly over `owners`, last checked `days_ago` days ago: all due a check-in.
    `tag` keeps names and domains apart from an earlier load's."""
    at = datetime.now(UTC) - timedelta(days=days_ago)
    return [
        customer_row(f"Customer {tag}{i}", f"c{tag.lower()}{i}.example.com", owners[i % len(owners)], at)
        for i in range(count)
    ]


def bulk_insert(db: Database, rows: Mapping[type, Sequence[dict[str, Any]]]) -> None:
    """Each model's rows in one transaction, parents first (in the mapping's order), `BATCH` rows a statement."""
    with db.transaction() as session:
        for model, model_rows in rows.items():
            for start in range(0, len(model_rows), BATCH):
                session.execute(insert(model), model_rows[start : start + BATCH])
