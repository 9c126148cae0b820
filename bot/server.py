"""HTTP mode: a WSGI app with `POST /slack/events` and `GET /healthz`, served by waitress.

waitress is a production WSGI server (threads, no dev-server shortcuts) that runs the same way on
every platform, and can bind port 0 so tests run many servers side by side.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from waitress import wasyncore
from waitress.server import create_server

from bot.app import Refbot
from bot.observability import REQUEST_ID, new_request_id
from handlers.middleware import PAYLOAD_TYPE, bolt_request, screen_request

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # Slack's payloads are far smaller; anything this big is not from Slack
# On shutdown, how long requests already received may take to be answered (Slack wants an ack within 3 s).
DRAIN_SECONDS = 5.0
LOOP_SECONDS = 0.25  # how soon the serving loop notices shutdown()

StartResponse = Callable[..., Any]


class RefbotWSGI:
    """Routes the three endpoints; everything else is a 404. Times every Slack acknowledgement."""

    def __init__(self, bot: Refbot) -> None:
        self.bot = bot

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            healthy = self.bot.deps.db.ping()
            return _json(start_response, 200 if healthy else 503, {"ok": healthy, "database": healthy})
        if path == "/metrics" and method == "GET":
            data = self.bot.metrics.render()
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(data)))])
            return [data]
        if path == "/slack/events":
            if method != "POST":
                return _json(start_response, 405, {"ok": False, "error": "method_not_allowed"})
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = MAX_BODY + 1
            if length > MAX_BODY:
                return _json(start_response, 413, {"ok": False, "error": "payload_too_large"})
            return self._slack(environ, start_response)
        return _json(start_response, 404, {"ok": False, "error": "not_found"})

    def _slack(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        token = REQUEST_ID.set(environ.get("HTTP_X_REQUEST_ID") or new_request_id())
        PAYLOAD_TYPE.set("unknown")
        status_holder: list[str] = []

        def recording_start_response(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            status_holder.append(status.split()[0])
            return start_response(status, headers, *args)

        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            screened = screen_request(
                body,
                environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
                environ.get("HTTP_X_SLACK_SIGNATURE"),
                environ.get("CONTENT_TYPE"),
                self.bot.deps.settings.slack_signing_secret,
            )
            if screened.refusal is not None:
                status, error = screened.refusal
                return _json(recording_start_response, status, {"ok": False, "error": error})
            # What Bolt's WSGI adapter does, minus parsing the body a second time.
            request = bolt_request(screened, WsgiHttpRequest(environ).get_headers(), environ.get("QUERY_STRING", ""))
            answer = self.bot.bolt.dispatch(request)
            response = WsgiHttpResponse(status=answer.status, headers=answer.headers, body=answer.body)
            recording_start_response(response.status, response.get_headers())
            return response.get_body()
        finally:
            kind = PAYLOAD_TYPE.get()
            self.bot.metrics.ack_seconds.labels(kind).observe(time.perf_counter() - started)
            self.bot.metrics.requests.labels(kind, status_holder[0] if status_holder else "500").inc()
            REQUEST_ID.reset(token)


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


class HttpServer:
    """The bot behind waitress; `start_background()` for tests and the demo, `serve_forever()` for `serve`.

    Stopping is graceful, whichever way it is started: `shutdown()` (SIGTERM, Ctrl-C, `stop()`) closes the
    listening socket, so a load balancer sends new requests elsewhere; requests already received are
    answered and their responses sent; then the bot stops (listeners finish their after-ack work, the outbox
    delivers what is due). Only after `drain_seconds` does anything still in flight get cut off, and then
    nothing acknowledged is lost: messages wait in the outbox for the next process.
    """

    def __init__(
        self,
        bot: Refbot,
        host: str = "127.0.0.1",
        port: int = 3000,
        threads: int = 8,
        drain_seconds: float = DRAIN_SECONDS,
    ) -> None:
        self.bot = bot
        self.server = create_server(
            RefbotWSGI(bot), host=host, port=port, threads=threads, ident="refbot", max_request_body_size=MAX_BODY
        )
        self.drain_seconds = drain_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.effective_port)  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        host = self.server.effective_host  # type: ignore[union-attr]
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve until `shutdown()` (from a signal handler or another thread), then stop gracefully."""
        self.bot.start()
        try:
            self._serve()
        finally:
            self.bot.stop()

    def start_background(self) -> HttpServer:
        self.bot.start()
        self._thread = threading.Thread(target=self._serve, name="refbot-http", daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Ask the server to stop; safe from a signal handler (it only sets a flag the loop checks)."""
        self._stopping.set()

    def stop(self) -> None:
        self.shutdown()
        if self._thread is not None:
            self._thread.join(self.drain_seconds + 5)
            self._thread = None
        self.bot.stop()

    # -- the loop --------------------------------------------------------------------------------------

    def _loop_once(self, timeout: float) -> None:
        wasyncore.loop(timeout=timeout, map=self.server._map, use_poll=self.server.adj.asyncore_use_poll, count=1)  # type: ignore[union-attr]

    def _serve(self) -> None:
        while not self._stopping.is_set():
            self._loop_once(LOOP_SECONDS)
        self._drain()

    def _in_flight(self) -> int:
        """Connections with a request being read, run or answered (idle keep-alive connections don't count)."""
        channels = list(self.server.active_channels.values())  # type: ignore[union-attr]
        return sum(1 for c in channels if c.requests or c.request is not None or c.total_outbufs_len)

    def _drain(self) -> None:
        server = self.server
        wasyncore.dispatcher.close(server)  # type: ignore[arg-type]  # stop accepting; the loop still runs
        busy = self._in_flight()
        if busy:
            log.info("stopping: finishing %d request(s) in flight", busy)
        deadline = time.monotonic() + self.drain_seconds
        while self._in_flight() and time.monotonic() < deadline:
            self._loop_once(0.05)
        if self._in_flight():
            log.warning("stopping with %d request(s) still in flight after %gs", self._in_flight(), self.drain_seconds)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)  # type: ignore[union-attr]
        wasyncore.close_all(server._map)  # type: ignore[union-attr]
