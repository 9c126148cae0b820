"""The add/edit form: what it shows (`contacts_text`, `fingerprint`) and its values parsed into a draft.

`parse_customer_form` turns the form's `{block_id: value}` into a `CustomerDraft` and every problem
against its own block id; it reads no database (the customer being edited, if any, is passed in).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from bot.customers.query import USER_ID, domain_of
from bot.views.text import clip
from models import Customer, Incident
from models.customer import PROFILE_FIELDS, STANDING_FIELDS
from models.enums import MARKETING_TYPES, RefType

LIMITS = {
    "name": 200,
    "domain": 253,
    "industry": 100,
    "region": 100,
    "segment": 100,
    "products": 1000,
    "topics": 1000,
    "reason": 500,
    "guidance": 2000,
    "notes": 3000,
    "contacts": 3000,
    "consent_by": 200,
    "incident_summary": 1000,
}
SEVERITIES = ("low", "medium", "high", "critical")
MAX_CONTACTS = 25
MAX_RESOLVABLE = 10  # open incidents offered for resolving in one form (a checkbox group holds ten)
_EMAIL = re.compile(r"^[^@\s|]+@[^@\s|]+\.[^@\s|]+$")
# Attributes the form edits, in the order changes are reported.
EDITABLE = (*PROFILE_FIELDS, *STANDING_FIELDS)


def consent_block(ref_type: RefType, part: str) -> str:
    """The form's block id for one part ("by", "on", "until") of one type's consent."""
    return f"consent:{ref_type.value}:{part}"


def contacts_text(customer: Customer | None) -> str:
    """Contacts as the form shows them: "Name | Title | email", one per line, the primary first."""
    if customer is None:
        return ""
    primary = customer.primary_contact
    ordered = sorted(customer.contacts, key=lambda c: (c is not primary, c.id or 0))
    lines = []
    for contact in ordered:
        parts = [contact.name, contact.title or "", contact.email or ""]
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def list_text(values: Sequence[str]) -> str:
    return ", ".join(values)


def fingerprint(customer: Customer) -> str:
    """A short digest of what the form shows, so a save can tell that someone else changed it meanwhile."""
    state = {
        "fields": [getattr(customer, attr) for attr in EDITABLE],
        "contacts": [(c.id, c.name, c.title, c.email, c.is_primary) for c in customer.contacts],
        "consents": sorted((c.ref_type, c.approved_by, c.approved_on, c.expires_on) for c in customer.consents),
        "incidents": sorted((i.id, i.resolved) for i in customer.incidents),
    }
    return hashlib.sha256(json.dumps(state, default=str, sort_keys=True).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class ContactDraft:
    name: str
    title: str = ""
    email: str = ""


@dataclass(frozen=True)
class ConsentDraft:
    approved_by: str
    approved_on: date | None
    expires_on: date | None


@dataclass(frozen=True)
class IncidentDraft:
    occurred_on: date
    severity: str
    summary: str


TEXT_FIELDS = {
    "name": "name",
    "industry": "industry",
    "region": "region",
    "segment": "segment",
    "guidance": "guidance",
    "notes": "notes",
    "reason": "not_referenceable_reason",
}


@dataclass
class CustomerDraft:
    """The add/edit form as typed and checked on its own (`errors` by block id); `as_edit_of` then keeps
    what the form left as it showed it: a value it could only show clipped, the contacts, a consent's dates."""

    fields: dict[str, Any]
    contacts: list[ContactDraft] | None  # None: unchanged
    consents: dict[RefType, ConsentDraft | None]
    new_incident: IncidentDraft | None
    resolve: set[int]
    errors: dict[str, str] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)  # the text of each field as typed, by block id
    unnamed: set[RefType] = field(default_factory=set)  # consents given dates but no approver

    def as_edit_of(self, current: Customer | None) -> CustomerDraft:
        """This draft as an edit of `current` (None: a new customer, nothing to keep)."""
        if current is None:
            return self
        fields, errors, contacts = dict(self.fields), dict(self.errors), self.contacts
        for key, attr in TEXT_FIELDS.items():
            was = getattr(current, attr) or ""
            if len(was) > LIMITS[key] and self.typed[key] == clip(was, LIMITS[key]).strip():
                fields[attr] = was if attr != "not_referenceable_reason" or not fields["referenceable"] else ""
        for key in ("products", "topics"):
            was_items = list(getattr(current, key) or [])
            if self.typed[key] == clip(list_text(was_items), LIMITS[key]).strip():
                fields[key] = was_items
                errors.pop(key, None)
        if self.typed["contacts"] == clip(contacts_text(current), LIMITS["contacts"]).strip():
            contacts = None
            errors.pop("contacts", None)
        for ref_type in self.unnamed:
            if any(c.ref_type == ref_type for c in current.consents):  # dates left as shown: not a new consent
                errors.pop(consent_block(ref_type, "by"), None)
        return replace(self, fields=fields, contacts=contacts, errors=errors)


def _str(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return value.strip() if isinstance(value, str) else ""


def _text(raw: Mapping[str, Any], key: str, limit: int, errors: dict[str, str]) -> str:
    """A text field (an over-long value the form could only show clipped is kept by `as_edit_of`)."""
    value = _str(raw, key)
    if len(value) > limit:
        errors[key] = f"Keep this under {limit} characters (it has {len(value)})."
    return value


def _date(raw: Mapping[str, Any], key: str, errors: dict[str, str]) -> date | None:
    value = _str(raw, key)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[key] = "Pick a date from the calendar."
        return None


def _items(raw: Mapping[str, Any], key: str, errors: dict[str, str]) -> list[str]:
    value = _str(raw, key)
    if not value:
        return []
    if len(value) > LIMITS[key]:
        errors[key] = f"Keep this under {LIMITS[key]} characters (it has {len(value)})."
    parts = (p.strip() for p in value.replace(";", ",").replace("\n", ",").split(","))
    items = list(dict.fromkeys(p for p in parts if p))
    if any(len(p) > 100 for p in items):
        errors[key] = "Keep each item under 100 characters; separate items with commas."
    return items


def _parse_contacts(value: str) -> tuple[list[ContactDraft], str | None]:
    drafts: list[ContactDraft] = []
    for number, line in enumerate((ln for ln in value.splitlines() if ln.strip()), start=1):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) > 3:
            return [], f"Line {number}: write “Name | Title | email” (three parts at most)."
        name, title, email = (parts + ["", ""])[:3]
        if len(parts) == 2 and "@" in title:  # "Name | email" is fine too
            title, email = "", title
        if not name:
            return [], f"Line {number}: the contact's name comes first."
        if email and not _EMAIL.match(email):
            return [], f"Line {number}: “{email[:80]}” is not an e-mail address."
        if len(name) > 200 or len(title) > 200 or len(email) > 320:
            return [], f"Line {number}: keep names and titles under 200 characters."
        drafts.append(ContactDraft(name, title, email))
    if len(drafts) > MAX_CONTACTS:
        return [], f"Keep it to {MAX_CONTACTS} contacts (there are {len(drafts)})."
    return drafts, None


def parse_customer_form(raw: Mapping[str, Any], today: date) -> CustomerDraft:
    """The add/edit form's values → a draft, with every problem against its own block id (`draft.errors`).

    Reads no database: what depends on the customer being edited is `CustomerDraft.as_edit_of`'s.
    """
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}
    typed = {key: _str(raw, key) for key in (*TEXT_FIELDS, "products", "topics", "contacts")}
    for key in ("name", "industry", "region", "segment", "guidance", "notes"):
        fields[key] = _text(raw, key, LIMITS[key], errors)
    if not fields["name"]:
        errors["name"] = "Give the customer's name."
    domain_text = _str(raw, "domain")
    fields["domain"] = None
    if domain_text:
        fields["domain"] = domain_of(domain_text)
        if fields["domain"] is None or len(fields["domain"]) > LIMITS["domain"]:
            errors["domain"] = "Write a domain like acme.com (or leave it empty)."
    for key in ("products", "topics"):
        fields[key] = _items(raw, key, errors)
    owner = _str(raw, "owner")
    fields["owner_slack_id"] = owner or None
    if owner and not USER_ID.match(owner):
        errors["owner"] = "Pick the account owner from the list."
    referenceable = _str(raw, "referenceable") or "yes"
    if referenceable not in ("yes", "no"):
        errors["referenceable"] = "Choose yes or no."
    fields["referenceable"] = referenceable == "yes"
    reason = _text(raw, "reason", LIMITS["reason"], errors)
    if not fields["referenceable"] and not reason:
        errors["reason"] = "Say why they must not be asked, so nobody asks by mistake."
    fields["not_referenceable_reason"] = "" if fields["referenceable"] else reason

    contacts_value = typed["contacts"]
    if len(contacts_value) > LIMITS["contacts"]:
        errors["contacts"] = f"Keep this under {LIMITS['contacts']} characters (it has {len(contacts_value)})."
    contacts, problem = _parse_contacts(contacts_value)
    if problem:
        errors["contacts"] = problem

    consents: dict[RefType, ConsentDraft | None] = {}
    unnamed: set[RefType] = set()
    for ref_type in MARKETING_TYPES:
        by_key, on_key, until_key = (consent_block(ref_type, part) for part in ("by", "on", "until"))
        approved_by = _str(raw, by_key)
        approved_on = _date(raw, on_key, errors)
        expires_on = _date(raw, until_key, errors)
        if len(approved_by) > LIMITS["consent_by"]:
            errors[by_key] = f"Keep this under {LIMITS['consent_by']} characters."
        if approved_on and approved_on > today:
            errors[on_key] = "The approval date can't be in the future."
        if approved_on and expires_on and expires_on < approved_on:
            errors[until_key] = (
                f"The consent expires ({expires_on.isoformat()}) before it was approved ({approved_on.isoformat()})."
            )
        consents[ref_type] = ConsentDraft(approved_by, approved_on, expires_on) if approved_by else None
        if not approved_by and (approved_on or expires_on):  # a half-recorded consent (unless it is on record)
            unnamed.add(ref_type)
            errors[by_key] = "Who at the customer approved it? (Leave it empty for no consent.)"

    new_incident: IncidentDraft | None = None
    summary = _str(raw, "incident_summary")
    occurred_on = _date(raw, "incident_on", errors)
    severity = _str(raw, "incident_severity")
    if summary:
        if len(summary) > LIMITS["incident_summary"]:
            errors["incident_summary"] = f"Keep this under {LIMITS['incident_summary']} characters."
        if occurred_on is None and "incident_on" not in errors:
            errors["incident_on"] = "When did it happen?"
        elif occurred_on is not None and occurred_on > today:
            errors["incident_on"] = "The incident date can't be in the future."
        if severity not in SEVERITIES:
            errors["incident_severity"] = "How severe was it?"
        if occurred_on is not None and severity in SEVERITIES:
            new_incident = IncidentDraft(occurred_on, severity, summary)
    elif occurred_on or severity:
        errors["incident_summary"] = "Describe the incident in a line (or clear its date and severity)."

    resolve: set[int] = set()
    chosen = raw.get("resolve") or []
    for value in chosen if isinstance(chosen, list) else [chosen]:
        if str(value).isdigit():
            resolve.add(int(value))
    return CustomerDraft(fields, contacts, consents, new_incident, resolve, errors, typed, unnamed)


def open_incidents(customer: Customer) -> list[Incident]:
    """Unresolved incidents, most recent first (the form offers the first `MAX_RESOLVABLE` for resolving)."""
    return sorted((i for i in customer.incidents if not i.resolved), key=lambda i: (i.occurred_on, i.id), reverse=True)
