"""What refbot keeps of a connected CRM: its accounts, users and opportunities, and where each sync stands.

Customers and contacts carry their CRM id on their own rows (`Customer.crm_id`, `Contact.crm_id`); the
tables here mirror what refbot needs of the rest: every account (prospects too, whose industry and region
fill a request form), the users who own accounts and deals (with the Slack user each maps to, so that
lookup is made once per address), the opportunities, and one row per (CRM, stream) with its watermark.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.types import UTCDateTime, utcnow


class CrmAccount(Base):
    """A company in the CRM, customer or prospect, as the last sync saw it."""

    __tablename__ = "crm_accounts"
    __table_args__ = (UniqueConstraint("crm", "crm_id", name="uq_crm_accounts_crm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    crm: Mapped[str] = mapped_column(String(20))
    crm_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    segment: Mapped[str] = mapped_column(String(100), default="")
    is_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    crm_modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CrmUser(Base):
    """A CRM user who owns accounts or deals, and the Slack user their e-mail address belongs to."""

    __tablename__ = "crm_users"
    __table_args__ = (UniqueConstraint("crm", "crm_id", name="uq_crm_users_crm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    crm: Mapped[str] = mapped_column(String(20))
    crm_id: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    slack_id: Mapped[str | None] = mapped_column(String(32), index=True)
    # The address `slack_id` was looked up for, and why none was found: a changed address is looked up again.
    looked_up_email: Mapped[str] = mapped_column(String(320), default="")
    lookup_note: Mapped[str] = mapped_column(Text, default="")


class Opportunity(Base):
    """A deal in the CRM. Won/lost and the amount the CRM closed it at are what influenced revenue counts."""

    __tablename__ = "opportunities"
    __table_args__ = (
        UniqueConstraint("crm", "crm_id", name="uq_opportunities_crm_id"),
        Index("ix_opportunities_owner_open", "owner_crm_id", "is_closed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    crm: Mapped[str] = mapped_column(String(20))
    crm_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    account_crm_id: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    stage: Mapped[str] = mapped_column(String(100), default="")
    close_date: Mapped[date | None] = mapped_column(Date)
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_won: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_crm_id: Mapped[str | None] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    crm_modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the sync first saw it closed: the digest counts CRM-won revenue by the week it closed.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CrmSyncState(Base):
    """Where one stream of one CRM stands: its watermark (the last committed page's), counts, last error.

    The rows of one CRM also carry the run's lease (`running_by`/`running_until`), taken together in one
    UPDATE, so two replicas (or a `refbot crm sync` beside the job) never sync the same CRM at once.
    """

    __tablename__ = "crm_sync_state"
    __table_args__ = (UniqueConstraint("crm", "stream", name="uq_crm_sync_state_stream"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    crm: Mapped[str] = mapped_column(String(20))
    stream: Mapped[str] = mapped_column(String(20))
    watermark: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_full_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # When the current error began, and whether the managers were told of it (once per error, not per run).
    error_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    running_by: Mapped[str | None] = mapped_column(String(64))
    running_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


__all__ = ["CrmAccount", "CrmSyncState", "CrmUser", "Opportunity"]
