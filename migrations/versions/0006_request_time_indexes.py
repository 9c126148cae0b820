"""request time indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reference_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reference_requests_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reference_requests_decided_at"), ["decided_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reference_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reference_requests_decided_at"))
        batch_op.drop_index(batch_op.f("ix_reference_requests_created_at"))
