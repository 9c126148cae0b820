"""Incidents recorded and resolved from a customer's profile (*Record incident*, *Resolve*).

Managers and the customer's account owner may do either; every click and submission re-checks that here.
What an open incident means for use is decided in one place, `bot.eligibility` (one of high severity or
worse blocks use until resolved); this module only records them. Recording one tells every manager in a DM,
through the outbox in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit, kinds
from bot.customers import LIMITS, SEVERITIES
from bot.errors import IncidentResolved, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from bot.home_record import refresh_homes
from bot.outbox import enqueue
from bot.requests import refresh_ranking_cards
from bot.settings import Settings
from bot.views.text import escape, mention
from models import Customer, Incident

SUMMARY_LIMIT = LIMITS["incident_summary"]
RESOLVABLE = 10  # open incidents offered in one Resolve form (a checkbox group holds ten)


@dataclass(frozen=True)
class IncidentForm:
    """A validated *Record incident* form."""

    severity: str
    summary: str
    opened_on: date


def _customer(session: Session, customer_id: int) -> Customer:
    customer = session.scalars(select(Customer).where(Customer.id == customer_id).with_for_update()).one_or_none()
    if customer is None:
        raise NotFound("That customer is no longer in the list.")
    return customer


def may_record(settings: Settings, customer: Customer, actor: str) -> bool:
    """Managers and the account owner record and resolve incidents (the profile offers them the buttons)."""
    return actor == customer.owner_slack_id or settings.is_manager(actor)


def require_rights(settings: Settings, customer: Customer, actor: str) -> None:
    """Managers and the account owner only."""
    if may_record(settings, customer, actor):
        return
    owner = f" or {mention(customer.owner_slack_id)}, who owns it," if customer.owner_slack_id else ""
    raise NotAllowed(f"Only a reference manager{owner} can record or resolve incidents for *{escape(customer.name)}*.")


def customer_for_incidents(session: Session, settings: Settings, customer_id: int, actor: str) -> Customer:
    """The customer whose incident form `actor` may open (the form is checked again when submitted)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("That customer is no longer in the list.")
    require_rights(settings, customer, actor)
    return customer


def open_ones(customer: Customer) -> list[Incident]:
    """Unresolved incidents, the most recent first."""
    return sorted((i for i in customer.incidents if not i.resolved), key=lambda i: (i.occurred_on, i.id), reverse=True)


def chosen_ids(raw: object) -> list[int]:
    """The ticked incidents' ids from the Resolve form; anything that is not an id (a forged value) is dropped."""
    values = raw if isinstance(raw, list) else [raw] if raw else []
    return [int(v) for v in values if isinstance(v, str) and v.isdigit() and len(v) <= 12]


def parse_form(raw: Mapping[str, str | None], today: date) -> IncidentForm:
    """The form's strings → an incident; each problem is reported against its own field."""
    errors: dict[str, str] = {}
    severity = (raw.get("severity") or "").strip().lower()
    if severity not in SEVERITIES:
        errors["severity"] = "How severe is it?"
    summary = " ".join((raw.get("summary") or "").split())
    if not summary:
        errors["summary"] = "Say in a line what happened."
    elif len(summary) > SUMMARY_LIMIT:
        errors["summary"] = f"Keep this under {SUMMARY_LIMIT} characters (it has {len(summary)})."
    opened_on = today
    if raw.get("opened_on"):
        try:
            opened_on = date.fromisoformat(str(raw["opened_on"]))
        except ValueError:
            errors["opened_on"] = "Pick the day it started."
        else:
            if opened_on > today:
                errors["opened_on"] = "The incident can't start in the future."
    if errors:
        raise ValidationFailed(errors)
    return IncidentForm(severity, summary, opened_on)


def record(
    session: Session, settings: Settings, customer_id: int, actor: str, form: IncidentForm, now: datetime
) -> Incident:
    """Record an open incident and tell the managers (everyone but the one who recorded it)."""
    customer = _customer(session, customer_id)
    require_rights(settings, customer, actor)
    incident = Incident(
        customer_id=customer.id,
        occurred_on=form.opened_on,
        severity=form.severity,
        summary=form.summary,
        resolved=False,
        recorded_by=actor,
        recorded_at=now,
    )
    session.add(incident)
    session.flush()
    audit.record(
        session,
        actor,
        "customer.incident_added",
        "customer",
        customer.id,
        incident_id=incident.id,
        occurred_on=form.opened_on.isoformat(),
        severity=form.severity,
        summary=form.summary[:300],
    )
    subject = f"incident:{incident.id}"
    for manager in settings.managers:
        if manager != actor:
            enqueue(
                session, key=f"{subject}:{manager}", kind=kinds.INCIDENT_RECORDED, recipient=manager, subject=subject
            )
    refresh_ranking_cards(session)
    refresh_homes(session, [*settings.managers, customer.owner_slack_id])
    return incident


def resolve(
    session: Session, settings: Settings, customer_id: int, incident_ids: Iterable[int], actor: str, now: datetime
) -> list[Incident]:
    """Resolve the chosen open incidents of this customer; one already resolved is a clear refusal."""
    customer = _customer(session, customer_id)
    require_rights(settings, customer, actor)
    wanted = set(incident_ids)
    if not wanted:
        raise ValidationFailed({"resolve": "Tick the incidents that are resolved."})
    found = {i.id: i for i in customer.incidents if i.id in wanted}
    if len(found) != len(wanted):
        raise NotFound(f"That incident is no longer on *{escape(customer.name)}*'s record.")
    done = [i for i in found.values() if i.resolved]
    if done:
        first = done[0]
        if first.resolved_by:
            raise InvalidTransition(IncidentResolved(first.summary[:100], first.resolved_by))
        raise InvalidTransition(f"“{escape(first.summary[:100])}” was already resolved.")
    for incident in sorted(found.values(), key=lambda i: i.id):
        incident.resolved = True
        incident.resolved_by = actor
        incident.resolved_at = now
        audit.record(
            session,
            actor,
            "customer.incident_resolved",
            "customer",
            customer.id,
            incident_id=incident.id,
            summary=incident.summary[:300],
        )
    refresh_ranking_cards(session)
    refresh_homes(session, [*settings.managers, customer.owner_slack_id])
    return list(found.values())
