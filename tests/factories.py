"""Small builders for realistic customers, with check-ins, consents and past uses as a test needs them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.importer import name_key
from models import CheckIn, Consent, Contact, Customer, ReferenceUse
from models.enums import CheckInPurpose, CheckInStatus, Happiness

OWNER = "UOWNER001"


def now() -> datetime:
    return datetime.now(UTC)


def customer(
    session: Session,
    name: str,
    *,
    industry: str = "Fintech",
    region: str = "EMEA",
    segment: str = "Enterprise",
    products: tuple[str, ...] = ("Payments",),
    topics: tuple[str, ...] = (),
    owner: str | None = OWNER,
    happy_days_ago: int | None = 5,
    answer: Happiness = Happiness.HAPPY,
    consents: tuple[str, ...] = (),
    consent_expires: date | None = None,
    contact: str | None = "Jane Doe",
    referenceable: bool = True,
    guidance: str = "",
) -> Customer:
    """A customer; `happy_days_ago=None` means never checked in."""
    record = Customer(
        name=name,
        name_key=name_key(name),
        domain=name.lower().replace(" ", "") + ".example",
        industry=industry,
        region=region,
        segment=segment,
        products=list(products),
        topics=list(topics),
        owner_slack_id=owner,
        referenceable=referenceable,
        guidance=guidance,
    )
    if contact:
        record.contacts.append(Contact(name=contact, title="VP Finance", email="jane@example.com", is_primary=True))
    for ref_type in consents:
        record.consents.append(
            Consent(
                ref_type=ref_type,
                approved_by="Carla (CMO)",
                approved_on=date(2024, 9, 30),
                expires_on=consent_expires,
                recorded_by="UMANAGER1",
            )
        )
    session.add(record)
    session.flush()
    if happy_days_ago is not None:
        checkin(session, record, answer, days_ago=happy_days_ago)
    return record


def backup_contact(session: Session, record: Customer, name: str = "Bob Backup") -> Contact:
    """A second, non-primary contact at `record`."""
    item = Contact(name=name, title="Head of Payments", email="bob@example.com", is_primary=False)
    record.contacts.append(item)
    session.flush()
    return item


def checkin(session: Session, record: Customer, answer: Happiness, *, days_ago: int, nps: int | None = None) -> CheckIn:
    at = now() - timedelta(days=days_ago)
    item = CheckIn(
        customer_id=record.id,
        purpose=CheckInPurpose.ASK_OWNER.value,
        status=CheckInStatus.ANSWERED.value,
        asked_of=record.owner_slack_id or OWNER,
        asked_by="UMANAGER1",
        asked_at=at,
        answer=answer.value,
        nps=nps,
        answered_by=record.owner_slack_id or OWNER,
        answered_at=at,
    )
    session.add(item)
    session.flush()
    return item


def use(
    session: Session, record: Customer, *, days_ago: int, ref_type: str = "call", contact: Contact | None = None
) -> ReferenceUse:
    """A counted use of `record`, through `contact` when given (as an approval through that person records it)."""
    item = ReferenceUse(
        customer_id=record.id,
        contact_id=contact.id if contact else None,
        ref_type=ref_type,
        used_at=now() - timedelta(days=days_ago),
    )
    session.add(item)
    session.flush()
    return item
