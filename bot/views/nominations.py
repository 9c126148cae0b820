"""What people see of nominations: the form, the managers' card, the decline form, the news, the offer.

A blocked customer's form and card say so at the top. Every string that came from a person goes through
`safe`/`quote`/`plain`; the card is at most 8 blocks.
"""

from __future__ import annotations

import json
from typing import Any

from bot import ids
from bot.nominations import LIMITS, NominationStatus, Nominee
from bot.settings import Settings
from bot.views.text import actions, button, clip, context, escape, header, mention, plain, quote, safe, section, when
from models import Customer, Nomination
from models.enums import RefType

Message = dict[str, Any]


def _input(
    block_id: str, label: str, *, optional: bool = False, multiline: bool = False, hint: str = ""
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label, 2000),
        "element": {
            "type": "plain_text_input",
            "action_id": block_id,
            "multiline": multiline,
            "max_length": LIMITS[block_id],
        },  # fmt: skip
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _blocked_line(blocked: list[str], name: str) -> str:
    return f":no_entry: *{safe(name, 150)} is blocked now*: {safe('; '.join(blocked), 600)}"


def nomination_modal(found: Nominee) -> dict[str, Any]:
    """Why, the contact, which kinds (≤ 8 blocks)."""
    customer = found.customer
    blocks: list[dict[str, Any]] = [section(f"Nominate *{safe(customer.name, 150)}* as a reference.")]
    if found.blocked:
        blocks.append(
            context(_blocked_line(found.blocked, customer.name) + ". You may still nominate; the managers will see it.")
        )
    options = [{"text": plain(t.label, 75), "value": t.value} for t in RefType]
    blocks += [
        _input("why", "Why would they make a good reference?", multiline=True),
        _input("contact_name", "Who at the customer would speak for us"),
        _input("contact_title", "Their title", optional=True),
        _input("contact_email", "Their e-mail", optional=True),
        {
            "type": "input",
            "block_id": "kinds",
            "label": plain("What would they do", 2000),
            "element": {"type": "checkboxes", "action_id": "kinds", "options": options},
        },
    ]
    return {
        "type": "modal",
        "callback_id": ids.NOMINATION_MODAL,
        "private_metadata": json.dumps({"customer_id": customer.id}),
        "title": plain("Nominate a reference", 24),
        "submit": plain("Nominate", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def nominated_view(nomination: Nomination) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain("Nominated", 24),
        "close": plain("Done", 24),
        "blocks": [
            section(
                f":white_check_mark: Thank you: *{safe(nomination.customer.name, 150)}* is before the reference "
                "managers; you will hear what they decide."
            )
        ],
    }


def _kinds(nomination: Nomination) -> str:
    labels = []
    for value in nomination.kinds:
        try:
            labels.append(RefType(value).label)
        except ValueError:
            continue
    return ", ".join(labels) or "—"


def _contact(nomination: Nomination) -> str:
    line = safe(nomination.contact_name, 200)
    if nomination.contact_title:
        line += f", {safe(nomination.contact_title, 200)}"
    if nomination.contact_email:
        line += f" · {safe(nomination.contact_email, 320)}"
    return line


def nomination_card(nomination: Nomination, found: Nominee, settings: Settings) -> Message:
    """The managers' DM: who, why, the contact, the kinds, what stands against the customer; then Accept /
    Decline, or once decided a one-line record of it."""
    customer = nomination.customer
    text = f"{mention(nomination.nominated_by)} nominated {escape(clip(customer.name, 150))} as a reference"
    blocks: list[dict[str, Any]] = [
        header(f"Nomination: {customer.name}"),
        section(
            f"{mention(nomination.nominated_by)} nominated *{safe(customer.name, 150)}* as a reference · "
            f"{when(nomination.created_at, settings.tz)}\n{quote(nomination.why, 1200)}"
        ),
        section(f"*Contact*: {_contact(nomination)}\n*Would do*: {_kinds(nomination)}"),
    ]
    if nomination.status == NominationStatus.ACCEPTED:
        blocks.append(
            section(
                f":white_check_mark: Accepted by {mention(nomination.decided_by)}: "
                f"{safe(customer.name, 150)} is now a reference."
            )
        )
        return {"text": text, "blocks": blocks}
    if nomination.status == NominationStatus.DECLINED:
        blocks.append(
            section(f":x: Declined by {mention(nomination.decided_by)}: {safe(nomination.decline_reason, 500)}")
        )
        return {"text": text, "blocks": blocks}
    if found.blocked:
        blocks.append(section(_blocked_line(found.blocked, customer.name) + ": accepting it does not lift that."))
    owner = f"Owner {mention(customer.owner_slack_id)}" if customer.owner_slack_id else "No owner on record"
    reason = (
        f"Not a reference now: {safe(customer.not_referenceable_reason, 300)}"
        if customer.not_referenceable_reason
        else ""
    )
    blocks.append(context(owner, reason))
    blocks.append(
        actions(
            f"nomination:{nomination.id}",
            button("Accept", ids.for_item(ids.NOMINATION_ACCEPT, nomination.id), str(nomination.id), style="primary"),
            button("Decline…", ids.for_item(ids.NOMINATION_DECLINE, nomination.id), str(nomination.id), style="danger"),
        )
    )
    return {"text": text, "blocks": blocks}


def decline_modal(nomination: Nomination) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.NOMINATION_DECLINE_MODAL,
        "private_metadata": json.dumps({"nomination_id": nomination.id}),
        "title": plain("Decline nomination", 24),
        "submit": plain("Decline", 24),
        "close": plain("Back", 24),
        "blocks": [
            section(
                f"Declining {mention(nomination.nominated_by)}'s nomination of *{safe(nomination.customer.name, 150)}*."
            ),
            _input("reason", "Reason (the nominator will see it)", multiline=True),
        ],
    }


def decided_notice(nomination: Nomination) -> Message:
    """To the nominator: what the manager decided."""
    name = safe(nomination.customer.name, 150)
    if nomination.status == NominationStatus.ACCEPTED:
        line = (
            f":tada: {mention(nomination.decided_by)} accepted your nomination: *{name}* is now a reference "
            f"({_kinds(nomination)}), with {safe(nomination.contact_name, 200)} as the contact."
        )
    else:
        line = (
            f"{mention(nomination.decided_by)} declined your nomination of *{name}*: "
            f"{safe(nomination.decline_reason, 500)}"
        )
    return {"text": f"Your nomination of {escape(clip(nomination.customer.name, 150))}", "blocks": [section(line)]}


def offer_message(customer: Customer, nps: int) -> Message:
    """To an owner who just said Happy with NPS 9–10 about a customer that is not a reference yet."""
    line = (
        f"You said *{safe(customer.name, 150)}* is happy (NPS {nps}), and it is not a reference yet. "
        "*Nominate it as a reference?* The reference managers decide; nothing reaches the customer."
    )
    return {
        "text": f"Nominate {escape(clip(customer.name, 150))} as a reference?",
        "blocks": [
            section(line),
            actions(
                f"offer:{customer.id}",
                button("Nominate as a reference", ids.for_item(ids.NOMINATE, customer.id), str(customer.id), "primary"),
            ),
        ],
    }


def home_section(nominations: list[Nomination], total: int) -> list[dict[str, Any]]:
    """The managers' App Home: the nominations waiting for a decision (≤ 1 + 2×5 blocks)."""
    if not nominations:
        return []
    blocks: list[dict[str, Any]] = [section(f"*Nominations waiting* ({total})")]
    for nomination in nominations[:5]:
        blocks.append(
            section(
                f"*{safe(nomination.customer.name, 150)}* · by {mention(nomination.nominated_by)} · "
                f"{_kinds(nomination)} · {safe(' '.join(nomination.why.split()), 200)}"
            )
        )
        blocks.append(
            actions(
                f"home_nomination:{nomination.id}",
                button(
                    "Accept", ids.for_item(ids.NOMINATION_ACCEPT, nomination.id), str(nomination.id), style="primary"
                ),
                button("Decline…", ids.for_item(ids.NOMINATION_DECLINE, nomination.id), str(nomination.id)),
            )
        )
    if total > 5:
        blocks.append(context(f"…and {total - 5} more in your DMs."))
    return blocks
