"""`Database`: readings never write, and on PostgreSQL they cost no transaction round trips."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from models import Customer, InboundDelivery
from models.db import Database, WriteInReading
from models.types import utcnow
from tests import factories


def test_a_write_inside_a_reading_is_refused_and_leaves_nothing(db: Database) -> None:
    with db.transaction() as session:
        customer_id = factories.customer(session, "Acme Corp").id
    with pytest.raises(WriteInReading), db.reading() as session:
        session.execute(insert(InboundDelivery).values(key="trigger:1", received_at=utcnow()))
    with pytest.raises(WriteInReading), db.reading() as session:
        session.get(Customer, customer_id).name = "Renamed"
        session.flush()
    with pytest.raises(WriteInReading), db.reading() as session:
        session.connection().execute(update(Customer.__table__).values(name="Renamed"))
    with db.reading() as session:
        assert session.scalars(select(InboundDelivery)).all() == []
        assert session.get(Customer, customer_id).name == "Acme Corp"
    with db.transaction() as session:  # writing transactions are untouched
        session.execute(insert(InboundDelivery).values(key="trigger:1", received_at=utcnow()))


def test_readings_skip_begin_and_rollback_on_postgresql(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL only: SQLite readings are in-process")
    with db.transaction() as session:
        factories.customer(session, "Acme Corp")
    with db.reading() as session:
        assert session.scalars(select(Customer.name)).all() == ["Acme Corp"]
        raw = session.connection().connection.dbapi_connection
        assert raw.autocommit and raw.info.transaction_status.name == "IDLE"  # no transaction left open
    with db.transaction() as session:  # a writing transaction is one, as ever
        session.scalars(select(Customer.name)).all()
        raw = session.connection().connection.dbapi_connection
        assert not raw.autocommit and raw.info.transaction_status.name == "INTRANS"
