"""`refbot serve --workers N`: N pre-forked web processes sharing one port (gunicorn), plus a supervised
`refbot worker` that delivers the outbox and runs the schedule.

One Python process has one GIL: the threads that answer Slack were also rendering and ranking the outbox's
cards and running the scheduler, so acknowledgements waited behind them. Here each web process only answers
Slack (signature, parse, dedupe, the validated write of a form, enqueue) and wakes the worker (bot/wakeup.py);
gunicorn's master forks the web processes before any of them opens a database connection or starts a thread,
restarts one that dies, and on SIGTERM lets each finish the requests it holds (and the work its listeners
acknowledged) before it exits. `Supervisor` starts the worker beside them and stops it after them, so what
the last requests enqueued is still delivered.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.app import Refbot
from bot.server import DRAIN_SECONDS, RefbotWSGI

log = logging.getLogger(__name__)


class WebProcesses(BaseApplication):  # type: ignore[misc]
    """gunicorn configured in code: the gthread worker (threads per process, keep-alive), no control socket,
    no access log (refbot logs its own), and a bot built in each process after the fork."""

    def __init__(
        self,
        make_bot: Callable[[], Refbot],
        *,
        host: str,
        port: int,
        workers: int,
        threads: int,
        on_ready: Callable[[str], None],
        drain_seconds: float = DRAIN_SECONDS,
    ) -> None:
        self.make_bot = make_bot
        self.on_ready = on_ready
        self.bot: Refbot | None = None
        self.options: dict[str, Any] = {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "keepalive": 75,  # longer than a load balancer's idle timeout, so it, not we, closes idle connections
            "graceful_timeout": int(drain_seconds) + 10,  # the requests in flight, then the listeners' after-ack work
            "timeout": 60,
            "control_socket_disable": True,
            "accesslog": None,
            "loglevel": "warning",
            "proc_name": "refbot-web",
            "when_ready": self._when_ready,
            "worker_exit": self._worker_exit,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> RefbotWSGI:
        """Runs in each web process after the fork: its own engine, pool and Bolt app."""
        self.bot = self.make_bot()
        self.bot.start()
        return RefbotWSGI(self.bot)

    def _when_ready(self, arbiter: Any) -> None:
        host, port = arbiter.LISTENERS[0].sock.getsockname()[:2]
        self.on_ready(f"http://{host}:{port}")

    def _worker_exit(self, arbiter: Any, worker: Any) -> None:
        if self.bot is not None:  # requests are answered; let the listeners finish what they acknowledged
            self.bot.stop()


class Supervisor:
    """`refbot serve --workers N` as one command: the web tier (gunicorn's master, `serve --no-worker`) and
    one `refbot worker`, each a child of this small process, which gunicorn's master is not: its reaping of
    *any* child would steal the worker's exit status. SIGTERM/SIGINT stop the web tier first (it answers what
    it holds), then the worker (it delivers what the last requests enqueued); a worker that dies on its own is
    started again, and if the web tier dies, everything stops with its status."""

    def __init__(self, web: Sequence[str], worker: Sequence[str], *, grace: float = 30.0) -> None:
        self.web_argv, self.worker_argv = list(web), list(worker)
        self.grace = grace
        self._stopping = threading.Event()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self._stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self._stopping.set())
        web = subprocess.Popen(self.web_argv)
        worker = subprocess.Popen(self.worker_argv)
        while not self._stopping.wait(0.2):
            if web.poll() is not None:
                log.error("the web processes exited with status %s; stopping the worker", web.returncode)
                break
            if worker.poll() is not None:
                log.error("refbot worker exited with status %s; starting it again", worker.returncode)
                self._stopping.wait(2)
                if not self._stopping.is_set():
                    worker = subprocess.Popen(self.worker_argv)
        _terminate(web, self.grace)
        _terminate(worker, self.grace)
        return 0 if self._stopping.is_set() else (web.returncode or 1)


def _terminate(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM and wait; SIGKILL only if it has not exited after `grace` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def child_argv(env_file: str, *command: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", "--env-file", env_file, *command]
