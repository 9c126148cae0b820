"""The one place user-supplied text is made safe for Slack, and the small Block Kit builders around it.

Slack treats `&`, `<` and `>` as control characters: an unescaped `<!channel>` in a prospect name
would ping a whole channel. Every string that came from a person goes through `escape()` (or `safe()`,
which also fits it within a Block Kit limit) before it is put into a message or a view.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
ELLIPSIS = "…"


def escape(value: object) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(value: str, limit: int) -> str:
    """`value` cut to `limit` characters with an ellipsis (for input initial values: no escaping)."""
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def safe(value: object, limit: int) -> str:
    """Escaped, and cut so that the *escaped* text fits `limit` without splitting an entity."""
    text = escape(value)
    if len(text) <= limit:
        return text
    out: list[str] = []
    used = 0
    for char in str(value):
        piece = escape(char)
        if used + len(piece) > limit - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + ELLIPSIS


def mention(user_id: str | None) -> str:
    """A user mention for a Slack ID; anything that is not an ID is shown as escaped text."""
    if not user_id:
        return "nobody"
    return f"<@{user_id}>" if _ID.match(user_id) else escape(user_id)


def when(moment: datetime, tz: ZoneInfo) -> str:
    """A time every reader sees in their own zone; the fallback is in REFBOT_TIMEZONE."""
    local = moment.astimezone(tz)
    fallback = local.strftime("%Y-%m-%d %H:%M %Z")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def plain(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "plain_text", "text": safe(text, limit) or " ", "emoji": True}


def md(text: str) -> dict[str, Any]:
    """A mrkdwn text object; `text` must already be escaped where it holds user input."""
    return {"type": "mrkdwn", "text": text if len(text) <= 3000 else text[:2999] + ELLIPSIS}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": md(text), **extra}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, 150)}


def context(*parts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [md(p) for p in parts if p][:10]}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def button(
    label: str, action_id: str, value: str, style: str | None = None, confirm: dict[str, Any] | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(label, 75),
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def actions(block_id: str, *elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def quote(text: str, limit: int = 1500) -> str:
    """User text as a mrkdwn block quote, escaped and clipped."""
    return "\n".join("&gt; " + line for line in safe(text, limit).splitlines() or [""])
