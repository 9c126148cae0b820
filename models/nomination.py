"""Recruiting: a customer put forward as a new reference, and the manager's decision on it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from models.customer import Customer


class Nomination(Base):
    """Someone thinks a customer would make a good reference: why, whom to talk to, for which kinds."""

    __tablename__ = "nominations"
    __table_args__ = (
        Index("ix_nominations_status_created", "status", "created_at"),
        Index("ix_nominations_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    nominated_by: Mapped[str] = mapped_column(String(64))
    why: Mapped[str] = mapped_column(Text)
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_title: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)  # RefType values
    status: Mapped[str] = mapped_column(String(20), default="pending")  # bot.nominations.NominationStatus
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The Slack view it was submitted from: a retried submission records one nomination, not two.
    via: Mapped[str | None] = mapped_column(String(64), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    customer: Mapped[Customer] = relationship()

    __mapper_args__ = {"version_id_col": version}
