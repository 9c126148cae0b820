"""What account owners and managers see about a happiness check-in."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.settings import Settings
from bot.views.forms import modal
from bot.views.text import actions, button, choice_buttons, context, mention, plain, quote, safe, section, when
from models import CheckIn, Customer, ReferenceRequest
from models.enums import CheckInPurpose, CheckInStatus, Happiness, RefType

Message = dict[str, Any]

ANSWER_STYLE = {Happiness.HAPPY: "primary", Happiness.UNHAPPY: "danger"}
ANSWER_DOT = {
    Happiness.HAPPY: ":large_green_circle:",
    Happiness.CONCERNS: ":large_yellow_circle:",
    Happiness.UNHAPPY: ":red_circle:",
}


def answer_buttons(checkin_id: int, *, in_list: bool = False) -> list[dict[str, Any]]:
    """Happy / Some concerns / Unhappy and "with a note", for one check-in. `in_list`: among others in one
    message (a round DM, the App Home), so each action id names its check-in (ids are unique per message)."""
    buttons = choice_buttons(ids.CHECKIN_ANSWER, checkin_id, Happiness, ANSWER_STYLE, in_list)
    if in_list:
        return [*buttons, button("With a note…", ids.for_item(ids.CHECKIN_WITH_NOTE, checkin_id), str(checkin_id))]
    return [*buttons, button("Answer with a note…", ids.CHECKIN_WITH_NOTE, str(checkin_id))]


def _question(checkin: CheckIn, customer: Customer, request: ReferenceRequest | None) -> str:
    name = f"*{safe(customer.name, 200)}*"
    if request is None and checkin.purpose == CheckInPurpose.ASK_OWNER and checkin.asked_by != checkin.asked_of:
        return f"{mention(checkin.asked_by)} asks: is {name} still happy?"
    if request is None:
        return f"Is {name} still happy?"
    use = f"a {RefType(request.ref_type).label.lower()} for *{safe(request.prospect, 200)}*"
    if checkin.purpose == CheckInPurpose.APPROVAL:
        return (
            f"Before {name} is used as a reference for *{safe(request.prospect, 200)}*: is {name} still happy?\n"
            f"{mention(checkin.asked_by)} picked {name} for {use}, requested by {mention(request.requester_id)}."
        )
    return f"{mention(checkin.asked_by)} is considering {name} for {use}. Is {name} still happy?"


def _history(customer: Customer, settings: Settings) -> str:
    answered = [c for c in customer.checkins if c.answered_at is not None]
    if not answered:
        return "No check-in on record yet."
    last = max(answered, key=lambda c: c.answered_at)  # type: ignore[arg-type, return-value]
    nps = f", NPS {last.nps}" if last.nps is not None else ""
    return f"Last check-in: {last.answer.label}{nps}, {when(last.answered_at, settings.tz)}"  # type: ignore[arg-type]


def checkin_card(checkin: CheckIn, customer: Customer, request: ReferenceRequest | None, settings: Settings) -> Message:
    """The owner's DM: the question with one-click answers; after an answer, the answer in place."""
    text = f"Is {safe(customer.name, 200)} still happy?"
    blocks: list[dict[str, Any]] = [section(f":wave: {_question(checkin, customer, request)}")]
    status = checkin.status
    if status == CheckInStatus.PENDING:
        blocks.append(context(_history(customer, settings), "Your answer is kept in the customer's history."))
        blocks.append(actions(f"checkin:{checkin.id}", *answer_buttons(checkin.id)))
    elif status == CheckInStatus.ANSWERED:
        answer = checkin.answer
        nps = f" · NPS {checkin.nps}" if checkin.nps is not None else ""
        line = (
            f"{ANSWER_DOT[answer]} Answered *{answer.label}*{nps} by {mention(checkin.answered_by)} · "
            f"{when(checkin.answered_at, settings.tz)}"  # type: ignore[arg-type]
        )
        if checkin.note:
            line += "\n" + quote(checkin.note)
        blocks.append(section(line))
    else:
        blocks.append(context("No longer needed: the request was closed before an answer came. Thank you!"))
    return {"text": text, "blocks": blocks}


def _answer_inputs() -> list[dict[str, Any]]:
    """Answer, NPS and note: the same inputs whichever way the owner came to the form."""
    return [
        {
            "type": "input",
            "block_id": "answer",
            "label": plain("Answer", 2000),
            "element": {
                "type": "radio_buttons",
                "action_id": "answer",
                "options": [{"text": plain(a.label, 75), "value": a.value} for a in Happiness],
            },
        },
        {
            "type": "input",
            "block_id": "nps",
            "optional": True,
            "label": plain("How likely are they to recommend us? (NPS, 0–10)", 2000),
            "element": {
                "type": "static_select",
                "action_id": "nps",
                "options": [{"text": plain(str(n), 75), "value": str(n)} for n in range(10, -1, -1)],
            },
        },
        {
            "type": "input",
            "block_id": "note",
            "optional": True,
            "label": plain("Note for the reference team", 2000),
            "element": {"type": "plain_text_input", "action_id": "note", "multiline": True, "max_length": 2000},
        },
    ]


def checkin_modal(checkin: CheckIn, customer: Customer) -> dict[str, Any]:
    return modal(
        ids.CHECKIN_MODAL,
        "Customer check-in",
        "Send answer",
        [section(f"Is *{safe(customer.name, 200)}* still happy?"), *_answer_inputs()],
        checkin_id=checkin.id,
    )


def checkin_now_modal(customer: Customer, settings: Settings) -> dict[str, Any]:
    """`/reference checkin` run by the owner: they answer at once, as they would answer the card."""
    blocks = [
        section(f"Is *{safe(customer.name, 200)}* still happy?"),
        context(_history(customer, settings), "Your answer counts like any check-in: it is kept in the history."),
        *_answer_inputs(),
    ]
    return modal(
        ids.CHECKIN_NOW_MODAL, "Customer check-in", "Send answer", blocks, close="Cancel", customer_id=customer.id
    )


def owner_asked(customer: Customer, checkin: CheckIn, created: bool, settings: Settings) -> str:
    """What the manager running `/reference checkin` is told."""
    name = f"*{safe(customer.name, 200)}*"
    if created:
        return (
            f":wave: Asked {mention(checkin.asked_of)} whether {name} is still happy; "
            "their answer comes to you in a DM."
        )
    return (
        f":hourglass: {mention(checkin.asked_of)} was already asked about {name} "
        f"{when(checkin.asked_at, settings.tz)} and has not answered yet; no second question was sent."
    )


def owner_says(owner: str | None, customer_name: str, answer: Happiness) -> str:
    """ "@olivia says *Soylent Pay* is *happy*" / "… has *some concerns*" / "… is *unhappy*" (name unescaped)."""
    verb = "has" if answer == Happiness.CONCERNS else "is"
    return f"{mention(owner)} says *{safe(customer_name, 200)}* {verb} *{answer.label.lower()}*"


def checkin_result(
    checkin: CheckIn, customer: Customer, request: ReferenceRequest | None, blockers: list[str], settings: Settings
) -> Message:
    """Tells the manager who asked what the owner said, and what happened to the request because of it."""
    answer = checkin.answer
    nps = f" (NPS {checkin.nps})" if checkin.nps is not None else ""
    text = f"{customer.name}: {answer.label}"
    line = f"{ANSWER_DOT[answer]} {owner_says(checkin.answered_by, customer.name, answer)}{nps}."
    if checkin.note:
        line += "\n" + quote(checkin.note)
    blocks = [section(line)]
    if request is not None and checkin.purpose == CheckInPurpose.APPROVAL:
        head = f"Request #{request.id} for *{safe(request.prospect, 200)}*"
        if request.status == "approved" and request.customer_id == customer.id:
            follow = f":white_check_mark: {head} is approved; {mention(request.requester_id)} has the details."
        elif answer == Happiness.HAPPY and blockers:
            reasons = "; ".join(safe(b, 300) for b in blockers)
            follow = f":leftwards_arrow_with_hook: {head} is back in your queue: {reasons}."
        else:
            follow = f":leftwards_arrow_with_hook: {head} is back in your queue; pick another customer."
        blocks.append(section(follow))
    return {"text": safe(text, 300), "blocks": blocks}
