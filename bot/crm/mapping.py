"""What a CRM record means for refbot: which fields the CRM owns, and how region and segment are derived.

The CRM owns who a customer is and who owns the account: `CRM_OWNED` below. A sync overwrites those with
the CRM's value whenever the CRM has one (an empty CRM field leaves refbot's value alone: a spreadsheet's
industry is not erased because the CRM never had one). Everything else about a customer is refbot's and a
sync never writes it: whether and how they may be asked (referenceable, the reason, guidance, notes),
consents, check-ins, incidents, uses, products and topics. The one exception is deliberate: an account
deleted in the CRM, or no longer a customer there, becomes not referenceable (its history kept), and
becomes referenceable again only if the CRM was the reason it stopped being so.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from bot.crm.connector import CrmAccount

CRM_OWNED = ("name", "domain", "industry", "region", "segment", "owner_slack_id", "owner_email", "crm_owner_id")
REFBOT_OWNED = (
    "referenceable",
    "not_referenceable_reason",
    "guidance",
    "notes",
    "products",
    "topics",
    "consents",
    "check-ins",
    "incidents",
    "reference uses",
)
LABELS = {"salesforce": "Salesforce", "hubspot": "HubSpot"}
# Employees are the band's measure; without a head count, revenue stands in at this much per employee.
REVENUE_PER_EMPLOYEE = Decimal(200_000)


def crm_label(crm: str) -> str:
    """The CRM as people name it."""
    return LABELS.get(crm, crm)


def region_of(country: str | None, regions: Mapping[str, str]) -> str:
    """The billing country's region by the configured map; an unmapped country is left as refbot's ("")."""
    if not country or not country.strip():
        return ""
    return regions.get(country.strip().casefold(), "")


def segment_of(account: CrmAccount, bands: tuple[tuple[int, str], ...]) -> str:
    """The segment band of the account's employees (or, without a head count, its revenue's equivalent)."""
    size = account.employees
    if size is None and account.annual_revenue is not None:
        size = int(account.annual_revenue / REVENUE_PER_EMPLOYEE)
    if size is None or not bands:
        return ""
    segment = ""
    for low, name in bands:
        if size >= low:
            segment = name
    return segment
