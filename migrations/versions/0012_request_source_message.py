"""a request remembers the Slack message it was started from

The message shortcut "Request a reference" keeps the message's permalink on the request so the managers
can read the original ask ("from this message"). Existing requests came from the form: they have none.

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reference_requests") as batch:
        batch.add_column(sa.Column("source_permalink", sa.String(500), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("reference_requests") as batch:
        batch.drop_column("source_permalink")
