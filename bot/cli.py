"""`refbot …`: the command line. Problems an operator can fix are one sentence and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from bot import cli_ops
from bot.settings import Settings, SettingsError, load_settings
from models.db import Database, DatabaseUnavailable

log = logging.getLogger("refbot")


class CommandError(Exception):
    """A failure to report as `refbot: <message>` with exit status 1."""


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


def open_database(settings: Settings, *, auto_upgrade: bool) -> Database:
    """Connect, and make sure the schema is current: upgraded in place for embedded SQLite."""
    from bot import migrate

    db = Database(settings.database_url)
    db.check()
    if auto_upgrade and settings.is_sqlite:
        migrate.upgrade(db.engine)
    elif not migrate.is_current(db.engine):
        raise CommandError(
            f"the database schema is at revision {migrate.current_revision(db.engine) or 'none'} but this "
            f"refbot needs {migrate.head_revision(db.engine)}: run `refbot db upgrade` first."
        )
    return db


def _stop_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import create_app
    from bot.server import HttpServer

    settings.require_slack_http()
    db = open_database(settings, auto_upgrade=True)
    server = HttpServer(create_app(settings, db=db), host=args.host, port=args.port, threads=args.threads)
    print(f"refbot listening on {server.url} (POST /slack/events, GET /healthz)", flush=True)
    _stop_on_sigterm()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("refbot: stopping", flush=True)
    return 0


def cmd_socket(args: argparse.Namespace, settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import create_app

    settings.require_socket_mode()
    db = open_database(settings, auto_upgrade=True)
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
    from bot.importer import ImportFailed, import_csv

    db = open_database(settings, auto_upgrade=True)
    status = 0
    for name in args.files:
        try:
            report = import_csv(db, Path(name), dry_run=args.dry_run)
        except ImportFailed as exc:
            print(f"refbot: {exc}; nothing was imported from it.", file=sys.stderr)
            status = 1
            continue
        print(report.summary())
    return status


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import run_demo

    return run_demo(pause=args.pause)


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
    serve.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    serve.set_defaults(func=cmd_serve)

    socket = sub.add_parser("socket", help="run the bot over Socket Mode (no public URL needed)")
    socket.set_defaults(func=cmd_socket)

    db = sub.add_parser("db", help="database schema: upgrade, or show the current revision")
    db.add_argument("action", choices=["upgrade", "current"])
    db.set_defaults(func=cmd_db)

    imp = sub.add_parser("import", help="import customers from CSV files")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    imp.set_defaults(func=cmd_import)

    cli_ops.add_parsers(sub, lambda settings: open_database(settings, auto_upgrade=True))

    demo = sub.add_parser("demo", help="play a whole request on this machine against a local Slack fake")
    demo.add_argument("--pause", type=float, default=0.0, help="seconds to wait between steps")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":  # self-contained: a broken .env must not stop someone trying refbot
            return int(args.func(args, Settings()))
        settings = load_settings(dotenv_path=args.env_file)
        _configure_logging(settings.log_level)
        return int(args.func(args, settings))
    except (SettingsError, DatabaseUnavailable, CommandError) as exc:
        print(f"refbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
