"""Migrations: the models match head, and every earlier revision upgrades to head without losing a row."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot import migrate
from models import Base
from models.db import Database
from tests import factories
from tests.conftest import BACKENDS
from tests.postgres import private_schema


def test_models_match_the_migrated_schema(db: Database) -> None:
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert migrate.is_current(db.engine)


def test_checkin_lookups_stay_on_their_index_once_sqlite_has_statistics(tmp_path: Path) -> None:
    """Most check-ins have no request (periodic rounds) or no round. With ANALYZE's statistics a full index on
    such a column looked unselective to SQLite, and every Cancel and Approve scanned all check-ins."""
    from sqlalchemy import select

    from models import CheckIn
    from models.enums import CheckInStatus

    url = f"sqlite:///{tmp_path / 'stats.db'}"
    db = Database(url)
    try:
        migrate.upgrade(db.engine)
        with db.transaction() as session:
            customer = factories.customer(session, "Acme").id
        with db.engine.begin() as conn:
            conn.execute(
                CheckIn.__table__.insert(),
                [
                    {"customer_id": customer, "purpose": "periodic", "status": "answered", "asked_of": "U1"}
                    | {"asked_by": "refbot", "note": "", "round_subject": None if i % 50 else f"round:{i}"}
                    for i in range(2000)
                ],
            )
            conn.execute(text("ANALYZE"))
        lookups = [
            select(CheckIn.asked_of).where(CheckIn.request_id == 5),
            select(CheckIn).where(CheckIn.request_id == 5, CheckIn.status == CheckInStatus.PENDING),
            select(CheckIn).where(CheckIn.round_subject == "round:50"),
        ]
        with db.engine.connect() as conn:
            for lookup in lookups:
                compiled = lookup.compile(conn, compile_kwargs={"literal_binds": True})
                plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
                assert "USING INDEX ix_checkins_" in plan and "SCAN" not in plan, (str(compiled), plan)
    finally:
        db.dispose()


def revisions() -> list[str]:
    engine = create_engine("sqlite://")
    script = ScriptDirectory.from_config(migrate.alembic_config(engine))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield engine
        engine.dispose()
        return
    with private_schema(os.environ["TEST_DATABASE_URL"], "refbot_mig") as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


NOW = datetime(2026, 11, 2, 12, 0)
OLD = NOW - timedelta(days=40)

# Rows written with the columns of the first revision, which every later revision keeps.
SEED = [
    (
        "INSERT INTO customers (id, name, name_key, domain, industry, region, segment, products, topics, "
        "owner_slack_id, referenceable, not_referenceable_reason, guidance, notes, created_at, updated_at) VALUES "
        "(1, 'Acme Corp', 'acme corp', 'acme.com', 'Fintech', 'EMEA', 'Enterprise', '[\"Payments\"]', '[]', "
        "'U0OWNER1', true, '', '', '', :old, :old)"
    ),
    (
        "INSERT INTO contacts (id, customer_id, name, title, email, is_primary) "
        "VALUES (1, 1, 'Jane', 'VP', 'j@acme.com', true)"
    ),
    (
        "INSERT INTO consents (id, customer_id, ref_type, approved_by, approved_on, expires_on, recorded_by, "
        "recorded_at) VALUES (1, 1, 'logo', 'CMO', '2025-01-01', '2027-01-01', 'U0MGR', :old)"
    ),
    (
        "INSERT INTO reference_requests (id, requester_id, prospect, ref_type, industry, products, region, segment, "
        "topics, notes, status, customer_id, contact_id, decided_by, decided_at, decline_reason, created_at, "
        "updated_at, version) VALUES (1, 'U0REP', 'Globex', 'call', 'Fintech', '[]', 'EMEA', '', '[]', '', "
        "'approved', 1, 1, 'U0MGR', :old, '', :old, :old, 2)"
    ),
    (
        "INSERT INTO checkins (id, customer_id, request_id, purpose, status, asked_of, asked_by, asked_at, answer, "
        "nps, note, answered_by, answered_at, version) VALUES (1, 1, 1, 'approval', 'answered', 'U0OWNER1', "
        "'U0MGR', :old, 'happy', 9, 'fine', 'U0OWNER1', :old, 2)"
    ),
    (
        "INSERT INTO reference_uses (id, customer_id, contact_id, request_id, ref_type, used_at, counted) "
        "VALUES (1, 1, 1, 1, 'call', :old, true)"
    ),
    (
        "INSERT INTO outbox (id, idempotency_key, kind, params, recipient, subject, status, attempts, "
        "next_attempt_at, last_error, created_at) VALUES (1, 'request:1:receipt', 'request.receipt', '{}', "
        "'U0REP', 'request:1', 'sent', 1, :old, '', :old)"
    ),
    (
        "INSERT INTO audit_log (id, at, actor, action, entity, entity_id, details) "
        "VALUES (1, :old, 'U0MGR', 'x', 'request', '1', '{}')"
    ),
    "INSERT INTO inbound_deliveries (key, received_at) VALUES ('trigger:1', :old)",
]
TABLES = [
    "customers",
    "contacts",
    "consents",
    "reference_requests",
    "checkins",
    "reference_uses",
    "outbox",
    "audit_log",
    "inbound_deliveries",
]


@pytest.mark.parametrize("start", revisions())
def test_every_revision_with_data_upgrades_to_head_without_losing_rows(empty_engine: Engine, start: str) -> None:
    migrate.upgrade(empty_engine, start)
    with empty_engine.begin() as conn:
        for statement in SEED:
            conn.execute(
                text(statement), {"old": OLD.replace(tzinfo=UTC) if empty_engine.dialect.name == "postgresql" else OLD}
            )
    migrate.upgrade(empty_engine)
    assert migrate.is_current(empty_engine)
    with empty_engine.connect() as conn:
        for table in TABLES:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1, table
        if start == revisions()[0]:
            # 0002's backfill: the summary of rows that existed before it comes from their history.
            answer = conn.execute(text("SELECT last_checkin_answer FROM customers WHERE id = 1")).scalar()
            assert answer == "happy"
        assert conn.execute(text("SELECT name FROM customers WHERE id = 1")).scalar() == "Acme Corp"
        # 0012: a request written before the message shortcut existed came from no message.
        assert conn.execute(text("SELECT source_permalink FROM reference_requests WHERE id = 1")).scalar() == ""
    database = Database(str(empty_engine.url.render_as_string(hide_password=False)))
    with database.reading() as session:
        from models import Customer, ReferenceRequest

        customer = session.get(Customer, 1)
        assert customer is not None and customer.created_at == OLD.replace(tzinfo=UTC)
        if start == revisions()[0]:
            assert customer.last_checkin_at == OLD.replace(tzinfo=UTC)
        request = session.get(ReferenceRequest, 1)
        assert request is not None and (request.status, request.deal_stage, request.feedback) == ("approved", "", "")
    database.dispose()
