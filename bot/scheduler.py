"""When jobs run: APScheduler inside `serve` and `socket`, one scheduler per process.

Every replica runs the same schedule; `bot.jobs.run_job` claims each fire's period in the database, so
a period runs once however many replicas fire it. The period is the *scheduled* fire time (not the
moment a replica happened to wake), so all replicas name it alike.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.jobs import JOBS, run_job
from bot.observability import Metrics
from bot.outbox import OutboxWorker
from bot.settings import Settings, cron_trigger
from models.db import Database
from models.types import utcnow

log = logging.getLogger(__name__)


def scheduled_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The trigger's latest fire time at or before `now` (within the last day)."""
    fire = trigger.get_next_fire_time(None, now - timedelta(days=1))
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return last


class JobScheduler:
    def __init__(
        self, db: Database, settings: Settings, outbox: OutboxWorker, worker_id: str, metrics: Metrics | None = None
    ) -> None:
        self.metrics = metrics
        self.db = db
        self.settings = settings
        self.outbox = outbox
        self.worker_id = worker_id
        self._scheduler = BackgroundScheduler(timezone=settings.timezone)
        self._triggers = {name: cron_trigger(job.schedule(settings), settings.timezone) for name, job in JOBS.items()}
        for name, trigger in self._triggers.items():
            self._scheduler.add_job(
                self._fire,
                trigger,
                args=[name],
                id=name,
                name=name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=300,
            )

    def _fire(self, name: str) -> None:
        fire = scheduled_time(self._triggers[name], utcnow()) or utcnow()
        try:
            result = run_job(self.db, self.settings, name, period=fire.isoformat(), worker=self.worker_id)
        except Exception:  # the next period tries again; the outbox keys make a retry harmless
            log.exception("job %s failed", name)
            if self.metrics is not None:
                self.metrics.job_runs.labels(name, "failed").inc()
            return
        if self.metrics is not None:
            self.metrics.job_runs.labels(name, "skipped" if result.skipped and not result.messages else "ran").inc()
        if result.messages:
            self.outbox.kick()

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def next_runs(self) -> dict[str, datetime | None]:
        return {name: trigger.get_next_fire_time(None, utcnow()) for name, trigger in self._triggers.items()}
