"""The one seam between refbot and a CRM: read pages of records changed since a watermark, write an activity.

A second CRM is a second implementation of `Connector`, never a second sync engine. Records are plain,
CRM-neutral data; the sync engine (not a connector) decides what they mean for refbot's customers.
Implementations: `bot/crm/salesforce.py` (simple-salesforce) and `bot/crm/hubspot.py` (hubspot-api-client).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, Literal, Protocol, TypeVar

Stream = Literal["users", "accounts", "contacts", "opportunities"]
STREAMS: tuple[Stream, ...] = ("users", "accounts", "contacts", "opportunities")


@dataclass(frozen=True)
class CrmUser:
    """A CRM user who can own accounts and opportunities; mapped to Slack by e-mail."""

    crm_id: str
    email: str | None
    name: str | None
    active: bool
    modified_at: datetime


@dataclass(frozen=True)
class CrmAccount:
    """A company (Salesforce Account, HubSpot company). `is_customer` is the configured filter's verdict."""

    crm_id: str
    name: str
    domain: str | None
    industry: str | None
    billing_country: str | None
    employees: int | None
    annual_revenue: Decimal | None
    owner_crm_id: str | None
    is_customer: bool
    modified_at: datetime
    deleted: bool = False


@dataclass(frozen=True)
class CrmContact:
    """A person at an account. `account_crm_id` is None when the CRM has them at no account."""

    crm_id: str
    account_crm_id: str | None
    first_name: str | None
    last_name: str | None
    title: str | None
    email: str | None
    modified_at: datetime
    deleted: bool = False


@dataclass(frozen=True)
class CrmOpportunity:
    """A deal (Salesforce Opportunity, HubSpot deal). Closed = won or lost; `is_won` only means something then."""

    crm_id: str
    name: str
    account_crm_id: str | None
    amount: Decimal | None
    stage: str | None
    close_date: date | None
    is_closed: bool
    is_won: bool
    owner_crm_id: str | None
    modified_at: datetime
    deleted: bool = False


Record = TypeVar("Record", CrmUser, CrmAccount, CrmContact, CrmOpportunity)


@dataclass(frozen=True)
class Page(Generic[Record]):
    """One page as the CRM returned it, and the watermark to store once this page is committed.

    `watermark` is the highest last-modified stamp of the records in this page and all before it (never
    lower than the `since` the read started from); the sync stores it in the same transaction as the page's
    rows, so a run killed after any page resumes from exactly there.
    """

    records: list[Record]
    watermark: datetime | None


@dataclass(frozen=True)
class Activity:
    """A reference recorded on an opportunity: a completed Salesforce Task, a HubSpot note on the deal.

    `key` is refbot's idempotency key (e.g. `crm:request:12:approved`); an implementation stores it on the
    record in a field it can search by, so `find_activity` can tell whether an earlier attempt landed.
    """

    key: str
    opportunity_crm_id: str
    subject: str
    body: str
    when: datetime


class CrmError(Exception):
    """A CRM refusal, as one sentence for the person who deploys refbot. Never carries a secret."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CrmAuthError(CrmError):
    """Bad or revoked credentials: permanent until someone fixes the configuration."""


class CrmPermissionError(CrmError):
    """A missing object or field permission; the message names the object and the field."""


class CrmUnavailable(CrmError):
    """A transient failure (5xx storm, connection refused) that outlasted the connector's own retries."""


class CrmRateLimited(CrmError):
    """The CRM's limit is reached; try again after `retry_after` seconds (from the CRM's answer if it gave one)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CrmRecordGone(CrmError):
    """The record a write names no longer exists in the CRM (deleted opportunity): a permanent write error."""


@dataclass(frozen=True)
class CheckResult:
    """What `refbot crm check` prints: each problem one sentence; `ok` when there are none."""

    crm: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class Connector(Protocol):
    """What the sync engine and the write-back queue need of a CRM, and nothing more.

    Every read yields pages in ascending last-modified order starting strictly after `since` (None: all
    records, i.e. a full pass). Reads include records deleted (or archived) since `since`, with
    `deleted=True`, when `since` is given. Rate limits, an expired session (logged in again once) and
    brief 5xx are handled inside the implementation with the library's own hooks where it has them; what
    still fails is raised as one of the `CrmError` subclasses above.
    """

    name: str  # "salesforce" or "hubspot", as shown to people

    def check(self) -> CheckResult: ...

    def users(self, since: datetime | None) -> Iterator[Page[CrmUser]]: ...

    def accounts(self, since: datetime | None) -> Iterator[Page[CrmAccount]]: ...

    def contacts(self, since: datetime | None) -> Iterator[Page[CrmContact]]: ...

    def opportunities(self, since: datetime | None) -> Iterator[Page[CrmOpportunity]]: ...

    def find_activity(self, key: str, opportunity_crm_id: str) -> str | None:
        """The CRM id of the activity an earlier attempt with this key created, if it landed."""
        ...

    def create_activity(self, activity: Activity) -> str:
        """Create the activity on its opportunity; returns the new record's CRM id."""
        ...

    def update_activity(self, crm_id: str, activity: Activity) -> None:
        """Rewrite an activity refbot created before (the outcome was recorded after the approval)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SalesforceConfig:
    """How to reach Salesforce: a connected app with the OAuth 2.0 client-credentials flow."""

    login_url: str = "https://login.salesforce.com"
    client_id: str = ""
    client_secret: str = ""
    api_version: str = "60.0"
    # The account filter: accounts whose `customer_field` holds one of `customer_values` are customers.
    customer_field: str = "Type"
    customer_values: tuple[str, ...] = ("Customer",)
    page_size: int = 2000
    # A full pass of an object with more records than this goes through Bulk API 2.0 (0: never).
    bulk_threshold: int = 0
    timeout_seconds: float = 30.0

    def __repr__(self) -> str:  # the secret never reaches a log line through a repr
        return f"SalesforceConfig(login_url={self.login_url!r}, client_id={self.client_id!r}, client_secret='***')"


@dataclass(frozen=True)
class HubSpotConfig:
    """How to reach HubSpot: a private app's access token."""

    api_url: str = "https://api.hubapi.com"
    access_token: str = ""
    customer_property: str = "lifecyclestage"
    customer_values: tuple[str, ...] = ("customer",)
    page_size: int = 100
    timeout_seconds: float = 30.0

    def __repr__(self) -> str:
        return f"HubSpotConfig(api_url={self.api_url!r}, access_token='***')"
