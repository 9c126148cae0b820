"""The one place user-supplied text is made safe for Slack, and the small Block Kit builders around it.

Slack treats `&`, `<` and `>` as control characters: an unescaped `<!channel>` in a prospect name
would ping a whole channel. Every string that came from a person goes through `escape()` (or `safe()`,
which also fits it within a Block Kit limit) before it is put into a message or a view.

What else `escape()` does, and what it deliberately leaves alone:

- It drops characters that would make the text show as something other than what it is: control
  characters (newlines and tabs stay), lone surrogates, and the explicit bidi overrides and isolates
  (U+202A–U+202E, U+2066–U+2069) that can reverse the text *around* a name. Right-to-left letters
  themselves are kept; they render correctly without those.
- It leaves `*`, `_`, `~` and backticks alone. Slack's mrkdwn has no escape for them, and the usual
  tricks (zero-width spaces, look-alike characters) change the stored text people copy and search.
  They cannot do harm: formatting only pairs up within the person's own text, and links, mentions
  and channel pings all need `<`, which is always escaped.
- `safe()` is for a value shown inline (a name, a prospect): it folds line breaks into spaces, so a
  value cannot start a line of its own that looks like refbot's ("Approved by …"). `quote()` is for
  text meant to keep its lines (notes, reasons, feedback), shown as a block quote.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

_ID = re.compile(r"[UW][A-Z0-9]{2,}")
ELLIPSIS = "…"
# Kept out of user text: control characters but tab and newline, bidi embeddings, overrides and isolates,
# and lone surrogates (only a forged payload carries those; Slack and the database would refuse them).
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LINE_BREAKS = re.compile("[\n\x85\u2028\u2029]")


def escape(value: object) -> str:
    """User text made inert for mrkdwn and plain_text: `&`, `<`, `>` as entities, hidden characters dropped."""
    text = _HIDDEN.sub("", str(value))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(value: str, limit: int) -> str:
    """`value` cut to `limit` characters with an ellipsis (for input initial values: no escaping)."""
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def _fit(text: str, limit: int) -> str:
    """Already-escaped `text` cut to `limit` characters (ellipsis included), never inside an entity."""
    if len(text) <= limit:
        return text
    head = text[: max(limit - 1, 0)]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head + ELLIPSIS


def safe(value: object, limit: int) -> str:
    """A value shown inline: escaped, on one line, and cut so that the *escaped* text fits `limit`."""
    return _fit(escape(_LINE_BREAKS.sub(" ", str(value))), limit)


def mention(user_id: str | None) -> str:
    """A user mention for a Slack ID; anything that is not an ID is shown as escaped text."""
    if not user_id:
        return "nobody"
    return f"<@{user_id}>" if _ID.fullmatch(user_id) else safe(user_id, 100)


def when(moment: datetime, tz: ZoneInfo) -> str:
    """A time every reader sees in their own zone; the fallback is in REFBOT_TIMEZONE."""
    local = moment.astimezone(tz)
    fallback = local.strftime("%Y-%m-%d %H:%M %Z")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """"1 customer", "2 customers" ("1 reply", "2 replies" with `nouns`): a count that agrees with its noun."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def approver_words(approved_by: str | None) -> str:
    """Who approved a consent, in words (not escaped): an import that found "yes" with nobody named stores a
    placeholder, which reads as "someone not named in the imported list", never "approved by on record…"."""
    from bot.importing.rows import PLACEHOLDER_APPROVER  # the importer owns the placeholder it writes

    if not approved_by:
        return "—"
    return "someone not named in the imported list" if approved_by == PLACEHOLDER_APPROVER else approved_by


def plain(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "plain_text", "text": safe(text, limit) or " ", "emoji": True}


def md(text: str) -> dict[str, Any]:
    """A mrkdwn text object; `text` must already be escaped where it holds user input."""
    return {"type": "mrkdwn", "text": _cut_markup(text, 3000)}


def _cut_markup(text: str, limit: int) -> str:
    """mrkdwn cut to `limit` characters, never inside an entity or a `<…>` token (a mention, a date)."""
    if len(text) <= limit:
        return text
    head = _fit(text, limit)[:-1]
    opening = head.rfind("<")
    if opening != -1 and ">" not in head[opening:]:
        head = head[:opening]
    return head + ELLIPSIS


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
    """User text as a mrkdwn block quote: escaped, its lines kept, and at most `limit` characters in all."""
    out: list[str] = []
    used = 0
    for line in _LINE_BREAKS.split(str(text)):
        piece = "&gt; " + escape(line).rstrip()
        if piece == "&gt; " and out and out[-1] == piece:
            continue  # one blank line between paragraphs is enough
        extra = len(piece) + (1 if out else 0)
        if used + extra > limit:
            room = limit - used - (1 if out else 0)
            if room > len("&gt; ") + 1:
                out.append(_fit(piece, room))
            break
        out.append(piece)
        used += extra
    return "\n".join(out) or "&gt; "
