"""HubSpot behind the `Connector` seam, through the official `hubspot-api-client` and a private app's token.

Reads:

- **Full pass** (`since=None`): the CRM v3 objects list endpoints, 100 a page with `after` paging, contacts
  and deals with `associations=companies`, the next page fetched on a helper thread while the caller
  commits the current one. The list is in id order, not last-modified order, so only the
  last page carries a watermark (`None` before it: a pass cut short starts again from the beginning); it is
  the highest stamp seen, but never later than HubSpot's own clock (`Date`) when the pass began, so a record
  changed during the pass is read again by the next incremental run rather than skipped.
- **Incremental** (`since` given): CRM search on the last-modified property (`hs_lastmodifieddate`;
  `lastmodifieddate` for contacts) sorted ascending, 200 a page. Each page is a fresh query from the last
  stamp read (keyset paging) rather than `after` offsets: offsets shift when a record changes mid-read
  (it would be skipped for good) and stop at HubSpot's 10,000-results cap, while a keyset query never
  reaches the cap. Ties on a stamp: the query is `GTE` the last stamp and ids already read at that stamp
  are dropped; when a whole page is one stamp, that stamp's records are read on their own, by id
  (`hs_object_id GT …`), so no tie is lost or looped on. Search does not return associations, so each
  contacts or deals page asks associations v4 (`batch/read`) for its companies. Archived records since
  `since` come first (objects list with `archived=true`, their `archivedAt` filtered here) with the
  watermark left at `since`, so a run cut short after them loses no deletion. A page's watermark is the
  highest stamp below which everything has been read (records on the page's last stamp may continue on
  the next page), which is what makes resuming from it safe.
- Owners: `crm/v3/owners` (active and archived; archived ones are inactive users); a handful, so read
  whole and filtered here.

The generated client turns JSON into model objects slowly (`bench/hubspot_read_bench.py` measures it), so
every call passes the library's own `_preload_content=False` and the JSON is parsed here.

Write-back: a note (`hs_note_body`, `hs_timestamp`) created with the `associations` field (type 214, note
to deal), so the note and its link land in one call. The idempotency key goes into the note's body as one
token (`rb` + 24 hex of its SHA-256, in a footer line), found by search with `CONTAINS_TOKEN` within the
deal's notes (`associations.deal`): no custom property to create and keep in the portal, and the footer is
readable to anyone wondering where the note came from. Search is indexed a few seconds behind writes, so
when it finds nothing the deal's own notes are read too (associations v4 + batch read, which see a write at
once): a retry moments after a write that landed finds it either way.

Limits and faults: the client's urllib3 `Retry` retries 429 (honouring `Retry-After`) and 5xx with
back-off for reads (search is a POST, so POST is allowed there). Write-back (notes, and the search that
looks for one) retries only a connection that never opened: a 5xx or timeout may have landed (the outbox
decides, after `find_activity`), and a 429 is handed back at once as `CrmRateLimited` with its
`Retry-After`, so nothing sleeps inside the outbox's lease. What outlasts the retries becomes a `CrmError`
with one sentence; the token never appears in one.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, TypeVar

import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException
from hubspot.crm.owners.exceptions import ApiException as OwnersApiException
from hubspot.crm.pipelines.exceptions import ApiException as PipelinesApiException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

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
    HubSpotConfig,
    Page,
)

log = logging.getLogger(__name__)

_API_ERRORS = (
    ObjectsApiException,
    OwnersApiException,
    PropertiesApiException,
    AssociationsApiException,
    PipelinesApiException,
)
SEARCH_PAGE_SIZE = 200
"""HubSpot's largest search page."""
ASSOCIATION_BATCH_SIZE = 1000
NOTE_TO_DEAL = 214
"""HubSpot-defined association type id: note → deal."""
PRIMARY_COMPANY = {"contacts": 1, "deals": 5}
"""HubSpot-defined association type ids for a record's primary company (v4)."""
MODIFIED_PROPERTY = {"companies": "hs_lastmodifieddate", "contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}

COMPANY_PROPERTIES = ("name", "domain", "industry", "country", "numberofemployees", "annualrevenue", "hubspot_owner_id")
CONTACT_PROPERTIES = ("firstname", "lastname", "jobtitle", "email")
DEAL_PROPERTIES = (
    "dealname",
    "amount",
    "dealstage",
    "closedate",
    "hubspot_owner_id",
    "hs_is_closed",
    "hs_is_closed_won",
)
NOTE_PROPERTIES = ("hs_note_body", "hs_timestamp")
NOTES_WRITE_SCOPE = "crm.objects.contacts.write"
"""Notes are engagements; HubSpot grants writing them with the contacts write scope."""

Record = TypeVar("Record", CrmUser, CrmAccount, CrmContact, CrmOpportunity)
_Obj = dict[str, Any]


class HubSpotRetry(Retry):
    """urllib3's `Retry`, except that a 429 for HubSpot's *daily* limit (its body's `policyName: DAILY`) is
    not retried: that limit lasts until the portal's midnight, and every retry would count against it."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Retry:
        if response is not None and response.status == 429 and _policy(response.data) == "DAILY":
            raise MaxRetryError(_pool, url or "", ResponseError("HubSpot's daily limit is reached"))  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)


def default_read_retry() -> Retry:
    """Reads (GET, and search's POST) retry 429 and 5xx, sleeping `Retry-After` when HubSpot sends one."""
    return HubSpotRetry(
        total=6,
        connect=3,
        read=2,
        status=6,
        backoff_factor=0.5,
        backoff_max=20,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def default_write_retry() -> Retry:
    """Write-back retries only a connection that never opened: a 5xx or timeout may have landed (the outbox
    looks for the key first), and a 429 goes back to the outbox with its `Retry-After` rather than being
    slept on inside the outbox's lease."""
    return Retry(
        total=3,
        connect=3,
        read=0,
        status=0,
        other=0,
        backoff_factor=0.2,
        allowed_methods=frozenset({"GET", "POST", "PATCH"}),
        respect_retry_after_header=False,
        raise_on_status=False,
    )


@dataclass(frozen=True)
class _Answer:
    body: _Obj
    date: datetime | None  # HubSpot's clock, from the `Date` header


class HubSpotConnector:
    """`Connector` for HubSpot. One instance per run; `close()` releases its connection pools."""

    name = "hubspot"

    def __init__(
        self, config: HubSpotConfig, *, read_retry: Retry | None = None, write_retry: Retry | None = None
    ) -> None:
        self._config = config
        self._timeout = config.timeout_seconds
        host = config.api_url.rstrip("/")
        reader = HubSpot(access_token=config.access_token, host=host, retry=read_retry or default_read_retry())
        writer = HubSpot(access_token=config.access_token, host=host, retry=write_retry or default_write_retry())
        # Each discovery property builds a new ApiClient (and pool): take each API once and keep it.
        self._objects = reader.crm.objects.basic_api
        self._search = reader.crm.objects.search_api
        self._associations = reader.crm.associations.v4.batch_api
        self._owners = reader.crm.owners.owners_api
        self._properties = reader.crm.properties.core_api
        self._pipelines = reader.crm.pipelines.pipelines_api
        self._writes = writer.crm.objects.basic_api
        self._write_search = writer.crm.objects.search_api
        self._write_batch = writer.crm.objects.batch_api
        self._write_associations = writer.crm.associations.v4.basic_api
        self._apis = (
            self._objects,
            self._search,
            self._associations,
            self._owners,
            self._properties,
            self._pipelines,
            self._writes,
            self._write_search,
            self._write_batch,
            self._write_associations,
        )
        self._customer_values = {v.lower() for v in config.customer_values}

    def close(self) -> None:
        for api in self._apis:
            api.api_client.rest_client.pool_manager.clear()

    # --- the one place a call is made and a refusal is translated ----------------------------------------
    def _call(self, what: str, call: Callable[..., Any], *args: Any, gone: bool = False, **kwargs: Any) -> _Answer:
        """Make one API call; HubSpot's refusals and unreachability become one-sentence `CrmError`s (a 404 is
        `CrmRecordGone` when `gone`: the record a write names; otherwise the address is wrong)."""
        try:
            response = call(*args, _preload_content=False, _request_timeout=self._timeout, **kwargs)
        except _API_ERRORS as refusal:
            log.debug("HubSpot answered %s when refbot tried to %s", refusal.status, what)
            if refusal.status == 404 and not gone:
                raise CrmError(f"HubSpot answered 404 when refbot tried to {what}: check HUBSPOT_API_URL.") from None
            raise _translate(what, refusal.status, refusal.body, refusal.headers) from None
        except urllib3.exceptions.HTTPError as failure:
            log.debug("HubSpot could not be reached to %s: %s", what, type(failure).__name__)
            raise CrmUnavailable(f"HubSpot could not be reached to {what} ({type(failure).__name__}).") from None
        try:
            data = response.data
        finally:
            response.release_conn()
        try:
            body = json.loads(data) if data else {}
        except ValueError:
            raise CrmError(
                f"HubSpot's answer when refbot tried to {what} was not JSON: check HUBSPOT_API_URL."
            ) from None
        return _Answer(body if isinstance(body, dict) else {}, _http_date(response.headers.get("Date")))

    # --- reads -------------------------------------------------------------------------------------------
    def users(self, since: datetime | None) -> Iterator[Page[CrmUser]]:
        owners = [self._user(o) for archived in (False, True) for o in self._all_owners(archived)]
        changed = sorted((u for u in owners if since is None or u.modified_at > since), key=lambda u: u.modified_at)
        size = self._config.page_size
        chunks = [changed[n : n + size] for n in range(0, len(changed), size)] or [[]]
        watermark = since
        for n, chunk in enumerate(chunks):
            watermark = _safe_watermark(watermark, [u.modified_at for u in chunk], complete=n == len(chunks) - 1)
            yield Page(chunk, watermark)

    def accounts(self, since: datetime | None) -> Iterator[Page[CrmAccount]]:
        return self._read("companies", COMPANY_PROPERTIES + (self._config.customer_property,), self._account, since)

    def contacts(self, since: datetime | None) -> Iterator[Page[CrmContact]]:
        return self._read("contacts", CONTACT_PROPERTIES, self._contact, since)

    def opportunities(self, since: datetime | None) -> Iterator[Page[CrmOpportunity]]:
        stages = self._stage_labels()
        yield from self._read(
            "deals", DEAL_PROPERTIES, lambda obj, company: self._opportunity(obj, company, stages), since
        )

    def _read(
        self,
        object_type: str,
        properties: Sequence[str],
        build: Callable[[_Obj, str | None], Record],
        since: datetime | None,
    ) -> Iterator[Page[Record]]:
        if since is None:
            yield from self._full_pass(object_type, properties, build)
            return
        archived_until = since
        for chunk in self._archived_since(object_type, properties, since):
            records = [build(obj, None) for obj in chunk]
            archived_until = max(archived_until, *(r.modified_at for r in records))
            yield Page(records, since)
        yield from self._changed_since(object_type, properties, build, since, archived_until)

    def _full_pass(
        self, object_type: str, properties: Sequence[str], build: Callable[[_Obj, str | None], Record]
    ) -> Iterator[Page[Record]]:
        """The list endpoint page by page; the next page is fetched (and built) on a helper thread while the
        caller commits this one, so HubSpot's answer time overlaps the sync's own work."""
        associations = ["companies"] if object_type in PRIMARY_COMPANY else None

        def fetch(after: str | None) -> tuple[list[Record], str | None, datetime | None]:
            answer = self._call(
                f"list HubSpot {object_type}",
                self._objects.get_page,
                object_type,
                limit=min(self._config.page_size, 100),
                after=after,
                properties=list(properties),
                associations=associations,
                archived=False,
            )
            records = [build(obj, _v3_primary_company(obj)) for obj in answer.body.get("results", [])]
            return records, _next_after(answer.body), answer.date

        started: datetime | None = None
        highest: datetime | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"hubspot-{object_type}") as prefetch:
            pending: Future[tuple[list[Record], str | None, datetime | None]] = prefetch.submit(fetch, None)
            while True:
                records, after, answered = pending.result()
                if after is not None:
                    pending = prefetch.submit(fetch, after)
                started = started or answered
                for record in records:
                    highest = record.modified_at if highest is None or record.modified_at > highest else highest
                if after is None:
                    yield Page(records, _cap(highest, started))
                    return
                yield Page(records, None)

    def _archived_since(self, object_type: str, properties: Sequence[str], since: datetime) -> Iterator[list[_Obj]]:
        """Records archived after `since` (HubSpot keeps them 90 days): the only way to see a deletion."""
        after: str | None = None
        while True:
            answer = self._call(
                f"list archived HubSpot {object_type}",
                self._objects.get_page,
                object_type,
                limit=min(self._config.page_size, 100),
                after=after,
                properties=list(properties),
                archived=True,
            )
            chunk = [obj for obj in answer.body.get("results", []) if (_archived_at(obj) or since) > since]
            if chunk:
                yield chunk
            after = _next_after(answer.body)
            if after is None:
                return

    def _changed_since(
        self,
        object_type: str,
        properties: Sequence[str],
        build: Callable[[_Obj, str | None], Record],
        since: datetime,
        archived_until: datetime,
    ) -> Iterator[Page[Record]]:
        """Keyset paging over search: each query starts at the last stamp read, ties handled (module docstring).
        The last page's watermark also covers the archived records read before, as everything is read then."""
        stamp_property = MODIFIED_PROPERTY[object_type]
        wanted = [*properties, stamp_property]
        cursor = since
        seen_at_cursor: set[str] = set()
        watermark = since
        strict = True
        while True:
            operator = "GT" if strict else "GTE"
            results = self._search_page(
                object_type, [[(stamp_property, operator, _ms(cursor))]], stamp_property, wanted
            )
            fresh = [
                obj for obj in results if obj["id"] not in seen_at_cursor or _modified(obj, stamp_property) != cursor
            ]
            complete = len(results) < SEARCH_PAGE_SIZE
            if not fresh and not complete:
                # A whole page on one stamp, all read already: read that stamp's records by id instead.
                yield from self._tie_block(object_type, wanted, build, cursor, seen_at_cursor, watermark)
                watermark = max(watermark, cursor)
                strict, seen_at_cursor = True, set()
                continue
            stamps = [_modified(obj, stamp_property) for obj in fresh]
            watermark = _safe_watermark(watermark, stamps, complete=complete)
            if complete:
                yield Page(self._built(object_type, fresh, build), max(watermark, archived_until))
                return
            yield Page(self._built(object_type, fresh, build), watermark)
            last = stamps[-1]
            if last != cursor:
                cursor, seen_at_cursor = last, set()
            seen_at_cursor.update(obj["id"] for obj, stamp in zip(fresh, stamps, strict=True) if stamp == last)
            strict = False

    def _tie_block(
        self,
        object_type: str,
        wanted: list[str],
        build: Callable[[_Obj, str | None], Record],
        stamp: datetime,
        already: set[str],
        watermark: datetime,
    ) -> Iterator[Page[Record]]:
        """Every record on exactly `stamp`, by id; the watermark stays below `stamp` until the last of them."""
        stamp_property = MODIFIED_PROPERTY[object_type]
        last_id = 0
        while True:
            filters = [(stamp_property, "EQ", _ms(stamp)), ("hs_object_id", "GT", str(last_id))]
            results = self._search_page(object_type, [filters], "hs_object_id", wanted)
            fresh = [obj for obj in results if obj["id"] not in already]
            complete = len(results) < SEARCH_PAGE_SIZE
            yield Page(self._built(object_type, fresh, build), max(watermark, stamp) if complete else watermark)
            if complete:
                return
            last_id = int(results[-1]["id"])

    def _search_page(
        self, object_type: str, groups: list[list[tuple[str, str, str]]], sort_by: str, properties: list[str]
    ) -> list[_Obj]:
        request = {
            "filterGroups": [
                {"filters": [{"propertyName": n, "operator": op, "value": v} for n, op, v in group]} for group in groups
            ],
            "sorts": [{"propertyName": sort_by, "direction": "ASCENDING"}],
            "properties": properties,
            "limit": SEARCH_PAGE_SIZE,
            "after": "0",
        }
        answer = self._call(f"search HubSpot {object_type}", self._search.do_search, object_type, request)
        return list(answer.body.get("results", []))

    def _built(self, object_type: str, objs: list[_Obj], build: Callable[[_Obj, str | None], Record]) -> list[Record]:
        """Records from search results, with their primary company from associations v4 where they have one."""
        companies = (
            self._primary_companies(object_type, [obj["id"] for obj in objs]) if object_type in PRIMARY_COMPANY else {}
        )
        return [build(obj, companies.get(obj["id"])) for obj in objs]

    def _primary_companies(self, object_type: str, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        primary = PRIMARY_COMPANY[object_type]
        for n in range(0, len(ids), ASSOCIATION_BATCH_SIZE):
            request = {"inputs": [{"id": i} for i in ids[n : n + ASSOCIATION_BATCH_SIZE]]}
            answer = self._call(
                f"read the companies of HubSpot {object_type}",
                self._associations.get_page,
                object_type,
                "companies",
                request,
            )
            for row in answer.body.get("results", []):
                targets = row.get("to") or []
                chosen = next(
                    (t for t in targets if any(a.get("typeId") == primary for a in t.get("associationTypes") or [])),
                    targets[0] if targets else None,
                )
                if chosen is not None:
                    found[str(row["from"]["id"])] = str(chosen["toObjectId"])
        return found

    def _all_owners(self, archived: bool) -> Iterator[_Obj]:
        after: str | None = None
        while True:
            answer = self._call("list HubSpot owners", self._owners.get_page, limit=500, after=after, archived=archived)
            yield from answer.body.get("results", [])
            after = _next_after(answer.body)
            if after is None:
                return

    def _stage_labels(self) -> dict[str, tuple[str, bool | None, bool | None]]:
        """Deal stage id → (label, closed, won) from every deal pipeline, so a stage reads as people name it."""
        answer = self._call("read HubSpot deal pipelines", self._pipelines.get_all, "deals")
        labels: dict[str, tuple[str, bool | None, bool | None]] = {}
        for pipeline in answer.body.get("results", []):
            for stage in pipeline.get("stages") or []:
                metadata = stage.get("metadata") or {}
                closed = _bool(metadata.get("isClosed"))
                probability = _decimal(metadata.get("probability"))
                won = None if closed is None or probability is None else closed and probability == 1
                labels[str(stage["id"])] = (str(stage.get("label") or stage["id"]), closed, won)
        return labels

    # --- records -----------------------------------------------------------------------------------------
    def _user(self, owner: _Obj) -> CrmUser:
        name = " ".join(part for part in (owner.get("firstName"), owner.get("lastName")) if part) or None
        return CrmUser(
            crm_id=str(owner["id"]),
            email=owner.get("email") or None,
            name=name,
            active=not owner.get("archived", False),
            modified_at=_parse_time(owner.get("updatedAt")) or datetime.fromtimestamp(0, UTC),
        )

    def _account(self, obj: _Obj, _company: str | None) -> CrmAccount:
        p = obj.get("properties") or {}
        customer = (p.get(self._config.customer_property) or "").strip().lower()
        return CrmAccount(
            crm_id=str(obj["id"]),
            name=(p.get("name") or "").strip(),
            domain=_text(p.get("domain")),
            industry=_text(p.get("industry")),
            billing_country=_text(p.get("country")),
            employees=_int(p.get("numberofemployees")),
            annual_revenue=_decimal(p.get("annualrevenue")),
            owner_crm_id=_text(p.get("hubspot_owner_id")),
            is_customer=customer in self._customer_values,
            modified_at=_modified(obj, "hs_lastmodifieddate"),
            deleted=bool(obj.get("archived")),
        )

    def _contact(self, obj: _Obj, company: str | None) -> CrmContact:
        p = obj.get("properties") or {}
        return CrmContact(
            crm_id=str(obj["id"]),
            account_crm_id=company,
            first_name=_text(p.get("firstname")),
            last_name=_text(p.get("lastname")),
            title=_text(p.get("jobtitle")),
            email=_text(p.get("email")),
            modified_at=_modified(obj, "lastmodifieddate"),
            deleted=bool(obj.get("archived")),
        )

    def _opportunity(
        self, obj: _Obj, company: str | None, stages: dict[str, tuple[str, bool | None, bool | None]]
    ) -> CrmOpportunity:
        p = obj.get("properties") or {}
        stage_id = _text(p.get("dealstage"))
        label, stage_closed, stage_won = stages.get(stage_id or "", (stage_id, None, None))
        closed = _bool(p.get("hs_is_closed"))
        closed = stage_closed if closed is None else closed
        won = _bool(p.get("hs_is_closed_won"))
        won = stage_won if won is None else won
        return CrmOpportunity(
            crm_id=str(obj["id"]),
            name=(p.get("dealname") or "").strip(),
            account_crm_id=company,
            amount=_decimal(p.get("amount")),
            stage=label,
            close_date=_close_date(p.get("closedate")),
            is_closed=bool(closed),
            is_won=bool(closed and won),
            owner_crm_id=_text(p.get("hubspot_owner_id")),
            modified_at=_modified(obj, "hs_lastmodifieddate"),
            deleted=bool(obj.get("archived")),
        )

    # --- write-back --------------------------------------------------------------------------------------
    def find_activity(self, key: str, opportunity_crm_id: str) -> str | None:
        """Search finds the key's token among the deal's notes; search trails writes by seconds, so when it
        finds nothing the deal's own notes are read (associations v4 and a batch read see a write at once)."""
        token = activity_token(key)
        request = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "hs_note_body", "operator": "CONTAINS_TOKEN", "value": token},
                        {"propertyName": "associations.deal", "operator": "EQ", "value": opportunity_crm_id},
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": ["hs_note_body"],
            "limit": 10,
        }
        answer = self._call("search HubSpot notes for an earlier write", self._write_search.do_search, "notes", request)
        found = _first_with_token(answer.body.get("results", []), token)
        return found if found is not None else self._find_among_deal_notes(token, opportunity_crm_id)

    def _find_among_deal_notes(self, token: str, opportunity_crm_id: str) -> str | None:
        note_ids: list[str] = []
        after: str | None = None
        while True:
            try:
                answer = self._call(
                    "read the notes of a HubSpot deal",
                    self._write_associations.get_page,
                    "deals",
                    opportunity_crm_id,
                    "notes",
                    after=after,
                    limit=500,
                    gone=True,
                )
            except CrmRecordGone:
                raise CrmRecordGone(f"The HubSpot deal {opportunity_crm_id} no longer exists.") from None
            note_ids += [str(row["toObjectId"]) for row in answer.body.get("results", [])]
            after = _next_after(answer.body)
            if after is None:
                break
        for n in range(0, len(note_ids), 100):
            request = {"properties": ["hs_note_body"], "inputs": [{"id": i} for i in note_ids[n : n + 100]]}
            answer = self._call("read HubSpot notes", self._write_batch.read, "notes", request, archived=False)
            found = _first_with_token(answer.body.get("results", []), token)
            if found is not None:
                return found
        return None

    def create_activity(self, activity: Activity) -> str:
        request = {
            "properties": _note_properties(activity),
            "associations": [
                {
                    "to": {"id": activity.opportunity_crm_id},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_DEAL}],
                }
            ],
        }
        try:
            answer = self._call("create a HubSpot note", self._writes.create, "notes", request)
        except CrmError as refusal:
            if getattr(refusal, "status", None) == 400 and "association" in refusal.message.lower():
                raise CrmRecordGone(f"The HubSpot deal {activity.opportunity_crm_id} no longer exists.") from None
            raise
        return str(answer.body["id"])

    def update_activity(self, crm_id: str, activity: Activity) -> None:
        request = {"properties": _note_properties(activity)}
        try:
            self._call("update a HubSpot note", self._writes.update, "notes", crm_id, request, gone=True)
        except CrmRecordGone:
            raise CrmRecordGone(f"The HubSpot note {crm_id} no longer exists.") from None

    # --- check ---------------------------------------------------------------------------------------------
    def check(self) -> CheckResult:
        """Log in, then each object and property refbot reads, then the right to write notes."""
        problems: list[str] = []
        try:
            for object_type, needed in (
                ("companies", COMPANY_PROPERTIES + (self._config.customer_property,)),
                ("contacts", CONTACT_PROPERTIES),
                ("deals", DEAL_PROPERTIES),
                ("notes", NOTE_PROPERTIES),
            ):
                problems += self._check_properties(object_type, needed)
                if object_type != "notes":
                    problems += self._check_read(
                        f"read HubSpot {object_type}", self._objects.get_page, object_type, limit=1, archived=False
                    )
            problems += self._check_read("read HubSpot owners", self._owners.get_page, limit=1)
            problems += self._check_note_writes()
        except CrmAuthError as refusal:
            return CheckResult(self.name, [refusal.message])
        return CheckResult(self.name, list(dict.fromkeys(problems)))

    def _check_read(self, what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> list[str]:
        try:
            self._call(what, call, *args, **kwargs)
        except CrmAuthError:
            raise
        except CrmError as refusal:
            return [refusal.message]
        return []

    def _check_properties(self, object_type: str, needed: Iterable[str]) -> list[str]:
        try:
            answer = self._call(f"read the properties of HubSpot {object_type}", self._properties.get_all, object_type)
        except CrmAuthError:
            raise
        except CrmError as refusal:
            return [refusal.message]
        present = {str(p.get("name")) for p in answer.body.get("results", [])}
        return [
            f"HubSpot {object_type} have no property '{name}', which refbot reads."
            if object_type != "notes"
            else f"HubSpot notes have no property '{name}', which refbot writes."
            for name in needed
            if name not in present
        ]

    def _check_note_writes(self) -> list[str]:
        """The private app's scopes, from HubSpot's token-info endpoint (which the client has no method for,
        so it goes through the client's own `call_api`): writing a note is not tried for real."""
        try:
            answer = self._call(
                "read the private app's scopes",
                self._objects.api_client.call_api,
                "/oauth/v2/private-apps/get/access-token-info",
                "POST",
                header_params={"Content-Type": "application/json", "Accept": "application/json"},
                body={"tokenKey": self._config.access_token},
                auth_settings=["oauth2"],
            )
        except CrmAuthError:
            raise
        except CrmError as refusal:
            return [refusal.message]
        if NOTES_WRITE_SCOPE not in set(answer.body.get("scopes") or []):
            return [f"The HubSpot private app lacks the scope {NOTES_WRITE_SCOPE}, needed to write notes on deals."]
        return []


class _HubSpotRefusal(CrmError):
    """A refusal with no more specific meaning (a 400): carries the status for the caller's own reading."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _translate(what: str, status: int | None, body: bytes | str | None, headers: Any) -> CrmError:
    """HubSpot's answer as one sentence of the right `CrmError`; never quotes the request (or its token)."""
    detail = _error_body(body)
    category = str(detail.get("category") or detail.get("errorType") or "")
    if status == 401:
        if category == "EXPIRED_AUTHENTICATION":
            return CrmAuthError(
                "HubSpot says the access token has expired: set HUBSPOT_ACCESS_TOKEN to the private app's new token."
            )
        return CrmAuthError("HubSpot refused the access token: set HUBSPOT_ACCESS_TOKEN to a valid private app token.")
    if status == 403:
        scopes = _missing_scopes(detail)
        if category == "MISSING_SCOPES" and scopes:
            return CrmPermissionError(
                f"The HubSpot private app lacks the scope {' or '.join(scopes)}, needed to {what}."
            )
        return CrmPermissionError(f"HubSpot refused to let refbot {what} ({category or 'forbidden'}).")
    if status == 404:
        return CrmRecordGone(f"HubSpot has no such record ({what}).")
    if status == 429:
        policy = str(detail.get("policyName") or "rate").replace("_", " ").lower()
        retry_after = _retry_after(headers, detail)
        return CrmRateLimited(f"HubSpot's {policy} limit was reached while refbot tried to {what}.", retry_after)
    if status is None or status == 0 or status >= 500:
        return CrmUnavailable(f"HubSpot kept failing ({status or 'no answer'}) while refbot tried to {what}.")
    message = str(detail.get("message") or "no reason given").strip().rstrip(".")
    return _HubSpotRefusal(f"HubSpot refused to {what}: {message[:200]}.", status)


def _policy(body: bytes | str | None) -> str:
    """The rate-limit policy a 429's body names (`TEN_SECONDLY_ROLLING`, `DAILY`, …), or ""."""
    return str(_error_body(body).get("policyName") or "").upper()


def _error_body(body: bytes | str | None) -> _Obj:
    try:
        parsed = json.loads(body or b"{}")
    except (ValueError, TypeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _missing_scopes(detail: _Obj) -> list[str]:
    scopes: list[str] = []
    for error in detail.get("errors") or []:
        context = error.get("context") or {}
        scopes += [str(s) for s in context.get("requiredGranularScopes") or context.get("requiredScopes") or []]
    scopes += [str(s) for s in (detail.get("context") or {}).get("missingScopes") or []]
    return list(dict.fromkeys(scopes))


def _retry_after(headers: Any, detail: _Obj) -> float:
    """Seconds to wait: the `Retry-After` header, else the policy's window (a second, or until tomorrow)."""
    value = headers.get("Retry-After") if headers is not None else None
    if value and str(value).strip().isdigit():
        return float(str(value).strip())
    if str(detail.get("policyName") or "").upper() == "DAILY":
        now = datetime.now(UTC)
        return (datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC) - now).total_seconds()
    return 10.0


def _first_with_token(notes: list[_Obj], token: str) -> str | None:
    """The oldest note whose body carries the token (checked here: search matched a token, not the text)."""
    ids = [int(n["id"]) for n in notes if token in ((n.get("properties") or {}).get("hs_note_body") or "")]
    return str(min(ids)) if ids else None


def activity_token(key: str) -> str:
    """The idempotency key as one search token (letters and digits only, so HubSpot indexes it whole)."""
    return "rb" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _note_properties(activity: Activity) -> dict[str, str]:
    """The note's HTML body: the subject in bold, the body's lines, and the key's token as a footer."""
    paragraphs = [f"<p><strong>{html.escape(activity.subject, quote=False)}</strong></p>"]
    paragraphs += [f"<p>{html.escape(line, quote=False)}</p>" for line in activity.body.splitlines() if line.strip()]
    paragraphs.append(f"<p>refbot {activity_token(activity.key)}</p>")
    when = activity.when if activity.when.tzinfo else activity.when.replace(tzinfo=UTC)
    return {"hs_note_body": "".join(paragraphs), "hs_timestamp": str(_ms(when))}


def _safe_watermark(previous: datetime | None, stamps: list[datetime], *, complete: bool) -> datetime | None:
    """The highest stamp below which everything is read: all of this page's when it is the last, else all but
    its final stamp (more records on that stamp may follow on the next page)."""
    if not stamps:
        return previous
    last = stamps[-1]
    candidates = stamps if complete else [s for s in stamps if s < last]
    best = max(candidates, default=None)
    if best is None:
        return previous
    return best if previous is None or best > previous else previous


def _cap(highest: datetime | None, started: datetime | None) -> datetime | None:
    """A full pass's watermark: what it saw, but not past a second before HubSpot's clock when it began."""
    if highest is None or started is None:
        return highest
    return min(highest, started - timedelta(seconds=1))


def _next_after(body: _Obj) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None


def _v3_primary_company(obj: _Obj) -> str | None:
    """The primary company from a v3 read's `associations` (typed `…_to_company`, else the first)."""
    rows = ((obj.get("associations") or {}).get("companies") or {}).get("results") or []
    primary = next((r for r in rows if not str(r.get("type", "")).endswith("unlabeled")), None)
    chosen = primary or (rows[0] if rows else None)
    return str(chosen["id"]) if chosen else None


def _modified(obj: _Obj, stamp_property: str) -> datetime:
    archived = _archived_at(obj) if obj.get("archived") else None
    if archived is not None:
        return archived
    found = _parse_time((obj.get("properties") or {}).get(stamp_property)) or _parse_time(obj.get("updatedAt"))
    return found or datetime.fromtimestamp(0, UTC)


def _archived_at(obj: _Obj) -> datetime | None:
    return _parse_time(obj.get("archivedAt")) or _parse_time(obj.get("updatedAt"))


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _close_date(value: Any) -> date | None:
    """A deal's close date. HubSpot keeps a picked date as midnight in the portal's time zone (Dec 24 in
    Berlin is `2026-12-23T23:00:00Z`): a stamp on a whole hour is taken to the nearest midnight, which is
    that local date for every zone from UTC-12 to UTC+12; any other stamp (HubSpot sets the moment a deal
    closes) is its UTC date."""
    parsed = _parse_time(value)
    if parsed is None:
        return None
    parsed = parsed.astimezone(UTC)
    if (parsed.minute, parsed.second, parsed.microsecond) == (0, 0, 0):
        return (parsed + timedelta(hours=12)).date()
    return parsed.date()


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _decimal(value: Any) -> Decimal | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _int(value: Any) -> int | None:
    number = _decimal(value)
    return int(number) if number is not None else None


def _bool(value: Any) -> bool | None:
    text = (_text(value) or "").lower()
    return True if text == "true" else False if text == "false" else None
