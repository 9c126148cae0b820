"""The outcome buttons (one click, or "Details…") and the outcome details form."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.views.forms import modal, text_input
from bot.views.text import button, choice_buttons, plain, safe, section
from models import ReferenceRequest
from models.enums import Outcome


def outcome_buttons(request_id: int, *, in_list: bool = False) -> list[dict[str, Any]]:
    """The one-click outcomes and "Details…" for one request. `in_list`: among other requests in one message
    (the App Home, `/reference mine`), so each action id names its request; its Details… opens the same form."""
    buttons = choice_buttons(ids.OUTCOME, request_id, Outcome, {Outcome.HELPED: "primary"}, in_list)
    details = ids.for_item(ids.HOME_OUTCOME_DETAILS, request_id) if in_list else ids.OUTCOME_DETAILS
    return [*buttons, button("Details…", details, str(request_id))]

def outcome_modal(request: ReferenceRequest, stages: tuple[str, ...]) -> dict[str, Any]:
    customer = request.customer.name if request.customer else "the customer"

    def option(value: str, label: str) -> dict[str, Any]:
        return {"text": plain(label, 75), "value": value}

    blocks = [
        section(
            f"The *{safe(customer, 200)}* reference for *{safe(request.prospect, 200)}* (request #{request.id})."
        ),
        {
            "type": "input",
            "block_id": "outcome",
            "label": plain("How did it go?", 2000),
            "element": {
                "type": "radio_buttons",
                "action_id": "outcome",
                "options": [option(o.value, o.label) for o in Outcome],
            },
        },
        {
            "type": "input",
            "block_id": "held_on",
            "optional": True,
            "label": plain("Date it was held", 2000),
            "element": {"type": "datepicker", "action_id": "held_on"},
        },
        {
            "type": "input",
            "block_id": "deal_stage",
            "optional": True,
            "label": plain("Deal stage now", 2000),
            "element": {
                "type": "static_select",
                "action_id": "deal_stage",
                "options": [option(stage, stage) for stage in stages],
            },
        },
        {
            "type": "input",
            "block_id": "deal_won",
            "optional": True,
            "label": plain("Won or lost?", 2000),
            "element": {
                "type": "radio_buttons",
                "action_id": "deal_won",
                "options": [option("won", "Won"), option("lost", "Lost"), option("open", "Still open")],
            },
        },
        {
            "type": "input",
            "block_id": "amount_influenced",
            "optional": True,
            "label": plain("Amount influenced", 2000),
            "element": {
                "type": "number_input",
                "action_id": "amount_influenced",
                "is_decimal_allowed": True,
                "min_value": "0",
            },
        },
        text_input("feedback", "Feedback for the reference team", limit=3000, multiline=True),
    ]
    return modal(ids.OUTCOME_MODAL, "How did it go?", "Save", blocks, request_id=request.id)
