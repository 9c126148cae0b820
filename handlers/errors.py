"""The one error handler: a typed domain refusal becomes an ephemeral message; a bug, an apology.

Domain code raises (`NotAllowed`, `InvalidTransition`, `Ineligible`, `NotFound`); listeners don't
sprinkle try/except: `handlers/listener.py` runs every button and form inside `reported` (or, for a modal,
answers in the form), so whatever goes wrong, the person who acted is told and never sees a traceback.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm.exc import StaleDataError

from bot.deps import Deps
from bot.errors import DomainError

log = logging.getLogger(__name__)

CONFLICT = (
    "Someone changed this at the same moment as you, so your click changed nothing. "
    "Look at the updated message and try again if it still applies."
)


def apology(ref: str) -> str:
    return (
        ":warning: Something went wrong on our side and nothing was changed. Please try again in a moment; "
        f"if it keeps happening, tell whoever runs refbot (reference `{ref}`)."
    )


def user_message(error: Exception) -> str:
    """What to tell the user about `error` (mrkdwn); unexpected errors are logged with a reference."""
    if isinstance(error, DomainError):
        return error.message
    if isinstance(error, StaleDataError):
        return CONFLICT
    ref = uuid.uuid4().hex[:8]
    log.error("unexpected error (ref %s)", ref, exc_info=error)
    return apology(ref)


def as_plain(message: str) -> str:
    """A mrkdwn message made fit for a modal's field error, which Slack shows as plain text."""
    text = re.sub(r"<@([A-Z0-9]+)>", r"@\1", message)
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)
    text = text.replace("*", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text[:2000]


def tell_user(body: dict[str, Any], client: WebClient, respond: Respond | None, text: str) -> None:
    """Reach the user who acted, privately, wherever they acted from."""
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    try:
        if body.get("response_url") and respond is not None:
            try:
                answer = respond(text=text, response_type="ephemeral", replace_original=False)
            except OSError:
                answer = None
            # A response_url post that fails answers with a status instead of raising: fall through then.
            if answer is not None and getattr(answer, "status_code", 200) == 200:
                return
            log.info("response_url failed for %s; telling them another way", user)
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
        if channel and user:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        elif user:
            client.chat_postMessage(channel=user, text=text)
    except (SlackApiError, OSError):
        log.warning("could not tell user %s: %s", user, text, exc_info=True)


@contextmanager
def reported(body: dict[str, Any], client: WebClient, respond: Respond | None) -> Iterator[None]:
    """Tell the user about any failure in the block, after `ack()`.

    Bolt's error handler is not enough there: when a listener acks and then raises, Bolt's thread runner
    resets the ack and Slack gets a 404 three seconds later. So post-ack work runs inside this instead.
    """
    try:
        yield
    except Exception as error:
        tell_user(body, client, respond, user_message(error))


def register(app: App, deps: Deps) -> None:
    @app.error
    def on_error(error: Exception, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        tell_user(body, client, respond, user_message(error))
