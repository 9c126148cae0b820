"""Audit rows (`bot/audit.py`) as the sentences a customer's *Recent changes* shows.

An audit row keeps its details as JSON so nothing is lost; a person reads "Added by @morgan: industry
Fintech, region EMEA" or "Industry: Fintech → Payments (import of crm.csv)", never the JSON. Every
function here returns mrkdwn with the user-supplied parts already escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.views.text import approver_words, mention, safe
from models import AuditEntry
from models.enums import RefType

# A field's name in a sentence; a field missing here is shown with underscores as spaces.
FIELD_LABELS = {
    "owner_slack_id": "owner",
    "owner_email": "owner e-mail",
    "not_referenceable_reason": "not-referenceable reason",
    "guidance": "guidance for reps",
    "approved_by": "approved by",
    "approved_on": "approved on",
    "expires_on": "expires on",
}
# A value longer than this is clipped: the profile shows many changes in one section.
VALUE_LIMIT = 60


def field_label(name: str) -> str:
    """A field's name in words, escaped (an import conflict's field name comes from a file's header)."""
    return safe(FIELD_LABELS.get(name, name.replace("_", " ")), 40)


def and_list(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c": how a person lists things."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def value_text(name: str, value: Any) -> str:
    """One field's value, escaped: an owner as a mention, yes/no for flags, lists in words, "—" for nothing."""
    if value is None or value == "" or value == []:
        return "nobody" if name == "owner_slack_id" else "—"
    if name == "owner_slack_id":
        return mention(str(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return and_list(
            [value_text(name, item) if isinstance(item, list | Mapping) else safe(item, VALUE_LIMIT) for item in value]
        )
    if isinstance(value, Mapping):
        return ", ".join(f"{field_label(str(k))} {value_text(str(k), v)}" for k, v in value.items())
    return safe(value, VALUE_LIMIT)


def _by(entry: AuditEntry) -> str:
    return mention(entry.actor)


def _changes(changes: Mapping[str, Any]) -> str:
    """{"industry": ["Fintech", "Payments"]} → "Industry: Fintech → Payments" (the first one capitalised)."""
    parts = []
    for name, pair in changes.items():
        old, new = (list(pair) + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        parts.append(f"{field_label(name)}: {value_text(name, old)} → {value_text(name, new)}")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def _conflicts(conflicts: list[Any], source: str) -> list[str]:
    lines = []
    for conflict in conflicts:
        if not isinstance(conflict, Mapping):
            continue
        name = str(conflict.get("field", ""))
        line = f", line {conflict['line']}" if conflict.get("line") else ""
        change = _changes({name: [conflict.get("old"), conflict.get("new")]})
        lines.append(f"{change} ({source}{line})")
    return lines


def _import_source(entry: AuditEntry) -> str:
    details = entry.details or {}
    source = f"import of {safe(details.get('file') or 'a list', 100)}"
    return source if entry.actor in ("import", "") else f"{source} by {_by(entry)}"


def _created(entry: AuditEntry) -> str:
    fields = {k: v for k, v in ((entry.details or {}).get("fields") or {}).items() if k != "name"}
    if fields.get("referenceable") is True:
        del fields["referenceable"]  # the default goes without saying
    listed = ", ".join(f"{field_label(k)} {value_text(k, v)}" for k, v in fields.items() if v not in (None, "", []))
    return f"Added by {_by(entry)}" + (f": {listed}" if listed else "")


def _updated(entry: AuditEntry) -> str:
    changes = (entry.details or {}).get("changes") or {}
    return f"{_changes(changes)} (by {_by(entry)})" if changes else f"Changed by {_by(entry)}"


def _imported(entry: AuditEntry, *, created: bool) -> str:
    details = entry.details or {}
    source = _import_source(entry)
    sentences = []
    if created:
        sentences.append(f"Added by an {source}")
    if isinstance(details.get("changes"), Mapping) and details["changes"]:
        sentences.append(f"{_changes(details['changes'])} ({source})")
    sentences += _conflicts(details.get("conflicts") or [], source)
    return "; ".join(sentences) or f"Updated by an {source}"


def _contacts(entry: AuditEntry) -> str:
    details = entry.details or {}
    parts = []
    for key in ("added", "removed", "changed"):
        names = [safe(name, VALUE_LIMIT) for name in details.get(key) or []]
        if names:
            parts.append(f"{key} {and_list(names)}")
    if not parts and details.get("primary"):
        parts.append(f"{safe(details['primary'], VALUE_LIMIT)} is now the primary contact")
    return f"Contacts changed by {_by(entry)}" + (f": {'; '.join(parts)}" if parts else "")


def _type(details: Mapping[str, Any]) -> str:
    try:
        return RefType(str(details.get("ref_type"))).label
    except ValueError:
        return safe(details.get("ref_type") or "Public-use", 40)


def _consent_words(details: Mapping[str, Any]) -> str:
    words = ""
    if details.get("approved_by"):
        words += f"approved by {safe(approver_words(details['approved_by']), VALUE_LIMIT)}"
    if details.get("approved_on"):
        words += f" on {safe(details['approved_on'], 20)}"
    if details.get("expires_on"):
        words += f", until {safe(details['expires_on'], 20)}"
    return words.strip(", ")


def _consent(verb: str) -> Callable[[AuditEntry], str]:
    def sentence(entry: AuditEntry) -> str:
        details = entry.details or {}
        head = f"{_type(details)} consent {verb} by {_by(entry)}"
        if isinstance(details.get("changes"), Mapping) and details["changes"]:
            return f"{head}: {_changes(details['changes'])}"
        words = _consent_words(details)
        return f"{head}: {words}" if words and verb != "withdrawn" else head

    return sentence


def _incident(verb: str) -> Callable[[AuditEntry], str]:
    def sentence(entry: AuditEntry) -> str:
        details = entry.details or {}
        summary = f"“{safe(details['summary'], 150)}”" if details.get("summary") else ""
        severity = f"{safe(details['severity'], 20)}, " if details.get("severity") and summary else ""
        day = f" ({safe(details['occurred_on'], 20)})" if details.get("occurred_on") else ""
        what = f"{severity}{summary}{day}"
        return f"Incident {verb} by {_by(entry)}" + (f": {what}" if what else "")

    return sentence


def _checkin_answered(entry: AuditEntry) -> str:
    details = entry.details or {}
    answer = str(details.get("answer") or "").replace("_", " ")
    nps = f", NPS {details['nps']}" if details.get("nps") is not None else ""
    return f"Check-in answered by {_by(entry)}: {safe(answer.capitalize(), 40)}{nps}"


def _checkin_asked(entry: AuditEntry) -> str:
    request = (entry.details or {}).get("request_id")
    return f"Check-in asked by {_by(entry)}" + (f" for request #{safe(request, 20)}" if request else "")


_SENTENCES: dict[str, Callable[[AuditEntry], str]] = {
    "customer.created": _created,
    "customer.updated": _updated,
    "customer.imported": lambda entry: _imported(entry, created=True),
    "customer.updated_by_import": lambda entry: _imported(entry, created=False),
    "customer.contacts_changed": _contacts,
    "customer.consent_recorded": _consent("recorded"),
    "customer.consent_changed": _consent("changed"),
    "customer.consent_withdrawn": _consent("withdrawn"),
    "customer.incident_added": _incident("added"),
    "customer.incident_resolved": _incident("resolved"),
    "checkin.asked": _checkin_asked,
    "checkin.answered": _checkin_answered,
    "asset.added": lambda e: f"Asset added by {_by(e)}: {safe((e.details or {}).get('title') or '', VALUE_LIMIT)}",
    "asset.created": lambda e: f"Asset imported: {safe((e.details or {}).get('title') or '', VALUE_LIMIT)}",
    "asset.updated": lambda e: f"Asset updated by an import: {safe((e.details or {}).get('title') or '', VALUE_LIMIT)}",
    "nomination.received": lambda e: f"Nominated as a reference by {_by(e)}: {_kinds(e)}",
    "nomination.accepted": lambda e: (
        f"Became a reference: {_by(e)} accepted the nomination by {mention((e.details or {}).get('nominated_by'))}"
        f" ({_kinds(e)}; contact {safe((e.details or {}).get('contact') or '—', VALUE_LIMIT)})"
    ),
    "thanks.given": lambda e: (
        f"Thanked by {_by(e)} for request #{safe((e.details or {}).get('request_id') or '?', 20)}"
        + (f": “{safe(e.details['note'], VALUE_LIMIT)}”" if (e.details or {}).get("note") else "")
    ),
    "nomination.declined": lambda e: (
        f"Nomination declined by {_by(e)}: {safe((e.details or {}).get('reason') or '', VALUE_LIMIT)}"
    ),
}


def _kinds(entry: AuditEntry) -> str:
    """The kinds of reference a nomination named, in words."""
    labels = []
    for value in (entry.details or {}).get("kinds") or []:
        try:
            labels.append(RefType(str(value)).label.lower())
        except ValueError:
            labels.append(safe(value, 30))
    return and_list(labels) or "no kind named"


def change_sentence(entry: AuditEntry) -> str:
    """One audit row in words; an action this module does not know yet is still words, not data."""
    known = _SENTENCES.get(entry.action)
    if known is not None:
        return known(entry)
    action = safe(entry.action.split(".")[-1].replace("_", " "), 60)
    details = entry.details or {}
    listed = ", ".join(f"{field_label(k)} {value_text(k, v)}" for k, v in details.items() if v not in (None, "", []))
    return f"{action[:1].upper()}{action[1:]} by {_by(entry)}" + (f": {listed}" if listed else "")
