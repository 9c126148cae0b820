"""`refbot playground`: start the workspace and its web page, print the URL, open a browser if there is one.

Loopback only unless `--host` is given: the page lets whoever reaches it act as every person in the
workspace, so binding another address must be asked for by name (and is then said out loud).
"""

from __future__ import annotations

import ipaddress
import signal
import sys
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TextIO

from waitress.server import create_server

from playground.web import create_web_app
from playground.workspace import PlaygroundError, Workspace

DEFAULT_PORT = 8765
LOOPBACK = "127.0.0.1"


@dataclass
class Playground:
    """A running workspace and the web server in front of it."""

    workspace: Workspace
    host: str
    port: int
    _server: object
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        shown = "localhost" if self.host in (LOOPBACK, "localhost") else self.host
        host = f"[{shown}]" if ":" in shown else shown
        return f"http://{host}:{self.port}/"

    def start_background(self) -> Playground:
        self._thread = threading.Thread(target=self.serve_forever, name="playground-web", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.run()  # type: ignore[attr-defined]

    def stop(self) -> None:
        self._server.close()  # type: ignore[attr-defined]
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.workspace.stop()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start(host: str = LOOPBACK, port: int = DEFAULT_PORT, database_url: str | None = None) -> Playground:
    """Start everything; `port=0` lets the OS pick one (tests)."""
    workspace = Workspace(database_url=database_url).start()
    app = _AllowedHosts(workspace, host)
    try:
        server = create_server(app, host=host, port=port, threads=8, ident="refbot-playground")
    except OSError as exc:
        workspace.stop()
        raise PlaygroundError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; try --port N") from None
    bound = int(getattr(server, "effective_port", port))
    app.bind(bound)
    return Playground(workspace, host, bound, server)


class _AllowedHosts:
    """The WSGI app, built once the port is known (its Host check names it)."""

    def __init__(self, workspace: Workspace, host: str) -> None:
        self.workspace = workspace
        self.host = host
        self.app: Callable[..., object] | None = None

    def bind(self, port: int) -> None:
        names = {self.host, "localhost", LOOPBACK, "[::1]"} if is_loopback(self.host) else {self.host}
        if self.host in ("0.0.0.0", "::"):
            names = set()  # every address of this machine: no Host check can list them all
        allowed = frozenset(f"{name}:{port}".lower() for name in names)
        self.app = create_web_app(self.workspace, allowed_hosts=allowed)

    def __call__(self, environ: dict[str, object], start_response: Callable[..., object]) -> object:
        assert self.app is not None, "bind() runs before the server starts"
        return self.app(environ, start_response)


def _can_open_a_browser() -> bool:
    """A graphical browser, not a text one that would take over this terminal (lynx, w3m, www-browser)."""
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    return type(browser) is not webbrowser.GenericBrowser


def run(
    host: str | None,
    port: int,
    *,
    open_browser: bool,
    database_url: str | None,
    out: TextIO = sys.stdout,
) -> int:
    """The command: runs until Ctrl-C; 0 when stopped that way."""
    bind = host or LOOPBACK
    playground = start(bind, port, database_url)
    print(f"refbot playground: {playground.url}", file=out)
    print("A local playground, not Slack: refbot and a Slack fake on this machine. Ctrl-C stops it.", file=out)
    if not is_loopback(bind):
        print(
            f"Listening on {bind} as you asked: anyone who can reach it can act as every person in the playground.",
            file=out,
        )
    if playground.workspace.customers_seeded:
        print(f"Seeded {playground.workspace.customers_seeded} demo customers.", file=out)
    out.flush()
    if open_browser and _can_open_a_browser():
        webbrowser.open(playground.url)
    _stop_on_sigterm()
    try:
        playground.serve_forever()  # returns on Ctrl-C: waitress catches KeyboardInterrupt itself
    except KeyboardInterrupt:
        pass
    finally:
        playground.stop()  # the temporary database goes with it
    print("refbot playground: stopped", file=out)
    return 0


def _stop_on_sigterm() -> None:
    """SIGTERM stops it as Ctrl-C does, so the temporary database is removed either way."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
