"""`refbot serve` with bench-only experiments switched on by environment variables (never used in production).

    LOADBENCH_LISTENER_WORKERS=N   Bolt's listener pool with N threads instead of bot.app's default
    LOADBENCH_SWITCH_INTERVAL=S    sys.setswitchinterval(S): how long a thread may keep the GIL when others wait
    LOADBENCH_PG_ENGINE=JSON       extra create_engine() arguments on PostgreSQL, e.g. {"pool_pre_ping": false}
    LOADBENCH_SQLITE_BEFORE=1      SQLite before bench/load's fixes: writers wait in SQLite's busy handler, FULL sync
    LOADBENCH_CPROFILE=FILE        cProfile the whole process, written to FILE when it exits

bench/load/run.py starts the server through this file only when one of them is given (`--env LOADBENCH_…=…`),
to measure a change before proposing it; otherwise it runs the production entry point, `python -m bot.cli serve`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _listener_workers(workers: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import bot.app

    executor = getattr(bot.app, "ListenerExecutor", None)
    if executor is not None:
        original = executor.__init__

        def init(self: Any, max_workers: int = 5) -> None:
            original(self, max_workers=workers)

        executor.__init__ = init
        return
    import slack_bolt.app.app as bolt_app

    original_app_init = bolt_app.App.__init__

    def app_init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("listener_executor", ThreadPoolExecutor(max_workers=workers))
        original_app_init(self, *args, **kwargs)

    bolt_app.App.__init__ = app_init  # type: ignore[method-assign]


def _pg_engine(options: dict[str, Any]) -> None:
    import models.db

    original = models.db.make_engine

    def make_engine(url: str, **kwargs: Any) -> Any:
        return original(url, **({**kwargs, **options} if url.startswith("postgresql") else kwargs))

    models.db.make_engine = make_engine  # type: ignore[assignment]


def _sqlite_before() -> None:
    """Undo models/db.py's two SQLite changes, to measure them: no in-process writer queue, FULL sync."""
    from sqlalchemy import event

    import models.db

    original_make_engine, original_init = models.db.make_engine, models.db.Database.__init__

    def make_engine(url: str, **kwargs: Any) -> Any:
        engine = original_make_engine(url, **kwargs)
        if engine.dialect.name == "sqlite":

            @event.listens_for(engine, "connect")  # runs after make_engine's own listener
            def full_sync(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.execute("PRAGMA synchronous=FULL")

        return engine

    def init(self: Any, url: str, **kwargs: Any) -> None:
        original_init(self, url, **kwargs)
        self._writer = None

    models.db.make_engine = make_engine  # type: ignore[assignment]
    models.db.Database.__init__ = init  # type: ignore[method-assign]


def main() -> int:
    env = os.environ
    if env.get("LOADBENCH_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(env["LOADBENCH_SWITCH_INTERVAL"]))
    if env.get("LOADBENCH_LISTENER_WORKERS"):
        _listener_workers(int(env["LOADBENCH_LISTENER_WORKERS"]))
    if env.get("LOADBENCH_SQLITE_BEFORE"):
        _sqlite_before()
    if env.get("LOADBENCH_PG_ENGINE"):
        _pg_engine(json.loads(env["LOADBENCH_PG_ENGINE"]))
    from bot.cli import main as cli_main

    if not env.get("LOADBENCH_CPROFILE"):
        return cli_main()
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        return cli_main()
    finally:
        profiler.disable()
        profiler.dump_stats(env["LOADBENCH_CPROFILE"])


if __name__ == "__main__":
    sys.exit(main())
