"""The floor for bench/load/run.py: a bare Bolt app that only acks, served like `refbot serve`.

    .venv/bin/python bench/load/floor_app.py --signing-secret S --api-url URL [--threads 8] [--port 0] [--workers N]

Same Bolt version, same signing check, same listener matching (the `/reference` command, the request
modal's callback_id, the Approve/Cancel action ids) and the same waitress setup as `bot.server.HttpServer`
(threads, body limit, one WSGI callable routing `POST /slack/events`) — but no database, no middleware,
no work after the ack. What refbot adds on top of this is what the load benchmark measures. With `--workers N`
it is served as `refbot serve --workers N` serves its web processes: gunicorn, N pre-forked processes, the
gthread worker with `--threads` threads and the same keep-alive.
Prints "floor listening on URL" once it accepts connections.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import contextlib

from slack_bolt import Ack, App  # noqa: E402
from slack_bolt.adapter.wsgi import SlackRequestHandler  # noqa: E402
from slack_sdk import WebClient  # noqa: E402
from waitress.server import create_server  # noqa: E402

from bot import ids  # noqa: E402 - only the id constants, so both apps match the same payloads

MAX_BODY = 1_000_000  # as bot.server.MAX_BODY (not imported: the floor must not load refbot)


def build_app(signing_secret: str, api_url: str, token: str) -> App:
    app = App(
        client=WebClient(token=token, base_url=api_url),
        signing_secret=signing_secret,
        token_verification_enabled=False,
        logger=logging.getLogger("floor.bolt"),
    )

    @app.command("/reference")
    def command(ack: Ack) -> None:
        ack()

    @app.view(ids.REQUEST_MODAL)
    def submit(ack: Ack) -> None:
        ack()

    @app.action(ids.matching(ids.APPROVE))
    def approve(ack: Ack) -> None:
        ack()

    @app.action(ids.CANCEL)
    def cancel(ack: Ack) -> None:
        ack()

    return app


class FloorWSGI:
    def __init__(self, app: App) -> None:
        self.slack = SlackRequestHandler(app, path="/slack/events")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/slack/events" and environ.get("REQUEST_METHOD") == "POST":
            return self.slack(environ, start_response)
        data = json.dumps({"ok": False, "error": "not_found"}).encode()
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def serve_prefork(args: argparse.Namespace) -> int:
    """The floor behind gunicorn with the settings bot/prefork.py gives refbot's web processes."""
    from gunicorn.app.base import BaseApplication

    class Floor(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"{args.host}:{args.port}",
                "workers": args.workers,
                "threads": args.threads,
                "worker_class": "gthread",
                "keepalive": 75,
                "control_socket_disable": True,
                "accesslog": None,
                "loglevel": "warning",
                "when_ready": lambda arbiter: print(
                    "floor listening on http://{}:{}".format(*arbiter.LISTENERS[0].sock.getsockname()[:2]), flush=True
                ),
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> FloorWSGI:
            return FloorWSGI(build_app(args.signing_secret, args.api_url, args.token))

    with contextlib.suppress(SystemExit):
        Floor().run()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signing-secret", required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token", default="xoxb-floor")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=0, help="N gunicorn processes (default 0: one waitress)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.workers:
        return serve_prefork(args)
    app = build_app(args.signing_secret, args.api_url, args.token)
    server = create_server(
        FloorWSGI(app),
        host=args.host,
        port=args.port,
        threads=args.threads,
        ident="floor",
        max_request_body_size=MAX_BODY,
    )
    print(f"floor listening on http://{server.effective_host}:{server.effective_port}", flush=True)  # type: ignore[union-attr]
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
