"""The `/reference help` answer, and the hint for a mistyped subcommand."""

from __future__ import annotations

from typing import Any

from bot.views.text import context, escape, header, section


def help_message(
    commands: list[tuple[str, str]], is_manager: bool, unknown: str | None = None, suggestion: str | None = None
) -> dict[str, Any]:
    """`commands` is (usage, summary) for each subcommand this user may run."""
    blocks: list[dict[str, Any]] = []
    if unknown is not None:
        hint = f" Did you mean `/reference {suggestion}`?" if suggestion else ""
        blocks.append(section(f":thinking_face: I don't know `{escape(unknown[:50])}`.{hint}"))
    blocks.append(header("refbot: customer references in Slack"))
    # Usages hold placeholders like `<number>`: unescaped, Slack would read them as links, even in code.
    lines = [f"`/reference {escape(usage)}`: {escape(summary)}" for usage, summary in commands]
    lines.append("`/reference help`: this list.")
    blocks.append(section("\n".join(lines)))
    if is_manager:
        blocks.append(
            context(
                "You're a reference manager: requests come to you as DMs with ranked candidates and "
                "Approve / Decline / Ask owner buttons."
            )
        )
    text = "refbot commands: " + ", ".join(f"/reference {escape(usage)}" for usage, _ in commands)
    return {"text": text, "blocks": blocks}
