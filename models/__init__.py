"""Data: SQLAlchemy 2 typed models, engine and session handling."""

from models import checkin_summary  # noqa: F401  (keeps customers' check-in summary current)
from models.asset import Asset, AssetUse
from models.audit import AuditEntry
from models.base import Base
from models.customer import CheckIn, Consent, Contact, Customer, Incident, ReferenceUse
from models.jobs import JobRun, WatchedChannel
from models.nomination import Nomination
from models.outbox import InboundDelivery, OutboxMessage
from models.request import ReferenceRequest
from models.thanks import Thanks

__all__ = [
    "Asset",
    "AssetUse",
    "AuditEntry",
    "Base",
    "CheckIn",
    "Consent",
    "Contact",
    "Customer",
    "InboundDelivery",
    "Incident",
    "JobRun",
    "Nomination",
    "OutboxMessage",
    "ReferenceRequest",
    "ReferenceUse",
    "Thanks",
    "WatchedChannel",
]
