"""Data: SQLAlchemy 2 typed models, engine and session handling."""

from models import checkin_summary  # noqa: F401  (keeps customers' check-in summary current)
from models.audit import AuditEntry
from models.base import Base
from models.crm import CrmAccount, CrmSyncState, CrmUser, Opportunity
from models.customer import CheckIn, Consent, Contact, Customer, Incident, ReferenceUse
from models.jobs import JobRun, WatchedChannel
from models.outbox import InboundDelivery, OutboxMessage
from models.request import ReferenceRequest

__all__ = [
    "AuditEntry",
    "Base",
    "CheckIn",
    "Consent",
    "CrmAccount",
    "CrmSyncState",
    "CrmUser",
    "Contact",
    "Customer",
    "InboundDelivery",
    "Incident",
    "JobRun",
    "Opportunity",
    "OutboxMessage",
    "ReferenceRequest",
    "ReferenceUse",
    "WatchedChannel",
]
