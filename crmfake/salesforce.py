"""A loopback Salesforce: the OAuth token endpoint and the REST API resources refbot's connector uses.

Two HTTPS servers on 127.0.0.1 (a login server and an instance server, so a client that ignores the token
response's `instance_url` fails as it would against Salesforce), with a certificate from a `trustme` test
CA; `env()` hands out the CA file as REQUESTS_CA_BUNDLE, so `requests` verifies it like a real one.

Documented behaviours covered (Salesforce REST API Developer Guide; OAuth 2.0 Client Credentials Flow;
SOQL and SOSL Reference):

- `POST /services/oauth2/token` with `grant_type=client_credentials`, the client's id and secret in an
  HTTP Basic header or as `client_id`/`client_secret` form fields. Success: 200 with `access_token`,
  `instance_url`, `id`, `token_type: Bearer`, `issued_at`, `signature`, `scope`. Failures: 400 with
  `{"error": "invalid_client", "error_description": "invalid client credentials"}`, `invalid_client_id`,
  `unsupported_grant_type`, `invalid_request`; with `generic_login_domain` set, it answers as
  login.salesforce.com does to this flow: 400 `invalid_grant`, "request not supported on this domain".
- Every REST call needs `Authorization: Bearer <token>`; an unknown or expired one is
  401 `[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]`.
- Error bodies are a JSON list of `{message, errorCode}` (plus `fields` where Salesforce names them).
- `GET /services/data/vXX.X/query?q=` and `/queryAll?q=` (the latter includes deleted records, with
  `IsDeleted = true`, as the recycle bin keeps them): `{totalSize, done, records, nextRecordsUrl}`,
  each record with `attributes {type, url}`; at most 2,000 records a batch, or `batchSize` from the
  `Sforce-Query-Options` header (200–2,000); `nextRecordsUrl` is `/services/data/vXX.X/query/<locator>-<n>`
  and can be fetched again (a retried request gets the same batch). The query is a snapshot; a locator
  that is gone (`expire_query_locators`) is 400 INVALID_QUERY_LOCATOR.
- The SOQL subset in `crmfake/soql.py`, checked against each object's fields: unknown column 400
  INVALID_FIELD ("No such column 'X' on entity 'Y'…"), a non-filterable field (Task.Description) in WHERE
  400 INVALID_FIELD, unknown object 400 INVALID_TYPE, bad syntax 400 MALFORMED_QUERY. Date-times come
  back as `2026-12-01T10:00:00.000+0000`, dates as `2026-12-01`, currency and doubles as JSON numbers.
- `GET /services/data/vXX.X/sobjects/X/describe`: `name`, `queryable`, `createable`, `updateable`, and
  `fields` with `name`, `type`, `filterable`, `sortable`, `createable`, `updateable`, `nillable` and
  `picklistValues` (Account.Type has a new org's values, plus the fake's customer value). A field the
  integration user cannot see (field-level security, `hide_field`) is missing from describe and from
  SOQL alike; an object it cannot see (`hide_object`) is 404 NOT_FOUND.
- `POST /services/data/vXX.X/sobjects/X/` creates: 201 `{"id", "success": true, "errors": []}`;
  `PATCH …/sobjects/X/<id>` updates: 204 with no body; `GET …/sobjects/X/<id>` reads one record. A bad
  field is 400 INVALID_FIELD, a field that is not createable/updateable 400 INVALID_FIELD_FOR_INSERT_UPDATE,
  an object the integration user may not create or edit 400 INSUFFICIENT_ACCESS_OR_READONLY, a `WhatId`
  naming a deleted record 400 ENTITY_IS_DELETED and an unknown one 400 INVALID_CROSS_REFERENCE_KEY, an
  unknown record id 404 NOT_FOUND, a deleted one 404 ENTITY_IS_DELETED.
- Ids are 18 characters with the case-safe suffix, behind each object's key prefix (User 005, Account 001,
  Contact 003, Opportunity 006, Task 00T).
- `SystemModstamp` moves forward on every change (a deletion included); deleting a user deactivates it
  (Salesforce users cannot be deleted), and User has no IsDeleted field.
- Faults (`fail_next`), each taken by the next request it applies to: `rate_limit` 403
  REQUEST_LIMIT_EXCEEDED ("TotalRequests Limit exceeded."), `server_error` 503 SERVER_UNAVAILABLE (on the
  token endpoint: 503 with an HTML maintenance page), `session_expired` 401 INVALID_SESSION_ID (and every session
  issued so far ends), `bad_credentials` (the connected app's secret is revoked: sessions end and the
  next token requests are 400 invalid_client).

Not covered: pretty printing (`X-PrettyPrint` is ignored), relationship queries, aggregates, SOSL,
composite and Bulk APIs, query locators expiring by themselves, the `Sforce-Limit-Info` header.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import itertools
import json
import re
import secrets
import socket
import ssl
import tempfile
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import trustme

from bot.crm.connector import CrmAccount, CrmContact, CrmOpportunity, CrmUser, Stream
from crmfake import Fault
from crmfake.soql import FieldSpec, SoqlError, bind, parse

MAX_BATCH = 2000
MIN_BATCH = 200
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_API = re.compile(r"^/services/data/v(?P<version>\d+\.\d)/(?P<rest>.*)$")


@dataclass(frozen=True)
class _Field:
    name: str
    type: str
    createable: bool = True
    updateable: bool = True
    filterable: bool = True
    nillable: bool = True
    picklist: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        values = [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v} for v in self.picklist
        ]
        return {
            "name": self.name,
            "label": re.sub(r"(?<=[a-z])(?=[A-Z])", " ", self.name).removesuffix(" Id"),
            "type": self.type,
            "filterable": self.filterable,
            "sortable": self.filterable,
            "createable": self.createable,
            "updateable": self.updateable,
            "nillable": self.nillable,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "picklistValues": values,
        }


_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "currency": "xsd:double",
    "double": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


def _system(deletable: bool = True) -> list[_Field]:
    fields = [
        _Field("Id", "id", createable=False, updateable=False, nillable=False),
        _Field("CreatedDate", "datetime", createable=False, updateable=False, nillable=False),
        _Field("SystemModstamp", "datetime", createable=False, updateable=False, nillable=False),
    ]
    if deletable:
        fields.append(_Field("IsDeleted", "boolean", createable=False, updateable=False, nillable=False))
    return fields


# A new org's Account.Type values; the fake's org also has its own customer value (default "Customer").
ACCOUNT_TYPES = (
    "Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller", "Installation Partner",
    "Technology Partner", "Other",
)  # fmt: skip


def _schemas(customer_field: str, customer_value: str) -> dict[str, tuple[str, list[_Field]]]:
    """Each object's key prefix and the standard fields refbot's connector can meet (a small part of each)."""
    customer_types = tuple(dict.fromkeys((*ACCOUNT_TYPES, customer_value)))
    account = [
        _Field("Name", "string", nillable=False),
        _Field("Type", "picklist", picklist=customer_types if customer_field == "Type" else ACCOUNT_TYPES),
        _Field("Website", "url"),
        _Field("Industry", "picklist"),
        _Field("BillingCountry", "string"),
        _Field("NumberOfEmployees", "int"),
        _Field("AnnualRevenue", "currency"),
        _Field("OwnerId", "reference", nillable=False),
    ]
    if customer_field not in {f.name for f in account}:
        account.append(_Field(customer_field, "picklist", picklist=("Prospect", customer_value)))
    return {
        "User": (
            "005",
            [
                *_system(deletable=False),
                _Field("Username", "string", nillable=False),
                _Field("Email", "email", nillable=False),
                _Field("FirstName", "string"),
                _Field("LastName", "string", nillable=False),
                _Field("Name", "string", createable=False, updateable=False),
                _Field("IsActive", "boolean", nillable=False),
            ],
        ),
        "Account": ("001", [*_system(), *account]),
        "Contact": (
            "003",
            [
                *_system(),
                _Field("AccountId", "reference"),
                _Field("FirstName", "string"),
                _Field("LastName", "string", nillable=False),
                _Field("Name", "string", createable=False, updateable=False),
                _Field("Title", "string"),
                _Field("Email", "email"),
            ],
        ),
        "Opportunity": (
            "006",
            [
                *_system(),
                _Field("Name", "string", nillable=False),
                _Field("AccountId", "reference"),
                _Field("Amount", "currency"),
                _Field("StageName", "picklist", nillable=False),
                _Field("CloseDate", "date", nillable=False),
                _Field("IsClosed", "boolean", createable=False, updateable=False, nillable=False),
                _Field("IsWon", "boolean", createable=False, updateable=False, nillable=False),
                _Field("OwnerId", "reference", nillable=False),
            ],
        ),
        "Task": (
            "00T",
            [
                *_system(),
                _Field("WhatId", "reference"),
                _Field("WhoId", "reference"),
                _Field("Subject", "combobox"),
                _Field("Description", "textarea", filterable=False),
                _Field("Status", "picklist", nillable=False),
                _Field("Priority", "picklist", nillable=False),
                _Field("ActivityDate", "date"),
                _Field("OwnerId", "reference", nillable=False),
            ],
        ),
    }


_STREAM_OBJECTS: dict[str, str] = {
    "users": "User",
    "accounts": "Account",
    "contacts": "Contact",
    "opportunities": "Opportunity",
}
_CLOSED_STAGES = {"Closed Won": True, "Closed Lost": False}


class _Record:
    """One row: its values in column order, exactly as they go on the wire (rendered once, when written).

    One tuple a record keeps a 600,000-record org in a few hundred megabytes. SOQL compares these wire
    values directly: date-times are fixed-width UTC strings and dates ISO strings, so they sort as they
    should, and `_literal` turns a query's literals into the same form."""

    __slots__ = ("columns", "values")

    def __init__(self, columns: dict[str, int], values: tuple[Any, ...]) -> None:
        self.columns = columns
        self.values = values

    def get(self, name: str, default: Any = None) -> Any:  # what crmfake.soql reads
        index = self.columns.get(name)
        return default if index is None else self.values[index]

    def __getitem__(self, name: str) -> Any:
        return self.values[self.columns[name]]

    def wire(self) -> dict[str, Any]:
        return dict(zip(self.columns, self.values, strict=True))


@dataclass
class _SObject:
    name: str
    prefix: str
    fields: dict[str, _Field]
    records: dict[str, _Record] = field(default_factory=dict)  # insertion order == SystemModstamp order
    columns: dict[str, int] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)
    visible: bool = True
    createable: bool = True
    updateable: bool = True

    def specs(self) -> dict[str, FieldSpec]:
        return {
            n: FieldSpec(n, f.type, filterable=f.filterable, sortable=f.filterable)
            for n, f in self.fields.items()
            if n not in self.hidden
        }


@dataclass
class _Cursor:
    sobject: str
    fields: tuple[str, ...]
    records: list[_Record]
    batch: int


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: list[dict[str, Any]] = [{"message": message, "errorCode": code}]
        if fields is not None:
            self.body[0]["fields"] = fields


_PLAIN = (str, int, float, bool, type(None))


def _wire(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _literal(spec: FieldSpec, value: Any) -> Any:
    """A SOQL literal in the form rows hold it (see `_Record`)."""
    return _wire(value)


def _typed(spec: _Field, value: Any) -> Any:
    """A JSON value from a client, checked against the field's type and put in wire form; a wrong one is
    what Salesforce calls JSON_PARSER_ERROR."""
    if value is None:
        return None
    try:
        if spec.type == "date":
            return date.fromisoformat(str(value)).isoformat()
        if spec.type == "datetime":
            return _wire(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
        if spec.type == "boolean":
            if not isinstance(value, bool):
                raise ValueError(value)
            return value
        if spec.type == "int":
            return int(value)
        if spec.type in ("currency", "double"):
            return float(value)
    except (TypeError, ValueError):
        raise _ApiError(
            400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {spec.type} from value {value!r}"
        ) from None
    return str(value)


class SalesforceFake:
    """The project's own Salesforce org, implementing `crmfake.FakeCrm`; see the module docstring."""

    name = "salesforce"

    def __init__(
        self,
        *,
        client_id: str = "3MVG9fakeClientIdForRefbotTests",
        client_secret: str = "fake-client-secret-7f3a9c",
        customer_field: str = "Type",
        customer_value: str = "Customer",
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.customer_field = customer_field
        self.customer_value = customer_value
        self._lock = threading.RLock()
        self._objects = {
            name: _SObject(name, prefix, {f.name: f for f in fields}, columns={f.name: i for i, f in enumerate(fields)})
            for name, (prefix, fields) in _schemas(customer_field, customer_value).items()
        }
        self._counter = itertools.count(1)
        self._last_stamp = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        self._held_stamp: datetime | None = None
        self._tokens: set[str] = set()
        self._issued: list[str] = []
        self._faults: list[list[Any]] = []  # [fault, remaining]
        self._log: list[tuple[str, str]] = []
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._servers: list[ThreadingHTTPServer] = []
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._ca_path = ""
        self.login_url = ""
        self.instance_url = ""
        # Answer as login.salesforce.com does: the client-credentials flow needs the org's My Domain.
        self.generic_login_domain = False

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> SalesforceFake:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        self._tmp = tempfile.TemporaryDirectory(prefix="sf-fake-")
        self._ca_path = str(Path(self._tmp.name) / "ca.pem")
        ca.cert_pem.write_to_path(self._ca_path)
        login = self._serve(context, "login")
        instance = self._serve(context, "instance")
        self.login_url = f"https://127.0.0.1:{login.server_address[1]}"
        self.instance_url = f"https://127.0.0.1:{instance.server_address[1]}"
        return self

    def _serve(self, context: ssl.SSLContext, role: str) -> ThreadingHTTPServer:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        Handler.role = role
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"salesforce-fake-{role}", daemon=True
        )
        thread.start()
        self._servers.append(server)
        self._threads.append(thread)
        return server

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        with self._lock:  # keep-alive connections would hold their handler threads until the client goes
            for connection in list(self._connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._connections.clear()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def env(self) -> dict[str, str]:
        return {
            "SALESFORCE_LOGIN_URL": self.login_url,
            "SALESFORCE_CLIENT_ID": self.client_id,
            "SALESFORCE_CLIENT_SECRET": self.client_secret,
            "REQUESTS_CA_BUNDLE": self._ca_path,
        }

    # ---- seeding and inspection (the FakeCrm surface, and a few Salesforce-only knobs) -------------

    def upsert(self, record: CrmUser | CrmAccount | CrmContact | CrmOpportunity) -> str:
        sobject, values = self._values_of(record)
        with self._lock:
            crm_id = record.crm_id or self._new_id(self._objects[sobject].prefix)
            self._write(sobject, crm_id, values)
            if getattr(record, "deleted", False):
                self._delete(sobject, crm_id)
        return crm_id

    def delete(self, stream: Stream, crm_id: str) -> None:
        with self._lock:
            self._delete(_STREAM_OBJECTS[stream], crm_id)

    def activities(self) -> list[dict[str, str]]:
        with self._lock:
            return [
                {
                    "crm_id": r["Id"],
                    "opportunity_crm_id": r["WhatId"] or "",
                    "subject": r["Subject"] or "",
                    "body": r["Description"] or "",
                }
                for r in sorted(self._objects["Task"].records.values(), key=lambda r: r["CreatedDate"])
                if not r["IsDeleted"]
            ]

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._faults.append([fault, times])
            if fault == "bad_credentials":
                self._tokens.clear()

    def requests(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._log)

    def record(self, sobject: str, crm_id: str) -> dict[str, Any]:
        """One record as the REST API would render it (every field), for tests that look closer."""
        with self._lock:
            return self._objects[sobject].records[crm_id].wire()

    def hide_field(self, sobject: str, field_name: str) -> None:
        """Take away the integration user's field-level access: gone from describe and from SOQL."""
        with self._lock:
            self._objects[sobject].hidden.add(field_name)

    def hide_object(self, sobject: str) -> None:
        """Take away the integration user's access to a whole object."""
        with self._lock:
            self._objects[sobject].visible = False

    def forbid_writes(self, sobject: str) -> None:
        """The integration user may read `sobject` but not create or edit it."""
        with self._lock:
            self._objects[sobject].createable = False
            self._objects[sobject].updateable = False

    @contextlib.contextmanager
    def same_stamp(self) -> Iterator[None]:
        """Every change inside the block gets one SystemModstamp, as a bulk load does in Salesforce."""
        with self._lock:
            self._held_stamp = self._tick()
        try:
            yield
        finally:
            with self._lock:
                self._held_stamp = None

    def expire_query_locators(self) -> None:
        """Every open query locator ends, as Salesforce's do after 15 idle minutes: query-more is then 400."""
        with self._lock:
            self._cursors.clear()

    def issued_tokens(self) -> list[str]:
        """Every access token handed out, so a test can check none of them leaks into a log."""
        with self._lock:
            return list(self._issued)

    # ---- the org's data ----------------------------------------------------------------------------

    def _values_of(self, record: CrmUser | CrmAccount | CrmContact | CrmOpportunity) -> tuple[str, dict[str, Any]]:
        if isinstance(record, CrmUser):
            first, _, last = (record.name or "").rpartition(" ")
            email = record.email or f"{record.crm_id or 'user'}@example.invalid"
            return "User", {
                "Username": email,
                "Email": email,
                "FirstName": first or None,
                "LastName": last or email,
                "IsActive": record.active,
            }
        if isinstance(record, CrmAccount):
            domain = record.domain
            website = None if not domain else domain if "://" in domain else f"https://www.{domain}/"
            values = {
                "Name": record.name,
                "Website": website,
                "Industry": record.industry,
                "BillingCountry": record.billing_country,
                "NumberOfEmployees": record.employees,
                "AnnualRevenue": None if record.annual_revenue is None else float(record.annual_revenue),
                "OwnerId": record.owner_crm_id,
            }
            values[self.customer_field] = self.customer_value if record.is_customer else "Prospect"
            return "Account", values
        if isinstance(record, CrmContact):
            return "Contact", {
                "AccountId": record.account_crm_id,
                "FirstName": record.first_name,
                "LastName": record.last_name or "(unknown)",
                "Title": record.title,
                "Email": record.email,
            }
        stage = record.stage or (
            ("Closed Won" if record.is_won else "Closed Lost") if record.is_closed else "Prospecting"
        )
        return "Opportunity", {
            "Name": record.name,
            "AccountId": record.account_crm_id,
            "Amount": None if record.amount is None else float(record.amount),
            "StageName": stage,
            "CloseDate": record.close_date or date.today(),
            "IsClosed": record.is_closed,
            "IsWon": record.is_won and record.is_closed,
            "OwnerId": record.owner_crm_id,
        }

    def _new_id(self, prefix: str) -> str:
        body = prefix + "5g0" + _base62(next(self._counter)).rjust(9, "0")
        return body + _checksum(body[:5]) + _checksum(body[5:10]) + _checksum(body[10:])

    def _tick(self) -> datetime:
        """The next SystemModstamp: now, but never at or before the last one (a clock that only moves on)."""
        if self._held_stamp is not None:
            return self._held_stamp
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last_stamp:
            now = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = now
        return now

    def _write(self, sobject: str, crm_id: str, values: dict[str, Any]) -> _Record:
        table = self._objects[sobject]
        columns = table.columns
        old = table.records.pop(crm_id, None)
        stamp = _wire(self._tick())
        row = list(old.values) if old is not None else [None] * len(columns)
        for name, value in values.items():
            row[columns[name]] = _wire(value)
        row[columns["Id"]] = crm_id
        row[columns["SystemModstamp"]] = stamp
        if old is None:
            row[columns["CreatedDate"]] = stamp
            if "IsDeleted" in columns:
                row[columns["IsDeleted"]] = False
        if sobject in ("User", "Contact"):  # Name is compound: Salesforce derives it
            row[columns["Name"]] = " ".join(p for p in (row[columns["FirstName"]], row[columns["LastName"]]) if p)
        if sobject == "Opportunity" and "IsClosed" not in values and row[columns["StageName"]] in _CLOSED_STAGES:
            row[columns["IsClosed"]] = True
            row[columns["IsWon"]] = _CLOSED_STAGES[row[columns["StageName"]]]
        record = _Record(columns, tuple(row))
        table.records[crm_id] = record  # re-inserted last: the dict stays in SystemModstamp order
        return record

    def _delete(self, sobject: str, crm_id: str) -> None:
        """To the recycle bin, with the record's activities, as deleting it in Salesforce does."""
        if sobject == "User":
            self._write(sobject, crm_id, {"IsActive": False})
            return
        self._write(sobject, crm_id, {"IsDeleted": True})
        tasks = self._objects["Task"]
        related = [r["Id"] for r in tasks.records.values() if r["WhatId"] == crm_id and not r["IsDeleted"]]
        for task_id in related:
            self._write("Task", task_id, {"IsDeleted": True})

    # ---- the API, called by the handler -----------------------------------------------------------

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any] | str]:
        with self._lock:
            self._log.append(("POST", "/services/oauth2/token"))
            if self._take_fault("server_error"):
                return 503, _MAINTENANCE_PAGE
            if form.get("grant_type") != "client_credentials":
                if not form.get("grant_type"):
                    return 400, {"error": "invalid_request", "error_description": "grant type is missing"}
                return 400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
            if self.generic_login_domain:
                return 400, {"error": "invalid_grant", "error_description": "request not supported on this domain"}
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            if authorization and authorization.startswith("Basic "):
                try:
                    decoded = base64.b64decode(authorization[6:]).decode()
                except (ValueError, UnicodeDecodeError):
                    decoded = ":"
                client_id, _, client_secret = decoded.partition(":")
            if self._take_fault("bad_credentials") or client_secret != self.client_secret:
                if client_id and client_id != self.client_id:
                    return 400, {"error": "invalid_client_id", "error_description": "client identifier invalid"}
                return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}
            if client_id != self.client_id:
                return 400, {"error": "invalid_client_id", "error_description": "client identifier invalid"}
            token = "00D5g000004FAKE!" + secrets.token_urlsafe(36)
            self._tokens.add(token)
            self._issued.append(token)
            issued_at = str(int(time.time() * 1000))
            signature = base64.b64encode(secrets.token_bytes(32)).decode()
            return 200, {
                "access_token": token,
                "signature": signature,
                "scope": "api",
                "instance_url": self.instance_url,
                "id": f"{self.login_url}/id/00D5g000004FAKEEAY/0055g00000FAKEUSER",
                "token_type": "Bearer",
                "issued_at": issued_at,
            }

    def _take_fault(self, *kinds: str) -> str | None:
        if self._faults and self._faults[0][0] in kinds:
            fault = self._faults[0]
            fault[1] -= 1
            if fault[1] <= 0:
                self._faults.pop(0)
            return str(fault[0])
        return None

    def api(self, method: str, target: str, authorization: str | None, headers: dict[str, str], body: bytes
            ) -> tuple[int, Any]:
        """Answer one REST call: (status, JSON body or None)."""
        with self._lock:
            self._log.append((method, target))
            token = (authorization or "").removeprefix("Bearer ").strip()
            if token not in self._tokens:  # checked first, so a scripted fault is never swallowed by it
                return 401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            fault = self._take_fault("rate_limit", "server_error", "session_expired")
            if fault == "session_expired":
                self._tokens.clear()
                return 401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            if fault == "rate_limit":
                return 403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
            if fault == "server_error":
                return 503, [{"message": "Server temporarily unavailable.", "errorCode": "SERVER_UNAVAILABLE"}]
        parts = urlsplit(target)
        match = _API.match(parts.path)
        if match is None:
            return 404, [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
        try:
            return self._route(method, match["version"], match["rest"].rstrip("/"), parts.query, headers, body)
        except _ApiError as error:
            return error.status, error.body
        except SoqlError as error:
            return 400, [{"message": error.message, "errorCode": error.code}]

    def _route(self, method: str, version: str, rest: str, query: str, headers: dict[str, str], body: bytes
               ) -> tuple[int, Any]:
        segments = [unquote(s) for s in rest.split("/")]
        if segments[0] in ("query", "queryAll") and method == "GET":
            if len(segments) == 2:
                return 200, self._more(version, segments[1])
            soql = parse_qs(query).get("q", [""])[0]
            return 200, self._query(version, soql, segments[0] == "queryAll", _batch_size(headers))
        if segments[0] == "sobjects" and len(segments) >= 2:
            table = self._visible(segments[1])
            if len(segments) == 3 and segments[2] == "describe" and method == "GET":
                return 200, self._describe(version, table)
            if len(segments) == 2 and method == "POST":
                return 201, self._create(table, _json(body))
            if len(segments) == 3 and method == "PATCH":
                self._update(table, segments[2], _json(body))
                return 204, None
            if len(segments) == 3 and method == "GET":
                return 200, self._retrieve(version, table, segments[2])
        raise _ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def _visible(self, name: str) -> _SObject:
        table = next((t for t in self._objects.values() if t.name.lower() == name.lower()), None)
        if table is None or not table.visible:
            raise _ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return table

    def _query(self, version: str, soql: str, include_deleted: bool, batch: int) -> dict[str, Any]:
        query = parse(soql)
        with self._lock:
            table = next((t for t in self._objects.values() if t.name.lower() == query.sobject.lower()), None)
            if table is None or not table.visible:
                raise SoqlError(
                    "INVALID_TYPE",
                    f"\n{soql}\n^\nERROR at Row:1:Column:1\nsObject type '{query.sobject}' is not supported. If you "
                    "are attempting to use a custom object, be sure to append the '__c' after the entity name. "
                    "Please reference your WSDL or the describe call for the appropriate names.",
                )
            bound = bind(query, table.specs(), _literal)
            rows = list(table.records.values())
        if not include_deleted and "IsDeleted" in table.fields:
            deleted = table.columns["IsDeleted"]
            rows = [r for r in rows if not r.values[deleted]]
        selected: list[_Record] = bound.run(rows)  # type: ignore[assignment]
        cursor = _Cursor(table.name, bound.fields, selected, batch)
        locator = "01g5g" + secrets.token_hex(5).upper()
        with self._lock:
            self._cursors[locator] = cursor
            while len(self._cursors) > 200:
                self._cursors.popitem(last=False)
        return self._batch(version, locator, cursor, 0)

    def _more(self, version: str, locator_and_offset: str) -> dict[str, Any]:
        locator, _, offset = locator_and_offset.rpartition("-")
        with self._lock:
            cursor = self._cursors.get(locator)
        if cursor is None or not offset.isdigit():
            raise _ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._batch(version, locator, cursor, int(offset))

    def _batch(self, version: str, locator: str, cursor: _Cursor, offset: int) -> dict[str, Any]:
        end = min(offset + cursor.batch, len(cursor.records))
        url = f"/services/data/v{version}/sobjects/{cursor.sobject}/"
        records = []
        batch = cursor.records[offset:end]
        if batch:
            columns = batch[0].columns
            picked = [(name, columns[name]) for name in cursor.fields]
            id_index = columns["Id"]
            for row in batch:
                values = row.values
                rendered = {"attributes": {"type": cursor.sobject, "url": url + values[id_index]}}
                for name, index in picked:
                    rendered[name] = values[index]
                records.append(rendered)
        answer: dict[str, Any] = {"totalSize": len(cursor.records), "done": end >= len(cursor.records)}
        if not answer["done"]:
            answer["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        else:
            with self._lock:
                self._cursors.pop(locator, None)
        answer["records"] = records
        return answer

    def _describe(self, version: str, table: _SObject) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{table.name}"
        return {
            "name": table.name,
            "label": table.name,
            "keyPrefix": table.prefix,
            "queryable": True,
            "retrieveable": True,
            "createable": table.createable,
            "updateable": table.updateable,
            "deletable": table.createable,
            "fields": [f.describe() for n, f in table.fields.items() if n not in table.hidden],
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
        }

    def _writable(self, table: _SObject, data: Any, creating: bool) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise _ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        allowed = table.createable if creating else table.updateable
        if not allowed:
            verb = "insert" if creating else "update"
            raise _ApiError(
                400,
                "INSUFFICIENT_ACCESS_OR_READONLY",
                f"insufficient access rights on object id: you cannot {verb} {table.name}",
            )
        values: dict[str, Any] = {}
        for name, value in data.items():
            spec = next((f for n, f in table.fields.items() if n.lower() == name.lower()), None)
            if spec is None or spec.name in table.hidden:
                raise _ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {table.name}", [])
            if not (spec.createable if creating else spec.updateable):
                raise _ApiError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {spec.name}. Please check the security settings of this field "
                    "and verify that it is read/write for your profile or permission set.",
                    [spec.name],
                )
            values[spec.name] = _typed(spec, value)
        what = values.get("WhatId")
        if what is not None:
            target = next((t.records.get(what) for t in self._objects.values() if t.records.get(what)), None)
            if target is None:
                raise _ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["WhatId"])
            if target.get("IsDeleted"):
                raise _ApiError(400, "ENTITY_IS_DELETED", "entity is deleted", ["WhatId"])
        return values

    def _create(self, table: _SObject, data: Any) -> dict[str, Any]:
        with self._lock:
            values = self._writable(table, data, creating=True)
            required = [f.name for f in table.fields.values() if not f.nillable and f.createable]
            defaults = {"Status": "Not Started", "Priority": "Normal", "OwnerId": "0055g00000FAKEUSER"}
            for name in required:
                if values.get(name) is None and name in defaults:
                    values[name] = defaults[name]
            missing = [n for n in required if values.get(n) is None]
            if missing:
                raise _ApiError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
            crm_id = self._new_id(table.prefix)
            self._write(table.name, crm_id, values)
        return {"id": crm_id, "success": True, "errors": []}

    def _existing(self, table: _SObject, crm_id: str) -> _Record:
        row = table.records.get(crm_id)
        if row is None:
            raise _ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if row.get("IsDeleted"):
            raise _ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return row

    def _update(self, table: _SObject, crm_id: str, data: Any) -> None:
        with self._lock:
            self._existing(table, crm_id)
            self._write(table.name, crm_id, self._writable(table, data, creating=False))

    def _retrieve(self, version: str, table: _SObject, crm_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._existing(table, crm_id)
            url = f"/services/data/v{version}/sobjects/{table.name}/{crm_id}"
            shown = {n: v for n, v in row.wire().items() if n not in table.hidden}
            return {"attributes": {"type": table.name, "url": url}, **shown}


@functools.lru_cache(maxsize=65536)
def _checksum(chunk: str) -> str:
    """One character of an 18-character id's suffix: which of the chunk's five characters are capitals."""
    return _CHECKSUM[sum(1 << i for i, c in enumerate(chunk) if "A" <= c <= "Z")]


_MAINTENANCE_PAGE = (
    "<html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1>"
    "<p>The server is temporarily unable to service your request. Please try again later.</p></body></html>"
)


def _base62(number: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 62)
        out = digits[rest] + out
        if number == 0:
            return out


def _batch_size(headers: dict[str, str]) -> int:
    options = headers.get("sforce-query-options", "")
    match = re.search(r"batchSize\s*=\s*(\d+)", options)
    if match is None:
        return MAX_BATCH
    return max(MIN_BATCH, min(MAX_BATCH, int(match.group(1))))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        raise _ApiError(400, "JSON_PARSER_ERROR", "Unexpected character in the request body") from None


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, so a client reuses one TLS connection as it would with Salesforce."""

    protocol_version = "HTTP/1.1"
    fake: SalesforceFake
    role: str

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return  # quiet: tests read requests() instead

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, payload: Any) -> None:
        kind = "application/json;charset=UTF-8"
        if isinstance(payload, str):
            data, kind = payload.encode(), "text/html;charset=UTF-8"
        elif payload is None:
            data = b""
        else:
            data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def setup(self) -> None:
        super().setup()
        with self.fake._lock:
            self.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.fake._lock:
            self.fake._connections.discard(self.connection)
        super().finish()

    def _dispatch(self, method: str) -> None:
        try:
            self._route(method)
        except Exception:  # a bug in the fake: answer as Salesforce does to its own, and show it
            traceback.print_exc()
            message = "An unexpected error occurred in the Salesforce fake."
            self._answer(500, [{"message": message, "errorCode": "UNKNOWN_EXCEPTION"}])

    def _route(self, method: str) -> None:
        body = self._body()
        if self.role == "login":
            if method == "POST" and urlsplit(self.path).path == "/services/oauth2/token":
                form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
                self._answer(*self.fake.token(form, self.headers.get("Authorization")))
            else:
                self._answer(404, [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._answer(*self.fake.api(method, self.path, self.headers.get("Authorization"), headers, body))

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")
