"""The message shortcut "Request a reference": the request form, pre-filled from the message it was used on.

The same form the shadow-market reply's button opens (`bot.views.requests.prefilled_modal`); the message's
permalink rides along so the managers see "from this message" on the request.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import ids
from bot.deps import Deps
from bot.message_requests import prefill_from_message, source_link
from bot.views.requests import prefilled_modal
from handlers.listener import Listen, Shortcut

log = logging.getLogger(__name__)


def permalink(client: WebClient, channel: str, ts: str) -> str:
    """The message's permalink from Slack, or "" when Slack will not say (the request goes on without it)."""
    if not channel or not ts:
        return ""
    try:
        answer = client.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError as exc:
        log.info("no permalink for %s/%s: %s", channel, ts, exc.response.get("error"))
        return ""
    return source_link(answer.get("permalink"))


def register(app: App, deps: Deps) -> None:
    on = Listen(app, deps)

    @on.shortcut(ids.REQUEST_FROM_MESSAGE)
    def request_from_message(shortcut: Shortcut) -> None:
        message = shortcut.message
        text = str(message.get("text") or "")
        link = permalink(shortcut.client, shortcut.channel_id, str(message.get("ts") or ""))
        with deps.db.reading() as session:
            prefill = prefill_from_message(session, text)
        shortcut.open(prefilled_modal(prefill, link), "the request form")
