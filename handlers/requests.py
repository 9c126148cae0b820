"""Listeners for the request lifecycle: the intake form, Approve / Ask owner / Decline, and Cancel."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from bot import ids
from bot import requests as rq
from bot.crm.mapping import crm_label
from bot.deps import Deps
from bot.jobs import outcome_due_at
from bot.message_requests import source_link
from bot.views.notices import FORM_FOR_NO_REQUEST, OUT_OF_DATE_PLAIN
from bot.views.requests import decline_modal, mine_message, request_modal
from bot.views.text import escape
from handlers.commands import Invocation, Subcommand
from handlers.forms import nothing, one_record, record_id, two_records
from handlers.listener import Click, Listen, Submission, open_view
from models.enums import RequestStatus
from models.types import utcnow

log = logging.getLogger(__name__)


def _crm(deps: Deps) -> str | None:
    """The connected CRM's name, for the form's opportunity type-ahead (None: no CRM, no type-ahead)."""
    return crm_label(deps.settings.crm_name) if deps.settings.crm_name else None


def _open_request_form(call: Invocation) -> None:
    view = request_modal(prospect=call.rest, crm=_crm(call.deps))
    open_view(call.client, call.command.get("trigger_id"), view, call.reply, "the request form")


def _mine(call: Invocation) -> None:
    """The rep's requests, what each waits for, and the buttons for what waits for the rep."""
    settings = call.deps.settings
    now = utcnow()
    with call.deps.db.reading() as session:
        requests = rq.requests_of(session, call.user_id)
        due = {r.id: outcome_due_at(r, settings) for r in requests if r.status == RequestStatus.APPROVED}
        message = mine_message(requests, due, settings, now)
    call.reply(**message)


def _cancel(call: Invocation) -> None:
    number = record_id(call.rest.lstrip("#"))
    if number is None:
        call.reply("Which request? For example `/reference cancel 12`.")
        return
    with call.deps.db.transaction() as session:
        prospect = rq.cancel(session, call.deps.settings, number, call.user_id).prospect
    call.deps.outbox.kick()
    call.reply(f"Request #{number} for {escape(prospect)} is cancelled.")


def subcommands() -> list[Subcommand]:
    return [
        Subcommand("request", "request [prospect]", "ask for a customer reference (opens a form).", _open_request_form),
        Subcommand("mine", "mine", "your requests and where they stand.", _mine),
        Subcommand("cancel", "cancel <number>", "withdraw one of your pending requests.", _cancel),
    ]


def register(app: App, deps: Deps) -> None:
    settings = deps.settings
    on = Listen(app, deps)

    @on.click(ids.NEW_REQUEST, reads=nothing)
    def new_request(click: Click[tuple[()]]) -> None:
        """The App Home's "New reference request": the intake form, while the trigger_id is fresh."""
        click.open(request_modal(crm=_crm(deps)), "the request form")

    @on.submits(ids.REQUEST_MODAL, errors_at="prospect")
    def submit_request(session: Session, form: Submission) -> None:
        """Validated and saved before the ack, so bad input is answered in the form and nothing is lost."""
        draft = rq.parse_draft(form.texts, utcnow().astimezone(settings.tz).date())
        draft = replace(draft, source_permalink=source_link(form.meta.get("source")))
        rq.submit(session, settings, form.user_id, draft)

    @on.change(ids.matching(ids.APPROVE), reads=two_records)
    def approve(session: Session, click: Click[tuple[int, int]]) -> None:
        rq.approve(session, settings, *click.carried, click.user_id)

    @on.change(ids.matching(ids.ASK_OWNER), reads=two_records)
    def ask_owner(session: Session, click: Click[tuple[int, int]]) -> None:
        rq.ask_owner(session, settings, *click.carried, click.user_id)

    @on.opens(ids.matching(ids.DECLINE), reads=one_record)  # per item on the App Home: "request.decline:12"
    def open_decline(session: Session, click: Click[int]) -> dict[str, Any]:
        return decline_modal(rq.request_to_decline(session, settings, click.carried, click.user_id))

    @on.submits(ids.DECLINE_MODAL, errors_at="reason")
    def submit_decline(session: Session, form: Submission) -> None:
        request_id = form.record("request_id", FORM_FOR_NO_REQUEST)
        rq.decline(session, settings, request_id, form.text("reason"), form.user_id)

    @on.change(ids.matching(ids.CANCEL), reads=one_record, stale=OUT_OF_DATE_PLAIN)  # "request.cancel:12"
    def cancel(session: Session, click: Click[int]) -> None:
        rq.cancel(session, settings, click.carried, click.user_id)
