"""Shadow-market capture: `/reference watch|unwatch` (managers), the `message` listener, and the button.

A person's new top-level message in a public channel is classified in memory (`deps.asks`, loaded once by
`create_app`: pure and fast); only a likely ask costs a database read: is the channel watched? If so, the author
alone gets one reply in the message's thread with the best matches and a button that opens the request form pre-filled.

Acknowledgement: Bolt acks an event before it runs the listener body (`process_before_response` is off), so
nothing here delays the 200 Slack needs within 3 seconds. A retried delivery is dropped by the event-id
middleware; the reply is also claimed per message (`shadow:<channel>:<ts>`), so a redelivery under a new
event id, or two replicas, still give one reply. No message text or author is stored or logged: an answered
ask leaves only that claim key (channel and timestamp), like the event id every delivery leaves behind.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import ids, shadow, watched_channels
from bot.deps import Deps
from bot.outbox import remember_delivery
from bot.views.requests import prefilled_modal
from bot.views.shadow import NOT_A_PUBLIC_CHANNEL, ask_reply, unwatched, watching
from handlers.commands import Invocation, Subcommand
from handlers.errors import reported
from handlers.listener import Click, Listen
from models.types import utcnow

log = logging.getLogger(__name__)

MATCHES_SHOWN = 3
# Subtypes that are still a person's new message; edits, deletions, joins, bot posts and the rest are not.
PERSON_SUBTYPES = (None, "file_share")


def _public_channel(command: dict[str, Any]) -> bool:
    """Slash commands don't say whether a channel is private; DMs, group DMs and legacy private ids are told apart."""
    channel_id = str(command.get("channel_id") or "")
    name = str(command.get("channel_name") or "")
    return channel_id.startswith("C") and name not in ("directmessage", "privategroup") and not name.startswith("mpdm-")


def _channel_name(command: dict[str, Any]) -> str:
    return str(command.get("channel_name") or "")


def is_person_asking(event: dict[str, Any], bot_user_id: str | None, team_id: str | None) -> bool:
    """A person's new, top-level message in a public channel, from this workspace: the only kind worth reading."""
    if event.get("subtype") not in PERSON_SUBTYPES or event.get("hidden"):
        return False
    if event.get("bot_id") or event.get("bot_profile") or event.get("app_id"):
        return False
    user = event.get("user")
    if not isinstance(user, str) or not user or user == bot_user_id:
        return False
    if event.get("channel_type") != "channel":  # public channels only: see the README on privacy
        return False
    author_team = event.get("user_team") or event.get("team")
    if team_id and author_team and author_team != team_id:  # a Slack Connect guest must not see our customers
        return False
    thread_ts = event.get("thread_ts")
    if thread_ts and thread_ts != event.get("ts"):  # a reply inside a thread is part of a conversation
        return False
    return bool(event.get("channel")) and bool(event.get("ts")) and isinstance(event.get("text"), str)


def subcommands() -> list[Subcommand]:
    def watch(call: Invocation) -> None:
        if not _public_channel(call.command):
            call.reply(NOT_A_PUBLIC_CHANNEL)
            return
        channel_id = str(call.command["channel_id"])
        with call.deps.db.transaction() as session:
            record, created = watched_channels.watch(session, channel_id, call.user_id)
            message = watching(_channel_name(call.command), record, created, call.deps.settings.tz)
        call.reply(message)

    def unwatch(call: Invocation) -> None:
        channel_id = str(call.command.get("channel_id") or "")
        with call.deps.db.transaction() as session:
            was_on = watched_channels.unwatch(session, channel_id, call.user_id)
        call.reply(unwatched(_channel_name(call.command), was_on))

    return [
        Subcommand(
            "watch", "watch", "reply privately to reference asks in this channel (managers).", watch, managers_only=True
        ),
        Subcommand(
            "unwatch", "unwatch", "stop replying to reference asks in this channel.", unwatch, managers_only=True
        ),
    ]


def register(app: App, deps: Deps) -> None:
    settings = deps.settings
    on = Listen(app, deps)

    @app.event("message")
    def spot_reference_ask(
        event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        """Every message event lands here (and is acked); all but a person's ask in a watched channel end at once."""
        with reported(body, client, None):  # no user to tell: whoever wrote the message asked refbot nothing
            if not is_person_asking(event, context.bot_user_id, body.get("team_id")):
                return
            text = event["text"]
            verdict = deps.asks.classify(text)
            if not verdict.is_ask:
                return
            channel, user, ts = str(event["channel"]), str(event["user"]), str(event["ts"])
            with deps.db.reading() as session:
                if watched_channels.watched(session, channel) is None:
                    return
                guess, candidates = shadow.suggest(session, settings, text, user, utcnow(), MATCHES_SHOWN)
                message = ask_reply(guess, candidates, shadow.Prefill(guess, shadow.ask_notes(text)).to_value())
            with deps.db.transaction() as session:
                if not remember_delivery(session, f"shadow:{channel}:{ts}"):
                    return
            try:
                client.chat_postEphemeral(channel=channel, user=user, thread_ts=ts, **message)
            except SlackApiError as exc:  # e.g. the author left the channel: an unasked-for hint is not retried
                log.warning("could not answer a reference ask in %s: %s", channel, exc.response.get("error"))
                return
            log.info("answered a reference ask in %s (score %s)", channel, verdict.score)

    @on.click(ids.SHADOW_REQUEST, reads=shadow.Prefill.from_value)
    def turn_into_request(click: Click[shadow.Prefill]) -> None:
        """Opens the request form pre-filled; the button's value is untrusted and re-validated by `Prefill`."""
        click.open(prefilled_modal(click.carried), "the request form")
