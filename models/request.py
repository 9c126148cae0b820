"""A sales rep's request for a customer reference; `bot.requests` owns its state."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from models.base import Base
from models.crm import Opportunity
from models.customer import Contact, Customer
from models.enums import RequestStatus
from models.types import EnumText, UTCDateTime, utcnow


class ReferenceRequest(Base):
    __tablename__ = "reference_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[str] = mapped_column(String(32), index=True)
    prospect: Mapped[str] = mapped_column(String(150))
    ref_type: Mapped[str] = mapped_column(String(20))
    industry: Mapped[str] = mapped_column(String(100), default="")
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    region: Mapped[str] = mapped_column(String(100), default="")
    segment: Mapped[str] = mapped_column(String(100), default="")
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    specific_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    needed_by: Mapped[date | None] = mapped_column(Date)
    opportunity_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    notes: Mapped[str] = mapped_column(Text, default="")
    # The Slack message a request was started from (the message shortcut), shown to managers; "" otherwise.
    source_permalink: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[RequestStatus] = mapped_column(EnumText(RequestStatus, 20), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    # The requester's account of what happened (SPEC rule 7), asked for once the reference is due.
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_by: Mapped[str | None] = mapped_column(String(32))
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    held_on: Mapped[date | None] = mapped_column(Date)
    deal_stage: Mapped[str] = mapped_column(String(100), default="")
    deal_won: Mapped[bool | None] = mapped_column(Boolean)
    amount_influenced: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    feedback: Mapped[str] = mapped_column(Text, default="")
    # The CRM opportunity this reference is for (picked in the form, or linked later by a manager): its
    # stage, won/lost and amount come from the CRM, beside what the rep reports above.
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunities.id", ondelete="SET NULL"), index=True)
    # Indexed: the digest and stats count requests by the week they arrived and were decided.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic lock: two replicas (or a double click) deciding at once → exactly one wins.
    version: Mapped[int] = mapped_column(Integer, default=1)

    customer: Mapped[Customer | None] = relationship(foreign_keys=[customer_id])
    contact: Mapped[Contact | None] = relationship()
    specific_customer: Mapped[Customer | None] = relationship(foreign_keys=[specific_customer_id])
    opportunity: Mapped[Opportunity | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @validates("status")
    def _as_status(self, key: str, value: object) -> RequestStatus:
        """A status set as a plain string reads back as the enum at once, not only after a reload."""
        return RequestStatus(value)
