"""Every action_id and callback_id in one place; handlers match on these, never on display text."""

from __future__ import annotations

# Request intake modal
REQUEST_MODAL = "request.submit"
SPECIFIC_CUSTOMER = "request.specific_customer"  # external_select: type-ahead over the customer list

# Manager card
APPROVE = "request.approve"
ASK_OWNER = "request.ask_owner"
DECLINE = "request.decline"
DECLINE_MODAL = "request.decline_submit"

# Requester
CANCEL = "request.cancel"
NEW_REQUEST = "request.new"

# Account owner check-in
CHECKIN_ANSWER = "checkin.answer"  # value: "<checkin id>:<happy|concerns|unhappy>"
CHECKIN_WITH_NOTE = "checkin.answer_with_note"
CHECKIN_MODAL = "checkin.answer_submit"
