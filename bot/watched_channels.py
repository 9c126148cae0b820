"""Which public channels a manager asked refbot to watch for reference asks (`/reference watch|unwatch`).

The store only: whether a message is an ask is `bot.shadow`'s question (and `bot.shadow_model`'s), and
what the author is shown is `bot.views.shadow`'s.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot import audit
from bot.errors import InvalidTransition
from models import WatchedChannel
from models.types import utcnow


def watched(session: Session, channel_id: str) -> WatchedChannel | None:
    return session.get(WatchedChannel, channel_id)


def watch(session: Session, channel_id: str, actor: str) -> tuple[WatchedChannel, bool]:
    """Turn capture on in a channel; (the record, True when this call turned it on). Audited."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(WatchedChannel)
        .values(channel_id=channel_id, enabled_by=actor, enabled_at=utcnow())
        .on_conflict_do_nothing()
        .returning(WatchedChannel.channel_id)
    )
    created = session.execute(stmt).first() is not None
    if created:
        audit.record(session, actor, "channel.watched", "channel", channel_id)
    record = session.get(WatchedChannel, channel_id, populate_existing=True)
    if record is None:  # turned off by someone else between the two statements
        raise InvalidTransition("Someone turned this off at the same moment; run `/reference watch` again.")
    return record, created


def unwatch(session: Session, channel_id: str, actor: str) -> bool:
    """Turn capture off; True when it was on. Audited."""
    removed = session.execute(
        delete(WatchedChannel).where(WatchedChannel.channel_id == channel_id).returning(WatchedChannel.channel_id)
    ).first()
    if removed is None:
        return False
    audit.record(session, actor, "channel.unwatched", "channel", channel_id)
    return True
