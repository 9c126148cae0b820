"""customer check-in summary and owner email

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("last_checkin_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_checkin_answer", sa.String(length=20), nullable=True))
        batch_op.create_index(batch_op.f("ix_customers_last_checkin_at"), ["last_checkin_at"], unique=False)

    with op.batch_alter_table("reference_uses", schema=None) as batch_op:
        batch_op.create_index("ix_reference_uses_contact_used", ["contact_id", "used_at"], unique=False)

    # Backfill the summary from the check-in history already on record.
    for column, source in (("last_checkin_at", "answered_at"), ("last_checkin_answer", "answer")):
        op.execute(
            f"UPDATE customers SET {column} = (SELECT c.{source} FROM checkins c "
            "WHERE c.customer_id = customers.id AND c.status = 'answered' "
            "ORDER BY c.answered_at DESC, c.id DESC LIMIT 1)"
        )


def downgrade() -> None:
    with op.batch_alter_table("reference_uses", schema=None) as batch_op:
        batch_op.drop_index("ix_reference_uses_contact_used")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_last_checkin_at"))
        batch_op.drop_column("last_checkin_answer")
        batch_op.drop_column("last_checkin_at")
        batch_op.drop_column("owner_email")
