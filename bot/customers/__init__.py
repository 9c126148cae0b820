"""The customer list as people curate it from Slack: find, look up, profile, "may we use them?", add/edit.

Plain Python that knows nothing of Slack payloads: a command arrives as its text, a form as `{block_id: value}`.
One module per job: `query` (what a person types to search: words, facets, types), `search` (scoring and
judging the list), `lookup` (the one customer someone meant; the type-ahead), `profile` (`show` and
`can-use`), `form` (the add/edit form shown and parsed into a draft) and `saving` (the audited save).
Refusals are typed errors (`NotAllowed`, `NotFound`, `ValidationFailed` keyed by the form's block ids).
"""

from bot.customers.form import (
    LIMITS,
    MAX_RESOLVABLE,
    SEVERITIES,
    CustomerDraft,
    consent_block,
    contacts_text,
    fingerprint,
    list_text,
    open_incidents,
    parse_customer_form,
)
from bot.customers.lookup import Lookup, get_customer, lookup, named_exactly, suggest
from bot.customers.profile import CanUse, PastUse, Profile, answered_checkins, can_use, load_profile, parse_can_use
from bot.customers.query import MAX_QUERY, SearchQuery, clean_text, domain_of, parse_query, parse_ref_type
from bot.customers.saving import Saved, load_for_edit, save_customer
from bot.customers.search import PAGE_SIZE, SearchPage, SearchResult, pseudo_requests, search

__all__ = [
    "LIMITS",
    "MAX_QUERY",
    "MAX_RESOLVABLE",
    "PAGE_SIZE",
    "SEVERITIES",
    "CanUse",
    "CustomerDraft",
    "Lookup",
    "PastUse",
    "Profile",
    "Saved",
    "SearchPage",
    "SearchQuery",
    "SearchResult",
    "answered_checkins",
    "can_use",
    "clean_text",
    "consent_block",
    "contacts_text",
    "domain_of",
    "fingerprint",
    "get_customer",
    "list_text",
    "load_for_edit",
    "load_profile",
    "lookup",
    "named_exactly",
    "open_incidents",
    "parse_can_use",
    "parse_customer_form",
    "parse_query",
    "parse_ref_type",
    "pseudo_requests",
    "save_customer",
    "search",
    "suggest",
]
