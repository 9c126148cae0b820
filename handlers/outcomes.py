"""Listeners for the requester's outcome follow-up: one-click answers, or the details form."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot import ids
from bot import requests as rq
from bot.deps import Deps
from bot.errors import NotAllowed, NotFound, ValidationFailed
from bot.settings import Settings
from bot.views.outcomes import outcome_modal
from bot.views.text import mention
from handlers.errors import as_plain, reported, user_message
from handlers.forms import form_values, ids_from, metadata, record_id
from models import ReferenceRequest
from models.enums import Outcome

STAGES = ("Discovery", "Evaluation", "Proposal", "Negotiation", "Closed won", "Closed lost")


def parse_details(values: dict[str, str | None]) -> tuple[Outcome, rq.OutcomeDetails]:
    """The details form's strings → an outcome and its details; every problem against its own field."""
    errors: dict[str, str] = {}
    try:
        outcome = Outcome(values.get("outcome") or "")
    except ValueError:
        errors["outcome"] = "Pick how it went."
        outcome = Outcome.NEUTRAL
    held_on = None
    if values.get("held_on"):
        try:
            held_on = date.fromisoformat(str(values["held_on"]))
        except ValueError:
            errors["held_on"] = "Pick a date from the calendar."
    amount = None
    if values.get("amount_influenced"):
        try:
            amount = Decimal(str(values["amount_influenced"]).replace(",", ""))
            if not amount.is_finite() or amount < 0 or amount > rq.MAX_AMOUNT:
                raise InvalidOperation
            amount = amount.quantize(Decimal("0.01"))
        except InvalidOperation:
            errors["amount_influenced"] = "Enter a positive amount, e.g. 120000."
    won = {"won": True, "lost": False}.get(values.get("deal_won") or "")
    if errors:
        raise ValidationFailed(errors)
    return outcome, rq.OutcomeDetails(
        held_on=held_on,
        deal_stage=values.get("deal_stage") or "",
        deal_won=won,
        amount_influenced=amount,
        feedback=values.get("feedback") or "",
    )


def require_reporter(request: ReferenceRequest, settings: Settings, user_id: str) -> None:
    """Refuse the outcome form to anyone `rq.record_outcome` would refuse, before it shows their request.

    Shared by the DM's and the App Home's "Details…" buttons: the form names the customer and the prospect.
    """
    if user_id != request.requester_id and not settings.is_manager(user_id):
        raise NotAllowed(
            f"Only {mention(request.requester_id)}, who made request #{request.id}, can report how it went."
        )


def register(app: App, deps: Deps) -> None:
    settings = deps.settings

    @app.action(ids.matching(ids.OUTCOME))
    def one_click(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            raw_id, _, value = str((body.get("actions") or [{}])[0].get("value") or "").partition(":")
            request_id = record_id(raw_id)
            if request_id is None or value not in {o.value for o in Outcome}:
                raise NotFound("That button is out of date; use the latest message about this request.")
            with deps.db.transaction() as session:
                rq.record_outcome(session, settings, request_id, Outcome(value), body["user"]["id"])
            deps.outbox.kick()

    @app.action(ids.OUTCOME_DETAILS)
    def open_details(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            found = ids_from((body.get("actions") or [{}])[0].get("value"), 1)
            if found is None:
                raise NotFound("That button is out of date.")
            user_id = body["user"]["id"]
            with deps.db.reading() as session:
                request = rq.load_request(session, found[0])
                require_reporter(request, settings, user_id)
                if request.outcome is not None:
                    raise ValidationFailed({"outcome": "Already recorded."})
                view = outcome_modal(request, STAGES)
            client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(ids.OUTCOME_MODAL)
    def submit_details(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        request_id = record_id(metadata(view).get("request_id"))
        try:
            if request_id is None:
                raise NotFound("This form no longer matches a request.")
            outcome, details = parse_details(form_values(view))
            with deps.db.transaction() as session:
                rq.record_outcome(session, settings, request_id, outcome, body["user"]["id"], details)
        except ValidationFailed as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except Exception as exc:
            ack(response_action="errors", errors={"feedback": as_plain(user_message(exc))})
            return
        ack()
        deps.outbox.kick()
