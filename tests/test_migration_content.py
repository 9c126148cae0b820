"""Migration 0010 (the content library) upgrades a database holding data, on every database."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot import migrate
from models.db import Database
from tests.test_migrations import OLD, SEED, TABLES, empty_engine  # noqa: F401  (the fixture, per backend)


def test_content_library_migration_keeps_every_row_and_holds_assets(empty_engine: Engine) -> None:  # noqa: F811
    migrate.upgrade(empty_engine, "0007")
    old = OLD.replace(tzinfo=UTC) if empty_engine.dialect.name == "postgresql" else OLD
    with empty_engine.begin() as conn:
        for statement in SEED:
            conn.execute(text(statement), {"old": old})
    migrate.upgrade(empty_engine)
    assert migrate.is_current(empty_engine)
    with empty_engine.begin() as conn:
        for table in TABLES:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1, table
        conn.execute(
            text(
                "INSERT INTO assets (id, customer_id, kind, title, title_key, link, consent_type, published_on, "
                "expires_on, industry, products, topics, added_by, created_at) VALUES (1, 1, 'logo', 'Acme logo', "
                "'acme logo', 'https://acme.com/logo.svg', 'logo', '2025-02-01', NULL, 'Fintech', '[\"Payments\"]', "
                "'[]', 'U0MGR', :old)"
            ),
            {"old": old},
        )
        conn.execute(
            text(
                "INSERT INTO asset_uses (id, asset_id, used_by, prospect, opportunity, used_at, via) "
                "VALUES (1, 1, 'U0REP', 'Globex', '', :old, 'V1')"
            ),
            {"old": old},
        )
        conn.execute(
            text(
                "INSERT INTO nominations (id, customer_id, nominated_by, why, contact_name, contact_title, "
                "contact_email, kinds, status, decline_reason, created_at, version) VALUES (1, 1, 'U0REP', 'fans', "
                "'Jane', '', '', '[\"call\"]', 'pending', '', :old, 1)"
            ),
            {"old": old},
        )
        conn.execute(
            text(
                "INSERT INTO thanks (id, request_id, customer_id, owner, contact_name, status, note, asked_at, "
                "version) VALUES (1, 1, 1, 'U0OWNER1', 'Jane', 'asked', '', :old, 1)"
            ),
            {"old": old},
        )
    database = Database(str(empty_engine.url.render_as_string(hide_password=False)))
    with database.reading() as session:
        from models import Asset, Nomination, Thanks

        asset = session.get(Asset, 1)
        assert asset is not None and asset.customer.name == "Acme Corp" and asset.products == ["Payments"]
        assert [(u.prospect, u.used_at) for u in asset.uses] == [("Globex", OLD.replace(tzinfo=UTC))]
        nomination, thanks = session.get(Nomination, 1), session.get(Thanks, 1)
        assert nomination is not None and nomination.kinds == ["call"] and nomination.customer.name == "Acme Corp"
        assert thanks is not None and thanks.request.prospect == "Globex"
    database.dispose()
    # Deleting the customer takes its content with it (ON DELETE CASCADE), as it takes contacts and consents.
    with empty_engine.begin() as conn:
        if empty_engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys = ON")
        conn.execute(text("DELETE FROM thanks"))
        conn.execute(text("DELETE FROM reference_uses"))
        conn.execute(text("DELETE FROM checkins"))
        conn.execute(text("DELETE FROM reference_requests"))
        conn.execute(text("DELETE FROM customers"))
        assert conn.execute(text("SELECT count(*) FROM asset_uses")).scalar() == 0
