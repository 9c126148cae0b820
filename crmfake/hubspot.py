"""A fake HubSpot on loopback, so `bot/crm/hubspot.py` runs through the real `hubspot-api-client` offline.

The connector points `Configuration.host` at `HubSpotFake.url` (plain HTTP: HubSpot's client takes any host)
and authenticates with the private-app token from `env()`. State lives behind one lock because
`ThreadingHTTPServer` answers each request on its own thread while the test thread seeds and inspects.

Documented behaviours covered (developers.hubspot.com: CRM objects v3, search, associations v4, owners,
properties, pipelines, notes, private apps, API usage guidelines and error handling):

- Auth: `Authorization: Bearer <private app token>`; a wrong or missing token is 401 with
  `category: INVALID_AUTHENTICATION`; an expired one (the `session_expired` fault) 401 `EXPIRED_AUTHENTICATION`.
  `POST /oauth/v2/private-apps/get/access-token-info` with `{"tokenKey"}` answers the token's `scopes`.
- Scopes: every endpoint needs its granular scope (`crm.objects.companies.read`, `…contacts.read`,
  `…deals.read`, `…owners.read`; notes are engagements: `crm.objects.contacts.read`/`.write`; the properties
  API also accepts `crm.schemas.<object>.read`); a missing one is 403 `category: MISSING_SCOPES` with
  `errors[].context.requiredGranularScopes` naming it (`revoke_scope`).
- Objects v3 (`/crm/v3/objects/{companies|contacts|deals|notes}`, or `0-2`/`0-1`/`0-3`/`0-46`): list with
  `limit` (≤ 100), opaque `after` cursor, `properties` (repeated or comma-separated; unknown names are
  ignored, as HubSpot does), `associations=companies` (v3 association shape, `contact_to_company` /
  `…_unlabeled`), `archived=true` (archived records only, with `archivedAt`); responses carry `results`
  and, while more remain, `paging.next.after` and `paging.next.link`. Every record answers
  `hs_object_id`, `createdate` and its last-modified property (`lastmodifieddate` for contacts,
  `hs_lastmodifieddate` for the others) besides what was asked. Get by id, create (201, with the
  `associations` field: `to.id` + `types[].associationCategory/associationTypeId`, e.g. 214 note→deal),
  update (PATCH `properties`), archive (204); an unknown id is 404 `category: OBJECT_NOT_FOUND`.
- Search (`POST …/{object}/search`): `filterGroups` (OR of groups, AND within; ≤ 5 groups, ≤ 6 filters per
  group, ≤ 18 in all), operators EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY,
  NOT_HAS_PROPERTY, CONTAINS_TOKEN (with `*` wildcards), `associations.<object>` pseudo-properties, one
  `sorts` rule, `properties`, `limit` ≤ 200, `after` offset, `total`; archived records are never found; a
  page at or beyond **10,000 results** is refused with 400 `VALIDATION_ERROR` (HubSpot's cap per query);
  dates compare as epoch milliseconds or ISO 8601. Records tied on the sort key come back in an order
  that is stable but *not* by id, as HubSpot promises no order within ties.
- Objects batch read (`POST …/{object}/batch/read`, ≤ 100 `inputs`, `properties`). Search index lag
  (`search_lag_seconds`): records changed more recently are not found by search yet, as on HubSpot.
- Associations v4: `GET /crm/v4/objects/{type}/{id}/associations/{toType}` (`limit` ≤ 500, `after`) and
  `POST /crm/v4/associations/{from}/{to}/batch/read` → `results[].from.id`,
  `to[].toObjectId`, `to[].associationTypes[]` (`category`, `typeId`, `label`: contact→company 1 "Primary"
  and 279; deal→company 5 "Primary" and 341; note→deal 214).
- Owners (`/crm/v3/owners/`): `limit` ≤ 500, `after`, `archived`, `email`; `id`, `email`, `firstName`,
  `lastName`, `userId`, `createdAt`, `updatedAt`, `archived`, `teams`.
- Properties (`/crm/v3/properties/{object}`): the standard properties refbot reads, minus any a test drops
  (`drop_property`). Pipelines (`/crm/v3/pipelines/deals`): the default pipeline's stages with
  `metadata.isClosed` / `probability`, plus a stage for every label seeded.
- Limits and faults (`fail_next`): 429 with `Retry-After`, `X-HubSpot-RateLimit-*` headers and the
  documented body (`status`, `message`, `errorType: RATE_LIMIT`, `policyName: TEN_SECONDLY_ROLLING`, or
  `DAILY` with the daily headers, `correlationId`, `requestId`); 503 for `server_error`; every error
  body has `status: "error"`, `message`, `correlationId` and `category`.

Not covered: rate limiting on its own (only scripted 429s), search's 4-requests-per-second limit, custom
objects, association labels beyond the ones above, batch object endpoints.
"""

from __future__ import annotations

import bisect
import contextlib
import email.utils
import fnmatch
import functools
import html
import itertools
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.crm.connector import CrmAccount, CrmContact, CrmOpportunity, CrmUser, Stream
from crmfake import Fault

OBJECT_TYPES = ("companies", "contacts", "deals", "notes")
_TYPE_IDS = {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-46": "notes"}
_SINGULAR = {"company": "companies", "contact": "contacts", "deal": "deals", "note": "notes"}
MODIFIED_PROPERTY = {
    "companies": "hs_lastmodifieddate",
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "notes": "hs_lastmodifieddate",
}
SEARCH_RESULT_CAP = 10_000
"""HubSpot answers at most 10,000 results for one search query; paging beyond is a 400."""

# HubSpot-defined association type ids (associations v4), both directions.
ASSOCIATION_TYPES: dict[tuple[str, str], tuple[tuple[int, str | None], ...]] = {
    ("contacts", "companies"): ((1, "Primary"), (279, None)),
    ("companies", "contacts"): ((2, "Primary"), (280, None)),
    ("deals", "companies"): ((5, "Primary"), (341, None)),
    ("companies", "deals"): ((6, "Primary"), (342, None)),
    ("notes", "deals"): ((214, None),),
    ("deals", "notes"): ((213, None),),
}
_V3_ASSOCIATION_NAMES = {
    ("contacts", "companies"): ("contact_to_company", "contact_to_company_unlabeled"),
    ("deals", "companies"): ("deal_to_company", "deal_to_company_unlabeled"),
    ("companies", "contacts"): ("company_to_contact", "company_to_contact_unlabeled"),
    ("companies", "deals"): ("company_to_deal", "company_to_deal_unlabeled"),
    ("notes", "deals"): ("note_to_deal", "note_to_deal"),
    ("deals", "notes"): ("deal_to_note", "deal_to_note"),
}

_DATETIME_PROPERTIES = frozenset({"createdate", "hs_lastmodifieddate", "lastmodifieddate", "closedate", "hs_timestamp"})
_NUMBER_PROPERTIES = frozenset({"hs_object_id", "numberofemployees", "annualrevenue", "amount"})
_STANDARD_PROPERTIES: dict[str, tuple[str, ...]] = {
    "companies": (
        "name",
        "domain",
        "industry",
        "country",
        "numberofemployees",
        "annualrevenue",
        "hubspot_owner_id",
        "lifecyclestage",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
    "contacts": (
        "firstname",
        "lastname",
        "jobtitle",
        "email",
        "associatedcompanyid",
        "hubspot_owner_id",
        "lifecyclestage",
        "createdate",
        "lastmodifieddate",
        "hs_object_id",
    ),
    "deals": (
        "dealname",
        "amount",
        "dealstage",
        "pipeline",
        "closedate",
        "hubspot_owner_id",
        "hs_is_closed",
        "hs_is_closed_won",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
    "notes": ("hs_note_body", "hs_timestamp", "hubspot_owner_id", "createdate", "hs_lastmodifieddate", "hs_object_id"),
}
_DEFAULT_STAGES: tuple[tuple[str, str, bool, str], ...] = (
    ("appointmentscheduled", "Appointment Scheduled", False, "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", False, "0.4"),
    ("presentationscheduled", "Presentation Scheduled", False, "0.6"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", False, "0.8"),
    ("contractsent", "Contract Sent", False, "0.9"),
    ("closedwon", "Closed Won", True, "1.0"),
    ("closedlost", "Closed Lost", True, "0.0"),
)
ALL_SCOPES = frozenset(
    {
        "crm.objects.companies.read",
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        "crm.objects.deals.read",
        "crm.objects.owners.read",
        "crm.schemas.companies.read",
        "crm.schemas.contacts.read",
        "crm.schemas.deals.read",
    }
)
_STREAM_OBJECTS: dict[str, str] = {"accounts": "companies", "contacts": "contacts", "opportunities": "deals"}
_LINKED = (("contacts", "companies"), ("deals", "companies"), ("notes", "deals"))
_COMPUTED = frozenset({"hs_object_id", "createdate", "hs_lastmodifieddate", "lastmodifieddate"})
_ID, _CREATED, _MODIFIED = -2, -3, -4  # property "slots" that are computed from the record itself


def _now_ms() -> int:
    return int(time.time() * 1000)


@functools.lru_cache(maxsize=65536)
def _iso(ms: int) -> str:
    """HubSpot's timestamp format: ISO 8601 in UTC with milliseconds and a `Z` (cached: records changed
    together share stamps, and a page formats each stamp several times)."""
    stamp = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _to_ms(value: Any) -> int | None:
    """A filter value for a date property: epoch milliseconds or ISO 8601, as the search API accepts both."""
    if value is None:
        return None
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


@dataclass(slots=True)
class _Record:
    """One CRM record, kept small (600,000 of them for the benchmark): property values in a list ordered by
    the fake's schema for the object; `hs_object_id`, `createdate` and the last-modified stamp are computed."""

    id: int
    values: list[str | None]
    created_ms: int
    updated_ms: int
    archived_ms: int | None = None


@dataclass
class _Owner:
    id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    user_id: int
    created_ms: int
    updated_ms: int
    archived: bool = False


@dataclass
class _ScriptedFault:
    fault: Fault
    remaining: int


@dataclass(frozen=True)
class Call:
    """One API call as the fake received it; `at` is a monotonic second, for tests that check a back-off."""

    method: str
    path: str
    status: int
    at: float


class _Reply:
    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        self.headers = headers or {}


class HubSpotError(Exception):
    """A refusal the fake answers in HubSpot's error format."""

    def __init__(self, status: int, message: str, category: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.category, self.extra = status, message, category, extra

    def reply(self) -> _Reply:
        body = {
            "status": "error",
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
            "category": self.category,
        }
        body.update(self.extra)
        return _Reply(self.status, body)


class HubSpotFake:
    """The project's own HubSpot: seed it through `FakeCrm`, point the connector at `env()`."""

    name = "hubspot"

    def __init__(
        self,
        *,
        customer_property: str = "lifecyclestage",
        customer_value: str = "customer",
        retry_after_seconds: int = 1,
    ) -> None:
        self.access_token = "pat-na1-" + secrets.token_hex(16)
        self.customer_property = customer_property
        self.customer_value = customer_value
        self.retry_after_seconds = retry_after_seconds
        self.rate_limit_policy = "TEN_SECONDLY_ROLLING"
        """The policy a scripted 429 names; `DAILY` is answered without `Retry-After` (it lasts until midnight)."""
        self.search_lag_seconds = 0.0
        """HubSpot's search index trails writes by a few seconds: records changed more recently than this
        are not found by search yet (every other endpoint sees them at once)."""
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(10_001)
        self._owner_ids = itertools.count(70_001)
        self._records: dict[str, dict[int, _Record]] = {t: {} for t in OBJECT_TYPES}
        self._live: dict[str, list[int]] = {t: [] for t in OBJECT_TYPES}
        self._archived: dict[str, list[int]] = {t: [] for t in OBJECT_TYPES}
        # Each record's one association per pair (a contact's or deal's primary company, a note's deal).
        self._links: dict[tuple[str, str], dict[int, int]] = {pair: {} for pair in _LINKED}
        self._owners: dict[int, _Owner] = {}
        self._properties = {t: set(names) for t, names in _STANDARD_PROPERTIES.items()}
        self._properties["companies"].add(customer_property)
        self._slots: dict[str, dict[str, int]] = {t: {} for t in OBJECT_TYPES}
        self._plans: dict[tuple[str, tuple[str, ...]], list[tuple[str, int]]] = {}
        self._stages: dict[str, tuple[str, bool, str]] = {s: (label, c, p) for s, label, c, p in _DEFAULT_STAGES}
        self._scopes: set[str] = set(ALL_SCOPES)
        self._faults: list[_ScriptedFault] = []
        self._calls: list[Call] = []
        self._clock_ms = 0
        self._instant: int | None = None
        self._version = 0
        self._search_cache: dict[tuple[Any, ...], list[int]] = {}
        # (last-modified ms, id) of every record, sorted: a search bounded on that stamp reads only its range.
        self._by_stamp: dict[str, list[tuple[int, int]]] = {t: [] for t in OBJECT_TYPES}

    # --- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> HubSpotFake:
        """Bind a free port on 127.0.0.1 and serve on a daemon thread."""
        if self._server is not None:
            raise RuntimeError("HubSpotFake is already running")
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="HubSpotFake", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> HubSpotFake:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("HubSpotFake is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        return {"HUBSPOT_API_URL": self.url, "HUBSPOT_ACCESS_TOKEN": self.access_token}

    # --- seeding (the FakeCrm surface) ---------------------------------------------------------------------
    def _stamp(self) -> int:
        """The fake's clock: wall time in ms, never going back; inside `same_instant()` one frozen value."""
        if self._instant is not None:
            return self._instant
        self._clock_ms = max(self._clock_ms, _now_ms())
        return self._clock_ms

    @contextlib.contextmanager
    def same_instant(self) -> Iterator[None]:
        """Every record changed inside gets the same last-modified stamp (a bulk import, a workflow)."""
        with self._lock:
            self._instant = self._stamp()
        try:
            yield
        finally:
            with self._lock:
                self._instant = None

    def upsert(self, record: CrmUser | CrmAccount | CrmContact | CrmOpportunity) -> str:
        with self._lock:
            if isinstance(record, CrmUser):
                return self._upsert_owner(record)
            if isinstance(record, CrmAccount):
                return self._upsert_company(record)
            if isinstance(record, CrmContact):
                return self._upsert_contact(record)
            if isinstance(record, CrmOpportunity):
                return self._upsert_deal(record)
        raise TypeError(f"not a CRM record: {record!r}")

    def delete(self, stream: Stream, crm_id: str) -> None:
        with self._lock:
            if stream == "users":
                owner = self._owners[int(crm_id)]
                owner.archived, owner.updated_ms = True, self._stamp()
            else:
                self._archive(_STREAM_OBJECTS[stream], int(crm_id))
            self._version += 1

    def activities(self) -> list[dict[str, str]]:
        with self._lock:
            notes = sorted(self._records["notes"].values(), key=lambda r: (r.created_ms, r.id))
            return [self._activity(note) for note in notes if note.archived_ms is None]

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._faults.append(_ScriptedFault(fault, times))

    def clear_faults(self) -> None:
        """Drop every scripted fault not yet answered."""
        with self._lock:
            self._faults.clear()

    def requests(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(c.method, c.path) for c in self._calls]

    # --- HubSpot-only test controls ------------------------------------------------------------------------
    def calls(self) -> list[Call]:
        """Every API call with its answer's status and the time it arrived."""
        with self._lock:
            return list(self._calls)

    def revoke_scope(self, scope: str) -> None:
        """Take a scope away from the private app, as an admin editing its scopes would."""
        with self._lock:
            self._scopes.discard(scope)

    def drop_property(self, object_type: str, name: str) -> None:
        """Delete a property from an object's schema (a custom property someone removed)."""
        with self._lock:
            self._properties[object_type].discard(name)
            self._plans.clear()
            self._version += 1

    def set_property(self, object_type: str, crm_id: str, name: str, value: str | None) -> None:
        """Set one property to a raw wire value, as someone editing the record in HubSpot would."""
        with self._lock:
            if name not in self._properties[object_type]:
                raise KeyError(f"{object_type} have no property {name!r}")
            self._write(object_type, crm_id, {name: value}, deleted=False)

    def note(self, crm_id: str) -> dict[str, Any]:
        """A note's stored properties and the deals it is associated with."""
        with self._lock:
            record = self._records["notes"][int(crm_id)]
            names = self._properties["notes"]
            deal = self._links[("notes", "deals")].get(record.id)
            return {
                "properties": {n: self._get("notes", record, n) for n in sorted(names)},
                "deals": [] if deal is None else [str(deal)],
            }

    # --- state changes -------------------------------------------------------------------------------------
    def _new_id(self, crm_id: str, existing: dict[int, Any]) -> tuple[int, bool]:
        if not crm_id:
            return next(self._ids), True
        if not crm_id.isdigit():
            raise ValueError(f"HubSpot record ids are numeric, not {crm_id!r}")
        return int(crm_id), int(crm_id) not in existing

    def _upsert_owner(self, user: CrmUser) -> str:
        owner_id, new = (
            (next(self._owner_ids), True)
            if not user.crm_id
            else (int(user.crm_id), int(user.crm_id) not in self._owners)
        )
        first, _, last = (user.name or "").partition(" ")
        stamp = self._stamp()
        if new:
            self._owners[owner_id] = _Owner(
                owner_id, user.email, first or None, last or None, owner_id + 900_000, stamp, stamp
            )
        owner = self._owners[owner_id]
        owner.email, owner.first_name, owner.last_name = user.email, first or None, last or None
        owner.archived, owner.updated_ms = not user.active, stamp
        self._version += 1
        return str(owner_id)

    def _write(self, object_type: str, crm_id: str, properties: dict[str, str | None], deleted: bool) -> int:
        records = self._records[object_type]
        record_id, new = self._new_id(crm_id, records)
        stamp = self._stamp()
        if new:
            record = _Record(record_id, [], stamp, stamp)
            records[record_id] = record
            self._index_stamp(object_type, record)
            live = self._live[object_type]
            if not live or live[-1] < record_id:
                live.append(record_id)
            else:
                bisect.insort(live, record_id)
        record = records[record_id]
        if record.archived_ms is not None and not deleted:
            self._restore(object_type, record)
        known = self._properties[object_type]
        for name, value in properties.items():
            if name in known and name not in _COMPUTED:
                self._set(object_type, record, name, value)
        self._restamp(object_type, record, stamp)
        if deleted and record.archived_ms is None:
            self._archive(object_type, record_id)
        self._version += 1
        return record_id

    def _index_stamp(self, object_type: str, record: _Record) -> None:
        index = self._by_stamp[object_type]
        entry = (record.updated_ms, record.id)
        if not index or index[-1] < entry:
            index.append(entry)
        else:
            bisect.insort(index, entry)

    def _restamp(self, object_type: str, record: _Record, stamp: int) -> None:
        """Move a record to its new last-modified stamp in the search index."""
        if record.updated_ms == stamp:
            return
        index = self._by_stamp[object_type]
        position = bisect.bisect_left(index, (record.updated_ms, record.id))
        if position < len(index) and index[position] == (record.updated_ms, record.id):
            del index[position]
        record.updated_ms = stamp
        self._index_stamp(object_type, record)

    def _archive(self, object_type: str, record_id: int) -> None:
        record = self._records[object_type][record_id]
        if record.archived_ms is not None:
            return
        record.archived_ms = self._stamp()
        index = bisect.bisect_left(self._live[object_type], record_id)
        del self._live[object_type][index]
        bisect.insort(self._archived[object_type], record_id)
        self._version += 1

    def _restore(self, object_type: str, record: _Record) -> None:
        record.archived_ms = None
        index = bisect.bisect_left(self._archived[object_type], record.id)
        del self._archived[object_type][index]
        bisect.insort(self._live[object_type], record.id)

    def _get(self, object_type: str, record: _Record, name: str) -> str | None:
        """A property's value as HubSpot answers it (a string or null)."""
        if name == "hs_object_id":
            return str(record.id)
        if name == "createdate":
            return _iso(record.created_ms)
        if name == MODIFIED_PROPERTY[object_type]:
            return _iso(record.updated_ms)
        slot = self._slots[object_type].get(name)
        if slot is None or slot >= len(record.values):
            return None
        return record.values[slot]

    def _set(self, object_type: str, record: _Record, name: str, value: str | None) -> None:
        slots = self._slots[object_type]
        slot = slots.get(name)
        if slot is None:
            slot = slots[name] = len(slots)
            self._plans.clear()
        if slot >= len(record.values):
            record.values.extend([None] * (slot + 1 - len(record.values)))
        record.values[slot] = value

    def _associate(self, from_type: str, from_id: int, to_type: str, to_id: int | None) -> None:
        """Set `from_id`'s one association to `to_type` (a primary company is exclusive), or clear it."""
        links = self._links[(from_type, to_type)]
        if to_id is None:
            links.pop(from_id, None)
        else:
            links[from_id] = to_id

    def _targets(self, from_type: str, to_type: str, from_id: int) -> list[int]:
        """The `to_type` records associated with `from_id`, either direction of a stored link."""
        if (from_type, to_type) in self._links:
            found = self._links[(from_type, to_type)].get(from_id)
            return [] if found is None else [found]
        links = self._links.get((to_type, from_type), {})
        return sorted(source for source, target in links.items() if target == from_id)

    def _upsert_company(self, account: CrmAccount) -> str:
        properties = {
            "name": account.name,
            "domain": account.domain,
            "industry": account.industry,
            "country": account.billing_country,
            "numberofemployees": None if account.employees is None else str(account.employees),
            "annualrevenue": None if account.annual_revenue is None else str(account.annual_revenue),
            "hubspot_owner_id": account.owner_crm_id,
            self.customer_property: self.customer_value if account.is_customer else "lead",
        }
        return str(self._write("companies", account.crm_id, properties, account.deleted))

    def _upsert_contact(self, contact: CrmContact) -> str:
        properties = {
            "firstname": contact.first_name,
            "lastname": contact.last_name,
            "jobtitle": contact.title,
            "email": contact.email,
            "associatedcompanyid": contact.account_crm_id,
        }
        record_id = self._write("contacts", contact.crm_id, properties, contact.deleted)
        company = int(contact.account_crm_id) if contact.account_crm_id else None
        self._associate("contacts", record_id, "companies", company)
        return str(record_id)

    def _stage_id(self, opportunity: CrmOpportunity) -> str:
        """The internal stage id for a seeded label; a label HubSpot's default pipeline lacks becomes a stage."""
        if opportunity.is_closed:
            return "closedwon" if opportunity.is_won else "closedlost"
        label = opportunity.stage or "Appointment Scheduled"
        for stage_id, (known, _, _) in self._stages.items():
            if known.lower() == label.lower():
                return stage_id
        stage_id = re.sub(r"[^a-z0-9]+", "", label.lower()) or "stage"
        self._stages[stage_id] = (label, False, "0.5")
        return stage_id

    def _upsert_deal(self, opportunity: CrmOpportunity) -> str:
        stage_id = self._stage_id(opportunity)
        close = opportunity.close_date
        properties = {
            "dealname": opportunity.name,
            "amount": None if opportunity.amount is None else str(opportunity.amount),
            "dealstage": stage_id,
            "pipeline": "default",
            "closedate": None if close is None else f"{close.isoformat()}T00:00:00.000Z",
            "hubspot_owner_id": opportunity.owner_crm_id,
            "hs_is_closed": "true" if opportunity.is_closed else "false",
            "hs_is_closed_won": "true" if opportunity.is_closed and opportunity.is_won else "false",
        }
        record_id = self._write("deals", opportunity.crm_id, properties, opportunity.deleted)
        company = int(opportunity.account_crm_id) if opportunity.account_crm_id else None
        self._associate("deals", record_id, "companies", company)
        return str(record_id)

    def _activity(self, note: _Record) -> dict[str, str]:
        """A note as `FakeCrm.activities()` reports it: a bold first paragraph is its subject (refbot's title)."""
        body = self._get("notes", note, "hs_note_body") or ""
        subject = ""
        match = re.match(r"\s*<p>\s*<strong>(.*?)</strong>\s*</p>", body, re.S)
        if match:
            subject, body = match.group(1), body[match.end() :]
        text = re.sub(r"</p>\s*<p>|<br\s*/?>", "\n", body)
        text = html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
        deal = self._links[("notes", "deals")].get(note.id)
        return {
            "crm_id": str(note.id),
            "opportunity_crm_id": "" if deal is None else str(deal),
            "subject": html.unescape(re.sub(r"<[^>]+>", "", subject)).strip(),
            "body": text,
        }

    # --- serving -------------------------------------------------------------------------------------------
    def _take_fault(self) -> Fault | None:
        with self._lock:
            while self._faults and self._faults[0].remaining <= 0:
                self._faults.pop(0)
            if not self._faults:
                return None
            self._faults[0].remaining -= 1
            return self._faults[0].fault

    def _record_call(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._calls.append(Call(method, path, status, time.monotonic()))

    def _fault_reply(self, fault: Fault) -> _Reply:
        if fault == "rate_limit":
            policy = self.rate_limit_policy
            body = {
                "status": "error",
                "message": f"You have reached your {policy.lower()} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": policy,
                "requestId": str(uuid.uuid4()),
            }
            if policy == "DAILY":
                headers = {"X-HubSpot-RateLimit-Daily": "250000", "X-HubSpot-RateLimit-Daily-Remaining": "0"}
            else:
                headers = {
                    "Retry-After": str(self.retry_after_seconds),
                    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                    "X-HubSpot-RateLimit-Max": "100",
                    "X-HubSpot-RateLimit-Remaining": "0",
                }
            return _Reply(429, body, headers)
        if fault == "server_error":
            return HubSpotError(503, "Service temporarily unavailable.", "SERVICE_UNAVAILABLE").reply()
        if fault == "session_expired":
            return HubSpotError(
                401, "The OAuth token used to make this call expired 1 day(s) ago.", "EXPIRED_AUTHENTICATION"
            ).reply()
        return _unauthenticated().reply()

    def serve(self, method: str, path: str, query: dict[str, list[str]], body: bytes, token: str | None) -> _Reply:
        """Answer one API call: faults first, then auth, then the route."""
        fault = self._take_fault()
        if fault is not None:
            return self._fault_reply(fault)
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return HubSpotError(400, "Invalid input JSON on line 1.", "VALIDATION_ERROR").reply()
        try:
            if path == "/oauth/v2/private-apps/get/access-token-info" and method == "POST":
                return self._token_info(payload)
            if token != self.access_token:
                raise _unauthenticated()
            with self._lock:
                return self._route(method, path, query, payload)
        except HubSpotError as refusal:
            return refusal.reply()

    def _route(self, method: str, path: str, query: dict[str, list[str]], payload: Any) -> _Reply:
        segments = [s for s in path.split("/") if s]
        if segments[:3] == ["crm", "v3", "objects"] and len(segments) >= 4:
            object_type = _object_type(segments[3])
            rest = segments[4:]
            if not rest and method == "GET":
                return self._list(object_type, query)
            if not rest and method == "POST":
                return self._create(object_type, payload)
            if rest == ["search"] and method == "POST":
                return self._search(object_type, payload)
            if rest == ["batch", "read"] and method == "POST":
                return self._batch_read(object_type, payload, query)
            if len(rest) == 1 and rest[0].isdigit():
                record_id = int(rest[0])
                if method == "GET":
                    return self._read_one(object_type, record_id, query)
                if method == "PATCH":
                    return self._update(object_type, record_id, payload)
                if method == "DELETE":
                    self._require(_write_scope(object_type))
                    self._existing(object_type, record_id)
                    self._archive(object_type, record_id)
                    return _Reply(204)
        v4_record = segments[:3] == ["crm", "v4", "objects"] and len(segments) == 7 and segments[5] == "associations"
        if v4_record and method == "GET" and segments[4].isdigit():
            from_type, to_type = _object_type(segments[3]), _object_type(segments[6])
            return self._record_associations(from_type, int(segments[4]), to_type, query)
        if segments[:3] == ["crm", "v4", "associations"] and segments[5:] == ["batch", "read"] and method == "POST":
            return self._associations_batch_read(_object_type(segments[3]), _object_type(segments[4]), payload)
        if segments[:3] == ["crm", "v3", "owners"] and len(segments) == 3 and method == "GET":
            return self._list_owners(query)
        if segments[:3] == ["crm", "v3", "properties"] and len(segments) == 4 and method == "GET":
            return self._list_properties(_object_type(segments[3]))
        if segments == ["crm", "v3", "pipelines", "deals"] and method == "GET":
            self._require(_read_scope("deals"))
            return _Reply(200, {"results": [self._pipeline()]})
        raise HubSpotError(404, f"Unable to route {method} {path}.", "OBJECT_NOT_FOUND")

    # --- scopes --------------------------------------------------------------------------------------------
    def _require(self, *any_of: str) -> None:
        """403 MISSING_SCOPES unless the token holds one of `any_of`, naming what would do."""
        if any(scope in self._scopes for scope in any_of):
            return
        raise HubSpotError(
            403,
            "This app hasn't been granted all required scopes to make this call. Read more about required "
            "scopes here: https://developers.hubspot.com/scopes.",
            "MISSING_SCOPES",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": list(any_of)},
                }
            ],
            links={"scopes": "https://developers.hubspot.com/scopes"},
        )

    def _token_info(self, payload: Any) -> _Reply:
        key = payload.get("tokenKey") if isinstance(payload, dict) else None
        if key != self.access_token:
            raise _unauthenticated()
        with self._lock:
            scopes = sorted(self._scopes)
        return _Reply(200, {"userId": 900_001, "hubId": 4_000_001, "appId": 3_000_001, "scopes": scopes})

    # --- objects -------------------------------------------------------------------------------------------
    def _serialize(
        self, object_type: str, record: _Record, wanted: list[str], associations: list[str]
    ) -> dict[str, Any]:
        created, updated = _iso(record.created_ms), _iso(record.updated_ms)
        values = record.values
        properties: dict[str, str | None] = {}
        for name, slot in self._plan(object_type, tuple(wanted)):
            if slot == _ID:
                properties[name] = str(record.id)
            elif slot == _CREATED:
                properties[name] = created
            elif slot == _MODIFIED:
                properties[name] = updated
            else:
                properties[name] = values[slot] if 0 <= slot < len(values) else None
        result: dict[str, Any] = {
            "id": str(record.id),
            "properties": properties,
            "createdAt": created,
            "updatedAt": updated,
            "archived": record.archived_ms is not None,
        }
        if record.archived_ms is not None:
            result["archivedAt"] = _iso(record.archived_ms)
        linked: dict[str, Any] = {}
        for to_type in associations:
            pair = (object_type, to_type)
            targets = self._targets(object_type, to_type, record.id) if pair in _V3_ASSOCIATION_NAMES else []
            if not targets:
                continue
            primary_name, plain_name = _V3_ASSOCIATION_NAMES[pair]
            rows = []
            for to_id in targets:
                if primary_name != plain_name:
                    rows.append({"id": str(to_id), "type": primary_name})
                rows.append({"id": str(to_id), "type": plain_name})
            linked[to_type] = {"results": rows}
        if linked:
            result["associations"] = linked
        return result

    def _plan(self, object_type: str, wanted: tuple[str, ...]) -> list[tuple[str, int]]:
        """Which properties a response carries and where each value is: the defaults, then what was asked
        (unknown names dropped, as HubSpot does); computed once per request, not per record."""
        plan = self._plans.get((object_type, wanted))
        if plan is None:
            names = dict.fromkeys(["hs_object_id", "createdate", MODIFIED_PROPERTY[object_type], *wanted])
            known, slots = self._properties[object_type], self._slots[object_type]
            computed = {"hs_object_id": _ID, "createdate": _CREATED, MODIFIED_PROPERTY[object_type]: _MODIFIED}
            plan = [(n, computed.get(n, slots.get(n, -1))) for n in names if n in known]
            self._plans[(object_type, wanted)] = plan
        return plan

    def _existing(self, object_type: str, record_id: int) -> _Record:
        record = self._records[object_type].get(record_id)
        if record is None or record.archived_ms is not None:
            raise HubSpotError(
                404,
                "Object not found.  objectId are usually numeric.",
                "OBJECT_NOT_FOUND",
                context={"id": [str(record_id)]},
            )
        return record

    def _list(self, object_type: str, query: dict[str, list[str]]) -> _Reply:
        self._require(_read_scope(object_type))
        limit = _int_param(query, "limit", 10)
        if not 1 <= limit <= 100:
            raise HubSpotError(400, "limit must be between 1 and 100.", "VALIDATION_ERROR")
        archived = _first(query, "archived", "false").lower() == "true"
        wanted = _multi(query, "properties")
        associations = [_object_type(a) for a in _multi(query, "associations")]
        ids = self._archived[object_type] if archived else self._live[object_type]
        after = _first(query, "after", "")
        start = bisect.bisect_left(ids, int(after)) if after.isdigit() else 0
        chunk = ids[start : start + limit]
        records = self._records[object_type]
        body: dict[str, Any] = {
            "results": [self._serialize(object_type, records[i], wanted, associations) for i in chunk]
        }
        if start + limit < len(ids):
            cursor = str(ids[start + limit])
            body["paging"] = {
                "next": {"after": cursor, "link": f"{self.url}/crm/v3/objects/{object_type}?after={cursor}"}
            }
        return _Reply(200, body)

    def _read_one(self, object_type: str, record_id: int, query: dict[str, list[str]]) -> _Reply:
        self._require(_read_scope(object_type))
        record = self._existing(object_type, record_id)
        associations = [_object_type(a) for a in _multi(query, "associations")]
        return _Reply(200, self._serialize(object_type, record, _multi(query, "properties"), associations))

    def _checked_properties(self, object_type: str, payload: Any) -> dict[str, str | None]:
        properties = payload.get("properties") if isinstance(payload, dict) else None
        if not isinstance(properties, dict):
            raise HubSpotError(400, "Invalid input JSON: properties is required.", "VALIDATION_ERROR")
        unknown = sorted(set(properties) - self._properties[object_type])
        if unknown:
            raise HubSpotError(
                400,
                f"Property values were not valid: {unknown[0]} does not exist.",
                "VALIDATION_ERROR",
                errors=[
                    {"message": f'Property "{name}" does not exist', "code": "PROPERTY_DOESNT_EXIST"}
                    for name in unknown
                ],
            )
        return {k: None if v is None else str(v) for k, v in properties.items()}

    def _create(self, object_type: str, payload: Any) -> _Reply:
        self._require(_write_scope(object_type))
        properties = self._checked_properties(object_type, payload)
        if object_type == "notes" and not properties.get("hs_timestamp"):
            raise HubSpotError(400, "Property values were not valid: hs_timestamp is required.", "VALIDATION_ERROR")
        links = []
        for association in payload.get("associations") or []:
            to_id = str(association.get("to", {}).get("id", ""))
            types = association.get("types") or []
            type_id = types[0].get("associationTypeId") if types else None
            to_type = next(
                (t for (f, t), spec in ASSOCIATION_TYPES.items() if f == object_type and spec[0][0] == type_id), None
            )
            if to_type is None:
                raise HubSpotError(
                    400, f"Association type {type_id} is not valid from {object_type}.", "VALIDATION_ERROR"
                )
            target = self._records[to_type].get(int(to_id)) if to_id.isdigit() else None
            if target is None or target.archived_ms is not None:
                raise HubSpotError(
                    400,
                    f"One or more associations are invalid: {to_type} {to_id} does not exist.",
                    "VALIDATION_ERROR",
                    subCategory="crm.associations.INVALID_OBJECT_IDS",
                )
            links.append((to_type, int(to_id)))
        if object_type == "notes" and properties.get("hs_timestamp"):
            stamp = _to_ms(properties["hs_timestamp"])
            properties["hs_timestamp"] = _iso(stamp) if stamp is not None else properties["hs_timestamp"]
        record_id = self._write(object_type, "", properties, deleted=False)
        for to_type, to_id in links:
            self._associate(object_type, record_id, to_type, to_id)
        return _Reply(201, self._serialize(object_type, self._records[object_type][record_id], list(properties), []))

    def _update(self, object_type: str, record_id: int, payload: Any) -> _Reply:
        self._require(_write_scope(object_type))
        self._existing(object_type, record_id)
        properties = self._checked_properties(object_type, payload)
        self._write(object_type, str(record_id), properties, deleted=False)
        return _Reply(200, self._serialize(object_type, self._records[object_type][record_id], list(properties), []))

    # --- search --------------------------------------------------------------------------------------------
    def _search(self, object_type: str, payload: Any) -> _Reply:
        self._require(_read_scope(object_type))
        request = payload if isinstance(payload, dict) else {}
        limit = int(request.get("limit") or 10)
        if not 1 <= limit <= 200:
            raise HubSpotError(400, "limit must be between 1 and 200.", "VALIDATION_ERROR")
        after_text = str(request.get("after") or "0")
        if not after_text.isdigit():
            raise HubSpotError(400, "after must be an integer offset.", "VALIDATION_ERROR")
        after = int(after_text)
        if after >= SEARCH_RESULT_CAP:
            raise HubSpotError(
                400,
                f"The search API returns at most {SEARCH_RESULT_CAP} results for a query; after={after} is beyond it.",
                "VALIDATION_ERROR",
            )
        groups = request.get("filterGroups") or []
        sorts = request.get("sorts") or []
        _check_search_shape(groups, sorts)
        ids = self._matching(object_type, groups, sorts, str(request.get("query") or ""))
        end = min(after + limit, SEARCH_RESULT_CAP)
        records = self._records[object_type]
        wanted = list(request.get("properties") or [])
        body: dict[str, Any] = {
            "total": len(ids),
            "results": [self._serialize(object_type, records[i], wanted, []) for i in ids[after:end]],
        }
        if end < len(ids):
            body["paging"] = {"next": {"after": str(end), "link": f"?after={end}"}}
        return _Reply(200, body)

    def _matching(self, object_type: str, groups: list[dict[str, Any]], sorts: list[Any], text: str) -> list[int]:
        """The ids a search matches, in its order; cached per query and data version, so paging is cheap."""
        key = (object_type, json.dumps([groups, sorts, text], sort_keys=True), self._version, self.search_lag_seconds)
        cached = self._search_cache.get(key)
        if cached is not None:
            return cached
        tests = [[self._filter_test(object_type, f) for f in g.get("filters") or []] for g in groups]
        needle = text.lower()
        indexed_until = _now_ms() - int(self.search_lag_seconds * 1000)
        matched = [
            record
            for record in self._candidates(object_type, groups)
            if record.archived_ms is None
            and (not self.search_lag_seconds or record.updated_ms <= indexed_until)
            and (not tests or any(all(t(record) for t in group) for group in tests))
            and (not needle or any(needle in (v or "").lower() for v in record.values))
        ]
        sort_name, descending = _sort_rule(sorts)
        if sort_name is None:
            matched.sort(key=lambda r: r.id)
        else:
            value = self._sort_value(object_type, sort_name)
            matched.sort(key=lambda r: (value(r), _scramble(r.id)), reverse=descending)
        ids = [r.id for r in matched]
        if len(self._search_cache) > 32:
            self._search_cache.clear()
        self._search_cache[key] = ids
        return ids

    def _candidates(self, object_type: str, groups: list[dict[str, Any]]) -> list[_Record]:
        """Records that may match: when every group bounds the last-modified stamp from below, only the
        index's range from the lowest bound (the filters themselves still decide); else all of them."""
        records = self._records[object_type]
        lowest: int | None = None
        for group in groups:
            bounds = [
                _to_ms(f.get("value"))
                for f in group.get("filters") or []
                if f.get("propertyName") == MODIFIED_PROPERTY[object_type] and f.get("operator") in ("GT", "GTE", "EQ")
            ]
            bound = max((b for b in bounds if b is not None), default=None)
            if bound is None:
                return [records[i] for i in self._live[object_type]]
            lowest = bound if lowest is None else min(lowest, bound)
        if lowest is None:
            return [records[i] for i in self._live[object_type]]
        index = self._by_stamp[object_type]
        start = bisect.bisect_left(index, (lowest, -1))
        return [records[i] for _, i in index[start:]]

    def _value(self, object_type: str, record: _Record, name: str) -> Any:
        if name in (MODIFIED_PROPERTY[object_type], "hs_lastmodifieddate") and name in self._properties[object_type]:
            return record.updated_ms
        if name == "hs_object_id":
            return record.id
        if name == "createdate":
            return record.created_ms
        raw = self._get(object_type, record, name)
        if raw is None or raw == "":
            return None
        if name in _DATETIME_PROPERTIES:
            return _to_ms(raw)
        if name in _NUMBER_PROPERTIES:
            try:
                return Decimal(raw)
            except ArithmeticError:
                return None
        return raw.lower()

    def _sort_value(self, object_type: str, name: str) -> Callable[[_Record], Any]:
        self._known_property(object_type, name)

        def value(record: _Record) -> Any:
            found = self._value(object_type, record, name)
            return (found is None, found if found is not None else 0)

        return value

    def _known_property(self, object_type: str, name: str) -> None:
        if name not in self._properties[object_type]:
            raise HubSpotError(
                400,
                f"There was a problem with the request: property {name} does not exist on {object_type}.",
                "VALIDATION_ERROR",
            )

    def _coerce(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        if name in _DATETIME_PROPERTIES:
            return _to_ms(value)
        if name in _NUMBER_PROPERTIES or name == "hs_object_id":
            try:
                return Decimal(str(value))
            except ArithmeticError:
                return None
        return str(value).lower()

    def _filter_test(self, object_type: str, spec: dict[str, Any]) -> Callable[[_Record], bool]:
        name = str(spec.get("propertyName") or "")
        operator = str(spec.get("operator") or "EQ")
        if name.startswith("associations."):
            to_type = _object_type(name.split(".", 1)[1])
            pair = (object_type, to_type)
            if pair not in ASSOCIATION_TYPES or operator not in ("EQ", "IN"):
                raise HubSpotError(400, f"Cannot filter {object_type} by {name} with {operator}.", "VALIDATION_ERROR")
            wanted = {
                int(v)
                for v in ([spec.get("value")] if operator == "EQ" else spec.get("values") or [])
                if str(v).isdigit()
            }
            return lambda r: bool(wanted.intersection(self._targets(object_type, to_type, r.id)))
        self._known_property(object_type, name)
        value = self._coerce(name, spec.get("value"))
        values = [self._coerce(name, v) for v in spec.get("values") or []]
        high = self._coerce(name, spec.get("highValue"))

        def get(record: _Record) -> Any:
            return self._value(object_type, record, name)

        def compare(test: Callable[[Any], bool]) -> Callable[[_Record], bool]:
            def check(record: _Record) -> bool:
                found = get(record)
                return found is not None and test(found)

            return check

        if operator == "EQ":
            return compare(lambda v: v == value)
        if operator == "NEQ":
            return lambda r: get(r) != value
        if operator in ("LT", "LTE", "GT", "GTE") and value is None:
            raise HubSpotError(400, f"Filter on {name} with {operator} needs a value.", "VALIDATION_ERROR")
        if operator == "LT":
            return compare(lambda v: v < value)
        if operator == "LTE":
            return compare(lambda v: v <= value)
        if operator == "GT":
            return compare(lambda v: v > value)
        if operator == "GTE":
            return compare(lambda v: v >= value)
        if operator == "BETWEEN":
            return compare(lambda v: value <= v <= high)
        if operator == "IN":
            return compare(lambda v: v in values)
        if operator == "NOT_IN":
            return lambda r: get(r) not in values
        if operator == "HAS_PROPERTY":
            return lambda r: get(r) is not None
        if operator == "NOT_HAS_PROPERTY":
            return lambda r: get(r) is None
        if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            pattern = str(spec.get("value") or "").lower()

            def contains(record: _Record) -> bool:
                text = re.sub(r"<[^>]+>", " ", self._get(object_type, record, name) or "")
                return any(fnmatch.fnmatchcase(token, pattern) for token in re.findall(r"[a-z0-9]+", text.lower()))

            return contains if operator == "CONTAINS_TOKEN" else (lambda r: not contains(r))
        raise HubSpotError(400, f"Unknown filter operator {operator}.", "VALIDATION_ERROR")

    # --- associations, owners, properties, pipelines -------------------------------------------------------
    def _associations_batch_read(self, from_type: str, to_type: str, payload: Any) -> _Reply:
        self._require(_read_scope(from_type))
        self._require(_read_scope(to_type))
        pair = (from_type, to_type)
        if pair not in ASSOCIATION_TYPES:
            raise HubSpotError(400, f"No association type between {from_type} and {to_type}.", "VALIDATION_ERROR")
        inputs = payload.get("inputs") if isinstance(payload, dict) else None
        if not isinstance(inputs, list) or len(inputs) > 1000:
            raise HubSpotError(400, "inputs must be a list of at most 1000 ids.", "VALIDATION_ERROR")
        types = ASSOCIATION_TYPES[pair]
        started = _iso(_now_ms())
        results = []
        for item in inputs:
            from_id = str(item.get("id", ""))
            targets = self._targets(from_type, to_type, int(from_id)) if from_id.isdigit() else []
            if not targets:
                continue
            results.append(
                {
                    "from": {"id": from_id},
                    "to": [
                        {
                            "toObjectId": to_id,
                            "associationTypes": [
                                {"category": "HUBSPOT_DEFINED", "typeId": t, "label": label} for t, label in types
                            ],
                        }
                        for to_id in targets
                    ],
                }
            )
        return _Reply(
            200, {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": _iso(_now_ms())}
        )

    def _record_associations(self, from_type: str, from_id: int, to_type: str, query: dict[str, list[str]]) -> _Reply:
        """`GET /crm/v4/objects/{type}/{id}/associations/{toType}`: one record's associations, paged."""
        self._require(_read_scope(from_type))
        self._require(_read_scope(to_type))
        if (from_type, to_type) not in ASSOCIATION_TYPES:
            raise HubSpotError(400, f"No association type between {from_type} and {to_type}.", "VALIDATION_ERROR")
        self._existing(from_type, from_id)
        limit = _int_param(query, "limit", 500)
        if not 1 <= limit <= 500:
            raise HubSpotError(400, "limit must be between 1 and 500.", "VALIDATION_ERROR")
        targets = self._targets(from_type, to_type, from_id)
        after = _first(query, "after", "")
        start = bisect.bisect_left(targets, int(after)) if after.isdigit() else 0
        types = ASSOCIATION_TYPES[(from_type, to_type)]
        body: dict[str, Any] = {
            "results": [
                {
                    "toObjectId": to_id,
                    "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": t, "label": label} for t, label in types
                    ],
                }
                for to_id in targets[start : start + limit]
            ]
        }
        if start + limit < len(targets):
            cursor = str(targets[start + limit])
            link = f"{self.url}/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}?after={cursor}"
            body["paging"] = {"next": {"after": cursor, "link": link}}
        return _Reply(200, body)

    def _batch_read(self, object_type: str, payload: Any, query: dict[str, list[str]]) -> _Reply:
        """`POST /crm/v3/objects/{type}/batch/read`: up to 100 records by id; unknown ids are left out."""
        self._require(_read_scope(object_type))
        request = payload if isinstance(payload, dict) else {}
        inputs = request.get("inputs")
        if not isinstance(inputs, list) or len(inputs) > 100:
            raise HubSpotError(400, "inputs must be a list of at most 100 ids.", "VALIDATION_ERROR")
        archived = _first(query, "archived", "false").lower() == "true"
        wanted = list(request.get("properties") or [])
        records = self._records[object_type]
        started = _iso(_now_ms())
        results = []
        for item in inputs:
            record_id = str(item.get("id", ""))
            record = records.get(int(record_id)) if record_id.isdigit() else None
            if record is not None and (record.archived_ms is not None) == archived:
                results.append(self._serialize(object_type, record, wanted, []))
        body = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": _iso(_now_ms())}
        return _Reply(200, body)

    def _list_owners(self, query: dict[str, list[str]]) -> _Reply:
        self._require("crm.objects.owners.read")
        limit = _int_param(query, "limit", 100)
        if not 1 <= limit <= 500:
            raise HubSpotError(400, "limit must be between 1 and 500.", "VALIDATION_ERROR")
        archived = _first(query, "archived", "false").lower() == "true"
        email_filter = _first(query, "email", "").lower()
        owners = [
            o
            for o in sorted(self._owners.values(), key=lambda o: o.id)
            if o.archived == archived and (not email_filter or (o.email or "").lower() == email_filter)
        ]
        after = _first(query, "after", "")
        start = next(
            (n for n, o in enumerate(owners) if after.isdigit() and o.id >= int(after)), 0 if not after else len(owners)
        )
        chunk = owners[start : start + limit]
        body: dict[str, Any] = {
            "results": [
                {
                    "id": str(o.id),
                    "email": o.email,
                    "type": "PERSON",
                    "firstName": o.first_name,
                    "lastName": o.last_name,
                    "userId": o.user_id,
                    "userIdIncludingInactive": o.user_id,
                    "createdAt": _iso(o.created_ms),
                    "updatedAt": _iso(o.updated_ms),
                    "archived": o.archived,
                    "teams": [],
                }
                for o in chunk
            ]
        }
        if start + limit < len(owners):
            cursor = str(owners[start + limit].id)
            body["paging"] = {"next": {"after": cursor, "link": f"{self.url}/crm/v3/owners/?after={cursor}"}}
        return _Reply(200, body)

    def _list_properties(self, object_type: str) -> _Reply:
        self._require(_read_scope(object_type), f"crm.schemas.{object_type}.read")
        results = [
            {
                "name": name,
                "label": name.replace("_", " ").title(),
                "type": "datetime"
                if name in _DATETIME_PROPERTIES
                else "number"
                if name in _NUMBER_PROPERTIES
                else "string",
                "fieldType": "date"
                if name in _DATETIME_PROPERTIES
                else "number"
                if name in _NUMBER_PROPERTIES
                else "text",
                "groupName": f"{object_type[:-1]}information",
                "hidden": False,
                "calculated": name in ("hs_is_closed", "hs_is_closed_won", "hs_object_id"),
                "hasUniqueValue": name == "hs_object_id",
                "formField": False,
                "options": [],
            }
            for name in sorted(self._properties[object_type])
        ]
        return _Reply(200, {"results": results})

    def _pipeline(self) -> dict[str, Any]:
        stamp = _iso(_now_ms())
        return {
            "id": "default",
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "archived": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "stages": [
                {
                    "id": stage_id,
                    "label": label,
                    "displayOrder": n,
                    "archived": False,
                    "metadata": {"isClosed": "true" if closed else "false", "probability": probability},
                    "createdAt": stamp,
                    "updatedAt": stamp,
                }
                for n, (stage_id, (label, closed, probability)) in enumerate(self._stages.items())
            ],
        }


def _unauthenticated() -> HubSpotError:
    return HubSpotError(
        401,
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
        "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        "INVALID_AUTHENTICATION",
    )


def _object_type(name: str) -> str:
    lowered = name.lower()
    found = _TYPE_IDS.get(lowered) or _SINGULAR.get(lowered) or (lowered if lowered in OBJECT_TYPES else None)
    if found is None:
        raise HubSpotError(400, f"Unable to infer object type from: {name}", "VALIDATION_ERROR")
    return found


def _read_scope(object_type: str) -> str:
    return "crm.objects.contacts.read" if object_type == "notes" else f"crm.objects.{object_type}.read"


def _write_scope(object_type: str) -> str:
    return "crm.objects.contacts.write" if object_type == "notes" else f"crm.objects.{object_type}.write"


def _first(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    return values[0] if values else default


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    text = _first(query, name, str(default))
    if not text.lstrip("-").isdigit():
        raise HubSpotError(400, f"{name} must be an integer.", "VALIDATION_ERROR")
    return int(text)


def _multi(query: dict[str, list[str]], name: str) -> list[str]:
    """A repeated or comma-separated query parameter, as HubSpot accepts both."""
    return [part for value in query.get(name, []) for part in value.split(",") if part]


def _check_search_shape(groups: list[Any], sorts: list[Any]) -> None:
    if len(groups) > 5 or sum(len(g.get("filters") or []) for g in groups) > 18:
        raise HubSpotError(400, "A search may have at most 5 filterGroups and 18 filters.", "VALIDATION_ERROR")
    if any(len(g.get("filters") or []) > 6 for g in groups):
        raise HubSpotError(400, "A filterGroup may have at most 6 filters.", "VALIDATION_ERROR")
    if len(sorts) > 1:
        raise HubSpotError(400, "A search may have at most one sort.", "VALIDATION_ERROR")


def _sort_rule(sorts: list[Any]) -> tuple[str | None, bool]:
    if not sorts:
        return None, False
    rule = sorts[0]
    if isinstance(rule, str):
        return rule.lstrip("-"), rule.startswith("-")
    return str(rule.get("propertyName")), str(rule.get("direction", "ASCENDING")).upper() == "DESCENDING"


def _scramble(record_id: int) -> int:
    """A stable order within ties that is not the id order, so nobody relies on one HubSpot never promised."""
    return (record_id * 2654435761) % 4294967296


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: HubSpotFake

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer are normal here."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence per-request logging."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        header = self.headers.get("Authorization") or ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        try:
            reply = fake.serve(self.command, parts.path, parse_qs(parts.query), body, token)
        except Exception as exc:  # a bug in the fake must show in the test, not hang the client
            reply = HubSpotError(500, f"fake internal error: {exc!r}", "INTERNAL_ERROR").reply()
        fake._record_call(self.command, self.path, reply.status)
        self._send(reply)

    def _send(self, reply: _Reply) -> None:
        """Status line, headers and body in one write (no Nagle stalls on keep-alive connections)."""
        reasons = {
            200: "OK",
            201: "Created",
            204: "No Content",
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }
        lines = [
            f"HTTP/1.1 {reply.status} {reasons.get(reply.status, 'Error')}",
            f"Date: {email.utils.formatdate(usegmt=True)}",
            "Content-Type: application/json;charset=utf-8",
            f"Content-Length: {len(reply.body)}",
        ]
        lines += [f"{k}: {v}" for k, v in reply.headers.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + reply.body)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True


__all__ = ["ALL_SCOPES", "MODIFIED_PROPERTY", "SEARCH_RESULT_CAP", "Call", "HubSpotFake"]
