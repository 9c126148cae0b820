"""Listeners for the CRM in Slack: the request form's opportunity type-ahead (and what picking one fills in),
and a manager linking a request to an opportunity later (`/reference link 12`).

Thin like every handler: the rules (whose opportunities, who may link) live in `bot.crm.opportunities`.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot import ids
from bot.crm import opportunities
from bot.crm.mapping import crm_label
from bot.deps import Deps
from bot.errors import ValidationFailed
from bot.requests import load_request
from bot.views.requests import link_modal, request_modal
from bot.views.text import clip, plain
from handlers.commands import Invocation, Subcommand
from handlers.errors import reported
from handlers.forms import form_values, record_id, texts
from handlers.listener import Listen, Submission, open_view


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
    open_view(call.client, call.command.get("trigger_id"), view, call.reply, "the link form")


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
    on = Listen(app, deps)

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

    # A select's choice arrives as `selected_option`, not a button's `value`, so this one is written out; its
    # ceremony is the listener pattern's all the same (ack first, failures told through `reported`).
    @app.action(ids.OPPORTUNITY)
    def picked(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """Fill the form from the picked deal; what the rep typed elsewhere stays (same block ids)."""
        ack()
        view = body.get("view") or {}
        action = (body.get("actions") or [{}])[0]
        option = action.get("selected_option") if isinstance(action, dict) else None
        chosen = record_id(option.get("value") if isinstance(option, dict) else None)
        if chosen is None or not settings.crm_name:
            return  # cleared, or not a pick refbot offered: nothing to fill in
        with reported(body, client, respond):
            with deps.db.reading() as session:
                pick = opportunities.pick(session, body["user"]["id"], chosen)
            typed = texts(form_values(view))
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

    @on.submits(ids.LINK_MODAL, errors_at="opportunity")
    def link(session: Session, form: Submission) -> None:
        request_id = form.record("request_id", "This form is out of date; run `/reference link` again.")
        chosen = record_id(form.text("opportunity"))
        if chosen is None:
            raise ValidationFailed({"opportunity": "Pick an opportunity from the list."})
        opportunities.link(session, settings, request_id, chosen, form.user_id)
