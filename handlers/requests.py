"""Listeners for the request lifecycle: the intake form, Approve / Ask owner / Decline, and Cancel."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot import ids
from bot import requests as rq
from bot.deps import Deps
from bot.errors import DomainError, NotAllowed, NotFound, ValidationFailed
from bot.views.requests import decline_modal
from handlers.errors import as_plain, reported, user_message
from handlers.forms import form_values, ids_from, metadata
from models.enums import RequestStatus
from models.types import utcnow

log = logging.getLogger(__name__)


def _button(body: dict[str, Any]) -> dict[str, Any]:
    return (body.get("actions") or [{}])[0]


def register(app: App, deps: Deps) -> None:
    settings = deps.settings

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

    @app.action(ids.DECLINE)
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
        request_id = metadata(view).get("request_id")
        reason = form_values(view).get("reason") or ""
        try:
            if not isinstance(request_id, int):
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

    @app.action(ids.CANCEL)
    def cancel(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            found = ids_from(_button(body).get("value"), 1)
            if found is None:
                raise NotFound("That button is out of date.")
            with deps.db.transaction() as session:
                rq.cancel(session, settings, found[0], body["user"]["id"])
            deps.outbox.kick()
