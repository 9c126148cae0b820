"""`refbot crm check|sync [--full] [--dry-run]|status`: connecting the CRM, from the command line.

Every problem is one sentence (and a non-zero exit); a secret never reaches the terminal.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlalchemy import select

from bot.crm.connect import NotConnected, connect
from bot.crm.connector import STREAMS, CrmError
from bot.crm.mapping import crm_label
from bot.crm.sync import redact
from bot.settings import Settings
from models import CrmSyncState
from models.db import Database

OpenDatabase = Callable[[Settings], Database]


def add_parsers(sub: argparse._SubParsersAction, open_db: OpenDatabase) -> None:  # type: ignore[type-arg]
    crm = sub.add_parser("crm", help="the CRM connection: check it, sync now, or show where each object stands")
    actions = crm.add_subparsers(dest="crm_command", required=True, metavar="ACTION")
    actions.add_parser("check", help="log in and check every object and field refbot reads and writes").set_defaults(
        func=lambda a, s: cmd_check(a, s)
    )
    sync = actions.add_parser("sync", help="bring what changed in the CRM in now (the `crm` job does it on schedule)")
    sync.add_argument("--full", action="store_true", help="read everything, not just what changed since the last sync")
    sync.add_argument("--dry-run", action="store_true", help="report what it would do; write nothing")
    sync.set_defaults(func=lambda a, s: cmd_sync(a, s, open_db))
    actions.add_parser("status", help="each object's last run, watermark, counts and last error").set_defaults(
        func=lambda a, s: cmd_status(a, s, open_db)
    )


def _say(message: str, settings: Settings) -> None:
    print(f"refbot: {redact(message, settings.crm_secrets)}")


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    try:
        connector = connect(settings)
    except NotConnected as exc:
        _say(str(exc), settings)
        return 1
    label = crm_label(connector.name)
    try:
        result = connector.check()
    except CrmError as exc:
        _say(exc.message, settings)
        return 1
    finally:
        connector.close()
    for problem in result.problems:
        _say(problem, settings)
    if result.ok:
        print(f"{label}: logged in; every object and field refbot reads and writes is accessible.")
        return 0
    print(f"{label}: {len(result.problems)} problem(s); fix them in {label} and run `refbot crm check` again.")
    return 1


def cmd_sync(args: argparse.Namespace, settings: Settings, open_db: OpenDatabase) -> int:
    from bot.crm.runner import sync_now
    from bot.importing.progress import terminal_progress

    db = open_db(settings)
    try:
        report = sync_now(db, settings, full=args.full, dry_run=args.dry_run, progress=terminal_progress())
    except NotConnected as exc:
        _say(str(exc), settings)
        return 1
    for line in report.lines():
        print(redact(line, settings.crm_secrets))
    return 1 if report.error or report.busy else 0


def cmd_status(args: argparse.Namespace, settings: Settings, open_db: OpenDatabase) -> int:
    db = open_db(settings)
    with db.reading() as session:
        rows = {
            (row.crm, row.stream): row
            for row in session.scalars(select(CrmSyncState).order_by(CrmSyncState.crm, CrmSyncState.id))
        }
    crm = settings.crm_name
    crms = list(dict.fromkeys([*([crm] if crm else []), *(c for c, _ in rows)]))
    if not crms:
        print("No CRM is connected and none was ever synced (README: 'Connect your CRM').")
        return 0

    def when(value: object) -> str:
        return value.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S") if value else "never"  # type: ignore[attr-defined]

    failing = False
    for name in crms:
        print(f"{crm_label(name)}{'' if name == crm else ' (no longer configured)'}:")
        for stream in STREAMS:
            row = rows.get((name, stream))
            if row is None:
                print(f"  {stream:14} never synced")
                continue
            c = row.counts or {}
            figures = ", ".join(
                f"{c.get(k, 0):,} {k}" for k in ("read", "created", "updated", "merged", "unchanged", "removed")
            )
            skipped = sum((c.get("skipped") or {}).values())
            print(
                f"  {stream:14} last run {when(row.last_run_at)} · last success {when(row.last_success_at)} · "
                f"watermark {when(row.watermark)} · last full pass {when(row.last_full_at)}"
            )
            print(f"  {'':14} last run: {figures}, {skipped:,} skipped")
            if row.last_error:
                failing = True
                told = "managers told" if row.error_notified else "managers not told yet"
                since = when(row.error_since)
                print(f"  {'':14} error since {since} ({told}): {redact(row.last_error, settings.crm_secrets)}")
            if row.running_by:
                print(f"  {'':14} running now on {row.running_by} (lease until {when(row.running_until)})")
    return 1 if failing else 0
