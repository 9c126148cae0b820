"""Engine and session handling: one `Database` per process, the same code on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from models import checkin_summary

READ_ONLY = "refbot_read_only"
SQLITE_BUSY_SECONDS = 30  # how long a SQLite writer waits for the write lock before "database is locked"
CONNECT_TIMEOUT = 10  # seconds; PostgreSQL only (a DATABASE_URL's own ?connect_timeout= wins)


class DatabaseUnavailable(Exception):
    """The database could not be reached; the message is one sentence for the operator."""


def redacted(url: str) -> str:
    """The URL with any password hidden, fit for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable DATABASE_URL>"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned per backend: WAL + immediate transactions on SQLite, pre-ping on PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, open transactions, so that "begin" below takes effect.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
            if parsed.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
                # In WAL mode, NORMAL syncs the log at checkpoints rather than at every commit: a committed
                # transaction survives the process crashing (it is in the OS's hands); only an OS crash or
                # power cut can take back the last ones, and never corrupts the file. Commits no longer
                # wait for the disk while holding the one write lock (measured by bench/load/run.py).
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock up front: two threads that read, then write, would otherwise
            # fail (SQLITE_BUSY on lock upgrade) instead of queueing behind each other. Readers don't.
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # A pooled connection the server dropped (a restart, a failover, an idle timeout) is noticed at checkout
    # and replaced, so the request that gets it still works; a server that does not answer at all fails a
    # connection attempt after CONNECT_TIMEOUT seconds instead of hanging a request thread for minutes.
    kwargs.setdefault("pool_pre_ping", True)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT, **kwargs.get("connect_args", {})}
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


READS = ("SELECT", "WITH", "BEGIN", "PRAGMA", "EXPLAIN", "SHOW")


class WriteInReading(RuntimeError):
    """Something tried to write through `Database.reading()`: a bug, since nothing there is ever committed
    (on PostgreSQL a reading runs in autocommit, where a write would be)."""


def _refuse_writes(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if conn.get_execution_options().get(READ_ONLY) and not statement.lstrip()[:8].upper().startswith(READS):
        raise WriteInReading(f"a write inside Database.reading(): {' '.join(statement.split()[:3])} …")


class Database:
    """The engine, a session factory, and a transaction scope that commits or rolls back as one."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        event.listen(self.engine, "before_cursor_execute", _refuse_writes)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Customers' check-in summary follows every flush that writes a check-in (readings never flush).
        event.listen(self._sessions, "after_flush", checkin_summary.after_flush)
        reads: dict[str, Any] = {READ_ONLY: True}
        if self.engine.dialect.name == "postgresql":
            # Readings run each statement on its own: no BEGIN and ROLLBACK round trips around them (a third
            # of a reading's round trips). Under READ COMMITTED every statement sees its own snapshot inside
            # a transaction too, so what a reading sees is the same; `_refuse_writes` keeps it read-only.
            reads["isolation_level"] = "AUTOCOMMIT"
        self._read_sessions = sessionmaker(self.engine.execution_options(**reads), autoflush=False)
        # SQLite lets one transaction write at a time. Left to SQLite, a thread that finds the write lock
        # taken sleeps and polls (1, 2, 5 … 100 ms between tries), so under load writes wait far longer than
        # the lock is held and a few wait for seconds. This process's writers queue here instead, each woken
        # the moment the one before commits; SQLite's own wait still applies between processes.
        self._writer = threading.RLock() if self.engine.dialect.name == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed if the block finishes, rolled back if it raises."""
        if self._writer is None:
            with self._sessions.begin() as session:
                yield session
            return
        # Not queued after SQLite's own timeout: then SQLite decides, exactly as without this lock.
        queued = self._writer.acquire(timeout=SQLITE_BUSY_SECONDS)
        try:
            with self._sessions.begin() as session:
                yield session
        finally:
            if queued:
                self._writer.release()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads; nothing is committed, and on SQLite it takes no write lock."""
        with self._read_sessions() as session:
            yield session

    def ping(self) -> bool:
        """True when the database answers a trivial query (used by /healthz)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def check(self) -> None:
        """Raise DatabaseUnavailable, in one readable sentence, when the database does not answer."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
            raise DatabaseUnavailable(
                f"Cannot reach the database at {redacted(self.url)}: {reason}. "
                "Check DATABASE_URL and that the server is running."
            ) from None
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(
                f"Cannot use the database at {redacted(self.url)}: {str(exc).splitlines()[0]}."
            ) from None

    def dispose(self) -> None:
        self.engine.dispose()
