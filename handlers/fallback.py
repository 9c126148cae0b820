"""The last listeners: whatever no feature claimed is acknowledged at once, and the person told plainly.

Bolt answers an unclaimed request with a 404, which Slack shows as an error on the button or form, and,
for events, retries and counts against the app's event subscriptions. What reaches here is a button on a
message an older refbot posted, a form from an older version still open, or a Slack feature switched on
in the manifest with no code behind it yet. Each is acknowledged, logged at WARNING (a mismatch someone
should fix), and where a person acted they get a sentence instead of Slack's generic error.

Registered last (`handlers/__init__.py`), so every feature's listeners are tried first.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.deps import Deps
from bot.views.text import plain, section
from handlers.errors import tell_user

log = logging.getLogger(__name__)

ANY = re.compile(r"^")  # matches every id, including an empty one
STALE_BUTTON = (
    "This button is no longer in use, so nothing was changed. Use the latest message from refbot, or `/reference help`."
)
# A shortcut (global or on a message) that no listener claims: refbot never had it, or the app's manifest
# offers one this version does not handle. Either way the honest sentence is that refbot has no such shortcut.
NO_SUCH_SHORTCUT = "refbot has no such shortcut, so nothing was done. `/reference help` lists what refbot can do."


def stale_form() -> dict[str, Any]:
    """What an unknown form turns into when submitted: it says so, rather than closing as if saved."""
    return {
        "type": "modal",
        "title": plain("refbot", 24),
        "close": plain("Close", 24),
        "blocks": [
            section(
                ":warning: This form is from an older version of refbot and can't be submitted any more. "
                "Nothing was saved. Close it and start again from the latest message, or `/reference help`."
            )
        ],
    }


def _clicked_element(body: dict[str, Any], action_id: str) -> dict[str, Any]:
    """The element that was clicked, as rendered in the message or view it sits in ({} when not found)."""
    for holder in (body.get("message"), body.get("view")):
        blocks = holder.get("blocks") if isinstance(holder, dict) else None
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, dict):
                continue
            elements = block.get("elements") if block.get("type") == "actions" else [block.get("accessory")]
            for element in elements if isinstance(elements, list) else []:
                if isinstance(element, dict) and element.get("action_id") == action_id:
                    return element
    return {}


def register(app: App, deps: Deps) -> None:
    @app.action(ANY)
    def unknown_action(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        actions = body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
        action_id = str(action.get("action_id") or body.get("callback_id") or "")
        log.warning("no listener for %s %r: acknowledged", body.get("type"), action_id[:100])
        if body.get("type") != "block_actions" or action.get("type") != "button":
            return  # a select or a date picked: nothing to say that would help
        if "url" in action or "url" in _clicked_element(body, action_id):
            return  # a link button: Slack opened the link, the click needs only the ack
        tell_user(body, client, respond, STALE_BUTTON)

    @app.view(ANY)
    def unknown_form(ack: Ack, body: dict[str, Any]) -> None:
        callback_id = str((body.get("view") or {}).get("callback_id") or "")
        log.warning("no listener for view_submission %r: answered that the form is out of date", callback_id[:100])
        ack(response_action="update", view=stale_form())

    @app.view_closed(ANY)
    def unknown_close(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        log.warning("no listener for view_closed %r: acknowledged", str((body.get("view") or {}).get("callback_id")))

    @app.options(ANY)
    def unknown_options(ack: Ack, body: dict[str, Any]) -> None:
        log.warning("no listener for options %r: answered with none", str(body.get("action_id") or "")[:100])
        ack(options=[])

    @app.shortcut(ANY)
    def unknown_shortcut(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        log.warning("no listener for shortcut %r: acknowledged", str(body.get("callback_id") or "")[:100])
        tell_user(body, client, respond, NO_SUCH_SHORTCUT)

    @app.command(ANY)
    def unknown_command(ack: Ack, command: dict[str, Any]) -> None:
        name = str(command.get("command") or "")[:40]
        log.warning("no listener for command %r: answered with a pointer to /reference", name)
        ack(text=f"refbot doesn't handle `{safe_name(name)}`. Try `/reference help`.")

    @app.event(ANY)
    def unknown_event(body: dict[str, Any]) -> None:
        event = body.get("event") if isinstance(body.get("event"), dict) else {}
        kind = str(event.get("type") or "")[:60]
        # Messages in channels refbot is in arrive whether or not a feature wants them: not worth a warning.
        level = logging.DEBUG if kind == "message" else logging.WARNING
        log.log(level, "no listener for event %r: acknowledged", kind)


def safe_name(name: str) -> str:
    """A slash command's name for a reply: only the characters a command name can have."""
    return re.sub(r"[^a-z0-9_/.-]", "", name.lower()) or "that command"
