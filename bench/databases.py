"""Where every benchmark runs: a fresh SQLite file, then a private schema on PostgreSQL when a server is given."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.postgres import private_schema


def on_each_database(measure: Callable[[str, str], bool], postgres: str, *, sqlite: bool = True) -> bool:
    """`measure(label, url)` on each fresh database, dropped afterwards; True when every run met its targets."""
    ok = True
    if sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            ok &= measure("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}")
    if postgres:
        with private_schema(postgres, "refbot_bench") as url:
            ok &= measure("PostgreSQL", url)
    return ok
