"""Workflow Builder custom steps (declared under `functions` in manifest.yml, run by Bolt's function listener).

*Request a customer reference* starts a tracked request exactly as the intake form does (`parse_draft` then
`submit`: the same checks, receipts and manager cards), and outputs its number. *Check reference consent*
answers what `/reference can-use` answers (`bot.eligibility` judges), as allowed yes/no and the reason, so a
workflow can gate a publication on it. A bad input is a `ValidationFailed` / `NotFound` whose sentence the
handler completes the step with (Slack's error path), never a step left hanging.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import customers as cu
from bot import requests as rq
from bot.errors import NotFound, ValidationFailed
from bot.settings import Settings
from models import ReferenceRequest

REQUEST_STEP = "request_reference"  # manifest.yml functions.<callback_id>
CONSENT_STEP = "check_consent"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


@dataclass(frozen=True)
class ConsentAnswer:
    allowed: bool
    reason: str


def _text(inputs: Mapping[str, Any], key: str) -> str:
    value = inputs.get(key)
    return value.strip() if isinstance(value, str) else ""


def _sentence(errors: dict[str, str]) -> str:
    return " ".join(f"{field.replace('_', ' ').capitalize()}: {message}" for field, message in errors.items())


def request_reference(
    session: Session, settings: Settings, inputs: Mapping[str, Any], now: datetime
) -> ReferenceRequest:
    """Inputs requester, prospect, kind, needed by, notes → a submitted request, as if sent from the form."""
    requester = _text(inputs, "requester")
    if not _USER_ID.match(requester):
        raise ValidationFailed({"requester": "Pick the person who needs the reference."})
    kind = _text(inputs, "kind") or "call"
    ref_type = cu.parse_ref_type(kind)
    if ref_type is None:
        raise ValidationFailed({"kind": f"“{kind[:60]}” is not a kind of reference refbot knows."})
    raw = {
        "prospect": _text(inputs, "prospect"),
        "ref_type": ref_type.value,
        "needed_by": _text(inputs, "needed_by") or None,
        "notes": _text(inputs, "notes"),
    }
    try:
        draft = rq.parse_draft(raw, now.astimezone(settings.tz).date())
    except ValidationFailed as exc:
        raise ValidationFailed({"step": _sentence(exc.errors)}) from None
    return rq.submit(session, settings, requester, draft)


def check_consent(session: Session, settings: Settings, inputs: Mapping[str, Any], now: datetime) -> ConsentAnswer:
    """Inputs customer (a name or domain) and kind → whether it may be used for that now, and why (not)."""
    typed = _text(inputs, "customer")
    if not typed:
        raise ValidationFailed({"customer": "Name the customer (its name or domain)."})
    ref_type = cu.parse_ref_type(_text(inputs, "kind"))
    if ref_type is None:
        raise ValidationFailed({"kind": "Say which kind of use, e.g. case_study or logo."})
    found = cu.lookup(session, typed)
    if found.customer is None:
        names = ", ".join(c.name for c in found.choices[:5])
        raise NotFound(f"“{typed[:100]}” could be several customers ({names}); use its exact name or domain.")
    verdict = cu.can_use(session, settings, found.customer.id, ref_type, now)
    name, use = found.customer.name, ref_type.label.lower()
    if verdict.answer == "no":
        return ConsentAnswer(False, f"No: {'; '.join(verdict.assessment.blockers)}.")
    if verdict.answer == "not_yet":
        return ConsentAnswer(False, f"Not yet: {name}'s account owner must first confirm they are still happy.")
    consent = verdict.consent
    if consent is not None:
        until = f" until {consent.expires_on.isoformat()}" if consent.expires_on else " with no expiry"
        return ConsentAnswer(True, f"Yes: {consent.approved_by} approved {name} for {use}{until}.")
    return ConsentAnswer(True, f"Yes: {name} may be used for a {use} (a private use: no consent needed).")
