"""The outcome details form."""

from __future__ import annotations

import json
from typing import Any

from bot import ids
from bot.views.text import plain, safe, section
from models import ReferenceRequest
from models.enums import Outcome


def outcome_modal(request: ReferenceRequest, stages: tuple[str, ...]) -> dict[str, Any]:
    customer = request.customer.name if request.customer else "the customer"

    def option(value: str, label: str) -> dict[str, Any]:
        return {"text": plain(label, 75), "value": value}

    return {
        "type": "modal",
        "callback_id": ids.OUTCOME_MODAL,
        "private_metadata": json.dumps({"request_id": request.id}),
        "title": plain("How did it go?", 24),
        "submit": plain("Save", 24),
        "close": plain("Back", 24),
        "blocks": [
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
            {
                "type": "input",
                "block_id": "feedback",
                "optional": True,
                "label": plain("Feedback for the reference team", 2000),
                "element": {"type": "plain_text_input", "action_id": "feedback", "multiline": True, "max_length": 3000},
            },
        ],
    }
