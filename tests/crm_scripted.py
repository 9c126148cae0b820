"""A Connector scripted in memory, for unit tests of the sync engine's rules (the fakes test the wire)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.crm.connector import Activity, CheckResult, CrmAccount, CrmContact, CrmError, CrmOpportunity, CrmUser, Page

T0 = datetime(2026, 11, 1, tzinfo=UTC)


class ScriptedConnector:
    """Records held in memory with a forward-only clock; pages of `page_size`, ascending by modified time."""

    def __init__(self, name: str = "salesforce", page_size: int = 2) -> None:
        self.name = name
        self.page_size = page_size
        self.records: dict[str, dict[str, Any]] = {s: {} for s in ("users", "accounts", "contacts", "opportunities")}
        self._clock = itertools.count(1)
        self.fail: dict[str, CrmError] = {}  # stream → the error its next read raises (after `fail_after` pages)
        self.fail_after = 0
        self.activities: dict[str, Activity] = {}
        self.activity_keys: dict[str, str] = {}
        self.calls: list[str] = []

    def put(self, stream: str, record: Any) -> Any:
        stamped = replace(record, modified_at=T0 + timedelta(seconds=next(self._clock)))
        self.records[stream][record.crm_id] = stamped
        return stamped

    def delete(self, stream: str, crm_id: str) -> None:
        self.put(stream, replace(self.records[stream][crm_id], deleted=True))

    def check(self) -> CheckResult:
        return CheckResult(self.name)

    def _read(self, stream: str, since: datetime | None) -> Iterator[Page[Any]]:
        self.calls.append(f"{stream}:{since}")
        rows = sorted(self.records[stream].values(), key=lambda r: r.modified_at)
        rows = [
            r
            for r in rows
            if (since is None and not getattr(r, "deleted", False)) or (since is not None and r.modified_at > since)
        ]
        mark = since
        for index, start in enumerate(range(0, max(len(rows), 1), self.page_size)):
            if stream in self.fail and index >= self.fail_after:
                raise self.fail.pop(stream)
            chunk = rows[start : start + self.page_size]
            if chunk:
                mark = max(mark or chunk[-1].modified_at, chunk[-1].modified_at)
            yield Page(chunk, mark)

    def users(self, since: datetime | None) -> Iterator[Page[CrmUser]]:
        return self._read("users", since)

    def accounts(self, since: datetime | None) -> Iterator[Page[CrmAccount]]:
        return self._read("accounts", since)

    def contacts(self, since: datetime | None) -> Iterator[Page[CrmContact]]:
        return self._read("contacts", since)

    def opportunities(self, since: datetime | None) -> Iterator[Page[CrmOpportunity]]:
        return self._read("opportunities", since)

    def find_activity(self, key: str, opportunity_crm_id: str) -> str | None:
        self.calls.append(f"find:{key}")
        return self.activity_keys.get(key)

    def create_activity(self, activity: Activity) -> str:
        self.calls.append(f"create:{activity.key}")
        crm_id = f"00T{len(self.activities):05d}"
        self.activities[crm_id] = activity
        self.activity_keys[activity.key] = crm_id
        return crm_id

    def update_activity(self, crm_id: str, activity: Activity) -> None:
        self.calls.append(f"update:{activity.key}")
        self.activities[crm_id] = activity

    def close(self) -> None:
        return None


def account(crm_id: str, name: str, **fields: Any) -> CrmAccount:
    values: dict[str, Any] = dict(
        domain=None,
        industry=None,
        billing_country=None,
        employees=None,
        annual_revenue=None,
        owner_crm_id=None,
        is_customer=True,
    )
    values.update(fields)
    return CrmAccount(crm_id=crm_id, name=name, modified_at=T0, **values)


def contact(crm_id: str, account_crm_id: str | None, first: str, last: str, **fields: Any) -> CrmContact:
    values: dict[str, Any] = dict(title=None, email=None)
    values.update(fields)
    return CrmContact(crm_id, account_crm_id, first, last, modified_at=T0, **values)


def user(crm_id: str, email: str | None, name: str = "") -> CrmUser:
    return CrmUser(crm_id, email, name or (email or ""), True, T0)


def opportunity(crm_id: str, name: str, account_crm_id: str | None, **fields: Any) -> CrmOpportunity:
    values: dict[str, Any] = dict(
        amount=None, stage="Prospecting", close_date=None, is_closed=False, is_won=False, owner_crm_id=None
    )
    values.update(fields)
    return CrmOpportunity(crm_id, name, account_crm_id, modified_at=T0, **values)
