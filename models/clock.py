"""The one clock refbot reads (`models.types.utcnow()` asks it), so a process can run on another time.

Production never changes it: the system clock. `refbot playground` runs the bot on a `ShiftedClock`, so
"advance the clock by a week" moves everything refbot reads (the requests it creates, the check-ins it
asks, the jobs it runs, the outbox's due times) together, without patching any module from outside.
Tests keep using freezegun: the system clock reads `datetime.now` at call time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware and in UTC."""
        ...


class SystemClock:
    """This machine's time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """The system's time moved forward by an offset that only grows, as time does."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward by `by` (never back: refbot's ledgers assume time goes one way)."""
        if by < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += by
        return self.now()


_current: Clock = SystemClock()


def now() -> datetime:
    """What every `utcnow()` in refbot returns."""
    return _current.now()


@contextmanager
def running_on(clock: Clock) -> Iterator[Clock]:
    """Make this process read `clock` until the block ends (one at a time: a second one is refused)."""
    global _current
    if not isinstance(_current, SystemClock):
        raise RuntimeError("this process already runs on another clock")
    _current = clock
    try:
        yield clock
    finally:
        _current = SystemClock()
