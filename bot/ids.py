"""Every action_id and callback_id in one place; handlers match on these, never on display text."""

from __future__ import annotations

import re

# Request intake modal
REQUEST_MODAL = "request.submit"
SPECIFIC_CUSTOMER = "request.specific_customer"  # external_select: type-ahead over the customer list
OPPORTUNITY = "request.opportunity"  # external_select: the rep's open CRM opportunities; picking one fills the form
LINK_OPPORTUNITY = "request.link_opportunity"  # external_select in the manager's link form: any open opportunity
LINK_MODAL = "request.link_submit"  # `/reference link 12`; private_metadata: {"request_id"}

# Manager card
APPROVE = "request.approve"
ASK_OWNER = "request.ask_owner"
DECLINE = "request.decline"
DECLINE_MODAL = "request.decline_submit"

# Requester
CANCEL = "request.cancel"
NEW_REQUEST = "request.new"  # opens the intake form (the App Home's button)
REQUEST_FROM_MESSAGE = "request.from_message"  # the message shortcut "Request a reference" (manifest.yml)

# Account owner check-in
CHECKIN_ANSWER = "checkin.answer"  # value: "<checkin id>:<happy|concerns|unhappy>"
CHECKIN_WITH_NOTE = "checkin.answer_with_note"
CHECKIN_MODAL = "checkin.answer_submit"
CHECKIN_NOW_MODAL = "checkin.now_submit"  # `/reference checkin` by the owner; private_metadata: {"customer_id"}

# Requester's outcome follow-up
OUTCOME = "outcome.record"  # per item: "outcome.record:helped"; value "<request id>:<outcome>"
OUTCOME_DETAILS = "outcome.details"
OUTCOME_MODAL = "outcome.details_submit"

# Customers: /reference find, show, add and the Edit button
CUSTOMER_FIND_PAGE = "customer.find_page"  # per item: ":next" / ":previous"; value: JSON {"q": query, "o": offset}
CUSTOMER_REQUEST = "customer.request"  # per item: "customer.request:34"; value: customer id
CUSTOMER_PROFILE = "customer.profile"  # per item: "customer.profile:34"; value: customer id
CUSTOMER_EDIT = "customer.edit"  # value: customer id (only on a manager's profile)
CUSTOMER_MODAL = "customer.save"  # the add/edit form; private_metadata: {"customer_id", "fingerprint"}

# Incidents, from a customer's profile (managers and the account owner)
INCIDENT_RECORD = "incident.record"  # value: customer id; opens the Record incident form
INCIDENT_RECORD_MODAL = "incident.record_submit"  # private_metadata: {"customer_id"}
INCIDENT_RESOLVE = "incident.resolve"  # value: customer id; opens the Resolve form (its open incidents)
INCIDENT_RESOLVE_MODAL = "incident.resolve_submit"  # private_metadata: {"customer_id"}

# Importing a list from Slack (managers): `/reference import`, the App Home's "Import a list"
IMPORT_OPEN = "import.open"  # the App Home's button: opens the file form
IMPORT_MODAL = "import.submit"  # the file_input form
IMPORT_APPLY = "import.apply"  # value: the Slack file id; on the preview DM
IMPORT_CANCEL = "import.cancel"  # value: the Slack file id

# Content library: /reference asset add, Add asset on a profile, /reference assets and I'm using this
ASSET_ADD = "asset.add"  # value: customer id (only on a manager's profile)
ASSET_MODAL = "asset.save"  # the add form
ASSET_USE = "asset.use"  # per item: "asset.use:12"; value: asset id (only on an asset that may be used now)
ASSET_USE_MODAL = "asset.use_submit"  # private_metadata: {"asset_id"}

# Nominations: /reference nominate, Nominate on a profile or after a promoter's check-in, Accept / Decline
NOMINATE = "nomination.open"  # per item: "nomination.open:34"; value: customer id
NOMINATION_MODAL = "nomination.submit"  # private_metadata: {"customer_id"}
NOMINATION_ACCEPT = "nomination.accept"  # per item: "nomination.accept:7"; value: nomination id
NOMINATION_DECLINE = "nomination.decline"  # per item: "nomination.decline:7"; value: nomination id
NOMINATION_DECLINE_MODAL = "nomination.decline_submit"  # private_metadata: {"nomination_id"}

# Thanks: the owner's DM after a reference helped
THANKED = "thanks.thanked"  # value: thanks id; opens the optional note form
THANKED_MODAL = "thanks.thanked_submit"  # private_metadata: {"thanks_id"}
THANKS_NOT_NOW = "thanks.not_now"  # value: thanks id

# App Home (the Approve / Decline / Cancel / outcome / check-in buttons on it reuse the ids above, per item)
HOME_EXPAND = "home.expand"  # per item: "home.expand:queue"; value: the section to show in full, "all" for all
HOME_OUTCOME_DETAILS = "home.outcome_details"  # per item: "home.outcome_details:12"; value: request id

# Shadow-market capture: the private reply to an ask spotted in a watched channel
SHADOW_REQUEST = "shadow.to_request"  # value: JSON of the guessed criteria (bot.shadow.Prefill), ≤ 2000 chars


def for_item(action_id: str, item: object) -> str:
    """A per-item action_id ("request.approve:34"): Slack wants action_ids unique within one message."""
    return f"{action_id}:{item}"


def matching(action_id: str) -> re.Pattern[str]:
    """Matches `action_id` alone or with a per-item suffix."""
    return re.compile(rf"^{re.escape(action_id)}(:[a-z0-9_]+)?$")
