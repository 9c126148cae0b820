"""Messages the scheduled jobs send: grouped check-ins, reminders, escalations, outcome follow-ups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot import ids
from bot.settings import Settings
from bot.views.checkins import owner_says
from bot.views.text import (
    actions,
    approver_words,
    button,
    context,
    header,
    mention,
    plural,
    quote,
    safe,
    section,
    when,
)
from models import CheckIn, Consent, Customer, ReferenceRequest
from models.enums import CheckInStatus, Happiness, Outcome, RefType

Message = dict[str, Any]

_STYLE = {Happiness.HAPPY: "primary", Happiness.UNHAPPY: "danger"}
_DOT = {
    Happiness.HAPPY: ":large_green_circle:",
    Happiness.CONCERNS: ":large_yellow_circle:",
    Happiness.UNHAPPY: ":red_circle:",
}


def _last_seen(customer: Customer, now: datetime) -> str:
    if customer.last_checkin_at is None or customer.last_checkin_answer is None:
        return "never checked in"
    days = (now - customer.last_checkin_at).days
    return f"last: {Happiness(customer.last_checkin_answer).label}, {days} days ago"


def checkin_round(checkins: list[CheckIn], settings: Settings, now: datetime, *, reminder: bool = False) -> Message:
    """One DM per owner listing their customers, each answerable with one click (or a note and NPS)."""
    waiting = [c for c in checkins if c.status == CheckInStatus.PENDING]
    count = len(checkins)
    if reminder:
        still = "customer still waits" if len(waiting) == 1 else "customers still wait"
        title = f"Reminder: {len(waiting)} {still} for your check-in"
    else:
        title = (
            f"Check-in: are these {count} customers still happy?"
            if count > 1
            else "Check-in: is this customer still happy?"
        )
    blocks: list[dict[str, Any]] = [
        header(title),
        context(
            "Before anyone is offered as a reference, refbot confirms with the account owner. "
            "Your answers are kept in each customer's history; *Unhappy* tells the reference team at once."
        ),
    ]
    for checkin in checkins:
        customer = checkin.customer
        if checkin.status == CheckInStatus.PENDING:
            blocks.append(section(f"*{safe(customer.name, 200)}* · {_last_seen(customer, now)}"))
            blocks.append(
                actions(
                    f"round:{checkin.id}",
                    *[
                        button(
                            a.label,
                            ids.for_item(ids.CHECKIN_ANSWER, f"{a.value}_{checkin.id}"),
                            f"{checkin.id}:{a.value}",
                            style=_STYLE.get(a),
                        )
                        for a in Happiness
                    ],
                    button("With a note…", ids.for_item(ids.CHECKIN_WITH_NOTE, checkin.id), str(checkin.id)),
                )
            )
        elif checkin.status == CheckInStatus.ANSWERED:
            answer = Happiness(checkin.answer)
            nps = f" · NPS {checkin.nps}" if checkin.nps is not None else ""
            blocks.append(
                section(
                    f"*{safe(customer.name, 200)}* · {_DOT[answer]} {answer.label}{nps} by "
                    f"{mention(checkin.answered_by)} · {when(checkin.answered_at or now, settings.tz)}"
                )
            )
        else:
            blocks.append(section(f"*{safe(customer.name, 200)}* · no longer needed"))
    text = f"{title}: " + ", ".join(safe(c.customer.name, 200) for c in checkins[:10])
    return {"text": text[:3000], "blocks": blocks}


def escalation(by_owner: dict[str, list[CheckIn]], settings: Settings) -> Message:
    lines = [
        f"{mention(owner)}: {', '.join(safe(c.customer.name, 100) for c in checkins[:8])}"
        + (f" and {len(checkins) - 8} more" if len(checkins) > 8 else "")
        for owner, checkins in sorted(by_owner.items())
    ]
    days = 2 * settings.checkin_remind_days
    have = "has" if len(by_owner) == 1 else "have"
    text = f"{plural(len(by_owner), 'account owner')} {have} not answered check-ins for {days}+ days"
    return {
        "text": text,
        "blocks": [
            section(f":rotating_light: *{text}*, even after a reminder:"),
            section("\n".join(lines[:25]) + (f"\n… and {len(lines) - 25} more" if len(lines) > 25 else "")),
            context("Their customers cannot be offered as references until someone confirms they are happy."),
        ],
    }


def ownerless(customers: list[Customer]) -> Message:
    names = ", ".join(safe(c.name, 100) for c in customers[:30]) + (
        f" and {len(customers) - 30} more" if len(customers) > 30 else ""
    )
    need, have = ("needs", "has") if len(customers) == 1 else ("need", "have")
    text = f"{plural(len(customers), 'customer')} {need} a check-in but {have} no account owner"
    return {
        "text": text,
        "blocks": [
            section(f":bust_in_silhouette: *{text}*, so nobody can be asked:\n{names}"),
            context("Set an owner (the `owner_slack_id` column of `refbot import`) so check-ins reach someone."),
        ],
    }


def checkin_alert(checkin: CheckIn, settings: Settings) -> Message:
    answer = Happiness(checkin.answer)
    nps = f" (NPS {checkin.nps})" if checkin.nps is not None else ""
    customer = checkin.customer
    text = f"{customer.name}: {answer.label}{nps}"
    line = f"{_DOT[answer]} {owner_says(checkin.answered_by, customer.name, answer)}{nps}."
    blocks = [section(line)]
    if checkin.note:
        blocks.append(section(quote(checkin.note)))
    blocks.append(context("refbot will not offer this customer as a reference until a happier check-in."))
    return {"text": safe(text, 300), "blocks": blocks}


def sla_reminder(request: ReferenceRequest, settings: Settings, now: datetime) -> Message:
    hours = int((now - request.created_at).total_seconds() // 3600)
    text = f"Request #{request.id} for {safe(request.prospect, 200)} has waited {hours} hours"
    return {
        "text": text,
        "blocks": [
            section(
                f":alarm_clock: Request #{request.id} from {mention(request.requester_id)} for "
                f"*{safe(request.prospect, 200)}* ({RefType(request.ref_type).label}) has waited *{hours} hours* "
                f"for a decision (target: {settings.approval_sla_hours} h)."
            ),
            context("Approve or decline it on the request's card in this conversation."),
        ],
    }


def outcome_ask(request: ReferenceRequest, settings: Settings, *, reminder: bool = False) -> Message:
    """Asks the rep how the reference went; once answered, shows the answer in place of the buttons."""
    customer = request.customer.name if request.customer else "the customer"
    question = f"How did the {safe(customer, 200)} reference go for *{safe(request.prospect, 200)}*?"
    text = f"How did the {safe(customer, 200)} reference go for {safe(request.prospect, 200)}?"
    if request.outcome is not None:
        outcome = Outcome(request.outcome)
        return {
            "text": text,
            "blocks": [
                section(question),
                section(f":memo: Recorded: *{outcome.label}* by {mention(request.outcome_by)} · thank you!"),
            ],
        }
    lead = ":bell: Reminder: " if reminder else ""
    blocks = [
        section(f"{lead}{question}"),
        context(
            f"Request #{request.id} · {RefType(request.ref_type).label}"
            + (f" · needed by {request.needed_by.isoformat()}" if request.needed_by else "")
            + ". Your answer tells the reference team what works, and thanks the customer."
        ),
        actions(
            "outcome",
            *[
                button(
                    o.label,
                    ids.for_item(ids.OUTCOME, o.value),
                    f"{request.id}:{o.value}",
                    style="primary" if o == Outcome.HELPED else None,
                )
                for o in Outcome
            ],
            button("Details…", ids.OUTCOME_DETAILS, str(request.id)),
        ),
    ]
    return {"text": text, "blocks": blocks}


def negative_feedback(request: ReferenceRequest, settings: Settings) -> Message:
    customer = request.customer.name if request.customer else "a customer"
    text = f"The {safe(customer, 200)} reference hurt the {safe(request.prospect, 200)} deal"
    blocks = [
        section(
            f":warning: {mention(request.outcome_by)} reports that the *{safe(customer, 200)}* reference for "
            f"*{safe(request.prospect, 200)}* (request #{request.id}) *hurt*."
        )
    ]
    if request.feedback:
        blocks.append(section(quote(request.feedback)))
    blocks.append(context("Worth a conversation with the customer before they are asked again."))
    return {"text": text, "blocks": blocks}


def consent_expiring(consent: Consent, today: date, assets: Sequence[str] = ()) -> Message:
    """The consent about to lapse, and the content library's assets that depend on it."""
    customer = consent.customer
    days = (consent.expires_on - today).days if consent.expires_on else 0
    label = RefType(consent.ref_type).label.lower()
    who = f" by {safe(approver_words(consent.approved_by), 200)}" if consent.approved_by else ""
    on = f" on {consent.approved_on.isoformat()}" if consent.approved_on else ""
    text = f"{safe(customer.name, 200)}'s {label} consent expires in {days} days"
    return {
        "text": text,
        "blocks": [
            section(
                f":hourglass: *{safe(customer.name, 200)}*'s {label} consent (approved{who}{on}) expires on "
                f"*{consent.expires_on.isoformat() if consent.expires_on else '?'}*, in {days} days."
            ),
            *_depending(assets),
            context("Renew it with the customer, or refbot stops offering them for this use on that day."),
        ],
    }


def _depending(assets: Sequence[str]) -> list[dict[str, Any]]:
    if not assets:
        return []
    shown = ", ".join(f"“{safe(title, 120)}”" for title in assets[:10])
    more = f" and {len(assets) - 10} more" if len(assets) > 10 else ""
    return [section(f":books: Content that depends on it: {shown}{more}.")]
