"""`/reference …`: ack at once, then run the subcommand; feature modules contribute their subcommands.

Each feature module (handlers/requests.py, …) exposes `subcommands() -> list[Subcommand]`; this module
dispatches on the first word, answers help, and suggests the closest match for a typo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.deps import Deps
from bot.errors import NotAllowed
from bot.views.help import help_message
from handlers.errors import reported
from handlers.suggestions import closest_subcommand


def unescape(text: str) -> str:
    """Slack sends `&`, `<`, `>` in a command's text as entities; forms want them back as typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass(frozen=True)
class Invocation:
    """One `/reference <name> <rest>` as a subcommand sees it."""

    deps: Deps
    command: dict[str, Any]
    client: WebClient
    respond: Respond
    rest: str

    @property
    def user_id(self) -> str:
        return str(self.command["user_id"])

    @property
    def is_manager(self) -> bool:
        return self.deps.settings.is_manager(self.user_id)

    def reply(self, text: str = "", **message: Any) -> None:
        """An ephemeral answer to the person who typed the command."""
        self.respond(text=text, response_type="ephemeral", **message)


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    run: Callable[[Invocation], None]
    managers_only: bool = False


def register(app: App, deps: Deps, subcommands: list[Subcommand]) -> None:
    table = {s.name: s for s in subcommands}

    def help_for(user_id: str, unknown: str | None = None) -> dict[str, Any]:
        is_manager = deps.settings.is_manager(user_id)
        visible = [(f"{s.usage}", s.summary) for s in subcommands if is_manager or not s.managers_only]
        suggestion = None
        if unknown is not None:
            guess = closest_subcommand(unknown, list(table))
            suggestion = table[guess].usage.split()[0] if guess else None
        return help_message(visible, is_manager, unknown=unknown, suggestion=suggestion)

    @app.command("/reference")
    def reference(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        text = unescape((command.get("text") or "").strip())
        name, _, rest = text.partition(" ")
        name = name.lower()
        user_id = command["user_id"]
        if name in ("", "help"):
            ack(**help_for(user_id))
            return
        subcommand = table.get(name)
        if subcommand is None:
            ack(**help_for(user_id, unknown=name))
            return
        ack()
        with reported(command, client, respond):
            if subcommand.managers_only and not deps.settings.is_manager(user_id):
                raise NotAllowed(f"Only reference managers can use `/reference {subcommand.name}`.")
            subcommand.run(Invocation(deps, command, client, respond, rest.strip()))
