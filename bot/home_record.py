"""The App Home on record, and its refreshes: who has a Home, and publishing it again after a change.

A person's first visit leaves an outbox row of kind `home` (`remember_home`); from then on every change
that concerns them enqueues one refresh row (`refresh_homes`, in the change's own transaction), which the
outbox renders from the database at delivery and skips when a newer one waits behind it (`superseded`).
`bot.requests`, `bot.jobs` and `bot.home` all keep Homes current through this module alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.kinds import HOME
from bot.outbox import enqueue
from models import OutboxMessage
from models.enums import OutboxStatus
from models.types import utcnow


def home_subject(user_id: str) -> str:
    return f"home:{user_id}"


def refresh_homes(session: Session, users: Iterable[str | None]) -> None:
    """Re-publish, once this transaction commits, the App Home of each of `users` who has one.

    Only people whose Home is on record (an outbox row of kind `home`: their first visit leaves one) get
    a refresh, so nobody is sent a tab they never look at. Each refresh is a row with a fresh key, rendered
    from the database at delivery; a burst of them for one person coalesces there (a row with a newer one
    waiting behind it is skipped), so only the latest state is published. One row per person per
    transaction, however many changes it makes.
    """
    transaction = session.get_transaction()
    done: set[str] = session.info.setdefault(("refbot.homes", id(transaction)), set())
    subjects = {home_subject(u): u for u in sorted({u for u in users if u} - done)}
    if not subjects:
        return
    known = session.scalars(
        select(OutboxMessage.subject)
        .where(OutboxMessage.subject.in_(list(subjects)), OutboxMessage.kind == HOME)
        .distinct()
    ).all()
    for subject in sorted(known):
        enqueue(
            session,
            key=f"{subject}:{uuid.uuid4().hex}",
            kind=HOME,
            recipient=subjects[subject],
            subject=subject,
        )
    done.update(subjects.values())


def last_home_row(session: Session, user: str) -> int | None:
    """The newest `home` outbox row for `user` (None: their Home is not on record yet)."""
    return session.scalar(
        select(func.max(OutboxMessage.id)).where(
            OutboxMessage.subject == home_subject(user), OutboxMessage.kind == HOME
        )
    )


def overtaken(session: Session, user: str, since: int | None) -> bool:
    """Was a refresh for `user` enqueued after row `since` and already delivered? Then a Home published
    directly, built before that change, may have landed after it and must be published once more."""
    return (
        session.scalar(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.subject == home_subject(user),
                OutboxMessage.kind == HOME,
                OutboxMessage.id > (since or 0),
                OutboxMessage.status != OutboxStatus.PENDING,
            )
            .limit(1)
        )
        is not None
    )


def remember_home(session: Session, user: str) -> None:
    """Record, once, that `user` has opened their Home: from now on the changes that concern them refresh it.

    The record is an outbox row already sent (the Home was published directly), so the outbox stays the
    one ledger of what refbot showed whom.
    """
    subject = home_subject(user)
    now = utcnow()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(OutboxMessage)
        .values(
            idempotency_key=f"{subject}:opened",
            kind=HOME,
            recipient=user,
            subject=subject,
            params={},
            status=OutboxStatus.SENT.value,
            attempts=1,
            next_attempt_at=now,
            last_error="",
            created_at=now,
            sent_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )


def superseded(session: Session, row: OutboxMessage) -> bool:
    """A `home` refresh with a newer one for the same person waiting behind it: only the newer is published."""
    if row.status != OutboxStatus.PENDING:
        return False
    newer = session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.subject == row.subject,
            OutboxMessage.kind == HOME,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.id > row.id,
        )
        .limit(1)
    )
    return newer is not None
