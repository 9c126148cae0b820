"""outcomes, reminders, consent notices, job runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=60), nullable=False),
        sa.Column("period", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=False),
        sa.Column("claimed_until", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job", "period", name=op.f("uq_job_runs_job")),
    )
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("round_subject", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_checkins_round_subject"), ["round_subject"], unique=False)

    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expiry_notice_for", sa.Date(), nullable=True))

    with op.batch_alter_table("reference_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("outcome_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("outcome_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("held_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("deal_stage", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("deal_won", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("amount_influenced", sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column("feedback", sa.Text(), nullable=False, server_default=""))
        batch_op.create_index(batch_op.f("ix_reference_requests_outcome_at"), ["outcome_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reference_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reference_requests_outcome_at"))
        batch_op.drop_column("feedback")
        batch_op.drop_column("amount_influenced")
        batch_op.drop_column("deal_won")
        batch_op.drop_column("deal_stage")
        batch_op.drop_column("held_on")
        batch_op.drop_column("outcome_at")
        batch_op.drop_column("outcome_by")
        batch_op.drop_column("outcome")

    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_column("expiry_notice_for")

    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkins_round_subject"))
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("round_subject")

    op.drop_table("job_runs")
