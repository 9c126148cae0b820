"""What the account owner sees when a customer's reference helped: the ask, the note form, the answer."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from bot import ids
from bot.thanks import NOTE_LIMIT, ThanksStatus
from bot.views.text import actions, button, plain, safe, section
from models import Thanks

Message = dict[str, Any]


def _amount(value: Decimal | None) -> str:
    return f" ({value:,.0f})" if value is not None else ""


def ask_sentence(thanks: Thanks) -> str:
    """"Acme's Hannah Weber helped win Globex (120,000): thank Hannah?" (escaped)."""
    request, customer = thanks.request, thanks.customer
    who = safe(customer.name, 150)
    if thanks.contact_name.strip():
        who += f"'s {safe(thanks.contact_name, 150)}"
    names = thanks.contact_name.split()
    first = safe(names[0], 60) if names else "them"
    verb = "helped win" if request.deal_won else "helped with"
    return f"{who} {verb} {safe(request.prospect, 150)}{_amount(request.opportunity_amount)}: thank {first}?"


def thanks_ask(thanks: Thanks) -> Message:
    sentence = ask_sentence(thanks)
    text = sentence  # escaped by ask_sentence
    blocks: list[dict[str, Any]] = [section(f":pray: {sentence}")]
    if thanks.status == ThanksStatus.THANKED:
        how = f": “{safe(thanks.note, 300)}”" if thanks.note else ""
        blocks.append(section(f":white_check_mark: You thanked them{how}. It is on the customer's profile."))
        return {"text": text, "blocks": blocks}
    blocks.append(section("refbot never contacts the customer: a note, a call or a gift from you is what counts."))
    elements = [button("Thanked", ids.THANKED, str(thanks.id), style="primary")]
    if thanks.status == ThanksStatus.ASKED:
        elements.append(button("Not now", ids.THANKS_NOT_NOW, str(thanks.id)))
    else:
        blocks.append(section("_Not now, you said; say Thanked whenever you have._"))
    blocks.append(actions(f"thanks:{thanks.id}", *elements))
    return {"text": text, "blocks": blocks}


def thanked_modal(thanks: Thanks) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.THANKED_MODAL,
        "private_metadata": json.dumps({"thanks_id": thanks.id}),
        "title": plain("Thanked", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(ask_sentence(thanks)),
            {
                "type": "input",
                "block_id": "note",
                "optional": True,
                "label": plain("How did you thank them? (optional)", 2000),
                "element": {
                    "type": "plain_text_input", "action_id": "note", "multiline": True, "max_length": NOTE_LIMIT,
                },  # fmt: skip
            },
        ],
    }
