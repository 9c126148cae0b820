"""content library, recruiting and thanks: assets and their uses, nominations, thanks

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("title_key", sa.String(length=300), nullable=False),
        sa.Column("link", sa.String(length=1000), nullable=False),
        sa.Column("consent_type", sa.String(length=20), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_assets_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
    )
    op.create_index("ix_assets_customer_kind", "assets", ["customer_id", "kind"])
    op.create_index(op.f("ix_assets_kind"), "assets", ["kind"])
    op.create_index(op.f("ix_assets_title_key"), "assets", ["title_key"])
    op.create_table(
        "asset_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("used_by", sa.String(length=64), nullable=False),
        sa.Column("prospect", sa.String(length=150), nullable=False),
        sa.Column("opportunity", sa.String(length=150), nullable=False),
        sa.Column("used_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_asset_uses_asset_id_assets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_uses")),
        sa.UniqueConstraint("via", name=op.f("uq_asset_uses_via")),
    )
    op.create_index("ix_asset_uses_asset_used", "asset_uses", ["asset_id", "used_at"])
    op.create_index("ix_asset_uses_used_at", "asset_uses", ["used_at"])


    op.create_table(
        "nominations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("nominated_by", sa.String(length=64), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_title", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_nominations_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nominations")),
        sa.UniqueConstraint("via", name=op.f("uq_nominations_via")),
    )
    op.create_index("ix_nominations_status_created", "nominations", ["status", "created_at"])
    op.create_index("ix_nominations_customer", "nominations", ["customer_id"])


    op.create_table(
        "thanks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("asked_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_thanks_customer_id_customers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reference_requests.id"],
            name=op.f("fk_thanks_request_id_reference_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thanks")),
        sa.UniqueConstraint("request_id", name=op.f("uq_thanks_request_id")),
    )
    op.create_index("ix_thanks_status_asked", "thanks", ["status", "asked_at"])
    op.create_index("ix_thanks_customer", "thanks", ["customer_id"])


def downgrade() -> None:
    op.drop_table("thanks")
    op.drop_table("nominations")
    op.drop_table("asset_uses")
    op.drop_table("assets")
