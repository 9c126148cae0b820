"""Listeners for the request lifecycle: the intake form, Approve / Ask owner / Decline, and Cancel."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import ids
from bot import requests as rq
from bot.crm.mapping import crm_label
from bot.deps import Deps
from bot.digest import requests_of
from bot.errors import DomainError, NotAllowed, NotFound, ValidationFailed
from bot.jobs import outcome_due_at
from bot.views.digest import mine_message
from bot.views.requests import decline_modal, request_modal
from bot.views.text import escape
from handlers.commands import Invocation, Subcommand
from handlers.errors import as_plain, reported, user_message
from handlers.forms import form_values, ids_from, metadata, record_id
from models.enums import RequestStatus
from models.types import utcnow

log = logging.getLogger(__name__)


def _button(body: dict[str, Any]) -> dict[str, Any]:
    return (body.get("actions") or [{}])[0]


def _crm(deps: Deps) -> str | None:
    """The connected CRM's name, for the form's opportunity type-ahead (None: no CRM, no type-ahead)."""
    return crm_label(deps.settings.crm_name) if deps.settings.crm_name else None


def _open_request_form(call: Invocation) -> None:
    try:
        form = request_modal(prospect=call.rest, crm=_crm(call.deps))
        call.client.views_open(trigger_id=call.command["trigger_id"], view=form)
    except SlackApiError as exc:
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        reason = f" (`{escape(error)}`)" if error else f" (Slack answered {exc.response.status_code})"
        call.reply(f":warning: Slack could not open the request form{reason}. Please run the command again.")


def _mine(call: Invocation) -> None:
    """The rep's requests, what each waits for, and the buttons for what waits for the rep."""
    settings = call.deps.settings
    now = utcnow()
    with call.deps.db.reading() as session:
        requests = requests_of(session, call.user_id)
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

    @app.action(ids.NEW_REQUEST)
    def new_request(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """The App Home's "New reference request": the intake form, while the trigger_id is fresh."""
        ack()
        with reported(body, client, respond):
            client.views_open(trigger_id=body["trigger_id"], view=request_modal(crm=_crm(deps)))

    @app.view(ids.REQUEST_MODAL)
    def submit_request(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Validated and saved before the ack, so bad input is answered in the form and nothing is lost."""
        user_id = body["user"]["id"]
        today = utcnow().astimezone(settings.tz).date()
        try:
            draft = rq.parse_draft(form_values(view), today)
            with deps.db.transaction() as session:
                rq.submit(session, settings, user_id, draft)
        except ValidationFailed as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except Exception as exc:  # keep the modal open with the rep's input rather than lose it
            ack(response_action="errors", errors={"prospect": as_plain(user_message(exc))})
            return
        ack()
        deps.outbox.kick()

    @app.action(ids.matching(ids.APPROVE))
    def approve(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            pair = ids_from(_button(body).get("value"), 2)
            if pair is None:
                raise NotFound("That button is out of date; use the latest message about this request.")
            with deps.db.transaction() as session:
                rq.approve(session, settings, pair[0], pair[1], body["user"]["id"])
            deps.outbox.kick()

    @app.action(ids.matching(ids.ASK_OWNER))
    def ask_owner(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            pair = ids_from(_button(body).get("value"), 2)
            if pair is None:
                raise NotFound("That button is out of date; use the latest message about this request.")
            with deps.db.transaction() as session:
                rq.ask_owner(session, settings, pair[0], pair[1], body["user"]["id"])
            deps.outbox.kick()

    @app.action(ids.matching(ids.DECLINE))  # per item on the App Home: "request.decline:12"
    def open_decline(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            user_id = body["user"]["id"]
            if not settings.is_manager(user_id):
                raise NotAllowed("Only reference managers can decline requests.")
            found = ids_from(_button(body).get("value"), 1)
            if found is None:
                raise NotFound("That button is out of date; use the latest message about this request.")
            with deps.db.reading() as session:
                request = rq.load_request(session, found[0])
                if not RequestStatus(request.status).is_open:
                    raise DomainError(rq.describe(request, settings))
                view = decline_modal(request)
            client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(ids.DECLINE_MODAL)
    def submit_decline(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        request_id = record_id(metadata(view).get("request_id"))
        reason = form_values(view).get("reason") or ""
        try:
            if request_id is None:
                raise NotFound("This form no longer matches a request.")
            with deps.db.transaction() as session:
                rq.decline(session, settings, request_id, reason, body["user"]["id"])
        except ValidationFailed as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except Exception as exc:
            ack(response_action="errors", errors={"reason": as_plain(user_message(exc))})
            return
        ack()
        deps.outbox.kick()

    @app.action(ids.matching(ids.CANCEL))  # per item on the App Home: "request.cancel:12"
    def cancel(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            found = ids_from(_button(body).get("value"), 1)
            if found is None:
                raise NotFound("That button is out of date.")
            with deps.db.transaction() as session:
                rq.cancel(session, settings, found[0], body["user"]["id"])
            deps.outbox.kick()
