"""the CRM connection: CRM ids on customers and contacts, accounts, users, opportunities, sync state

Customers and contacts gain nullable CRM ids (a spreadsheet-only customer has none); requests gain a link
to the opportunity they are for. The new tables start empty: the first `refbot crm sync` fills them.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("industry", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("segment", sa.String(length=100), nullable=False),
        sa.Column("is_customer", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("crm_modified_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_accounts")),
        sa.UniqueConstraint("crm", "crm_id", name="uq_crm_accounts_crm_id"),
    )
    op.create_table(
        "crm_sync_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("stream", sa.String(length=20), nullable=False),
        sa.Column("watermark", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_full_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("error_since", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error_notified", sa.Boolean(), nullable=False),
        sa.Column("running_by", sa.String(length=64), nullable=True),
        sa.Column("running_until", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_sync_state")),
        sa.UniqueConstraint("crm", "stream", name="uq_crm_sync_state_stream"),
    )
    op.create_table(
        "crm_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("slack_id", sa.String(length=32), nullable=True),
        sa.Column("looked_up_email", sa.String(length=320), nullable=False),
        sa.Column("lookup_note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_users")),
        sa.UniqueConstraint("crm", "crm_id", name="uq_crm_users_crm_id"),
    )
    with op.batch_alter_table("crm_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_users_slack_id"), ["slack_id"], unique=False)

    op.create_table(
        "opportunities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("account_crm_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("is_closed", sa.Boolean(), nullable=False),
        sa.Column("is_won", sa.Boolean(), nullable=False),
        sa.Column("owner_crm_id", sa.String(length=64), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("crm_modified_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
        sa.UniqueConstraint("crm", "crm_id", name="uq_opportunities_crm_id"),
    )
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.create_index("ix_opportunities_owner_open", ["owner_crm_id", "is_closed"], unique=False)

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crm_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_contacts_crm_id"), ["crm_id"], unique=False)

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crm", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("crm_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("crm_owner_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_customers_crm_id", ["crm", "crm_id"])

    with op.batch_alter_table("reference_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opportunity_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_reference_requests_opportunity_id"), ["opportunity_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_reference_requests_opportunity_id_opportunities"),
            "opportunities",
            ["opportunity_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("reference_requests", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_reference_requests_opportunity_id_opportunities"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_reference_requests_opportunity_id"))
        batch_op.drop_column("opportunity_id")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint("uq_customers_crm_id", type_="unique")
        batch_op.drop_column("crm_owner_id")
        batch_op.drop_column("crm_id")
        batch_op.drop_column("crm")

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_crm_id"))
        batch_op.drop_column("crm_id")

    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_index("ix_opportunities_owner_open")

    op.drop_table("opportunities")
    with op.batch_alter_table("crm_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_users_slack_id"))

    op.drop_table("crm_users")
    op.drop_table("crm_sync_state")
    op.drop_table("crm_accounts")
