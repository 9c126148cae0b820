"""Thanking the customers who helped: one ask per request to the account owner, and what they did."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from models.customer import Customer
    from models.request import ReferenceRequest


class Thanks(Base):
    """The owner was asked to thank a customer whose reference helped; `status` says whether they did."""

    __tablename__ = "thanks"
    __table_args__ = (Index("ix_thanks_status_asked", "status", "asked_at"), Index("ix_thanks_customer", "customer_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("reference_requests.id", ondelete="CASCADE"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(64))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="asked")  # bot.thanks.ThanksStatus
    note: Mapped[str] = mapped_column(Text, default="")
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    customer: Mapped[Customer] = relationship()
    request: Mapped[ReferenceRequest] = relationship()

    __mapper_args__ = {"version_id_col": version}
