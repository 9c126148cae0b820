"""Listeners for the CRM in Slack: the request form's opportunity type-ahead (and what picking one fills in),
and a manager linking a request to an opportunity later (`/reference link 12`).

Thin like every handler: the rules (whose opportunities, who may link) live in `bot.crm.opportunities`.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot import ids
from bot.crm import opportunities
from bot.crm.mapping import crm_label
from bot.deps import Deps
from bot.errors import DomainError, ValidationFailed
from bot.requests import load_request
from bot.views.requests import link_modal, request_modal
from bot.views.text import clip, plain
from handlers.commands import Invocation, Subcommand
from handlers.errors import as_plain, reported, user_message
from handlers.forms import form_values, metadata, record_id


def _options(picks: list[opportunities.Pick]) -> list[dict[str, Any]]:
    return [{"text": plain(clip(p.label, 75), 75), "value": str(p.id)} for p in picks]


def _link(call: Invocation) -> None:
    settings = call.deps.settings
    number = record_id(call.rest.lstrip("#"))
    if not settings.crm_name:
        call.reply("No CRM is connected, so there is no opportunity to link (README: 'Connect your CRM').")
        return
    if number is None:
        call.reply("Which request? For example `/reference link 12`.")
        return
    with call.deps.db.reading() as session:
        view = link_modal(load_request(session, number), crm_label(settings.crm_name))
    call.client.views_open(trigger_id=call.command["trigger_id"], view=view)


def subcommands() -> list[Subcommand]:
    return [
        Subcommand(
            "link",
            "link <number>",
            "link a request to its CRM opportunity (won/lost and the write-back follow it).",
            _link,
            managers_only=True,
        )
    ]


def register(app: App, deps: Deps) -> None:
    settings = deps.settings

    @app.options(ids.OPPORTUNITY)
    def own_opportunities(ack: Ack, body: dict[str, Any]) -> None:
        with deps.db.reading() as session:
            picks = opportunities.suggest(session, body["user"]["id"], str(body.get("value") or ""))
        ack(options=_options(picks))

    @app.options(ids.LINK_OPPORTUNITY)
    def any_opportunity(ack: Ack, body: dict[str, Any]) -> None:
        user = body["user"]["id"]
        if not settings.is_manager(user):
            ack(options=[])
            return
        with deps.db.reading() as session:
            picks = opportunities.suggest(session, user, str(body.get("value") or ""), anyone=True)
        ack(options=_options(picks))

    @app.action(ids.OPPORTUNITY)
    def picked(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """Fill the form from the picked deal; what the rep typed elsewhere stays (same block ids)."""
        ack()
        view = body.get("view") or {}
        chosen = record_id(((body.get("actions") or [{}])[0].get("selected_option") or {}).get("value"))
        if chosen is None or not settings.crm_name:
            return
        with reported(body, client, respond):
            with deps.db.reading() as session:
                pick = opportunities.pick(session, body["user"]["id"], chosen)
            typed = form_values(view)
            form = request_modal(
                prospect=pick.prospect,
                industry=pick.industry or typed.get("industry") or "",
                region=pick.region or typed.get("region") or "",
                notes=typed.get("notes") or "",
                crm=crm_label(settings.crm_name),
                opportunity=(pick.id, pick.label),
                amount=pick.amount,
            )
            client.views_update(view_id=view["id"], hash=view.get("hash"), view=form)

    @app.view(ids.LINK_MODAL)
    def link(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        request_id = record_id(metadata(view).get("request_id"))
        chosen = record_id(form_values(view).get("opportunity"))
        if request_id is None or chosen is None:
            ack(response_action="errors", errors={"opportunity": "Pick an opportunity from the list."})
            return
        try:
            with deps.db.transaction() as session:
                opportunities.link(session, settings, request_id, chosen, body["user"]["id"])
        except ValidationFailed as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except DomainError as exc:
            ack(response_action="errors", errors={"opportunity": as_plain(exc.message)})
            return
        except Exception as exc:  # the form stays open with the manager's choice
            ack(response_action="errors", errors={"opportunity": as_plain(user_message(exc))})
            return
        ack()
        deps.outbox.kick()
