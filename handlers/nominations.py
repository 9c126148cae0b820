"""Listeners for nominations: `/reference nominate`, *Nominate*, the form, *Accept*, *Decline…* and its form.

Written the one way (`handlers/listener.py`): the ids a listener reads, one call into `bot.nominations`,
and what it shows with `bot.views.nominations`. The domain re-reads the nomination and checks the
clicker is a manager on every click; forms are saved before their ack, so bad input stays in the form.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from bot import customers as cu
from bot import ids
from bot import nominations as nom
from bot.deps import Deps
from bot.views.customers import did_you_mean
from bot.views.nominations import decline_modal, nominated_view, nomination_modal
from bot.views.notices import OUT_OF_DATE_PLAIN
from handlers.commands import Invocation, Subcommand
from handlers.forms import one_record
from handlers.listener import Click, Listen, Submission, open_view
from models.types import utcnow

FORM_FOR_NO_CUSTOMER = "This form no longer matches a customer; open it again from the profile."
FORM_FOR_NO_NOMINATION = "This form no longer matches a nomination."


def subcommands() -> list[Subcommand]:
    def nominate(call: Invocation) -> None:
        if not call.rest:
            call.reply("Which customer? For example `/reference nominate Acme Corp`.")
            return
        with call.deps.db.reading() as session:
            found = cu.lookup(session, call.rest)
            if found.customer is None:
                call.reply(**did_you_mean(call.rest, found.choices))
                return
            view = nomination_modal(nom.nominee_for_form(session, call.deps.settings, found.customer.id, utcnow()))
        open_view(call.client, call.command.get("trigger_id"), view, call.reply, "the nomination form")

    return [Subcommand("nominate", "nominate <customer>", "put a customer forward as a new reference.", nominate)]


def register(app: App, deps: Deps) -> None:
    settings = deps.settings
    on = Listen(app, deps)

    @on.opens(ids.matching(ids.NOMINATE), reads=one_record, stale=OUT_OF_DATE_PLAIN)
    def open_form(session: Session, click: Click[int]) -> dict[str, Any]:
        return nomination_modal(nom.nominee_for_form(session, settings, click.carried, utcnow()))

    @on.submits(ids.NOMINATION_MODAL, errors_at="why")
    def submit(session: Session, form: Submission) -> dict[str, Any]:
        customer_id = form.record("customer_id", FORM_FOR_NO_CUSTOMER)
        via = str(form.view.get("id") or "")
        nomination = nom.nominate(session, settings, form.user_id, customer_id, form.values, via)
        return {"response_action": "update", "view": nominated_view(nomination)}

    @on.change(ids.matching(ids.NOMINATION_ACCEPT), reads=one_record)
    def accept(session: Session, click: Click[int]) -> None:
        nom.accept(session, settings, click.carried, click.user_id)

    @on.opens(ids.matching(ids.NOMINATION_DECLINE), reads=one_record)
    def open_decline(session: Session, click: Click[int]) -> dict[str, Any]:
        return decline_modal(nom.nomination_to_decide(session, settings, click.carried, click.user_id))

    @on.submits(ids.NOMINATION_DECLINE_MODAL, errors_at="reason")
    def submit_decline(session: Session, form: Submission) -> None:
        nomination_id = form.record("nomination_id", FORM_FOR_NO_NOMINATION)
        nom.decline(session, settings, nomination_id, form.text("reason"), form.user_id)
