"""Waking the outbox worker in *another* process the moment a web process has enqueued something.

In one process (`refbot serve --workers 1`, `refbot socket`) `OutboxWorker.kick()` sets a thread event. With
the web and worker tiers apart, the web process's kick has to cross a process boundary, or every DM would
wait for the worker's next poll (`REFBOT_OUTBOX_POLL_SECONDS`):

* PostgreSQL: `NOTIFY refbot_outbox` after the commit; each worker holds one connection that `LISTEN`s.
  Replicas on other machines are woken too, and a notification sent while no worker listens is simply lost —
  harmless, since the rows are in the table and the poll finds them.
* SQLite (one machine by nature): a datagram to a Unix socket beside the database file, which the worker binds.

A wake-up is only ever a hint: losing one costs at most one poll interval, never a message.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url

from models.db import Database

log = logging.getLogger(__name__)

CHANNEL = "refbot_outbox"


class Notifier(Protocol):
    """The web side: tell whichever worker listens that rows are due."""

    def notify(self) -> None: ...


class Listener(Protocol):
    """The worker side: call `wake` whenever a web process notified; runs in a thread of its own."""

    def start(self, wake: Callable[[], None]) -> None: ...

    def stop(self) -> None: ...


def socket_path(database_url: str) -> Path | None:
    """Where a SQLite database's wake-up socket lives (beside the file), or None for in-memory databases."""
    name = make_url(database_url).database
    if not name or name == ":memory:":
        return None
    return Path(name).resolve().with_name(Path(name).name + ".wake")


class PostgresNotifier:
    def __init__(self, db: Database) -> None:
        self.db = db

    def notify(self) -> None:
        try:
            with self.db.engine.connect() as conn:
                conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
                conn.commit()
        except Exception as exc:  # a hint only: the worker's poll delivers the rows anyway
            log.debug("outbox wake-up not sent: %s", exc)


class PostgresListener:
    """One autocommit psycopg connection that LISTENs; reconnects after a failure, a second later."""

    def __init__(self, database_url: str, *, timeout: float = 1.0) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self.dsn = url.render_as_string(hide_password=False)
        self.timeout = timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, wake: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=self._run, args=(wake,), name="refbot-outbox-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 2)
            self._thread = None

    def _run(self, wake: Callable[[], None]) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    wake()  # anything enqueued while we were not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=self.timeout, stop_after=1):
                            wake()
            except Exception as exc:
                log.warning("outbox wake-ups unavailable, polling meanwhile: %s", exc)
                self._stop.wait(1.0)


class SocketNotifier:
    """Sends one empty datagram; a worker that is not running (no socket) is not an error."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)

    def notify(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendto(b"", self.path)


class SocketListener:
    """Binds the wake-up socket beside the SQLite file. Several workers on one file take turns: the first
    binds it, the others only poll (they still deliver, just without the hint)."""

    def __init__(self, path: Path, *, timeout: float = 1.0) -> None:
        self.path = path
        self.timeout = timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def start(self, wake: Callable[[], None]) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        with contextlib.suppress(FileNotFoundError):
            if not _socket_in_use(self.path):
                self.path.unlink()
        try:
            sock.bind(str(self.path))
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                log.warning("outbox wake-ups unavailable, polling instead: %s", exc)
            return
        sock.settimeout(self.timeout)
        self._sock = sock
        self._thread = threading.Thread(target=self._run, args=(wake,), name="refbot-outbox-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 2)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    def _run(self, wake: Callable[[], None]) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                self._sock.recv(16)
            except TimeoutError:
                continue
            except OSError:
                return
            wake()


def _socket_in_use(path: Path) -> bool:
    """True when a live worker is bound to `path` (a stale file from a killed worker answers ECONNREFUSED)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def notifier_for(db: Database, database_url: str) -> Notifier | None:
    """How a web process wakes the workers of this database; None when it cannot (in-memory SQLite)."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return PostgresNotifier(db)
    path = socket_path(database_url)
    return SocketNotifier(path) if path is not None else None


def listener_for(database_url: str) -> Listener | None:
    """How a worker process hears the web processes of this database; None when it cannot."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return PostgresListener(database_url)
    path = socket_path(database_url)
    return SocketListener(path) if path is not None else None
