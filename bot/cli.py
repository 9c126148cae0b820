"""`refbot …`: the command line. Problems an operator can fix are one sentence and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from bot import cli_ops
from bot.settings import Settings, SettingsError, load_settings
from models.db import Database, DatabaseUnavailable

log = logging.getLogger("refbot")

# How much lower the CPU priority of the worker that `serve --workers` runs beside its web processes is: its
# rendering and ranking yield to acknowledgements, which Slack times (3 s) and people wait for.
WORKER_NICENESS = 10


class CommandError(Exception):
    """A failure to report as `refbot: <message>` with exit status 1."""


def _configure_logging(settings: Settings) -> None:
    """JSON lines for log collectors; readable lines when a person watches a terminal. No secrets."""
    from bot.observability import configure_logging

    secrets = (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token)
    configure_logging(settings.log_level, secrets, json_lines=not sys.stderr.isatty())


def open_database(settings: Settings, *, auto_upgrade: bool, wait: float = 0) -> Database:
    """Connect, and make sure the schema is current: upgraded in place for embedded SQLite.

    With `wait` (seconds; `serve` and `socket` pass REFBOT_DB_STARTUP_WAIT), a database that does not answer
    yet (the server still starting, a container coming up after refbot's) is tried again with backoff.
    """
    from bot import migrate

    db = Database(settings.database_url)
    wait_for_database(db, wait)
    if auto_upgrade and settings.is_sqlite:
        migrate.upgrade(db.engine)
    elif not migrate.is_current(db.engine):
        raise CommandError(
            f"the database schema is at revision {migrate.current_revision(db.engine) or 'none'} but this "
            f"refbot needs {migrate.head_revision(db.engine)}: run `refbot db upgrade` first."
        )
    return db


def wait_for_database(db: Database, wait: float, *, sleep: Callable[[float], None] = time.sleep) -> None:
    """`db.check()`, retried after 1, 2, 4 … (at most 10) seconds until `wait` seconds have passed.

    Each failed attempt is one log line; when time is up, the last DatabaseUnavailable (one sentence) is raised.
    """
    deadline = time.monotonic() + wait
    attempt = 0
    while True:
        attempt += 1
        try:
            db.check()
        except DatabaseUnavailable as exc:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if attempt > 1:
                    log.error("database still unreachable after %d attempts in %gs; giving up", attempt, wait)
                raise
            pause = min(2.0 ** (attempt - 1), 10.0, remaining)
            log.warning("database not reachable (attempt %d), retrying in %.1fs: %s", attempt, pause, exc)
            sleep(pause)
        else:
            if attempt > 1:
                log.info("database reachable after %d attempts", attempt)
            return


def _stop_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _stop_gracefully_on_signals(stop: Callable[[], None]) -> None:
    """SIGTERM or Ctrl-C: `stop()` (stop accepting, finish what is in flight, drain the outbox). A second
    signal cuts the wait short (KeyboardInterrupt: exit status 130); what is undelivered stays in the outbox."""
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import create_app
    from bot.server import HttpServer

    settings.require_slack_http()
    if args.workers is not None and args.workers < 1:
        raise CommandError("--workers must be at least 1")
    db = open_database(settings, auto_upgrade=True, wait=settings.db_startup_wait)
    if args.workers is None and not args.no_worker:  # one process that does everything, as a small install wants
        server = HttpServer(create_app(settings, db=db), host=args.host, port=args.port, threads=args.threads)
        print(f"refbot listening on {server.url} (POST /slack/events, GET /healthz)", flush=True)
        _stop_gracefully_on_signals(server.shutdown)
        server.serve_forever()  # returns once a signal has stopped it and in-flight work and the outbox are drained
        print("refbot: stopped", flush=True)
        return 0
    db.dispose()  # nothing may be open when gunicorn forks: each web process connects on its own
    return _serve_prefork(args, settings)


def _serve_prefork(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import create_app
    from bot.prefork import Supervisor, WebProcesses, child_argv

    workers = args.workers or 1
    if not args.no_worker:  # one command for both tiers: the web tier and a worker, side by side
        web = ["serve", "--no-worker", "--workers", str(workers), "--host", args.host, "--port", str(args.port)]
        web += ["--threads", str(args.threads)]
        worker = child_argv(args.env_file, "worker", "--nice", str(WORKER_NICENESS))
        code = Supervisor(child_argv(args.env_file, *web), worker).run()
        print("refbot: stopped", flush=True)
        return code

    def ready(url: str) -> None:
        print(f"refbot listening on {url} (POST /slack/events, GET /healthz; {workers} web processes)", flush=True)

    processes = WebProcesses(
        lambda: create_app(settings, role="web"),
        host=args.host,
        port=args.port,
        workers=workers,
        threads=args.threads,
        on_ready=ready,
    )
    try:
        processes.run()  # gunicorn's master: exits (SystemExit) once SIGTERM/SIGINT has stopped every web process
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise CommandError("the web processes could not start (see the log above)") from None
    print("refbot: stopped", flush=True)
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """The outbox delivery (Slack and CRM queues alike) and the scheduler, without serving HTTP."""
    from bot.app import create_app

    if args.nice:
        os.nice(args.nice)  # background work: the web processes on this machine get the CPU first
    db = open_database(settings, auto_upgrade=True, wait=settings.db_startup_wait)
    bot = create_app(settings, db=db, role="worker")
    stopping = threading.Event()
    _stop_gracefully_on_signals(stopping.set)
    bot.start()
    print("refbot worker running (outbox delivery and scheduled jobs); SIGTERM to stop", flush=True)
    while not stopping.wait(1.0):
        pass
    bot.stop()  # the outbox delivers what is due before the process exits
    print("refbot worker: stopped", flush=True)
    return 0


def cmd_socket(args: argparse.Namespace, settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import create_app

    settings.require_socket_mode()
    db = open_database(settings, auto_upgrade=True, wait=settings.db_startup_wait)
    bot = create_app(settings, db=db, socket_mode=True)
    handler = SocketModeHandler(bot.bolt, app_token=settings.slack_app_token, web_client=bot.deps.client)
    bot.start()
    print("refbot connected in Socket Mode; press Ctrl-C to stop", flush=True)
    _stop_on_sigterm()
    try:
        handler.start()
    except KeyboardInterrupt:
        print("refbot: stopping", flush=True)
    finally:
        handler.close()
        bot.stop()
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from bot import migrate

    db = Database(settings.database_url)
    db.check()
    if args.action == "upgrade":
        before = migrate.current_revision(db.engine)
        migrate.upgrade(db.engine)
        after = migrate.current_revision(db.engine)
        print(f"database at {after}" + (" (already current)" if before == after else f" (was {before or 'empty'})"))
    else:
        current = migrate.current_revision(db.engine)
        head = migrate.head_revision(db.engine)
        print(
            f"current: {current or 'empty'} · latest: {head}"
            + ("" if current == head else " · run `refbot db upgrade`")
        )
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    if args.assets:
        return cmd_import_assets(args, settings)
    from bot.importing import ImportFailed, ImportOptions, Source, import_files, parse_overrides
    from bot.importing.progress import terminal_progress

    try:
        overrides = parse_overrides(args.map or [])
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    report_path = Path(args.report) if args.report else None
    if report_path is not None and not report_path.parent.is_dir():
        raise CommandError(f"--report {report_path}: the folder {report_path.parent} does not exist")
    db = open_database(settings, auto_upgrade=True)
    owners = None
    if settings.slack_bot_token:  # without a token, owners given by e-mail are kept as e-mail and reported
        from bot.app import make_client
        from bot.importing import SlackOwnerDirectory

        owners = SlackOwnerDirectory(make_client(settings))

    def show_mapping(source: Source) -> None:
        if source.mapping.interpreted:
            rows = f"{source.rows_read:,} row{'' if source.rows_read == 1 else 's'}"
            print(f"{source.path}: {source.kind}, {source.details}, {rows}; columns used:")
            for line in source.mapping.describe():
                print(f"  {line}")

    options = ImportOptions(sheet=args.sheet, overrides=overrides, dry_run=args.dry_run)
    try:
        report = import_files(
            db,
            [Path(name) for name in args.files],
            options,
            owners=owners,
            progress=terminal_progress(),
            on_source=show_mapping,
        )
    except ImportFailed as exc:
        raise CommandError(f"{exc}; nothing was imported.") from None
    for failure in report.failed:
        print(f"refbot: {failure.message}; nothing was imported from it.", file=sys.stderr)
    if report.files:
        print(report.summary())
    if report_path is not None:
        try:
            report.write_csv(report_path)
        except OSError as exc:
            raise CommandError(f"cannot write the report to {report_path}: {exc.strerror or exc}") from None
        print(f"report written to {report_path}")
    return 1 if report.failed else 0


def cmd_import_assets(args: argparse.Namespace, settings: Settings) -> int:
    """`refbot import --assets FILE…`: the content library, reported like the customer import."""
    from bot.importing.assets import AssetSource, import_assets
    from models.types import utcnow

    report_path = Path(args.report) if args.report else None
    if report_path is not None and not report_path.parent.is_dir():
        raise CommandError(f"--report {report_path}: the folder {report_path.parent} does not exist")
    db = open_database(settings, auto_upgrade=True)

    def show_mapping(source: AssetSource) -> None:
        rows = f"{source.rows_read:,} row{'' if source.rows_read == 1 else 's'}"
        print(f"{source.path}: {source.kind}, {source.details}, {rows}; columns used:")
        for line in source.mapping.describe():
            print(f"  {line}")

    today = utcnow().astimezone(settings.tz).date()
    try:
        report = import_assets(
            db, [Path(name) for name in args.files], args.map or [], today,
            sheet=args.sheet, dry_run=args.dry_run, on_source=show_mapping,
        )  # fmt: skip
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    for failure in report.failed:
        print(f"refbot: {failure.message}; nothing was imported from it.", file=sys.stderr)
    if report.files:
        print(report.summary())
    if report_path is not None:
        try:
            report.write_csv(report_path)
        except OSError as exc:
            raise CommandError(f"cannot write the report to {report_path}: {exc.strerror or exc}") from None
        print(f"report written to {report_path}")
    return 1 if report.failed else 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.exporter import export_customers

    output = Path(args.output) if args.output else None
    fmt = args.format or ("xlsx" if output is not None and output.suffix.lower() == ".xlsx" else "csv")
    if fmt == "xlsx" and output is None:
        raise CommandError("--format xlsx needs --output FILE.xlsx (a workbook cannot be written to the terminal)")
    db = open_database(settings, auto_upgrade=True)
    try:
        count = export_customers(db, output if output is not None else sys.stdout, fmt)
    except OSError as exc:
        raise CommandError(f"cannot write {output}: {exc.strerror or exc}") from None
    if output is not None:
        print(f"exported {count:,} customers to {output}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import run_demo

    return run_demo(pause=args.pause)


def cmd_playground(args: argparse.Namespace, settings: Settings) -> int:
    from playground.server import run
    from playground.workspace import PlaygroundError

    try:
        return run(args.host, args.port, open_browser=not args.no_browser, database_url=args.database)
    except PlaygroundError as exc:
        raise CommandError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refbot",
        description="refbot: run a customer reference program in Slack.",
        epilog="Settings come from the environment and .env; see README.md.",
    )
    parser.add_argument("--env-file", default=".env", help="read settings from this file too (default: .env)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the bot over HTTP (POST /slack/events, GET /healthz)")
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=3000, help="port to bind (default 3000; 0 picks a free one)")
    serve.add_argument("--threads", type=int, default=8, help="threads per process (default 8)")
    serve.add_argument(
        "--workers",
        type=int,
        nargs="?",
        const=os.cpu_count() or 1,
        metavar="N",
        help="N pre-forked web processes sharing the port (default N: the number of CPU cores), with the "
        "outbox and the schedule in one `refbot worker` process beside them; without --workers, one process "
        "does everything",
    )
    serve.add_argument(
        "--no-worker", action="store_true", help="only answer Slack; run `refbot worker` for the outbox and jobs"
    )
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="deliver the outbox and run the scheduled jobs, without serving HTTP")
    worker.add_argument(
        "--nice",
        type=int,
        default=0,
        metavar="N",
        help="lower this process's CPU priority by N (`serve --workers` runs its worker with 10, so that "
        "acknowledging Slack comes first on a shared machine)",
    )
    worker.set_defaults(func=cmd_worker)

    socket = sub.add_parser("socket", help="run the bot over Socket Mode (no public URL needed)")
    socket.set_defaults(func=cmd_socket)

    db = sub.add_parser("db", help="database schema: upgrade, or show the current revision")
    db.add_argument("action", choices=["upgrade", "current"])
    db.set_defaults(func=cmd_db)

    imp = sub.add_parser(
        "import",
        help="import and de-duplicate customers from CSV/XLSX lists (see docs/IMPORT.md)",
        description="Import customer lists (CSV with any delimiter, or XLSX), mapping their headers, merging "
        "the same company within and across files and the database. Later files win conflicts.",
    )
    imp.add_argument("files", nargs="+", metavar="FILE", help="CSV or XLSX files, oldest first")
    imp.add_argument("--sheet", metavar="NAME", help="the XLSX sheet to read (default: the first)")
    imp.add_argument(
        "--map",
        action="append",
        metavar='"Header=field"',
        help='read a column as a field (repeatable): --map "Acct=name"; "Header=ignore" skips a column',
    )
    imp.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    imp.add_argument("--assets", action="store_true", help="the files list content (case studies, quotes …)")
    imp.add_argument("--report", metavar="FILE", help="also write every decision to this CSV file")
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="write every customer to CSV or XLSX (re-importable)")
    exp.add_argument("--format", choices=["csv", "xlsx"], help="csv (default) or xlsx")
    exp.add_argument("--output", metavar="FILE", help="write to this file (default: CSV to standard output)")
    exp.set_defaults(func=cmd_export)

    cli_ops.add_parsers(sub, lambda settings: open_database(settings, auto_upgrade=True))

    demo = sub.add_parser("demo", help="play a whole request on this machine against a local Slack fake")
    demo.add_argument("--pause", type=float, default=0.0, help="seconds to wait between steps")
    demo.set_defaults(func=cmd_demo)

    play = sub.add_parser("playground", help="try refbot in a browser: a local Slack-like page, no workspace needed")
    play.add_argument("--port", type=int, default=8765, help="port for the page (default 8765)")
    play.add_argument(
        "--host", help="address to bind (default 127.0.0.1; anything else only when given here, by name)"
    )
    play.add_argument("--no-browser", action="store_true", help="print the URL, never open a browser")
    play.add_argument("--database", metavar="URL", help="use this database instead of a temporary SQLite one")
    play.set_defaults(func=cmd_playground)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("demo", "playground"):  # self-contained: a broken .env must not stop a first try
            return int(args.func(args, Settings()))
        settings = load_settings(dotenv_path=args.env_file)
        _configure_logging(settings)
        return int(args.func(args, settings))
    except (SettingsError, DatabaseUnavailable, CommandError) as exc:
        print(f"refbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
