"""a request remembers the Slack message it was started from; incidents say who recorded and resolved them

The message shortcut "Request a reference" keeps the message's permalink on the request so the managers
can read the original ask ("from this message"). Existing requests came from the form: they have none.
Incidents recorded and resolved in Slack keep who did it and when; imported ones have no one.

Revision ID: 0012
Revises: 0010 (linked after 0010 when merging main; written against 0007)
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reference_requests") as batch:
        batch.add_column(sa.Column("source_permalink", sa.String(500), nullable=False, server_default=""))
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("recorded_by", sa.String(32), nullable=True))
        batch.add_column(sa.Column("recorded_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.String(32), nullable=True))
        batch.add_column(sa.Column("resolved_at", models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        for column in ("resolved_at", "resolved_by", "recorded_at", "recorded_by"):
            batch.drop_column(column)
    with op.batch_alter_table("reference_requests") as batch:
        batch.drop_column("source_permalink")
