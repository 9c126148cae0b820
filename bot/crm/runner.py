"""Running a sync for `refbot crm sync` and the scheduled `crm` job: the connector, the Slack owner
directory and the nightly full pass, decided in one place."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.crm.connect import connect
from bot.crm.sync import CrmSync, SyncReport
from bot.importing.owners import OwnerDirectory, SlackOwnerDirectory
from bot.importing.progress import ProgressFactory, silent
from bot.settings import Settings, cron_trigger
from models import CrmSyncState
from models.db import Database


def owner_directory(settings: Settings) -> OwnerDirectory | None:
    """Slack's users.lookupByEmail through the bot's client; None without a token (owners kept as e-mail)."""
    if not settings.slack_bot_token:
        return None
    from bot.slack_client import make_client

    return SlackOwnerDirectory(make_client(settings))


def full_pass_due(db: Database, settings: Settings, now: datetime) -> bool:
    """True when REFBOT_SCHEDULE_CRM_FULL has fired since the last full pass (or there never was one)."""
    with db.reading() as session:
        last = session.scalar(
            select(func.min(CrmSyncState.last_full_at)).where(CrmSyncState.crm == (settings.crm_name or ""))
        )
    if last is None:
        return True
    fire = cron_trigger(settings.schedule_crm_full, settings.timezone).get_next_fire_time(None, last)
    return fire is not None and fire <= now


def sync_now(
    db: Database,
    settings: Settings,
    *,
    full: bool = False,
    dry_run: bool = False,
    worker: str = "cli",
    progress: ProgressFactory = silent,
) -> SyncReport:
    """One sync of the connected CRM (NotConnected when there is none)."""
    connector = connect(settings)
    try:
        return CrmSync(db, settings, connector, owners=owner_directory(settings), progress=progress, worker=worker).run(
            full=full, dry_run=dry_run
        )
    finally:
        connector.close()
