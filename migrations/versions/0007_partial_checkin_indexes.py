"""partial indexes for check-ins looked up by request or by round

Most check-ins belong to periodic rounds (no request), and request check-ins have no round. Once SQLite
has statistics (ANALYZE, `PRAGMA optimize`), a full index on a mostly-NULL column looks unselective and
`request_id = ?` became a scan of every check-in (7 ms on 90,000 rows, on every Cancel and Approve).
Indexing only the rows that have a value keeps the lookups on the index, on both databases.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("request_id", "round_subject")


def upgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_checkins_{column}", table_name="checkins")
        present = sa.text(f"{column} IS NOT NULL")
        op.create_index(f"ix_checkins_{column}", "checkins", [column], sqlite_where=present, postgresql_where=present)


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_checkins_{column}", table_name="checkins")
        op.create_index(f"ix_checkins_{column}", "checkins", [column])
