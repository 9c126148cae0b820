"""Salesforce behind the `Connector` seam, through simple-salesforce.

Log-in is the OAuth 2.0 client-credentials flow against `SalesforceConfig.login_url`. simple-salesforce's
own client-credentials log-in only builds `https://{domain}.salesforce.com/...` token URLs, so a full login
URL (a My Domain, a sandbox, the project's fake) goes through the library's `token_login` helper with the
library's session, and the session id and `instance_url` it returns are handed to `Salesforce(...)`.

Reads are SOQL ordered by `SystemModstamp, Id`, paged with the query locator (`nextRecordsUrl`), and
incremental with `SystemModstamp > since`; with a `since`, objects that can be deleted are read through
`queryAll`, so records moved to the recycle bin come back with `IsDeleted = true`.

Faults are handled here, once for every call: REQUEST_LIMIT_EXCEEDED pauses and resumes the same call
(the query locator stays valid), INVALID_SESSION_ID logs in again once, a 5xx or a dropped connection is
retried briefly; what outlasts that is one `CrmError` sentence. Secrets never reach a message or a log.

`SalesforceConfig.bulk_threshold` is not used: plain SOQL paging reads the issue's 600,000-record org
well inside the first sync's budget (bench/salesforce_read_bench.py; figures in the README).
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.login import token_login

from bot.crm.connector import (
    Activity,
    CheckResult,
    CrmAccount,
    CrmAuthError,
    CrmContact,
    CrmError,
    CrmOpportunity,
    CrmPermissionError,
    CrmRateLimited,
    CrmRecordGone,
    CrmUnavailable,
    CrmUser,
    Page,
    SalesforceConfig,
)
from bot.importing.identity import normalise_domain

log = logging.getLogger(__name__)

T = TypeVar("T")
Record = TypeVar("Record", CrmUser, CrmAccount, CrmContact, CrmOpportunity)

USER_FIELDS = ("Id", "Email", "Name", "IsActive", "SystemModstamp")
ACCOUNT_FIELDS = (
    "Id", "Name", "Website", "Industry", "BillingCountry", "NumberOfEmployees", "AnnualRevenue", "OwnerId",
    "SystemModstamp",
)  # fmt: skip
CONTACT_FIELDS = ("Id", "AccountId", "FirstName", "LastName", "Title", "Email", "SystemModstamp")
OPPORTUNITY_FIELDS = (
    "Id", "Name", "AccountId", "Amount", "StageName", "CloseDate", "IsClosed", "IsWon", "OwnerId", "SystemModstamp",
)  # fmt: skip
# What a completed Task on the opportunity needs to be written and rewritten.
TASK_FIELDS = ("WhatId", "Subject", "Description", "Status", "ActivityDate")
TASK_SUBJECT_MAX = 255
MAX_QUERY_RESTARTS = 3  # an expired query locator is asked again this often in one read
_GONE_CODES = {"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "NOT_FOUND", "INVALID_ID_FIELD", "MALFORMED_ID"}
_PERMISSION_CODES = {"INSUFFICIENT_ACCESS_OR_READONLY", "INVALID_FIELD_FOR_INSERT_UPDATE", "INSUFFICIENT_ACCESS"}


@dataclass(frozen=True)
class RetryPolicy:
    """How long the connector waits out a fault before it gives up with a `CrmError`.

    Salesforce's REQUEST_LIMIT_EXCEEDED is either the concurrent-request limit (gone in seconds) or the
    rolling 24-hour limit (gone in hours): a few growing pauses cover the first; the second becomes
    `CrmRateLimited` and the scheduled job tries again next period.
    """

    rate_limit_pauses: tuple[float, ...] = (5.0, 15.0, 45.0)
    rate_limited_retry_after: float = 900.0
    server_error_pauses: tuple[float, ...] = (1.0, 2.0, 4.0)


class _TimeoutAdapter(HTTPAdapter):
    """Every request through the session gets the configured timeout (simple-salesforce sets none)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


class SalesforceConnector:
    """refbot's reads and writes against one Salesforce org; see the module docstring."""

    name = "salesforce"

    def __init__(
        self,
        config: SalesforceConfig,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._session = requests.Session()  # REQUESTS_CA_BUNDLE and proxies come from the environment, as usual
        adapter = _TimeoutAdapter(config.timeout_seconds)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._sf: Salesforce | None = None

    # ---- log-in --------------------------------------------------------------------------------------

    def _login(self) -> Salesforce:
        """A fresh session from the client-credentials flow; bad credentials are one sentence, never the secret."""
        config = self.config
        if not config.client_id or not config.client_secret:
            raise CrmAuthError(
                "Salesforce is not configured: set SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET to the consumer "
                "key and secret of a connected app with the client-credentials flow enabled."
            )
        basic = base64.b64encode(f"{config.client_id}:{config.client_secret}".encode()).decode()
        token_url = config.login_url.rstrip("/") + "/services/oauth2/token"
        try:
            session_id, instance = token_login(
                token_url,
                {"grant_type": "client_credentials"},
                "login",
                config.client_id,
                {"Authorization": f"Basic {basic}"},
                None,
                self._session,
            )
        except SalesforceAuthenticationFailed as exc:  # a dropped connection propagates: `_call` retries it
            raise self._login_refused(exc) from None
        except (AttributeError, TypeError):  # a body token_login cannot read (not the OAuth JSON): a server fault
            raise _ServerError("Salesforce's token endpoint answered with something other than a token") from None
        if not session_id or not instance:
            raise CrmAuthError(f"Salesforce's token endpoint at {config.login_url} answered without a session.")
        self._sf = Salesforce(
            session_id=session_id,
            instance=instance,
            version=config.api_version,
            session=self._session,
            object_pairs_hook=dict,
            parse_float=Decimal,
        )
        return self._sf

    def _login_refused(self, exc: SalesforceAuthenticationFailed) -> CrmError:
        code = exc.code
        if isinstance(code, int) and code >= 500:
            return _ServerError(f"Salesforce's token endpoint answered HTTP {code}")
        url = self.config.login_url
        if code == "invalid_client_id":
            return CrmAuthError(
                f"Salesforce at {url} does not know SALESFORCE_CLIENT_ID: use the consumer key of the connected app."
            )
        if code == "invalid_client":
            return CrmAuthError(
                f"Salesforce at {url} refused the client credentials (invalid_client): check SALESFORCE_CLIENT_ID and "
                "SALESFORCE_CLIENT_SECRET against the connected app's consumer key and secret."
            )
        if code == "invalid_grant" and "not supported on this domain" in str(exc.auth_message):
            return CrmAuthError(
                f"Salesforce's client-credentials flow does not work through {url}: set SALESFORCE_LOGIN_URL to your "
                "org's My Domain login URL (https://yourcompany.my.salesforce.com)."
            )
        if code == "invalid_grant":
            return CrmAuthError(
                f"Salesforce at {url} refused the client-credentials log-in (invalid_grant): enable the "
                "client-credentials flow on the connected app and give it a run-as user."
            )
        return CrmAuthError(f"Salesforce at {url} refused the log-in ({code}).")

    def _client(self) -> Salesforce:
        return self._sf if self._sf is not None else self._login()

    # ---- one call, with the faults handled -----------------------------------------------------------

    def _call(self, what: str, operation: Callable[[Salesforce], T]) -> T:
        """Run `operation` against the org: limits waited out, one re-login, brief 5xx retries; else CrmError."""
        limited = failed = 0
        logged_in_again = False
        while True:
            try:
                return operation(self._client())
            except SalesforceExpiredSession:
                if logged_in_again:
                    raise CrmAuthError(
                        f"Salesforce ended the session again right after a fresh log-in while {what}: check the "
                        "connected app's session policies and the run-as user."
                    ) from None
                log.info("Salesforce session expired while %s; logging in again", what)
                logged_in_again = True
                self._sf = None
            except SalesforceRefusedRequest as exc:
                if _error_code(exc) != "REQUEST_LIMIT_EXCEEDED":
                    raise _refused(exc, what) from None
                if limited >= len(self._retry.rate_limit_pauses):
                    raise CrmRateLimited(
                        f"Salesforce's API request limit is exhausted (REQUEST_LIMIT_EXCEEDED) while {what}; "
                        f"refbot tries again in {self._retry.rate_limited_retry_after:.0f} s.",
                        retry_after=self._retry.rate_limited_retry_after,
                    ) from None
                pause = self._retry.rate_limit_pauses[limited]
                limited += 1
                log.warning(
                    "Salesforce answered REQUEST_LIMIT_EXCEEDED while %s; pausing %.1f s (attempt %d of %d)",
                    what, pause, limited, len(self._retry.rate_limit_pauses),
                )  # fmt: skip
                self._sleep(pause)
            except (_ServerError, SalesforceError, requests.RequestException) as exc:
                if not _transient(exc):
                    raise _permanent(exc, what) from None
                if failed >= len(self._retry.server_error_pauses):
                    raise CrmUnavailable(
                        f"Salesforce kept failing while {what} ({_describe_fault(exc)}, "
                        f"{failed + 1} attempts); refbot tries again next run."
                    ) from None
                pause = self._retry.server_error_pauses[failed]
                failed += 1
                log.warning("Salesforce failed while %s (%s); retrying in %.1f s", what, _describe_fault(exc), pause)
                self._sleep(pause)

    # ---- reads ---------------------------------------------------------------------------------------

    def users(self, since: datetime | None) -> Iterator[Page[CrmUser]]:
        return self._read("User", USER_FIELDS, since, _user, deletable=False)

    def accounts(self, since: datetime | None) -> Iterator[Page[CrmAccount]]:
        fields = ACCOUNT_FIELDS
        if self.config.customer_field not in fields:
            fields = (*fields, self.config.customer_field)
        customers = {v.casefold() for v in self.config.customer_values}
        field_name = self.config.customer_field

        def account(raw: dict[str, Any]) -> CrmAccount:
            return _account(raw, str(raw.get(field_name) or "").casefold() in customers)

        return self._read("Account", fields, since, account, deletable=True)

    def contacts(self, since: datetime | None) -> Iterator[Page[CrmContact]]:
        return self._read("Contact", CONTACT_FIELDS, since, _contact, deletable=True)

    def opportunities(self, since: datetime | None) -> Iterator[Page[CrmOpportunity]]:
        return self._read("Opportunity", OPPORTUNITY_FIELDS, since, _opportunity, deletable=True)

    def _read(
        self,
        sobject: str,
        fields: tuple[str, ...],
        since: datetime | None,
        convert: Callable[[dict[str, Any]], Record],
        *,
        deletable: bool,
    ) -> Iterator[Page[Record]]:
        """Pages in SystemModstamp order, each with the watermark that is safe to store once it is committed.

        A page's watermark is the last record's stamp unless the next page starts with that same stamp (many
        records saved in one bulk update): then it stays below it, so a run resumed from it reads that whole
        group again rather than skipping the part it had not reached. One page is read ahead to know.
        """
        include_deleted = deletable and since is not None
        select = ", ".join((*fields, "IsDeleted") if include_deleted else fields)
        soql = f"SELECT {select} FROM {sobject}"
        options = {"Sforce-Query-Options": f"batchSize={self.config.page_size}"}
        what = f"reading {sobject}"

        def query(after: datetime | None) -> dict[str, Any]:
            text = soql
            if after is not None:
                text += f" WHERE SystemModstamp > {soql_datetime(after)}"
            text += " ORDER BY SystemModstamp ASC, Id ASC"
            return self._call(what, lambda sf: sf.query(text, include_deleted=include_deleted, headers=options))

        result = query(since)
        watermark = since
        restarts = 0
        while True:
            next_url = None if result.get("done", True) else result.get("nextRecordsUrl")
            following = None
            if next_url:
                try:
                    following = self._call(
                        what, lambda sf, url=next_url: sf.query_more(url, identifier_is_url=True, headers=options)
                    )
                except _LocatorExpired:
                    # The query locator outlived its 15 idle minutes: ask again from the last watermark handed
                    # out; the page not yet handed out comes back first (and a few before it, harmlessly).
                    restarts += 1
                    if restarts > MAX_QUERY_RESTARTS:
                        raise
                    log.info("Salesforce query locator expired while %s; querying again from the watermark", what)
                    result = query(watermark)
                    continue
            raw_records = result.get("records") or []
            if not raw_records:
                if following is None:
                    return
                result = following
                continue
            stamps = [parse_datetime(raw["SystemModstamp"]) for raw in raw_records]
            last = stamps[-1]
            next_first = _first_stamp(following)
            if next_first is not None and next_first <= last:
                below = [s for s in stamps if s < last]
                candidate = max(below) if below else None
            else:
                candidate = last
            if candidate is not None and (watermark is None or candidate > watermark):
                watermark = candidate
            yield Page([convert(raw) for raw in raw_records], watermark)
            if following is None:
                return
            result = following

    # ---- write-back ----------------------------------------------------------------------------------

    def find_activity(self, key: str, opportunity_crm_id: str) -> str | None:
        soql = (
            f"SELECT Id FROM Task WHERE WhatId = {soql_string(opportunity_crm_id)} "
            f"AND Subject LIKE {soql_like_suffix(_key_marker(key))} ORDER BY CreatedDate ASC LIMIT 1"
        )
        result = self._call("looking for an earlier Task", lambda sf: sf.query(soql))
        records = result.get("records") or []
        return str(records[0]["Id"]) if records else None

    def create_activity(self, activity: Activity) -> str:
        data = {"WhatId": activity.opportunity_crm_id, **self._task_fields(activity)}

        def create(sf: Salesforce) -> str:
            # A retry after a 5xx or a dropped connection may follow a create that landed: look first.
            earlier = self.find_activity(activity.key, activity.opportunity_crm_id) if attempts else None
            attempts.append(1)
            return earlier or str(sf.Task.create(data)["id"])

        attempts: list[int] = []
        return self._call(f"recording a Task on opportunity {activity.opportunity_crm_id}", create)

    def update_activity(self, crm_id: str, activity: Activity) -> None:
        data = self._task_fields(activity)
        self._call(f"updating Task {crm_id}", lambda sf: sf.Task.update(crm_id, data))

    def _task_fields(self, activity: Activity) -> dict[str, Any]:
        """A completed Task; the key rides at the end of Subject, the one text field SOQL can filter on."""
        marker = _key_marker(activity.key)
        subject = activity.subject[: TASK_SUBJECT_MAX - len(marker) - 1].rstrip()
        return {
            "Subject": f"{subject} {marker}",
            "Description": activity.body,
            "Status": "Completed",
            "ActivityDate": _utc(activity.when).date().isoformat(),
        }

    # ---- check ---------------------------------------------------------------------------------------

    def check(self) -> CheckResult:
        """Log in, then describe every object to see each field refbot reads (and Task's, which it writes)."""
        needs: dict[str, tuple[str, ...]] = {
            "User": USER_FIELDS,
            "Account": tuple(dict.fromkeys((*ACCOUNT_FIELDS, self.config.customer_field, "IsDeleted"))),
            "Contact": (*CONTACT_FIELDS, "IsDeleted"),
            "Opportunity": (*OPPORTUNITY_FIELDS, "IsDeleted"),
            "Task": ("Id", *TASK_FIELDS),
        }
        problems: list[str] = []
        try:
            for sobject, fields in needs.items():
                problems.extend(self._check_object(sobject, fields))
        except CrmError as error:
            problems.append(error.message)
        return CheckResult(self.name, problems)

    def _check_object(self, sobject: str, fields: tuple[str, ...]) -> list[str]:
        try:
            described = self._call(f"describing {sobject}", lambda sf: getattr(sf, sobject).describe())
        except CrmRecordGone:
            return [f"Salesforce: the integration user cannot see the {sobject} object (give it Read on {sobject})."]
        if not described.get("queryable", False):
            return [f"Salesforce: the integration user cannot query {sobject} (give it Read on {sobject})."]
        present = {f["name"]: f for f in described.get("fields", [])}
        problems = [
            f"Salesforce: the integration user cannot read {sobject}.{name} (give it field-level Read access on "
            f"{sobject}.{name})."
            for name in fields
            if name not in present
        ]
        if sobject == "Account" and self.config.customer_field in present:
            problems.extend(self._check_customer_values(present[self.config.customer_field]))
        if sobject != "Task":
            return problems
        for flag, verb in (("createable", "Create"), ("updateable", "Edit")):
            if not described.get(flag, False):
                problems.append(
                    f"Salesforce: the integration user cannot {verb.lower()} Tasks (give it {verb} on Task)."
                )
        for name in TASK_FIELDS:
            spec = present.get(name)
            if spec is None:
                continue
            if not spec.get("createable", False) or (name != "WhatId" and not spec.get("updateable", False)):
                problems.append(
                    f"Salesforce: the integration user cannot write Task.{name} (give it field-level Edit access on "
                    f"Task.{name})."
                )
        subject = present.get("Subject")
        if subject is not None and not subject.get("filterable", False):
            problems.append("Salesforce: Task.Subject cannot be filtered in SOQL, so refbot cannot find its own Tasks.")
        return problems

    def _check_customer_values(self, described: dict[str, Any]) -> list[str]:
        """A picklist that has none of the configured customer values would make every account a non-customer."""
        offered = [v["value"] for v in described.get("picklistValues") or [] if v.get("active", True)]
        if described.get("type") != "picklist" or not offered:
            return []
        wanted = {v.casefold() for v in self.config.customer_values}
        if wanted & {v.casefold() for v in offered}:
            return []
        field_name = f"Account.{self.config.customer_field}"
        return [
            f"Salesforce: no {field_name} value is {' or '.join(repr(v) for v in self.config.customer_values)} "
            f"(it has {', '.join(repr(v) for v in offered)}), so no account would count as a customer: set "
            "SALESFORCE_CUSTOMER_VALUES to the values that mark one."
        ]

    def close(self) -> None:
        self._session.close()
        self._sf = None


class _LocatorExpired(CrmError):
    """INVALID_QUERY_LOCATOR: the server-side cursor of a query is gone (idle too long); `_read` asks again."""


class _ServerError(Exception):
    """A 5xx from the token endpoint (simple-salesforce reports it as an authentication failure)."""


def _utc(moment: datetime) -> datetime:
    """Aware UTC; a naive time is taken as UTC already (as refbot stores times), never as local time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def soql_datetime(moment: datetime) -> str:
    """A SOQL date-time literal in UTC with milliseconds (SystemModstamp's precision), never quoted."""
    moment = _utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def soql_string(value: str) -> str:
    """A quoted SOQL string literal: SOQL escapes with a backslash, never by doubling the quote."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


def soql_like_suffix(text: str) -> str:
    """A LIKE pattern matching values that end with `text`, its own `%` and `_` escaped to match themselves."""
    literal = soql_string(text)[1:-1].replace("%", "\\%").replace("_", "\\_")
    return f"'%{literal}'"


def _key_marker(key: str) -> str:
    """How the idempotency key is written at the end of a Task's Subject: `[refbot crm:request:12:approved]`."""
    return f"[refbot {key}]"


def parse_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _first_stamp(result: dict[str, Any] | None) -> datetime | None:
    if not result or not result.get("records"):
        return None
    return parse_datetime(result["records"][0]["SystemModstamp"])


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _user(raw: dict[str, Any]) -> CrmUser:
    return CrmUser(
        crm_id=raw["Id"],
        email=_text(raw.get("Email")),
        name=_text(raw.get("Name")),
        active=bool(raw.get("IsActive")),
        modified_at=parse_datetime(raw["SystemModstamp"]),
    )


def _domain(website: Any) -> str | None:
    if not website:
        return None
    try:
        return normalise_domain(str(website))
    except ValueError:
        return None


def _account(raw: dict[str, Any], is_customer: bool) -> CrmAccount:
    employees = raw.get("NumberOfEmployees")
    return CrmAccount(
        crm_id=raw["Id"],
        name=str(raw.get("Name") or ""),
        domain=_domain(raw.get("Website")),
        industry=_text(raw.get("Industry")),
        billing_country=_text(raw.get("BillingCountry")),
        employees=None if employees is None else int(employees),
        annual_revenue=_decimal(raw.get("AnnualRevenue")),
        owner_crm_id=_text(raw.get("OwnerId")),
        is_customer=is_customer,
        modified_at=parse_datetime(raw["SystemModstamp"]),
        deleted=bool(raw.get("IsDeleted")),
    )


def _contact(raw: dict[str, Any]) -> CrmContact:
    return CrmContact(
        crm_id=raw["Id"],
        account_crm_id=_text(raw.get("AccountId")),
        first_name=_text(raw.get("FirstName")),
        last_name=_text(raw.get("LastName")),
        title=_text(raw.get("Title")),
        email=_text(raw.get("Email")),
        modified_at=parse_datetime(raw["SystemModstamp"]),
        deleted=bool(raw.get("IsDeleted")),
    )


def _opportunity(raw: dict[str, Any]) -> CrmOpportunity:
    close = raw.get("CloseDate")
    return CrmOpportunity(
        crm_id=raw["Id"],
        name=str(raw.get("Name") or ""),
        account_crm_id=_text(raw.get("AccountId")),
        amount=_decimal(raw.get("Amount")),
        stage=_text(raw.get("StageName")),
        close_date=date.fromisoformat(close) if close else None,
        is_closed=bool(raw.get("IsClosed")),
        is_won=bool(raw.get("IsWon")),
        owner_crm_id=_text(raw.get("OwnerId")),
        modified_at=parse_datetime(raw["SystemModstamp"]),
        deleted=bool(raw.get("IsDeleted")),
    )


def _error_code(exc: SalesforceError) -> str | None:
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0].get("errorCode")
    return None


def _error_message(exc: SalesforceError) -> str:
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return " ".join(str(content[0].get("message", "")).split())
    return ""


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, _ServerError):
        return True
    if isinstance(exc, requests.RequestException):
        return isinstance(exc, requests.ConnectionError | requests.Timeout)
    return isinstance(exc, SalesforceError) and exc.status >= 500


def _describe_fault(exc: BaseException) -> str:
    if isinstance(exc, SalesforceError):
        code = _error_code(exc)
        return f"HTTP {exc.status}{' ' + code if code else ''}"
    if isinstance(exc, _ServerError):
        return str(exc).removeprefix("Salesforce's token endpoint answered ")
    return type(exc).__name__


def _missing_column(message: str) -> tuple[str, str] | None:
    """('Account', 'Industry') from "No such column 'Industry' on entity 'Account'"."""
    marker = "No such column '"
    start = message.find(marker)
    if start < 0:
        return None
    rest = message[start + len(marker) :]
    column, _, after = rest.partition("' on entity '")
    entity = after.partition("'")[0]
    return (entity, column) if column and entity else None


def _refused(exc: SalesforceRefusedRequest, what: str) -> CrmError:
    code = _error_code(exc) or f"HTTP {exc.status}"
    return CrmPermissionError(f"Salesforce refused {what} ({code}): {_error_message(exc) or 'no reason given'}.")


def _permanent(exc: BaseException, what: str) -> CrmError:
    """A refusal no retry will change, as one sentence naming the object and field where Salesforce does."""
    if isinstance(exc, CrmError):
        return exc
    if not isinstance(exc, SalesforceError):
        return CrmError(f"Salesforce could not be asked while {what} ({type(exc).__name__}).")
    code = _error_code(exc) or ""
    message = _error_message(exc)
    if isinstance(exc, SalesforceMalformedRequest) and code == "INVALID_FIELD":
        missing = _missing_column(message)
        if missing is not None:
            entity, column = missing
            return CrmPermissionError(
                f"Salesforce: the integration user cannot read {entity}.{column} (give it field-level Read access, "
                f"or check the field's API name)."
            )
    if code == "INVALID_QUERY_LOCATOR":
        return _LocatorExpired(f"Salesforce's query locator expired while {what} (INVALID_QUERY_LOCATOR).")
    if isinstance(exc, SalesforceMalformedRequest) and code == "INVALID_TYPE":
        return CrmPermissionError(f"Salesforce: the integration user cannot see the object while {what} ({message}).")
    if code in _GONE_CODES or isinstance(exc, SalesforceResourceNotFound):
        return CrmRecordGone(f"Salesforce no longer has the record while {what} ({code or 'NOT_FOUND'}).")
    if code in _PERMISSION_CODES:
        return CrmPermissionError(f"Salesforce refused {what} ({code}): {message}")
    return CrmError(f"Salesforce refused {what} (HTTP {exc.status} {code}): {message or 'no reason given'}".rstrip())
