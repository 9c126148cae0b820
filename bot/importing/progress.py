"""Progress of a long import: drawn as bars on a terminal (and nowhere else, so logs and CI stay clean).

The import stages report through a `ProgressFactory` — called with a stage label and a total (None when
unknown) — so the domain code knows nothing of how, or whether, progress is shown.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Protocol


class ProgressBar(Protocol):
    def update(self, n: int = 1) -> Any: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[str, int | None], ProgressBar]


class _Silent:
    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


def silent(label: str, total: int | None) -> ProgressBar:
    """No progress shown: the default off a terminal, and in tests."""
    return _Silent()


def terminal_progress() -> ProgressFactory:
    """tqdm bars on stderr while stdout is a terminal; no output at all otherwise."""
    if not sys.stdout.isatty():
        return silent
    from tqdm import tqdm

    def bar(label: str, total: int | None) -> ProgressBar:
        return tqdm(desc=label, total=total, unit=" rows", unit_scale=True, file=sys.stderr, leave=False)

    return bar
