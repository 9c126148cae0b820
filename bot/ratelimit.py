"""Outgoing pace: a token bucket per Slack channel and one for everything, so a fan-out of thousands
of nudges goes out as fast as Slack allows (about one message per second per channel) and no faster.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """Blocks a sender until both its channel's bucket and the global bucket have a token."""

    def __init__(
        self,
        per_channel: float,
        total: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_channel = per_channel
        self.total = total
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def _wait_for(self, key: str, rate: float, now: float) -> float:
        capacity = max(1.0, rate)
        tokens, at = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - at) * rate)
        self._buckets[key] = (tokens, now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate

    def acquire(self, channel: str) -> float:
        """Wait until a message to `channel` may go; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = max(self._wait_for(f"c:{channel}", self.per_channel, now), self._wait_for("*", self.total, now))
                if wait <= 0:
                    for key in (f"c:{channel}", "*"):
                        tokens, at = self._buckets[key]
                        self._buckets[key] = (tokens - 1.0, at)
                    if len(self._buckets) > 50_000:  # forget idle channels; their buckets are full anyway
                        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 5}
                    return waited
            self._sleep(wait)
            waited += wait
