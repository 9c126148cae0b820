"""What managers and account owners see about incidents: the Record and Resolve forms, the managers' DM."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from bot import ids
from bot.customers import SEVERITIES
from bot.eligibility import incident_blocks_use
from bot.incidents import RESOLVABLE, SUMMARY_LIMIT, open_ones
from bot.settings import Settings
from bot.views.text import actions, button, context, mention, plain, quote, safe, section, when
from models import Customer, Incident

Message = dict[str, Any]

_SEVERITY_EMOJI = {"low": ":large_blue_circle:", "medium": ":large_yellow_circle:", "high": ":red_circle:"}


def _label(incident: Incident) -> str:
    return f"{incident.occurred_on.isoformat()} · {incident.severity} · {' '.join(incident.summary.split())}"


def record_modal(customer: Customer, today: date) -> dict[str, Any]:
    """*Record incident*: severity, a one-line summary, the day it started (today unless changed)."""
    return {
        "type": "modal",
        "callback_id": ids.INCIDENT_RECORD_MODAL,
        "private_metadata": json.dumps({"customer_id": customer.id}),
        "title": plain("Record incident", 24),
        "submit": plain("Record", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(
                f"An incident at *{safe(customer.name, 200)}*. One of high severity or worse blocks it as a "
                "reference until it is resolved; the reference managers are told."
            ),
            {
                "type": "input",
                "block_id": "severity",
                "label": plain("Severity", 2000),
                "element": {
                    "type": "static_select",
                    "action_id": "severity",
                    "options": [{"text": plain(s.capitalize(), 75), "value": s} for s in SEVERITIES],
                },
            },
            {
                "type": "input",
                "block_id": "summary",
                "label": plain("What happened", 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "summary",
                    "multiline": True,
                    "max_length": SUMMARY_LIMIT,
                },
            },
            {
                "type": "input",
                "block_id": "opened_on",
                "label": plain("Opened on", 2000),
                "element": {"type": "datepicker", "action_id": "opened_on", "initial_date": today.isoformat()},
            },
        ],
    }


def resolve_modal(customer: Customer) -> dict[str, Any]:
    """*Resolve*: the open incidents (the latest ten) to tick."""
    still_open = open_ones(customer)
    options = [{"text": plain(_label(i), 75), "value": str(i.id)} for i in still_open[:RESOLVABLE]]
    block: dict[str, Any] = {
        "type": "input",
        "block_id": "resolve",
        "label": plain("Tick the ones now resolved", 2000),
        "element": {"type": "checkboxes", "action_id": "resolve", "options": options},
    }
    if len(still_open) > RESOLVABLE:
        block["hint"] = plain(f"{len(still_open) - RESOLVABLE} older open incidents are not shown.", 2000)
    return {
        "type": "modal",
        "callback_id": ids.INCIDENT_RESOLVE_MODAL,
        "private_metadata": json.dumps({"customer_id": customer.id}),
        "title": plain("Resolve incidents", 24),
        "submit": plain("Resolve", 24),
        "close": plain("Cancel", 24),
        "blocks": [section(f"Open incidents at *{safe(customer.name, 200)}*"), block],
    }


def no_open_incidents(customer: Customer) -> str:
    return f"*{safe(customer.name, 200)}* has no open incident to resolve."


def profile_buttons(customer: Customer) -> list[dict[str, Any]]:
    """The profile's incident buttons, for a manager or the account owner."""
    found = [button("Record incident", ids.INCIDENT_RECORD, str(customer.id))]
    if any(not i.resolved for i in customer.incidents):
        found.append(button("Resolve incident…", ids.INCIDENT_RESOLVE, str(customer.id)))
    return found


def recorded_notice(incident: Incident, settings: Settings) -> Message:
    """The managers' DM: what happened where, who recorded it, and whether it now blocks use."""
    customer = incident.customer
    emoji = _SEVERITY_EMOJI.get(incident.severity, ":rotating_light:")
    head = (
        f"{emoji} {mention(incident.recorded_by)} recorded a *{safe(incident.severity, 20)}*-severity incident at "
        f"*{safe(customer.name, 200)}*, open since {incident.occurred_on.isoformat()}"
    )
    blocks: list[dict[str, Any]] = [section(f"{head}\n{quote(incident.summary, 1500)}")]
    if incident.resolved:
        by = f" by {mention(incident.resolved_by)}" if incident.resolved_by else ""
        at = f" {when(incident.resolved_at, settings.tz)}" if incident.resolved_at else ""
        blocks.append(context(f":heavy_check_mark: Resolved{by}{at}."))
    elif incident_blocks_use(incident):
        blocks.append(context(":no_entry: It blocks this customer as a reference until it is resolved."))
    blocks.append(
        actions(
            f"incident:{incident.id}",
            button("Profile", ids.for_item(ids.CUSTOMER_PROFILE, customer.id), str(customer.id)),
        )
    )
    text = f"Incident at {safe(customer.name, 200)} ({safe(incident.severity, 20)})"
    return {"text": text, "blocks": blocks}
