"""The CRM sync: users → accounts → contacts → opportunities, a page at a time, each page one transaction.

Why it is shaped like this (the Singer taps' lesson): every stream reads the records changed since its
watermark, and the watermark is written in the same transaction as the page's rows, so a sync killed at
any point resumes from the last committed page and can neither lose a change nor make a duplicate (every
row is found again by its CRM id). A page that changes nothing writes nothing: no update, no audit row,
no Home refresh, no message. Everything a sync does change is audited as a sentence naming the CRM and the
record. Which fields are the CRM's and which are refbot's is `bot.crm.mapping`'s to say.

The first sync merges accounts with customers imported from spreadsheets (`bot.crm.merge`, the import's
own rules); afterwards accounts are matched by CRM id alone. A full pass (`--full`, and the nightly run)
reads everything and also notices what disappeared for good: an account gone from the CRM stops being
referenceable, with its history kept.

Errors the CRM answers with (`CrmError`: bad credentials, a missing permission, an outage that outlasted
the connector's retries) end the run with one sentence: in the log, in `refbot crm status`, and once per
error (not once per run) in the managers' DMs through the outbox.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Table, bindparam, delete, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot import home_record, kinds
from bot.crm.connector import (
    STREAMS,
    Connector,
    CrmAccount,
    CrmContact,
    CrmError,
    CrmOpportunity,
    CrmUser,
    Page,
    Stream,
)
from bot.crm.mapping import crm_label, region_of, segment_of
from bot.crm.merge import SpreadsheetCustomers
from bot.importing.identity import name_key, normalise_domain
from bot.importing.owners import NO_TOKEN, OwnerDirectory
from bot.importing.progress import ProgressFactory, silent
from bot.outbox import enqueue
from bot.settings import Settings
from models import AuditEntry, Contact, Customer, ReferenceRequest, ReferenceUse
from models import CrmAccount as AccountRow
from models import CrmSyncState as StateRow
from models import CrmUser as UserRow
from models import Opportunity as OpportunityRow
from models.db import Database
from models.types import utcnow

log = logging.getLogger(__name__)

# Pages are committed together until they hold this many records (a Salesforce page is 2,000 already).
BATCH_RECORDS = 2000
LEASE = timedelta(minutes=5)  # renewed after every page; a replica that dies mid-sync frees it this long after
_CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]
_CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
_ACCOUNTS: Table = AccountRow.__table__  # type: ignore[assignment]
_USERS: Table = UserRow.__table__  # type: ignore[assignment]
_OPPORTUNITIES: Table = OpportunityRow.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
_STATE: Table = StateRow.__table__  # type: ignore[assignment]


@dataclass
class StreamCounts:
    """What one stream's run did with the records it read."""

    read: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "merged": self.merged,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": dict(self.skipped),
        }


@dataclass
class SyncReport:
    """What `refbot crm sync` prints and the `crm` job logs."""

    crm: str
    full: bool
    dry_run: bool
    streams: dict[str, StreamCounts] = field(default_factory=lambda: {s: StreamCounts() for s in STREAMS})
    error: str = ""
    busy: str = ""
    told: int = 0  # managers' DMs enqueued about a new error

    @property
    def changed(self) -> int:
        return sum(c.created + c.updated + c.merged + c.removed for c in self.streams.values())

    def lines(self) -> list[str]:
        label = crm_label(self.crm)
        kind = "full" if self.full else "incremental"
        head = f"{label} {kind} sync{' (dry run: nothing was written)' if self.dry_run else ''}"
        if self.busy:
            return [f"{head}: {self.busy}"]
        lines = [f"{head}:"]
        for stream, c in self.streams.items():
            parts = [
                f"{c.read:,} read",
                f"{c.created:,} created",
                f"{c.updated:,} updated",
                f"{c.merged:,} merged with an existing one",
                f"{c.unchanged:,} unchanged",
            ]
            if c.removed:
                parts.append(f"{c.removed:,} gone from {label}")
            parts.append(f"{sum(c.skipped.values()):,} skipped")
            lines.append(f"  {stream:14} " + ", ".join(parts))
            for reason, count in sorted(c.skipped.items(), key=lambda item: -item[1]):
                lines.append(f"  {'':14}   skipped {count:,}: {reason}")
        if self.error:
            lines.append(f"stopped: {self.error}")
        return lines


# Batches of a stream after which PostgreSQL's statistics of its tables are refreshed (a growing table).
ANALYZE_AFTER = frozenset({1, 4, 16, 64, 256})
STREAM_TABLES: dict[str, tuple[Table, ...]] = {
    "users": (_USERS,),
    "accounts": (_ACCOUNTS, _CUSTOMERS),
    "contacts": (_CONTACTS,),
    "opportunities": (_OPPORTUNITIES,),
}


class _DryRun(Exception):
    """Raised at the end of a dry run to roll its single transaction back."""


@dataclass
class _Change:
    """One record's effect, collected per page and written in bulk (Core executemany)."""

    row_id: int | None
    values: dict[str, Any]
    sentence: str
    action: str


def _diff(have: dict[str, Any], want: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (have.get(k), v) for k, v in want.items() if have.get(k) != v}


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return repr(str(value)) if isinstance(value, str) else str(value)


def _describe(changes: dict[str, tuple[Any, Any]]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {_shown(old)} → {_shown(new)}" for k, (old, new) in changes.items())


def redact(message: str, secrets: Sequence[str]) -> str:
    """The message with every secret replaced (a connector should never include one; this makes sure)."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


class CrmSync:
    """One run of the sync against one connector. `run()` may be called once."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        connector: Connector,
        *,
        owners: OwnerDirectory | None = None,
        progress: ProgressFactory = silent,
        worker: str = "cli",
        lease: timedelta = LEASE,
        on_page: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.connector = connector
        self.crm = connector.name
        self.label = crm_label(self.crm)
        self.actor = f"crm:{self.crm}"
        self.owners = owners
        self.progress = progress
        self.worker = f"{worker[:50]}:{os.getpid()}"  # two `refbot crm sync` on one host are two holders
        self.lease = lease
        self.on_page = on_page
        self._spreadsheet: SpreadsheetCustomers | None = None
        self._seen: dict[str, set[str]] = {s: set() for s in STREAMS}
        self._full = False
        self._batches: dict[str, int] = {}
        self._session: Session | None = None  # a dry run's one transaction

    # -- the run ---------------------------------------------------------------------------------------

    def run(self, *, full: bool = False, dry_run: bool = False) -> SyncReport:
        """Sync every stream from its watermark (or from the start: `full`); see the module docstring."""
        report = SyncReport(self.crm, full=full, dry_run=dry_run)
        self._full = full
        if dry_run:
            try:
                with self.db.transaction() as session:
                    self._session = session
                    self._ensure_state(session)
                    self._streams(report)
                    raise _DryRun
            except _DryRun:
                pass
            finally:
                self._session = None
            return report
        busy = self._acquire()
        if busy:
            report.busy = busy
            return report
        try:
            self._streams(report)
        finally:
            self._release()
        return report

    def _streams(self, report: SyncReport) -> None:
        for stream in STREAMS:
            if not self._stream(stream, report):
                return
        if self._full:
            with self._unit() as session:
                self._sweep(session, report)

    @contextmanager
    def _unit(self) -> Iterator[Session]:
        """A page's transaction; in a dry run, the run's one transaction (rolled back at the end)."""
        if self._session is not None:
            with nullcontext(self._session) as session:
                yield session
            return
        with self.db.transaction() as session:
            yield session

    def _stream(self, stream: Stream, report: SyncReport) -> bool:
        counts = report.streams[stream]
        with self._unit() as session:
            state = self._state(session, stream)
            since = None if self._full else state.watermark
        bar = self.progress(f"{self.label} {stream}", None)
        pages = iter(getattr(self.connector, stream)(since))
        batch: list[Page[Any]] = []
        try:
            while True:
                try:
                    page = next(pages)
                except StopIteration:
                    break
                except CrmError as exc:
                    self._commit(stream, batch, counts)  # what was read before the error is kept
                    self._fail(stream, exc.message, report)
                    return False
                batch.append(page)
                bar.update(len(page.records))
                if sum(len(p.records) for p in batch) >= BATCH_RECORDS:
                    self._commit(stream, batch, counts)
                    batch = []
            self._commit(stream, batch, counts)
        finally:
            bar.close()
        with self._unit() as session:
            self._succeed(session, stream, counts)
        return True

    @staticmethod
    def _analyze(session: Session, stream: Stream) -> None:
        """Fresh statistics for the tables a first sync is filling, on PostgreSQL: planned on the statistics of
        an empty table, each page's `crm_id IN (…)` look-up scans the whole table (seconds per page by 100,000
        rows) until autovacuum gets round to it. ANALYZE samples; it takes a fraction of a second."""
        if session.get_bind().dialect.name != "postgresql":
            return
        for table in STREAM_TABLES[stream]:
            session.execute(text(f'ANALYZE "{table.name}"'))

    @staticmethod
    def _relax_commit(session: Session) -> None:
        """PostgreSQL need not wait for this commit's WAL flush: a crash can only lose the last few batches
        whole, rows and watermark together, and the next run reads them again. (It never reports a commit
        that did not happen; `synchronous_commit` only delays the flush.)"""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))

    def _commit(self, stream: Stream, batch: list[Page[Any]], counts: StreamCounts) -> None:
        """Pages read so far, with the last one's watermark, in one transaction (small pages are grouped:
        a commit per HubSpot page of 100 would cost more than the rows)."""
        if not batch:
            return
        newest: dict[str, Any] = {}
        for page in batch:
            for record in page.records:  # a record changed while the stream was read comes twice: the newest wins
                newest.pop(record.crm_id, None)
                newest[record.crm_id] = record
        merged = Page(list(newest.values()), next((p.watermark for p in reversed(batch) if p.watermark), None))
        with self._unit() as session:
            self._relax_commit(session)
            self._apply(session, stream, merged, counts)
            self._save_page(session, stream, merged, counts)
            self._batches[stream] = done = self._batches.get(stream, 0) + 1
            if done in ANALYZE_AFTER:
                self._analyze(session, stream)
        counts.read += sum(len(p.records) for p in batch) - len(merged.records)
        if self.on_page is not None:
            self.on_page()

    def _apply(self, session: Session, stream: Stream, page: Page[Any], counts: StreamCounts) -> None:
        counts.read += len(page.records)
        if self._full:
            self._seen[stream].update(r.crm_id for r in page.records if not getattr(r, "deleted", False))
        if not page.records:
            return
        apply = {
            "users": self._users,
            "accounts": self._accounts,
            "contacts": self._contacts,
            "opportunities": self._opportunities,
        }[stream]
        apply(session, page.records, counts)

    # -- state, lease and errors -------------------------------------------------------------------------

    def _ensure_state(self, session: Session) -> None:
        dialect = session.get_bind().dialect.name
        stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(_STATE).on_conflict_do_nothing()
        now = utcnow()
        session.execute(
            stmt,
            [
                {"crm": self.crm, "stream": s, "counts": {}, "last_error": "", "error_notified": False}
                | {"updated_at": now}
                for s in STREAMS
            ],
        )

    def _state(self, session: Session, stream: str) -> StateRow:
        return session.scalars(select(StateRow).where(StateRow.crm == self.crm, StateRow.stream == stream)).one()

    def _acquire(self) -> str:
        """Take the lease on this CRM's sync for this worker; a sentence saying who holds it, if someone does."""
        now = utcnow()
        with self.db.transaction() as session:
            self._ensure_state(session)
            taken = session.execute(
                update(StateRow)
                .where(
                    StateRow.crm == self.crm,
                    or_(
                        StateRow.running_until.is_(None),
                        StateRow.running_until < now,
                        StateRow.running_by == self.worker,
                    ),
                )
                .values(running_by=self.worker, running_until=now + self.lease)
            ).rowcount
            if taken == len(STREAMS):
                return ""
            session.rollback()
        with self.db.reading() as session:
            holder = session.execute(
                select(StateRow.running_by, StateRow.running_until)
                .where(StateRow.crm == self.crm, StateRow.running_until >= now)
                .limit(1)
            ).first()
        who = f"{holder.running_by}, until {holder.running_until:%H:%M:%S} UTC at the latest" if holder else "another"
        return f"another sync of {self.label} is running ({who}); nothing was done"

    def _renew(self, session: Session) -> None:
        session.execute(
            update(StateRow)
            .where(StateRow.crm == self.crm, StateRow.running_by == self.worker)
            .values(running_until=utcnow() + self.lease)
        )

    def _release(self) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(StateRow)
                .where(StateRow.crm == self.crm, StateRow.running_by == self.worker)
                .values(running_by=None, running_until=None)
            )

    def _save_page(self, session: Session, stream: str, page: Page[Any], counts: StreamCounts) -> None:
        """The page's watermark, in the page's own transaction: committed together or not at all."""
        values: dict[str, Any] = {"last_run_at": utcnow(), "counts": counts.as_dict()}
        if page.watermark is not None:
            values["watermark"] = page.watermark
        session.execute(update(StateRow).where(StateRow.crm == self.crm, StateRow.stream == stream).values(**values))
        if self._session is None:
            self._renew(session)

    def _succeed(self, session: Session, stream: str, counts: StreamCounts) -> None:
        now = utcnow()
        values: dict[str, Any] = {
            "last_run_at": now,
            "last_success_at": now,
            "counts": counts.as_dict(),
            "last_error": "",
            "error_since": None,
            "error_notified": False,
        }
        if self._full:
            values["last_full_at"] = now
        session.execute(update(StateRow).where(StateRow.crm == self.crm, StateRow.stream == stream).values(**values))

    def _fail(self, stream: str, message: str, report: SyncReport) -> None:
        """Record the error on the stream; tell the managers once, when this error begins."""
        message = redact(message, self.settings.crm_secrets)
        report.error = f"{self.label} {stream}: {message}"
        log.error("CRM sync stopped: %s", report.error)
        if self._session is not None:
            return
        now = utcnow()
        with self.db.transaction() as session:
            state = self._state(session, stream)
            state.last_run_at = now
            state.last_error = message
            if state.error_since is None:
                state.error_since = now
            if not state.error_notified:
                for manager in self.settings.managers:
                    enqueue(
                        session,
                        key=f"crm-error:{self.crm}:{stream}:{state.error_since.isoformat()}:{manager}",
                        kind=kinds.CRM_ERROR,
                        recipient=manager,
                        subject=f"crm-error:{self.crm}",
                        params={"crm": self.crm, "stream": stream, "error": message},
                    )
                    report.told += 1
                state.error_notified = True

    # -- writing -------------------------------------------------------------------------------------------

    @staticmethod
    def _insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert many rows at once. On PostgreSQL through COPY: psycopg's executemany sends one INSERT per row
        (in a pipeline), and multi-row VALUES statements cost more to compile than to run."""
        if not rows:
            return
        if session.get_bind().dialect.name != "postgresql":
            session.execute(insert(table), rows)
            return
        columns = list(rows[0])
        if any(row.keys() != rows[0].keys() for row in rows):
            raise ValueError(f"rows for {table.name} differ in their columns")  # COPY would misplace values
        as_json = {c for c in columns if isinstance(table.c[c].type, JSON)}
        names = ", ".join(f'"{c}"' for c in columns)
        raw = session.connection().connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row([json.dumps(row[c]) if c in as_json else row[c] for c in columns])

    def _audit(self, session: Session, entity: str, changes: list[tuple[int, _Change]]) -> None:
        if not changes:
            return
        now = utcnow()
        self._insert(
            session,
            _AUDIT,
            [
                {
                    "at": now,
                    "actor": self.actor,
                    "action": change.action,
                    "entity": entity,
                    "entity_id": str(row_id),
                    "details": {"crm": self.crm, "sentence": change.sentence},
                }
                for row_id, change in changes
            ],
        )

    def _write(self, session: Session, table: Table, entity: str, changes: list[_Change]) -> list[tuple[int, _Change]]:
        """Insert the new rows, update the changed ones (all with the same columns), audit each; the ids."""
        done: list[tuple[int, _Change]] = []
        new = [c for c in changes if c.row_id is None]
        if new:
            # A plain executemany, then the new ids by CRM id: RETURNING with ordered parameters makes SQLite
            # insert row by row, and psycopg re-parse one huge statement per batch.
            self._insert(session, table, [c.values for c in new])
            crm_ids = [c.values["crm_id"] for c in new]
            where = table.c.crm_id.in_(crm_ids)
            if "crm" in table.c:
                where &= table.c.crm == self.crm
            else:  # contacts: their customer is this CRM's
                where &= table.c.customer_id.in_(sorted({c.values["customer_id"] for c in new}))
            ids = {row.crm_id: row.id for row in session.execute(select(table.c.crm_id, table.c.id).where(where))}
            done += [(ids[c.values["crm_id"]], c) for c in new]
        old = [c for c in changes if c.row_id is not None]
        by_columns: dict[tuple[str, ...], list[_Change]] = {}
        for change in old:
            by_columns.setdefault(tuple(sorted(change.values)), []).append(change)
        for columns, group in by_columns.items():
            stmt = update(table).where(table.c.id == bindparam("row_id")).values({c: bindparam(c) for c in columns})
            session.execute(stmt, [{"row_id": c.row_id, **c.values} for c in group])
            done += [(c.row_id, c) for c in group if c.row_id is not None]
        self._audit(session, entity, done)
        return done

    # -- users ---------------------------------------------------------------------------------------------

    def _users(self, session: Session, records: list[CrmUser], counts: StreamCounts) -> None:
        ids = [r.crm_id for r in records]
        have = {
            row.crm_id: row._asdict()
            for row in session.execute(
                select(*(_USERS.c[c] for c in ("id", "crm_id", "email", "name", "active", "slack_id")))
                .add_columns(_USERS.c.looked_up_email, _USERS.c.lookup_note)
                .where(_USERS.c.crm == self.crm, _USERS.c.crm_id.in_(ids))
            )
        }
        changes: list[_Change] = []
        remapped: list[str] = []
        for r in records:
            email = (r.email or "").strip().lower()
            want: dict[str, Any] = {"email": email, "name": (r.name or "")[:200], "active": r.active}
            row = have.get(r.crm_id)
            retry = self._full and row is not None and not row["slack_id"]
            if email and (row is None or row["looked_up_email"] != email or retry):
                if self.owners is None:
                    want |= {"slack_id": None, "looked_up_email": "", "lookup_note": NO_TOKEN}
                else:
                    slack_id, note = self.owners.lookup(email)
                    want |= {"slack_id": slack_id, "looked_up_email": email, "lookup_note": note}
            elif not email:
                want |= {"slack_id": None, "looked_up_email": "", "lookup_note": "no e-mail address in the CRM"}
            who = f"{self.label} user {r.crm_id} ({r.name or email or 'no name'})"
            if row is None:
                values = {"crm": self.crm, "crm_id": r.crm_id, "slack_id": None}
                values |= {"looked_up_email": "", "lookup_note": ""} | want
                slack = values["slack_id"]
                sentence = f"{who}: added" + (f", Slack user {slack}" if slack else "")
                changes.append(_Change(None, values, sentence, "crm_user.created"))
                counts.created += 1
                continue
            diff = _diff(row, want)
            if not diff:
                counts.unchanged += 1
                continue
            if "slack_id" in diff or "email" in diff:
                remapped.append(r.crm_id)
            changes.append(_Change(row["id"], want, f"{who}: {_describe(diff)}", "crm_user.updated"))
            counts.updated += 1
        self._write(session, _USERS, "crm_user", changes)
        if remapped:
            self._reassign_owners(session, remapped)

    def _owners_of(self, session: Session, owner_ids: set[str]) -> dict[str, tuple[str | None, str | None]]:
        """CRM user id → (Slack user ID, e-mail) of the given owners, from the users stream's table."""
        if not owner_ids:
            return {}
        return {
            row.crm_id: (row.slack_id, row.email or None)
            for row in session.execute(
                select(_USERS.c.crm_id, _USERS.c.slack_id, _USERS.c.email).where(
                    _USERS.c.crm == self.crm, _USERS.c.crm_id.in_(sorted(owner_ids))
                )
            )
        }

    def _reassign_owners(self, session: Session, user_ids: list[str]) -> None:
        """A user's Slack mapping changed: the customers they own follow (audited like any CRM change)."""
        owners = self._owners_of(session, set(user_ids))
        rows = session.execute(
            select(_CUSTOMERS.c.id, _CUSTOMERS.c.name, _CUSTOMERS.c.crm_id)
            .add_columns(_CUSTOMERS.c.owner_slack_id, _CUSTOMERS.c.owner_email, _CUSTOMERS.c.crm_owner_id)
            .where(_CUSTOMERS.c.crm == self.crm, _CUSTOMERS.c.crm_owner_id.in_(user_ids))
        ).all()
        changes: list[_Change] = []
        people: set[str | None] = set()
        for row in rows:
            slack_id, email = owners.get(row.crm_owner_id, (None, None))
            want = {"owner_slack_id": slack_id, "owner_email": email}
            diff = _diff(row._asdict(), want)
            if diff:
                people |= {row.owner_slack_id, slack_id}
                sentence = f"{self.label} account {row.crm_id} ({row.name}): {_describe(diff)}"
                changes.append(_Change(row.id, want, sentence, "customer.updated_by_crm"))
        self._write(session, _CUSTOMERS, "customer", changes)
        home_record.refresh_homes(session, people)

    # -- accounts ------------------------------------------------------------------------------------------

    def _mirror_accounts(self, session: Session, records: list[CrmAccount]) -> None:
        """Every account, prospects too (a request form fills in the prospect's industry and region)."""
        have = {
            row.crm_id: row._asdict()
            for row in session.execute(
                select(*(_ACCOUNTS.c[c] for c in ("id", "crm_id", "name", "industry", "region", "segment")))
                .add_columns(_ACCOUNTS.c.is_customer, _ACCOUNTS.c.deleted)
                .where(_ACCOUNTS.c.crm == self.crm, _ACCOUNTS.c.crm_id.in_([r.crm_id for r in records]))
            )
        }
        new: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for r in records:
            want = {
                "name": r.name[:200],
                "industry": (r.industry or "")[:100],
                "region": region_of(r.billing_country, self.settings.crm_regions),
                "segment": segment_of(r, self.settings.crm_segments),
                "is_customer": r.is_customer and not r.deleted,
                "deleted": r.deleted,
            }
            row = have.get(r.crm_id)
            if row is None:
                new.append({"crm": self.crm, "crm_id": r.crm_id, "crm_modified_at": r.modified_at, **want})
            elif _diff(row, want):
                changed.append({"row_id": row["id"], "crm_modified_at": r.modified_at, **want})
        self._insert(session, _ACCOUNTS, new)
        if changed:
            columns = [c for c in changed[0] if c != "row_id"]
            stmt = update(_ACCOUNTS).where(_ACCOUNTS.c.id == bindparam("row_id"))
            session.execute(stmt.values({c: bindparam(c) for c in columns}), changed)

    def _spreadsheet_customers(self, session: Session) -> SpreadsheetCustomers:
        if self._spreadsheet is None:
            self._spreadsheet = SpreadsheetCustomers(
                session.execute(
                    select(_CUSTOMERS.c.id, _CUSTOMERS.c.name, _CUSTOMERS.c.domain)
                    .where(_CUSTOMERS.c.crm_id.is_(None))
                    .order_by(_CUSTOMERS.c.id)
                ).all()
            )
        return self._spreadsheet

    _CUSTOMER_COLUMNS = (
        "id",
        "name",
        "domain",
        "industry",
        "region",
        "segment",
        "owner_slack_id",
        "owner_email",
        "crm_owner_id",
        "crm_id",
        "referenceable",
        "not_referenceable_reason",
    )

    def _customer_rows(self, session: Session, where: Any) -> dict[int, dict[str, Any]]:
        return {
            row.id: row._asdict()
            for row in session.execute(select(*(_CUSTOMERS.c[c] for c in self._CUSTOMER_COLUMNS)).where(where))
        }

    def _accounts(self, session: Session, records: list[CrmAccount], counts: StreamCounts) -> None:
        self._mirror_accounts(session, records)
        linked = {
            row["crm_id"]: row
            for row in self._customer_rows(
                session, (_CUSTOMERS.c.crm == self.crm) & _CUSTOMERS.c.crm_id.in_([r.crm_id for r in records])
            ).values()
        }
        owners = self._owners_of(session, {r.owner_crm_id for r in records if r.owner_crm_id})
        domains = {d for r in records if (d := normalise_domain(r.domain or ""))}
        domain_holder: dict[str, int | str] = {
            row.domain: row.id
            for row in session.execute(
                select(_CUSTOMERS.c.id, _CUSTOMERS.c.domain).where(_CUSTOMERS.c.domain.in_(sorted(domains)))
            )
        }
        spreadsheet: SpreadsheetCustomers | None = None
        changes: list[_Change] = []
        people: set[str | None] = set()
        for r in records:
            row = linked.get(r.crm_id)
            who = f"{self.label} account {r.crm_id} ({r.name})"
            if r.deleted or not r.is_customer:
                gone = self._leave(row, r, who)
                if gone is not None:
                    changes.append(gone)
                    counts.removed += 1
                    people.add(row["owner_slack_id"] if row else None)
                elif row is not None:
                    counts.unchanged += 1
                else:
                    counts.skipped[f"deleted in {self.label}" if r.deleted else f"not a customer in {self.label}"] += 1
                continue
            merged_from: dict[str, Any] | None = None
            if row is None:
                spreadsheet = spreadsheet or self._spreadsheet_customers(session)
                claimed = spreadsheet.claim(r.name, r.domain) if len(spreadsheet) else None
                if claimed is not None:
                    merged_from = self._customer_rows(session, _CUSTOMERS.c.id == claimed)[claimed]
            have = row or merged_from
            want = self._customer_values(r, owners, have)
            domain = want.get("domain")
            if domain:
                holder = domain_holder.get(domain)
                mine = have["id"] if have else f"new:{r.crm_id}"
                if holder is not None and holder != mine:
                    want.pop("domain")
                    counts.skipped[f"domain kept off: another customer has it ({domain})"] += 1
                else:
                    domain_holder[domain] = mine
            if have is None:
                values = {
                    "crm": self.crm,
                    "crm_id": r.crm_id,
                    "name_key": name_key(want["name"]),
                    "domain": None,
                    "industry": "",
                    "region": "",
                    "segment": "",
                    "owner_slack_id": None,
                    "owner_email": None,
                    "crm_owner_id": None,
                    "products": [],
                    "topics": [],
                    "referenceable": True,
                    "not_referenceable_reason": "",
                    "guidance": "",
                    "notes": "",
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                } | want
                changes.append(_Change(None, values, f"{who}: added as a customer", "customer.created_by_crm"))
                counts.created += 1
                people.add(want.get("owner_slack_id"))
                continue
            diff = _diff(have, want)
            if merged_from is not None:
                want |= {"crm": self.crm, "crm_id": r.crm_id}
                detail = f"; {_describe(diff)}" if diff else ""
                sentence = f"{who}: linked to the existing customer {merged_from['name']!r}{detail}"
                changes.append(_Change(have["id"], self._with_key(want), sentence, "customer.merged_with_crm"))
                counts.merged += 1
            elif diff:
                sentence = f"{who}: {_describe(diff)}"
                changes.append(_Change(have["id"], self._with_key(want), sentence, "customer.updated_by_crm"))
                counts.updated += 1
            else:
                counts.unchanged += 1
                continue
            people |= {have.get("owner_slack_id"), want.get("owner_slack_id", have.get("owner_slack_id"))}
        self._write_customers(session, changes)
        home_record.refresh_homes(session, people)

    def _write_customers(self, session: Session, changes: list[_Change]) -> None:
        now = utcnow()
        for change in changes:
            if change.row_id is not None:
                change.values["updated_at"] = now
        self._write(session, _CUSTOMERS, "customer", changes)

    @staticmethod
    def _with_key(values: dict[str, Any]) -> dict[str, Any]:
        return values | {"name_key": name_key(values["name"])} if "name" in values else values

    def _customer_values(
        self,
        r: CrmAccount,
        owners: dict[str, tuple[str | None, str | None]],
        have: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """The CRM-owned fields as the CRM has them (`bot.crm.mapping`): an empty CRM value changes nothing."""
        want: dict[str, Any] = {"name": r.name.strip()[:200] or r.crm_id}
        domain = normalise_domain(r.domain or "")
        if domain:
            want["domain"] = domain
        for column, value in (
            ("industry", (r.industry or "").strip()[:100]),
            ("region", region_of(r.billing_country, self.settings.crm_regions)),
            ("segment", segment_of(r, self.settings.crm_segments)),
        ):
            if value:
                want[column] = value
        if r.owner_crm_id:
            slack_id, email = owners.get(r.owner_crm_id, (None, None))
            want |= {"crm_owner_id": r.owner_crm_id, "owner_slack_id": slack_id, "owner_email": email}
        if have is not None and have["not_referenceable_reason"].startswith(self._left_prefix()):
            want |= {"referenceable": True, "not_referenceable_reason": ""}  # the CRM took it away; it gives it back
        return want

    def _left_prefix(self) -> str:
        return f"{self.label}: "

    def _leave(self, row: dict[str, Any] | None, r: CrmAccount, who: str) -> _Change | None:
        """An account deleted or no longer a customer: its customer stops being referenceable (history kept)."""
        if row is None or not row["referenceable"]:
            return None
        why = "the account was deleted" if r.deleted else "the account is no longer a customer"
        values = {"referenceable": False, "not_referenceable_reason": f"{self._left_prefix()}{why}"}
        return _Change(row["id"], values, f"{who}: {why}; no longer referenceable", "customer.left_crm")

    # -- contacts ------------------------------------------------------------------------------------------

    def _contacts(self, session: Session, records: list[CrmContact], counts: StreamCounts) -> None:
        account_ids = sorted({r.account_crm_id for r in records if r.account_crm_id})
        customer_of = {
            row.crm_id: row.id
            for row in session.execute(
                select(_CUSTOMERS.c.id, _CUSTOMERS.c.crm_id).where(
                    _CUSTOMERS.c.crm == self.crm, _CUSTOMERS.c.crm_id.in_(account_ids)
                )
            )
        }
        columns = (_CONTACTS.c.id, _CONTACTS.c.customer_id, _CONTACTS.c.name, _CONTACTS.c.title, _CONTACTS.c.email)
        linked = {
            row.crm_id: row._asdict()
            for row in session.execute(
                select(*columns, _CONTACTS.c.crm_id)
                .join(_CUSTOMERS, _CUSTOMERS.c.id == _CONTACTS.c.customer_id)
                .where(_CUSTOMERS.c.crm == self.crm, _CONTACTS.c.crm_id.in_([r.crm_id for r in records]))
            )
        }
        unlinked: dict[int, list[dict[str, Any]]] = {}
        with_contacts: set[int] = set()
        if customer_of:
            for row in session.execute(
                select(*columns, _CONTACTS.c.crm_id).where(_CONTACTS.c.customer_id.in_(sorted(customer_of.values())))
            ):
                with_contacts.add(row.customer_id)
                if row.crm_id is None:
                    unlinked.setdefault(row.customer_id, []).append(row._asdict())
        changes: list[_Change] = []
        for r in records:
            row = linked.get(r.crm_id)
            name = " ".join(p.strip() for p in (r.first_name or "", r.last_name or "") if p and p.strip())
            email = (r.email or "").strip()
            who = f"{self.label} contact {r.crm_id} ({name or email or 'no name'})"
            if r.deleted:
                if row is not None:
                    self._remove_contact(session, row, f"{who}: deleted in {self.label}")
                    counts.removed += 1
                else:
                    counts.skipped[f"deleted in {self.label}"] += 1
                continue
            customer_id = customer_of.get(r.account_crm_id or "")
            if customer_id is None:
                if row is not None:
                    counts.unchanged += 1  # their account stopped being a customer: kept with its customer
                else:
                    counts.skipped["their account is not a customer"] += 1
                continue
            if not (name or email):
                counts.skipped["no name and no e-mail address"] += 1
                continue
            want = {"customer_id": customer_id, "name": (name or email)[:200], "title": (r.title or "")[:200]}
            want["email"] = email[:320]
            if row is None:
                match = self._match_contact(unlinked.get(customer_id, []), want)
                if match is not None:
                    diff = _diff(match, want)
                    detail = f"; {_describe(diff)}" if diff else ""
                    sentence = f"{who}: linked to the existing contact {match['name']!r}{detail}"
                    changes.append(
                        _Change(match["id"], want | {"crm_id": r.crm_id}, sentence, "contact.merged_with_crm")
                    )
                    counts.merged += 1
                    continue
                values = want | {"crm_id": r.crm_id, "is_primary": customer_id not in with_contacts}
                with_contacts.add(customer_id)
                changes.append(_Change(None, values, f"{who}: added", "contact.created_by_crm"))
                counts.created += 1
                continue
            diff = _diff(row, want)
            if not diff:
                counts.unchanged += 1
                continue
            changes.append(_Change(row["id"], want, f"{who}: {_describe(diff)}", "contact.updated_by_crm"))
            counts.updated += 1
        self._write(session, _CONTACTS, "contact", changes)

    @staticmethod
    def _match_contact(candidates: list[dict[str, Any]], want: dict[str, Any]) -> dict[str, Any] | None:
        """A spreadsheet contact of the same customer: the same e-mail address, else the same name."""
        for match in (
            lambda c: bool(want["email"]) and c["email"].casefold() == want["email"].casefold(),
            lambda c: name_key(c["name"]) == name_key(want["name"]),
        ):
            for candidate in candidates:
                if match(candidate):
                    candidates.remove(candidate)
                    return candidate
        return None

    def _remove_contact(self, session: Session, row: dict[str, Any], sentence: str) -> None:
        """Gone from the CRM: removed, unless a reference names them (then kept, unlinked, for the history)."""
        used = session.scalar(select(ReferenceUse.id).where(ReferenceUse.contact_id == row["id"]).limit(1))
        used = used or session.scalar(
            select(ReferenceRequest.id).where(ReferenceRequest.contact_id == row["id"]).limit(1)
        )
        if used:
            session.execute(update(_CONTACTS).where(_CONTACTS.c.id == row["id"]).values(crm_id=None))
            change = _Change(row["id"], {}, f"{sentence}; kept (a reference names them)", "contact.left_crm")
        else:
            session.execute(delete(_CONTACTS).where(_CONTACTS.c.id == row["id"]))
            change = _Change(row["id"], {}, f"{sentence}; removed", "contact.removed_by_crm")
        self._audit(session, "contact", [(row["id"], change)])

    # -- opportunities -------------------------------------------------------------------------------------

    _OPPORTUNITY_COLUMNS = (
        "id",
        "crm_id",
        "name",
        "account_crm_id",
        "amount",
        "stage",
        "close_date",
        "is_closed",
        "is_won",
        "owner_crm_id",
        "deleted",
        "closed_at",
    )

    def _opportunities(self, session: Session, records: list[CrmOpportunity], counts: StreamCounts) -> None:
        have = {
            row.crm_id: row._asdict()
            for row in session.execute(
                select(*(_OPPORTUNITIES.c[c] for c in self._OPPORTUNITY_COLUMNS)).where(
                    _OPPORTUNITIES.c.crm == self.crm, _OPPORTUNITIES.c.crm_id.in_([r.crm_id for r in records])
                )
            )
        }
        now = utcnow()
        changes: list[_Change] = []
        outcomes: dict[int, str] = {}  # opportunity id → what closed, for the requests linked to it
        for r in records:
            row = have.get(r.crm_id)
            who = f"{self.label} opportunity {r.crm_id} ({r.name})"
            want: dict[str, Any] = {
                "name": r.name[:200],
                "account_crm_id": r.account_crm_id,
                "amount": None if r.amount is None else Decimal(r.amount).quantize(Decimal("0.01")),
                "stage": (r.stage or "")[:100],
                "close_date": r.close_date,
                "is_closed": r.is_closed,
                "is_won": r.is_closed and r.is_won,
                "owner_crm_id": r.owner_crm_id,
                "deleted": r.deleted,
            }
            if row is None:
                if r.deleted:
                    counts.skipped[f"deleted in {self.label}"] += 1
                    continue
                values = want | {"crm": self.crm, "crm_id": r.crm_id, "crm_modified_at": r.modified_at}
                values["closed_at"] = now if r.is_closed else None
                changes.append(_Change(None, values, f"{who}: added", "opportunity.created_by_crm"))
                counts.created += 1
                continue
            diff = _diff(row, want)
            if not diff:
                counts.unchanged += 1
                continue
            if r.is_closed and not row["is_closed"]:
                want["closed_at"] = now
            elif not r.is_closed and row["is_closed"]:
                want["closed_at"] = None  # reopened
            want["crm_modified_at"] = r.modified_at
            changes.append(_Change(row["id"], want, f"{who}: {_describe(diff)}", "opportunity.updated_by_crm"))
            counts.removed += 1 if r.deleted and not row["deleted"] else 0
            counts.updated += 0 if r.deleted and not row["deleted"] else 1
            if r.is_closed and {"is_closed", "is_won", "amount", "stage"} & diff.keys():
                verdict = "won" if r.is_won else "lost"
                amount = f" at {_shown(want['amount'])}" if want["amount"] is not None else ""
                outcomes[row["id"]] = f"{who} closed {verdict}{amount} (stage {_shown(want['stage'])})"
        self._write(session, _OPPORTUNITIES, "opportunity", changes)
        if outcomes:
            self._record_on_requests(session, outcomes)

    def _record_on_requests(self, session: Session, outcomes: dict[int, str]) -> None:
        """A linked deal closed: each request for it says so in its history (the digest reads the deal)."""
        linked = session.execute(
            select(ReferenceRequest.id, ReferenceRequest.opportunity_id, ReferenceRequest.requester_id).where(
                ReferenceRequest.opportunity_id.in_(sorted(outcomes))
            )
        ).all()
        entries = [
            (
                row.id,
                _Change(
                    row.id, {}, f"{outcomes[row.opportunity_id]}: recorded on request #{row.id}", "request.crm_closed"
                ),
            )
            for row in linked
        ]
        self._audit(session, "request", entries)
        home_record.refresh_homes(session, [row.requester_id for row in linked])

    # -- a full pass: what disappeared for good --------------------------------------------------------------

    def _sweep(self, session: Session, report: SyncReport) -> None:
        """After a complete full pass: accounts, contacts and opportunities the CRM no longer has at all."""
        seen_accounts = self._seen["accounts"]
        gone_customers = [
            row
            for row in self._customer_rows(
                session, (_CUSTOMERS.c.crm == self.crm) & _CUSTOMERS.c.referenceable.is_(True)
            ).values()
            if row["crm_id"] not in seen_accounts
        ]
        changes: list[_Change] = []
        for row in gone_customers:
            who = f"{self.label} account {row['crm_id']} ({row['name']})"
            account = CrmAccount(row["crm_id"], row["name"], None, None, None, None, None, None, False, utcnow(), True)
            change = self._leave(row, account, who)
            if change is not None:
                changes.append(change)
        self._write_customers(session, changes)
        report.streams["accounts"].removed += len(changes)
        home_record.refresh_homes(session, [row["owner_slack_id"] for row in gone_customers])
        seen_contacts = self._seen["contacts"]
        columns = (_CONTACTS.c.id, _CONTACTS.c.name, _CONTACTS.c.crm_id)
        for row in session.execute(
            select(*columns)
            .join(_CUSTOMERS, _CUSTOMERS.c.id == _CONTACTS.c.customer_id)
            .where(_CUSTOMERS.c.crm == self.crm, _CONTACTS.c.crm_id.is_not(None))
        ).all():
            if row.crm_id not in seen_contacts:
                sentence = f"{self.label} contact {row.crm_id} ({row.name}): no longer in {self.label}"
                self._remove_contact(session, row._asdict(), sentence)
                report.streams["contacts"].removed += 1
        seen_deals = self._seen["opportunities"]
        vanished = [
            row
            for row in session.execute(
                select(_OPPORTUNITIES.c.id, _OPPORTUNITIES.c.crm_id, _OPPORTUNITIES.c.name).where(
                    _OPPORTUNITIES.c.crm == self.crm, _OPPORTUNITIES.c.deleted.is_(False)
                )
            ).all()
            if row.crm_id not in seen_deals
        ]
        deals = [
            _Change(
                row.id,
                {"deleted": True},
                f"{self.label} opportunity {row.crm_id} ({row.name}): no longer in {self.label}",
                "opportunity.updated_by_crm",
            )
            for row in vanished
        ]
        self._write(session, _OPPORTUNITIES, "opportunity", deals)
        report.streams["opportunities"].removed += len(deals)
