"""`/reference …`: parse the subcommand, answer fast (ack first), open forms within trigger_id's 3 s."""

from __future__ import annotations

import difflib
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot import requests as rq
from bot.deps import Deps
from bot.views.help import COMMANDS, help_message
from bot.views.requests import request_modal
from bot.views.text import context, escape, section, when
from handlers.errors import reported
from models import ReferenceRequest
from models.enums import RefType, RequestStatus

SUBCOMMANDS = [name.split()[0] for name, _ in COMMANDS]


def unescape(text: str) -> str:
    """Slack sends `&`, `<`, `>` in a command's text as entities; the form wants them back as typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def open_request_form(client: WebClient, trigger_id: str, prospect: str = "") -> None:
    client.views_open(trigger_id=trigger_id, view=request_modal(prospect=prospect))


def _mine(deps: Deps, user_id: str) -> dict[str, Any]:
    with deps.db.reading() as session:
        mine = session.scalars(
            select(ReferenceRequest)
            .where(ReferenceRequest.requester_id == user_id)
            .order_by(ReferenceRequest.id.desc())
            .limit(15)
        ).all()
        if not mine:
            return {"text": "You have no reference requests yet. Start one with `/reference request`."}
        lines = []
        for request in mine:
            status = RequestStatus(request.status).value.replace("_", " ")
            customer = f" → {escape(request.customer.name)}" if request.customer else ""
            lines.append(
                f"*#{request.id}* {escape(request.prospect)} · {RefType(request.ref_type).label} · "
                f"_{status}_{customer} · {when(request.created_at, deps.settings.tz)}"
            )
    blocks = [section("*Your reference requests*\n" + "\n".join(lines))]
    blocks.append(context("Cancel a pending one with `/reference cancel <number>`."))
    return {"text": "Your reference requests", "blocks": blocks}


def _cancel(deps: Deps, user_id: str, rest: str, respond: Respond) -> None:
    number = rest.strip().lstrip("#")
    if not number.isdigit():
        respond(text="Which request? For example `/reference cancel 12`.", response_type="ephemeral")
        return
    with deps.db.transaction() as session:
        request = rq.cancel(session, deps.settings, int(number), user_id)
        prospect = request.prospect
    deps.outbox.kick()
    respond(text=f"Request #{number} for {escape(prospect)} is cancelled.", response_type="ephemeral")


def register(app: App, deps: Deps) -> None:
    @app.command("/reference")
    def reference(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        text = unescape((command.get("text") or "").strip())
        sub, _, rest = text.partition(" ")
        sub = sub.lower()
        user_id = command["user_id"]
        is_manager = deps.settings.is_manager(user_id)

        if sub in ("", "help"):
            ack(**help_message(is_manager))
            return
        if sub == "request":
            ack()
            with reported(command, client, respond):
                try:
                    open_request_form(client, command["trigger_id"], rest.strip())
                except SlackApiError as exc:
                    respond(
                        text=":warning: Slack could not open the request form "
                        f"(`{escape(exc.response.get('error', 'error'))}`). Please run the command again.",
                        response_type="ephemeral",
                    )
            return
        if sub in ("mine", "cancel"):
            ack()
            with reported(command, client, respond):
                if sub == "mine":
                    respond(response_type="ephemeral", **_mine(deps, user_id))
                else:
                    _cancel(deps, user_id, rest, respond)
            return
        guess = difflib.get_close_matches(sub, SUBCOMMANDS, n=1, cutoff=0.5)
        ack(**help_message(is_manager, unknown=sub, suggestion=guess[0] if guess else None))
