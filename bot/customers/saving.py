"""Adding and editing a customer from the form: the manager's right, the concurrency check, the audit.

`save_customer` takes the form's values, locks the customer, refuses a form opened before someone else's
change (`fingerprint`), parses and checks the draft (`bot.customers.form`) against the rest of the list,
then applies it, recording every change old → new in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot import audit
from bot.customers.form import (
    EDITABLE,
    ConsentDraft,
    ContactDraft,
    CustomerDraft,
    consent_block,
    fingerprint,
)
from bot.customers.lookup import get_customer
from bot.errors import NotFound, ValidationFailed
from bot.importer import name_key
from bot.rights import require_manager
from bot.settings import Settings
from bot.views.text import clip
from models import Consent, Contact, Customer, Incident


def load_for_edit(session: Session, settings: Settings, actor: str, customer_id: int) -> Customer:
    require_manager(settings, actor, "edit customers")
    return get_customer(session, customer_id)


@dataclass(frozen=True)
class Saved:
    customer_id: int
    name: str
    created: bool
    changes: tuple[str, ...]


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and len(value) > 300:
        return clip(value, 300)
    return value


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


_FIELD_LABELS = {
    "owner_slack_id": "owner",
    "not_referenceable_reason": "not-referenceable reason",
}


def save_customer(
    session: Session,
    settings: Settings,
    actor: str,
    customer_id: int | None,
    typed: CustomerDraft,
    now: datetime,
    expected: str | None = None,
) -> Saved:
    """Add (`customer_id` None) or edit a customer from the form, parsed into `typed`
    (`parse_customer_form`); every change is audited, old → new.

    `expected` is the fingerprint the form was opened with: if the customer changed since, nothing is saved.
    """
    require_manager(settings, actor, "add or edit customers")
    customer: Customer | None = None
    if customer_id is not None:
        customer = session.scalars(
            select(Customer)
            .where(Customer.id == customer_id)
            .options(selectinload(Customer.contacts), selectinload(Customer.consents), selectinload(Customer.incidents))
            .with_for_update()
        ).one_or_none()
        if customer is None:
            raise NotFound("That customer is no longer in the customer list.")
        if expected is not None and expected != fingerprint(customer):
            raise ValidationFailed(
                {
                    "name": "Someone changed this customer after you opened this form. Close it and click Edit "
                    "again, so that nothing they saved is overwritten."
                }
            )
    draft = typed.as_edit_of(customer)
    errors = dict(draft.errors)
    others = select(Customer.id).where(Customer.id != customer_id) if customer_id else select(Customer.id)
    if draft.fields["domain"] and "domain" not in errors:
        taken = session.scalars(others.where(Customer.domain == draft.fields["domain"])).first()
        if taken is not None:
            other = session.get(Customer, taken)
            errors["domain"] = f"{draft.fields['domain']} is already {other.name if other else 'another customer'}."
    if draft.fields["name"] and "name" not in errors:
        taken = session.scalars(others.where(Customer.name_key == name_key(draft.fields["name"]))).first()
        if taken is not None:
            errors["name"] = "A customer with this name is already on the list; open it with /reference show."
    if customer is not None:
        _check_consent_dates(customer, draft, errors)
    else:
        for ref_type, consent in draft.consents.items():
            if consent is not None and consent.approved_on is None:
                errors.setdefault(consent_block(ref_type, "on"), "When did they approve it?")
    if errors:
        raise ValidationFailed(errors)

    created = customer is None
    if customer is None:
        customer = Customer(name=draft.fields["name"], name_key=name_key(draft.fields["name"]), products=[], topics=[])
        session.add(customer)
    changes: list[str] = []
    field_changes = _apply_fields(customer, draft)
    session.flush()
    if created:
        audit.record(
            session,
            actor,
            "customer.created",
            "customer",
            customer.id,
            fields={k: _jsonable(v) for k, v in draft.fields.items() if v not in (None, "", [])},
        )
        changes.append("added to the customer list")
    elif field_changes:
        audit.record(
            session,
            actor,
            "customer.updated",
            "customer",
            customer.id,
            changes={k: [_jsonable(old), _jsonable(new)] for k, (old, new) in field_changes.items()},
        )
        for attr, (old, new) in field_changes.items():
            changes.append(f"{_FIELD_LABELS.get(attr, attr)}: {clip(_shown(old), 80)} → {clip(_shown(new), 80)}")
    if draft.contacts is not None:
        changes += _apply_contacts(session, actor, customer, draft.contacts)
    changes += _apply_consents(session, actor, customer, draft, now)
    changes += _apply_incidents(session, actor, customer, draft)
    session.flush()
    return Saved(customer.id, customer.name, created, tuple(changes))


def _check_consent_dates(customer: Customer, draft: CustomerDraft, errors: dict[str, str]) -> None:
    """A new consent, or one with a new approver, needs the date it was given."""
    for ref_type, consent in draft.consents.items():
        if consent is None or consent.approved_on is not None:
            continue
        existing = next((c for c in customer.consents if c.ref_type == ref_type), None)
        if existing is None or existing.approved_by != consent.approved_by:
            errors.setdefault(consent_block(ref_type, "on"), "When did they approve it?")


def _apply_fields(customer: Customer, draft: CustomerDraft) -> dict[str, tuple[Any, Any]]:
    changed: dict[str, tuple[Any, Any]] = {}
    for attr in EDITABLE:
        old, new = getattr(customer, attr), draft.fields[attr]
        if isinstance(new, list):
            old = list(old or [])
        if old != new:
            changed[attr] = (old, new)
            setattr(customer, attr, new)
    if "name" in changed:
        customer.name_key = name_key(customer.name)
    return changed


def _apply_contacts(session: Session, actor: str, customer: Customer, drafts: list[ContactDraft]) -> list[str]:
    """Keep each person's row (their per-contact fatigue counts hang on it): match by e-mail, else name."""
    existing = list(customer.contacts)
    kept: list[Contact] = []
    added: list[str] = []
    updated: dict[str, list[Any]] = {}
    for position, draft in enumerate(drafts):
        match = None
        if draft.email:
            match = next(
                (c for c in existing if c not in kept and (c.email or "").lower() == draft.email.lower()), None
            )
        if match is None:
            match = next((c for c in existing if c not in kept and name_key(c.name) == name_key(draft.name)), None)
        if match is None:
            match = Contact(name=draft.name, title=draft.title, email=draft.email, is_primary=position == 0)
            customer.contacts.append(match)
            added.append(draft.name)
        else:
            before = (match.name, match.title, match.email)
            match.name, match.title, match.email = draft.name, draft.title, draft.email
            if before != (draft.name, draft.title, draft.email):
                updated[draft.name] = [" | ".join(before), " | ".join((draft.name, draft.title, draft.email))]
        kept.append(match)
    old_primary = customer.primary_contact
    removed = [c for c in existing if c not in kept]
    for contact in removed:
        customer.contacts.remove(contact)
    for position, contact in enumerate(kept):
        contact.is_primary = position == 0
    new_primary = kept[0].name if kept else None
    primary_changed = (old_primary.name if old_primary else None) != new_primary and bool(existing)
    if not (added or removed or updated or primary_changed):
        return []
    details: dict[str, Any] = {
        "added": added,
        "removed": [c.name for c in removed],
        "changed": updated,
        "primary": new_primary,
    }
    audit.record(session, actor, "customer.contacts_changed", "customer", customer.id, **details)
    lines = [f"contact added: {name}" for name in added]
    lines += [f"contact removed: {c.name}" for c in removed]
    lines += [f"contact changed: {name}" for name in updated]
    if primary_changed and new_primary:
        lines.append(f"primary contact: {new_primary}")
    return lines


def _consent_state(consent: Consent | ConsentDraft) -> dict[str, Any]:
    return {
        "approved_by": consent.approved_by,
        "approved_on": _jsonable(consent.approved_on),
        "expires_on": _jsonable(consent.expires_on),
    }


def _apply_consents(session: Session, actor: str, customer: Customer, draft: CustomerDraft, now: datetime) -> list[str]:
    lines: list[str] = []
    for ref_type, wanted in draft.consents.items():
        existing = next((c for c in customer.consents if c.ref_type == ref_type), None)
        label = ref_type.label
        if wanted is None:
            if existing is not None:
                audit.record(
                    session,
                    actor,
                    "customer.consent_withdrawn",
                    "customer",
                    customer.id,
                    ref_type=ref_type.value,
                    **_consent_state(existing),
                )
                customer.consents.remove(existing)
                lines.append(f"{label} consent withdrawn")
            continue
        if existing is None:
            customer.consents.append(
                Consent(
                    ref_type=ref_type.value,
                    approved_by=wanted.approved_by,
                    approved_on=wanted.approved_on,
                    expires_on=wanted.expires_on,
                    recorded_by=actor,
                    recorded_at=now,
                )
            )
            audit.record(
                session,
                actor,
                "customer.consent_recorded",
                "customer",
                customer.id,
                ref_type=ref_type.value,
                **_consent_state(wanted),
            )
            lines.append(f"{label} consent recorded: {_consent_words(wanted)}")
            continue
        before, after = _consent_state(existing), _consent_state(wanted)
        if wanted.approved_on is None and existing.approved_on is not None:
            after["approved_on"] = before["approved_on"]  # an unchanged approver keeps the date on record
        if before == after:
            continue
        existing.approved_by = wanted.approved_by
        existing.approved_on = date.fromisoformat(after["approved_on"]) if after["approved_on"] else None
        existing.expires_on = wanted.expires_on
        existing.recorded_by = actor
        existing.recorded_at = now
        audit.record(
            session,
            actor,
            "customer.consent_changed",
            "customer",
            customer.id,
            ref_type=ref_type.value,
            changes={k: [before[k], after[k]] for k in before if before[k] != after[k]},
        )
        lines.append(f"{label} consent changed: {_consent_words(existing)}")
    return lines


def _consent_words(consent: Consent | ConsentDraft) -> str:
    on = f" on {consent.approved_on.isoformat()}" if consent.approved_on else ""
    until = f", until {consent.expires_on.isoformat()}" if consent.expires_on else ", no expiry"
    return f"approved by {consent.approved_by}{on}{until}"


def _apply_incidents(session: Session, actor: str, customer: Customer, draft: CustomerDraft) -> list[str]:
    lines: list[str] = []
    for incident in customer.incidents:
        if incident.id in draft.resolve and not incident.resolved:
            incident.resolved = True
            audit.record(
                session,
                actor,
                "customer.incident_resolved",
                "customer",
                customer.id,
                incident_id=incident.id,
                summary=_jsonable(incident.summary),
            )
            lines.append(f"incident resolved: {clip(incident.summary, 80)}")
    if draft.new_incident is not None:
        new = draft.new_incident
        incident = Incident(occurred_on=new.occurred_on, severity=new.severity, summary=new.summary, resolved=False)
        customer.incidents.append(incident)
        session.flush()
        audit.record(
            session,
            actor,
            "customer.incident_added",
            "customer",
            customer.id,
            incident_id=incident.id,
            occurred_on=new.occurred_on.isoformat(),
            severity=new.severity,
            summary=_jsonable(new.summary),
        )
        lines.append(f"incident added ({new.severity}, {new.occurred_on.isoformat()}): {clip(new.summary, 80)}")
    return lines
