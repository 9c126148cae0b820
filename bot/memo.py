"""A small per-process memo with an age limit, for results worth reusing for a few seconds or minutes."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any


class Memo:
    """A small per-process memo with an age limit, safe across threads."""

    def __init__(self, size: int, ttl: float) -> None:
        self._data: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size
        self.ttl = ttl

    def get(self, key: tuple[Any, ...]) -> tuple[bool, Any]:
        with self._lock:
            found = self._data.get(key)
            if found is None or time.monotonic() - found[0] > self.ttl:
                return False, None
            self._data.move_to_end(key)
            return True, found[1]

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._data[key] = (time.monotonic(), value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
