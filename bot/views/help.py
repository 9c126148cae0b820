"""The `/reference help` answer, and the hint for a mistyped subcommand."""

from __future__ import annotations

from typing import Any

from bot.views.text import context, escape, header, section

COMMANDS: list[tuple[str, str]] = [
    ("request [prospect]", "Ask the reference team for a customer reference (opens a form)."),
    ("mine", "Your requests and where they stand."),
    ("cancel <number>", "Withdraw one of your pending requests."),
    ("help", "This list."),
]


def help_message(is_manager: bool, unknown: str | None = None, suggestion: str | None = None) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if unknown is not None:
        hint = f" Did you mean `/reference {suggestion}`?" if suggestion else ""
        blocks.append(section(f":thinking_face: I don't know `{escape(unknown[:50])}`.{hint}"))
    blocks.append(header("refbot: customer references in Slack"))
    blocks.append(section("\n".join(f"`/reference {name}`: {what}" for name, what in COMMANDS)))
    if is_manager:
        blocks.append(
            context(
                "You're a reference manager: requests come to you as DMs with ranked candidates and "
                "Approve / Decline / Ask owner buttons."
            )
        )
    text = "refbot commands: " + ", ".join(f"/reference {name}" for name, _ in COMMANDS)
    return {"text": text, "blocks": blocks}
