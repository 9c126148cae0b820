"""Keeps `Customer.last_checkin_at` / `last_checkin_answer` equal to the latest answered check-in.

It runs on every ORM flush that touches a check-in, so no code path (an answer, an import, a test
factory) can leave the summary behind; bulk writers that bypass the ORM call `refresh()` themselves.
`Database` attaches `after_flush` to the sessions it makes (`models.db`); nothing is attached at import.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, UOWTransaction

from models.customer import CheckIn, Customer
from models.enums import CheckInStatus


def refresh(connection: Connection | Session, customer_ids: Iterable[int]) -> None:
    """Recompute the summary columns of these customers from their check-in history."""
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        latest = (
            select(CheckIn.answered_at)
            .where(CheckIn.customer_id == Customer.id, CheckIn.status == CheckInStatus.ANSWERED)
            .order_by(CheckIn.answered_at.desc(), CheckIn.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        answer = (
            select(CheckIn.answer)
            .where(CheckIn.customer_id == Customer.id, CheckIn.status == CheckInStatus.ANSWERED)
            .order_by(CheckIn.answered_at.desc(), CheckIn.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        connection.execute(
            update(Customer)
            .where(Customer.id.in_(chunk))
            .values(last_checkin_at=latest, last_checkin_answer=answer)
            .execution_options(synchronize_session=False)
        )


def after_flush(session: Session, flush_context: UOWTransaction) -> None:
    """Recompute the summary of the customers whose check-ins this flush wrote (a Session event)."""
    touched = {
        obj.customer_id
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, CheckIn) and obj.customer_id is not None
    }
    if touched:
        refresh(session.connection(), touched)
        for obj in session.identity_map.values():
            if isinstance(obj, Customer) and obj.id in touched:
                session.expire(obj, ["last_checkin_at", "last_checkin_answer"])
