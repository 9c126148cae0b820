"""Render a Slack message or view as plain text for a terminal.

``refbot demo`` prints a transcript of what the bot "showed" people; raw Block Kit JSON is unreadable there.
The rendering keeps mrkdwn emphasis as written (``*bold*`` reads fine in a terminal) but resolves Slack's
angle-bracket syntax — mentions, channel links, dates, URLs — into what a person would see in the client.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

RULE_WIDTH = 40
DIVIDER = "─" * RULE_WIDTH
HEADER_RULE = "━"

_SPECIAL = re.compile(r"<([^<>\n]+)>")


def to_text(message_or_view: Any, users: Mapping[str, str] | None = None) -> str:
    """A readable multi-line rendering of a message, modal or Home tab.

    ``message_or_view`` is a message dict (or ``slackfake.server.Message``), or a view dict; ``users`` maps
    user ids to display names for ``<@U…>`` mentions (``FakeSlack.user_names()`` gives one).
    """
    obj = message_or_view.as_dict() if hasattr(message_or_view, "as_dict") else message_or_view
    if not isinstance(obj, Mapping):
        raise TypeError(f"expected a message or view, got {type(obj).__name__}")
    names = dict(users or {})
    kind = obj.get("type")
    blocks = obj.get("blocks") or []
    lines: list[str] = []
    if kind == "modal":
        title = _plain(obj.get("title"), names) or "Modal"
        lines.append(f"╔═ {title} ═╗")
    elif kind == "home":
        lines.append("⌂ Home")
    if blocks:
        lines.extend(_blocks(blocks, names))
    elif obj.get("text"):
        lines.append(mrkdwn_to_text(str(obj["text"]), names))
    for attachment in obj.get("attachments") or []:
        if isinstance(attachment, Mapping):
            lines.extend(_attachment(attachment, names))
    for file in obj.get("files") or []:
        if isinstance(file, Mapping):
            lines.append(f"📎 {file.get('title') or file.get('name') or file.get('id')}")
    if kind == "modal":
        buttons = [f"[ {_plain(obj.get(key), names)} ]" for key in ("close", "submit") if obj.get(key) is not None]
        if buttons:
            lines.append("  ".join(buttons))
    return "\n".join(lines)


def mrkdwn_to_text(text: str, users: Mapping[str, str] | None = None) -> str:
    """Resolve Slack's ``<…>`` syntax and HTML escapes; leave other mrkdwn (``*bold*``, ``_it_``) alone."""
    names = users or {}

    def replace(match: re.Match[str]) -> str:
        """Resolve one ``<…>`` token."""
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            user_id = target[1:]
            return "@" + (names.get(user_id) or label or user_id)
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return _special_command(target[1:], label)
        if label:
            return f"{label} ({target})"
        return target

    resolved = _SPECIAL.sub(replace, text)
    return resolved.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _special_command(command: str, label: str) -> str:
    """``<!…>`` specials: dates show their fallback, broadcasts and groups their @-name."""
    if command.startswith("date^"):
        return label or command.split("^")[1]
    if command in ("here", "channel", "everyone"):
        return "@" + command
    if command.startswith("subteam^"):
        return label if label.startswith("@") else "@" + (label or command.split("^")[1])
    return label or "@" + command


def _text(obj: Any, names: Mapping[str, str]) -> str:
    """Render a text object: mrkdwn resolved, plain_text as written."""
    if isinstance(obj, str):
        return mrkdwn_to_text(obj, names)
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text") or "")
    return mrkdwn_to_text(text, names) if obj.get("type") == "mrkdwn" else text


def _plain(obj: Any, names: Mapping[str, str]) -> str:
    """A text object's text, trimmed, for labels and titles."""
    return _text(obj, names).strip()


def _blocks(blocks: Iterable[Any], names: Mapping[str, str]) -> list[str]:
    """Render each block, skipping anything that is not a block object."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Mapping):
            lines.extend(_block(block, names))
    return lines


def _block(block: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """One block as zero or more lines."""
    kind = block.get("type")
    if kind == "header":
        title = _plain(block.get("text"), names)
        return [HEADER_RULE * max(len(title), 3), title]
    if kind == "divider":
        return [DIVIDER]
    if kind == "section":
        return _section(block, names)
    if kind == "context":
        parts = []
        for element in block.get("elements") or []:
            if isinstance(element, Mapping) and element.get("type") == "image":
                parts.append(f"[{element.get('alt_text') or 'image'}]")
            else:
                parts.append(_plain(element, names))
        return [" · ".join(p for p in parts if p)]
    if kind == "actions":
        controls = [_control(e, names) for e in block.get("elements") or [] if isinstance(e, Mapping)]
        return ["  ".join(controls)]
    if kind == "input":
        return _input(block, names)
    if kind == "image":
        title = _plain(block.get("title"), names)
        return [f"[image: {title or block.get('alt_text') or block.get('image_url') or ''}]"]
    if kind == "rich_text":
        return [_rich_text(block.get("elements") or [], names)]
    if kind == "markdown":
        return [str(block.get("text") or "")]
    if kind == "file":
        return [f"[file: {block.get('external_id') or ''}]"]
    if kind == "video":
        return [f"[video: {_plain(block.get('title'), names) or block.get('video_url') or ''}]"]
    return [f"[{kind}]"]


def _section(block: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """Section text, then fields two per line, then its accessory widget."""
    lines: list[str] = []
    if block.get("text") is not None:
        lines.append(_text(block["text"], names))
    fields = [_text(f, names).replace("\n", " ") for f in block.get("fields") or []]
    for i in range(0, len(fields), 2):
        lines.append("   ".join(fields[i : i + 2]))
    accessory = block.get("accessory")
    if isinstance(accessory, Mapping):
        control = _control(accessory, names)
        if control:
            lines.append(control)
    return lines


def _control(element: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """One interactive element as a bracketed widget: ``[ Approve ]``, ``[ Pick one ▾ ]``."""
    kind = str(element.get("type") or "")
    if kind in ("button", "workflow_button"):
        return f"[ {_plain(element.get('text'), names)} ]"
    if kind == "overflow":
        return "[ ⋯ ]"
    if kind == "image":
        return f"[{element.get('alt_text') or 'image'}]"
    if kind in ("checkboxes", "radio_buttons"):
        return "  ".join(_choices(element, names))
    if kind in ("datepicker", "timepicker"):
        initial = element.get("initial_date" if kind == "datepicker" else "initial_time")
        fallback = "Pick a date" if kind == "datepicker" else "Pick a time"
        return f"[ {initial or _plain(element.get('placeholder'), names) or fallback} ▾ ]"
    current = _current_choice(element, names) or _plain(element.get("placeholder"), names)
    return f"[ {current or 'Select'} ▾ ]"


def _current_choice(element: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """What a select shows before the user touches it (its initial choice), or "" if nothing."""
    initial = element.get("initial_option")
    if isinstance(initial, Mapping):
        return _plain(initial.get("text"), names)
    options = element.get("initial_options")
    if isinstance(options, list) and options:
        return ", ".join(_plain(o.get("text"), names) for o in options if isinstance(o, Mapping))
    user = element.get("initial_user")
    if user:
        return "@" + names.get(str(user), str(user))
    for key in ("initial_conversation", "initial_channel"):
        if element.get(key):
            return "#" + str(element[key])
    users = element.get("initial_users")
    if isinstance(users, list) and users:
        return ", ".join("@" + names.get(str(u), str(u)) for u in users)
    return ""


def _choices(element: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """Checkbox/radio options with their initial state ticked."""
    multi = element.get("type") == "checkboxes"
    initial = element.get("initial_options") if multi else [element.get("initial_option")]
    chosen = {o.get("value") for o in initial or [] if isinstance(o, Mapping)}
    on, off = ("☑", "☐") if multi else ("◉", "◯")
    return [
        f"{on if o.get('value') in chosen else off} {_plain(o.get('text'), names)}"
        for o in element.get("options") or []
        if isinstance(o, Mapping)
    ]


def _input(block: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """``Label: value`` with the initial value, or a blank to fill in."""
    label = _plain(block.get("label"), names)
    if block.get("optional"):
        label += " (optional)"
    element = block.get("element")
    value = _initial_display(element, names) if isinstance(element, Mapping) else ""
    lines = [f"{label}: {value or '____'}"]
    if block.get("hint") is not None:
        lines.append(f"  ({_plain(block['hint'], names)})")
    return lines


def _initial_display(element: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """What an input shows when the modal opens: its initial value, or "" when it starts empty."""
    kind = element.get("type")
    if kind in ("checkboxes", "radio_buttons"):
        return "  ".join(_choices(element, names))
    for key in ("initial_value", "initial_date", "initial_time", "initial_date_time"):
        if element.get(key) not in (None, ""):
            return str(element[key])
    return _current_choice(element, names)


def _rich_text(elements: Iterable[Any], names: Mapping[str, str]) -> str:
    """Flatten rich_text sections, lists, quotes and preformatted runs into plain lines."""
    out: list[str] = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        kind = element.get("type")
        if kind == "rich_text_list":
            for item in element.get("elements") or []:
                out.append("• " + _rich_text([item], names))
        elif kind == "rich_text_quote":
            out.append("> " + _inline(element.get("elements") or [], names))
        elif kind == "rich_text_preformatted":
            out.append("```" + _inline(element.get("elements") or [], names) + "```")
        else:
            out.append(_inline(element.get("elements") or [], names))
    return "\n".join(out)


def _inline(elements: Iterable[Any], names: Mapping[str, str]) -> str:
    """Rich-text inline runs (text, links, mentions, emoji) as plain text."""
    parts: list[str] = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        kind = element.get("type")
        if kind == "text":
            parts.append(str(element.get("text") or ""))
        elif kind == "link":
            url = str(element.get("url") or "")
            parts.append(f"{element['text']} ({url})" if element.get("text") else url)
        elif kind == "user":
            user_id = str(element.get("user_id") or "")
            parts.append("@" + names.get(user_id, user_id))
        elif kind == "channel":
            parts.append("#" + str(element.get("channel_id") or ""))
        elif kind == "emoji":
            parts.append(f":{element.get('name')}:")
        elif kind == "broadcast":
            parts.append("@" + str(element.get("range") or "here"))
        elif kind == "date":
            parts.append(str(element.get("fallback") or element.get("timestamp") or ""))
    return "".join(parts)


def _attachment(attachment: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """Legacy attachments, indented with a bar like Slack's coloured edge."""
    lines = []
    if attachment.get("blocks"):
        lines.extend(_blocks(attachment["blocks"], names))
    else:
        for key in ("pretext", "title", "text"):
            if attachment.get(key):
                lines.append(mrkdwn_to_text(str(attachment[key]), names))
        if not lines and attachment.get("fallback"):
            lines.append(mrkdwn_to_text(str(attachment["fallback"]), names))
    return ["│ " + line for chunk in lines for line in chunk.split("\n")]
