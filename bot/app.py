"""`create_app(settings)`: the Bolt app and everything around it, built on demand, never at import."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from slack_bolt import App

import handlers
from bot import kinds
from bot.crm import writeback
from bot.deps import Deps
from bot.home import HomeMemory
from bot.notifications import build_renderers
from bot.observability import Metrics
from bot.outbox import OutboxWorker
from bot.ratelimit import Pacer
from bot.scheduler import JobScheduler
from bot.settings import Settings
from bot.shadow_model import AskModel
from bot.slack_client import make_client
from bot.wakeup import listener_for, notifier_for
from models.db import Database

log = logging.getLogger(__name__)


class _SameTokenNotice(logging.Filter):
    """Drops Bolt's start-up warning "As you gave `client` as well, `token` will be unused": Bolt reads
    SLACK_BOT_TOKEN from the environment by itself, and our client carries that very token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("As you gave `client` as well")


BOLT_LOG = logging.getLogger("refbot.bolt")
BOLT_LOG.addFilter(_SameTokenNotice())


class ListenerExecutor(ThreadPoolExecutor):
    """Bolt's pool for the work listeners do after `ack()` (views.open, the transaction behind a click),
    which keeps count of it, so that a graceful stop can wait for it before the outbox's last delivery."""

    def __init__(self, max_workers: int = 5) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="refbot-listener")
        self._running: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._running.discard(future)

    def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for listener work already started; True when all of it finished."""
        with self._lock:
            running = list(self._running)
        _, not_done = wait(running, timeout=timeout)
        if not_done:
            log.warning("stopping with %d listener(s) still running after %gs", len(not_done), timeout)
        return not not_done


Role = Literal["all", "web", "worker"]
"""What a process does: `all` answers Slack *and* delivers the outbox and runs the schedule (one process, as
`refbot serve --workers 1` and `refbot socket`); `web` only answers Slack and wakes the workers; `worker`
only delivers and runs the schedule (`refbot worker`)."""


@dataclass
class Refbot:
    """A built bot: the Bolt app, its dependencies, the outbox worker and the job scheduler."""

    bolt: App
    deps: Deps
    metrics: Metrics
    scheduler: JobScheduler | None = None
    listeners: ListenerExecutor | None = None
    role: Role = "all"

    @property
    def delivers(self) -> bool:
        """Whether this process runs the outbox's delivery thread (a web-only process leaves it to workers)."""
        return self.role != "web"

    def start(self) -> None:
        if self.delivers:
            self.deps.outbox.start()
            self.deps.outbox.kick()  # deliver whatever a previous process left behind
        if self.scheduler is not None:
            self.scheduler.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Let listeners finish what they acknowledged, stop taking scheduled work, then let the outbox
        deliver what is due (what those listeners just enqueued included) before it stops."""
        if self.listeners is not None:
            self.listeners.drain(timeout / 2)
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.delivers:
            self.deps.outbox.stop(timeout)


def create_app(
    settings: Settings, *, db: Database | None = None, socket_mode: bool = False, role: Role = "all"
) -> Refbot:
    """Build the bot. No network call happens here, and none later except to SLACK_API_URL (and, between
    refbot's own processes, the database's wake-up channel; see bot/wakeup.py)."""
    db = db or Database(settings.database_url)
    metrics = Metrics(db)
    client = make_client(settings)
    outbox_client = make_client(settings, for_outbox=True)
    for instrumented in (client, outbox_client):
        instrumented.metrics = metrics
    homes = HomeMemory()
    outbox = OutboxWorker(
        db,
        outbox_client,
        build_renderers(settings, homes),
        poll_seconds=settings.outbox_poll_seconds,
        pacer=Pacer(per_channel=settings.rate_per_channel, total=settings.rate_global),
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        senders={kinds.CRM_ACTIVITY: writeback.CrmWriter(settings)},
        notifier=notifier_for(db, settings.database_url) if role == "web" else None,
        listener=listener_for(settings.database_url) if role == "worker" else None,
    )
    listeners = ListenerExecutor()
    bolt = App(
        client=client,
        listener_executor=listeners,
        signing_secret=settings.slack_signing_secret or None,
        request_verification_enabled=not socket_mode and role != "worker",
        token_verification_enabled=False,
        logger=BOLT_LOG,
    )
    deps = Deps(settings=settings, db=db, client=client, outbox=outbox, homes=homes, asks=AskModel.load())
    handlers.register_all(bolt, deps)
    runs_schedule = settings.run_scheduler and role != "web"
    scheduler = JobScheduler(db, settings, outbox, outbox.worker_id, metrics) if runs_schedule else None
    return Refbot(bolt=bolt, deps=deps, metrics=metrics, scheduler=scheduler, listeners=listeners, role=role)
