"""Customers and what we know about them: contacts, consents, check-ins, incidents and past uses."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from models.base import Base
from models.enums import CheckInPurpose, CheckInStatus, Happiness
from models.types import EnumText, UTCDateTime, utcnow

if TYPE_CHECKING:
    from models.request import ReferenceRequest

# The attributes people keep (refbot derives the rest: name_key, the check-in summary, the timestamps), in
# the order the edit form reports changes and `refbot export` writes columns. Who the customer is and who
# owns the account …
PROFILE_FIELDS = ("name", "domain", "industry", "region", "segment", "products", "topics", "owner_slack_id")
# … and whether and how they may be asked.
STANDING_FIELDS = ("referenceable", "not_referenceable_reason", "guidance", "notes")


class Customer(Base):
    """A customer who may be asked to be a reference."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("crm", "crm_id", name="uq_customers_crm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased, whitespace-folded name: exact look-ups and upserts by name without ILIKE.
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    industry: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    segment: Mapped[str] = mapped_column(String(100), default="")
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_slack_id: Mapped[str | None] = mapped_column(String(32), index=True)
    # An owner known only by e-mail (an import without Slack access): resolved to a Slack ID later.
    owner_email: Mapped[str | None] = mapped_column(String(320))
    referenceable: Mapped[bool] = mapped_column(Boolean, default=True)
    not_referenceable_reason: Mapped[str] = mapped_column(Text, default="")
    guidance: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # Summary of the latest answered check-in, kept by `models.checkin_summary` on every flush, so
    # ranking 100,000 customers can sort by freshness without aggregating the check-in history.
    last_checkin_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_checkin_answer: Mapped[Happiness | None] = mapped_column(EnumText(Happiness, 20))
    # The CRM account this customer is (None: known only from spreadsheets); see bot/crm/sync.py for
    # which fields the CRM owns. `crm_owner_id` is the account owner's CRM user id, mapped to Slack by e-mail.
    crm: Mapped[str | None] = mapped_column(String(20))
    crm_id: Mapped[str | None] = mapped_column(String(64))
    crm_owner_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Contact.id"
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Consent.ref_type"
    )
    checkins: Mapped[list[CheckIn]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CheckIn.asked_at"
    )
    incidents: Mapped[list[Incident]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Incident.occurred_on"
    )
    uses: Mapped[list[ReferenceUse]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="ReferenceUse.used_at"
    )

    @validates("last_checkin_answer")
    def _as_happiness(self, key: str, value: object) -> Happiness | None:
        return None if value is None else Happiness(value)

    @property
    def primary_contact(self) -> Contact | None:
        """The person a rep should talk to: the one marked primary, else the first on record."""
        for contact in self.contacts:
            if contact.is_primary:
                return contact
        return self.contacts[0] if self.contacts else None


class Contact(Base):
    """A person at the customer a rep may talk to; `name` is "" when only their e-mail is known."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    # The CRM contact this person is (their customer's CRM); None for contacts known only to refbot.
    crm_id: Mapped[str | None] = mapped_column(String(64), index=True)

    customer: Mapped[Customer] = relationship(back_populates="contacts")

    @property
    def display_name(self) -> str:
        """The name, or for a contact a list gave only by e-mail (name "") the address: never blank."""
        return self.name or self.email or "(no name)"


class Consent(Base):
    """The customer's approval for one public reference type (SPEC rule 2): who, when, until when."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("customer_id", "ref_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    ref_type: Mapped[str] = mapped_column(String(20))
    approved_by: Mapped[str] = mapped_column(String(200), default="")
    approved_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The expiry date the owner and managers were last warned about (a renewed consent warns again).
    expiry_notice_for: Mapped[date | None] = mapped_column(Date)

    customer: Mapped[Customer] = relationship(back_populates="consents")


class CheckIn(Base):
    """One "is this customer still happy?" question to an account owner, and its answer."""

    __tablename__ = "checkins"
    __table_args__ = (
        Index("ix_checkins_customer_answered", "customer_id", "answered_at"),
        # Partial: most check-ins have no request (periodic rounds) or no round (a request's). A full index on
        # a mostly-NULL column looks unselective to SQLite once it has statistics, and lookups became scans.
        Index(
            "ix_checkins_request_id",
            "request_id",
            sqlite_where=text("request_id IS NOT NULL"),
            postgresql_where=text("request_id IS NOT NULL"),
        ),
        Index(
            "ix_checkins_round_subject",
            "round_subject",
            sqlite_where=text("round_subject IS NOT NULL"),
            postgresql_where=text("round_subject IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("reference_requests.id"))
    purpose: Mapped[CheckInPurpose] = mapped_column(EnumText(CheckInPurpose, 20))
    status: Mapped[CheckInStatus] = mapped_column(EnumText(CheckInStatus, 20), index=True)
    asked_of: Mapped[str] = mapped_column(String(32))
    asked_by: Mapped[str] = mapped_column(String(64))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answer: Mapped[Happiness | None] = mapped_column(EnumText(Happiness, 20))
    nps: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The grouped DM that asked it (periodic check-ins): its subject, so an answer can update it in place.
    round_subject: Mapped[str | None] = mapped_column(String(80))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    customer: Mapped[Customer] = relationship(back_populates="checkins")
    request: Mapped[ReferenceRequest | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @validates("purpose", "status", "answer")
    def _as_enum(self, key: str, value: object) -> object:
        """A value set as a plain string reads back as its enum at once, not only after a reload."""
        return None if value is None else _CHECKIN_ENUMS[key](value)


_CHECKIN_ENUMS = {"purpose": CheckInPurpose, "status": CheckInStatus, "answer": Happiness}


class Incident(Base):
    """Something that went wrong with a customer (an outage, an escalation) that a manager should weigh."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who recorded or resolved it in Slack, and when (None for imported rows): shown on the profile.
    recorded_by: Mapped[str | None] = mapped_column(String(32))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship(back_populates="incidents")


class ReferenceUse(Base):
    """A customer committed to a reference; what fatigue (SPEC rule 5) counts."""

    __tablename__ = "reference_uses"
    __table_args__ = (
        Index("ix_reference_uses_customer_used", "customer_id", "used_at"),
        Index("ix_reference_uses_contact_used", "contact_id", "used_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("reference_requests.id"), unique=True)
    ref_type: Mapped[str] = mapped_column(String(20))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # False when the requester later reports that the reference did not happen.
    counted: Mapped[bool] = mapped_column(Boolean, default=True)

    customer: Mapped[Customer] = relationship(back_populates="uses")
