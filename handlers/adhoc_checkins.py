"""`/reference checkin <customer>`: ask the account owner now, or (the owner running it) answer in a form."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from bot import adhoc_checkins as adhoc
from bot import customers as cu
from bot import ids
from bot import requests as rq
from bot.deps import Deps
from bot.views.checkins import checkin_now_modal, owner_asked
from bot.views.customers import did_you_mean
from bot.views.notices import FORM_FOR_NO_CUSTOMER
from handlers.commands import Invocation, Subcommand
from handlers.listener import Listen, Submission, open_view
from models.types import utcnow

USAGE = "Which customer? For example `/reference checkin Acme` or `/reference checkin acme.com`."


def _checkin(call: Invocation) -> None:
    """The owner gets the form to answer at once; anyone else allowed is told the owner was asked."""
    if not call.rest:
        call.reply(USAGE)
        return
    settings = call.deps.settings
    form: dict[str, Any] | None = None
    with call.deps.db.transaction() as session:
        found = cu.lookup(session, call.rest)
        if found.customer is None:
            message = did_you_mean(call.rest, found.choices)
        else:
            step = adhoc.checkin_now(session, settings, found.customer.id, call.user_id, utcnow())
            if isinstance(step, adhoc.AnswerYourself):
                form = checkin_now_modal(step.customer, settings)
            else:
                message = {"text": owner_asked(step.customer, step.checkin, step.created, settings)}
    call.deps.outbox.kick()
    if form is not None:
        open_view(call.client, call.command.get("trigger_id"), form, call.reply, "the check-in form")
    else:
        call.reply(**message)


def subcommands() -> list[Subcommand]:
    return [
        Subcommand("checkin", "checkin <customer>", "ask the account owner now whether it is still happy.", _checkin)
    ]


def register(app: App, deps: Deps) -> None:
    settings = deps.settings
    on = Listen(app, deps)

    @on.submits(ids.CHECKIN_NOW_MODAL, errors_at="note")
    def answer_now(session: Session, form: Submission) -> None:
        customer_id = form.record("customer_id", FORM_FOR_NO_CUSTOMER)
        said = rq.parse_checkin_answer(form.texts)
        adhoc.answer_now(session, settings, customer_id, form.user_id, said, utcnow())
