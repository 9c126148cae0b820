"""Listeners for account owners' answers: one-click buttons, or the form with NPS and a note."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot import ids
from bot import requests as rq
from bot.deps import Deps
from bot.errors import NotFound, ValidationFailed
from bot.views.checkins import checkin_modal
from handlers.errors import as_plain, reported, user_message
from handlers.forms import form_values, ids_from, metadata, record_id
from models.enums import Happiness


def register(app: App, deps: Deps) -> None:
    settings = deps.settings

    @app.action(ids.matching(ids.CHECKIN_ANSWER))
    def answer(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            raw_id, _, answer_value = str((body.get("actions") or [{}])[0].get("value") or "").partition(":")
            checkin_id = record_id(raw_id)
            if checkin_id is None or answer_value not in {a.value for a in Happiness}:
                raise NotFound("That button is out of date; use the latest check-in message.")
            with deps.db.transaction() as session:
                rq.answer_checkin(session, settings, checkin_id, Happiness(answer_value), body["user"]["id"])
            deps.outbox.kick()

    @app.action(ids.matching(ids.CHECKIN_WITH_NOTE))
    def open_form(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            found = ids_from((body.get("actions") or [{}])[0].get("value"), 1)
            if found is None:
                raise NotFound("That button is out of date; use the latest check-in message.")
            with deps.db.reading() as session:
                checkin, customer = rq.checkin_to_answer(session, settings, found[0], body["user"]["id"])
                view = checkin_modal(checkin, customer)
            client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(ids.CHECKIN_MODAL)
    def submit_form(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = form_values(view)
        checkin_id = record_id(metadata(view).get("checkin_id"))
        try:
            if checkin_id is None:
                raise NotFound("This form no longer matches a check-in.")
            try:
                happiness = Happiness(values.get("answer") or "")
            except ValueError:
                raise ValidationFailed({"answer": "Pick one answer."}) from None
            nps_raw = values.get("nps")
            nps = int(nps_raw) if nps_raw and nps_raw.lstrip("-").isdigit() else None
            if nps_raw and nps is None:
                raise ValidationFailed({"nps": "NPS is a score from 0 to 10."})
            with deps.db.transaction() as session:
                rq.answer_checkin(
                    session, settings, checkin_id, happiness, body["user"]["id"], nps=nps, note=values.get("note") or ""
                )
        except ValidationFailed as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except Exception as exc:
            ack(response_action="errors", errors={"note": as_plain(user_message(exc))})
            return
        ack()
        deps.outbox.kick()
