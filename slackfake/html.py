"""Render a Slack message or view as HTML, the way a Slack client lays it out, for `refbot playground`.

A pure function of the Block Kit payload (no I/O): blocks become elements with `bk-*` classes, mrkdwn is
resolved (bold, italics, strike, code, quotes, links, emoji shortcodes, `<@U…>` as names, `<!date^…>` in the
viewer's time zone), and every interactive element carries `data-*` attributes naming its block, action and
value, so the page's script can send the same interaction Slack would. Modal input blocks become form fields
named `block_id/action_id`, each with the slot under it where Slack shows a refused submission's error.

Every piece of text is HTML-escaped here, once; nothing from a payload reaches the page as markup.
The element coverage shared with the text renderer (`slackfake.render`) is `slackfake.coverage`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

_SPECIAL = re.compile(r"<([^<>\n]+)>")
_HOLE = "\x00{}\x00"
_HOLES = re.compile("\x00(\\d+)\x00")
_CODE_BLOCK = re.compile(r"```\n?(.*?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_EMOJI_CODE = re.compile(r":([a-z0-9_+-]+):")
_SAFE_URL = re.compile(r"^(https?://|mailto:)", re.I)

# The shortcodes refbot's messages use, as the pictures Slack shows; others stay as written.
EMOJI = {
    "alarm_clock": "⏰",
    "bell": "🔔",
    "bust_in_silhouette": "👤",
    "checkered_flag": "🏁",
    "dart": "🎯",
    "eyes": "👀",
    "heavy_check_mark": "✔️",
    "heavy_minus_sign": "➖",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "inbox_tray": "📥",
    "large_green_circle": "🟢",
    "large_orange_circle": "🟠",
    "large_yellow_circle": "🟡",
    "leftwards_arrow_with_hook": "↩️",
    "mag": "🔍",
    "memo": "📝",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "point_right": "👉",
    "pushpin": "📌",
    "raised_hands": "🙌",
    "red_circle": "🔴",
    "rotating_light": "🚨",
    "speech_balloon": "💬",
    "star": "⭐",
    "thinking_face": "🤔",
    "trophy": "🏆",
    "warning": "⚠️",
    "wave": "👋",
    "white_check_mark": "✅",
    "white_circle": "⚪",
    "x": "❌",
    "zipper_mouth_face": "🤐",
}

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September")
_MONTHS += ("October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

FileUrl = Callable[[str], str | None]


def to_html(
    message_or_view: Any,
    *,
    users: Mapping[str, str] | None = None,
    tz: tzinfo = UTC,
    now: datetime | None = None,
    file_url: FileUrl | None = None,
) -> str:
    """The HTML of a message, modal or Home tab (a fragment: one `<div class="bk">`).

    `users` maps user ids to names for mentions; `tz` and `now` are the viewer's time zone and time, for
    `<!date^…>` ("today at 9:41 AM" in their zone); `file_url` turns a `slack_file` id into an image URL.
    """
    obj = message_or_view.as_dict() if hasattr(message_or_view, "as_dict") else message_or_view
    if not isinstance(obj, Mapping):
        raise TypeError(f"expected a message or view, got {type(obj).__name__}")
    ctx = _Context(dict(users or {}), tz, now or datetime.now(UTC), file_url)
    kind = obj.get("type")
    parts: list[str] = []
    blocks = obj.get("blocks") or []
    if blocks:
        parts.extend(_block(b, ctx) for b in blocks if isinstance(b, Mapping))
    elif obj.get("text"):
        text = mrkdwn_to_html(str(obj["text"]), ctx)
        parts.append(f'<div class="bk-section"><div class="bk-text">{text}</div></div>')
    for attachment in obj.get("attachments") or []:
        if isinstance(attachment, Mapping):
            parts.append(_attachment(attachment, ctx))
    for file in obj.get("files") or []:
        if isinstance(file, Mapping):
            parts.append(_file(file, ctx))
    if kind == "modal":
        return _modal(obj, "".join(parts), ctx)
    surface = " bk-home" if kind == "home" else ""
    return f'<div class="bk{surface}">{"".join(parts)}</div>'


def _modal(view: Mapping[str, Any], body: str, ctx: _Context) -> str:
    """A modal as Slack draws it: title bar, the blocks, then Close and (when it has one) Submit."""
    close = _e(_plain(view.get("close")) or "Cancel")
    submit = view.get("submit")
    submit_button = (
        f'<button type="submit" class="bk-button bk-button-primary bk-modal-submit">{_e(_plain(submit))}</button>'
        if submit is not None
        else ""
    )
    return (
        f'<div class="bk bk-modal" data-view-id="{_e(view.get("id") or "")}">'
        f'<div class="bk-modal-title">{_text(view.get("title"), ctx)}</div>'
        f'<div class="bk-modal-body">{body}</div>'
        f'<div class="bk-modal-footer"><button type="button" class="bk-button bk-modal-close">{close}</button>'
        f"{submit_button}</div></div>"
    )


class _Context:
    """What every part of one rendering needs: names, the viewer's zone and time, file URLs."""

    def __init__(self, users: dict[str, str], tz: tzinfo, now: datetime, file_url: FileUrl | None) -> None:
        self.users = users
        self.tz = tz
        self.now = now
        self.file_url = file_url


# --- text ----------------------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _attr(value: Any) -> str:
    """A value for a data-* attribute: JSON for structures, text otherwise, always escaped."""
    return _e(json.dumps(value, ensure_ascii=False) if isinstance(value, Mapping | list) else value)


def _slack_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn_to_html(text: str, ctx: _Context | None = None) -> str:
    """Slack mrkdwn as HTML: specials resolved, emphasis, code, block quotes and line breaks kept."""
    ctx = ctx or _Context({}, UTC, datetime.now(UTC), None)
    holes: list[str] = []

    def hole(markup: str) -> str:
        holes.append(markup)
        return _HOLE.format(len(holes) - 1)

    text = _CODE_BLOCK.sub(lambda m: hole(f'<pre class="bk-pre">{_e(_slack_unescape(m.group(1)))}</pre>'), text)
    text = _CODE.sub(lambda m: hole(f'<code class="bk-code">{_e(_slack_unescape(m.group(1)))}</code>'), text)
    text = _SPECIAL.sub(lambda m: hole(_special(m.group(1), ctx)), text)
    lines: list[tuple[bool, str]] = []
    for line in text.split("\n"):
        quoted = line.startswith("&gt;") or line.startswith(">")
        if quoted:
            line = line[4:] if line.startswith("&gt;") else line[1:]
            line = line[1:] if line.startswith(" ") else line
        lines.append((quoted, _inline_mrkdwn(_e(_slack_unescape(line)))))
    out: list[str] = []
    index = 0
    while index < len(lines):
        quoted = lines[index][0]
        run = []
        while index < len(lines) and lines[index][0] == quoted:
            run.append(lines[index][1])
            index += 1
        body = "<br>".join(run)
        out.append(f'<blockquote class="bk-quote">{body}</blockquote>' if quoted else body)
    return _HOLES.sub(lambda m: holes[int(m.group(1))], _join_runs(out))


def _join_runs(runs: list[str]) -> str:
    """Join runs of lines; a block quote is a block of its own, so it needs no <br> around it."""
    joined = ""
    for piece in runs:
        if joined and not joined.endswith("</blockquote>") and not piece.startswith("<blockquote"):
            joined += "<br>"
        joined += piece
    return joined


def _inline_mrkdwn(escaped: str) -> str:
    """Bold, italics, strike and emoji on one already-escaped line."""
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    escaped = _ITALIC.sub(r"<i>\1</i>", escaped)
    escaped = _STRIKE.sub(r"<s>\1</s>", escaped)
    return _emoji(escaped)


def _emoji(text: str) -> str:
    return _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def _special(inner: str, ctx: _Context) -> str:
    """One `<…>` token: a mention, a channel, a date, a broadcast or a link."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        user_id = target[1:]
        name = ctx.users.get(user_id) or _slack_unescape(label) or user_id
        return f'<span class="bk-mention" data-user="{_e(user_id)}">@{_e(name)}</span>'
    if target.startswith("#"):
        return f'<span class="bk-mention">#{_e(_slack_unescape(label) or target[1:])}</span>'
    if target.startswith("!"):
        command = target[1:]
        if command.startswith("date^"):
            return _date_special(command, label, ctx)
        if command.startswith("subteam^"):
            name = _slack_unescape(label) or command.split("^")[1]
            return f'<span class="bk-mention">{_e(name if name.startswith("@") else "@" + name)}</span>'
        return f'<span class="bk-mention">@{_e(_slack_unescape(label) or command)}</span>'
    url = _slack_unescape(target)
    shown = _slack_unescape(label) or url
    if _SAFE_URL.match(url):
        return f'<a class="bk-link" href="{_e(url)}" target="_blank" rel="noopener noreferrer">{_e(shown)}</a>'
    return _e(shown)


def _date_special(command: str, label: str, ctx: _Context) -> str:
    """`<!date^1700000000^{date_short_pretty} at {time}^optional_link|fallback>` in the viewer's zone."""
    parts = command.split("^")
    fallback = _slack_unescape(label)
    try:
        moment = datetime.fromtimestamp(int(parts[1]), UTC)
        shown = format_date(moment, parts[2] if len(parts) > 2 else "{date_short}", ctx.tz, ctx.now)
    except (IndexError, ValueError, OverflowError):
        return _e(fallback)
    return f'<time class="bk-date" datetime="{_e(moment.isoformat())}" title="{_e(fallback)}">{_e(shown)}</time>'


def format_date(moment: datetime, template: str, tz: tzinfo, now: datetime) -> str:
    """Slack's date tokens ({date_num}, {date}, {date_short}, {date_long}, their *_pretty forms, {time},
    {time_secs}, {ago}) for `moment` as seen in `tz` when it is `now`."""
    local = moment.astimezone(tz)
    today = now.astimezone(tz).date()
    relative = {today: "today", today - timedelta(days=1): "yesterday", today + timedelta(days=1): "tomorrow"}
    day = local.day
    ordinal = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    month = _MONTHS[local.month - 1]
    forms = {
        "date_num": local.strftime("%Y-%m-%d"),
        "date": f"{month} {day}{ordinal}, {local.year}",
        "date_short": f"{month[:3]} {day}, {local.year}",
        "date_long": f"{_DAYS[local.weekday()]}, {month} {day}{ordinal}, {local.year}",
        "time": f"{(local.hour % 12) or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}",
        "time_secs": f"{(local.hour % 12) or 12}:{local.minute:02d}:{local.second:02d} "
        f"{'AM' if local.hour < 12 else 'PM'}",
        "ago": _ago(now - moment),
    }
    for name in ("date", "date_short", "date_long"):
        forms[f"{name}_pretty"] = relative.get(local.date(), forms[name])
    return re.sub(r"\{(\w+)\}", lambda m: forms.get(m.group(1), m.group(0)), template)


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            words = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {words}" if future else f"{words} ago"
    return "just now"


def _text(obj: Any, ctx: _Context) -> str:
    """A text object as HTML: mrkdwn resolved, plain_text escaped (with emoji, as Slack shows it)."""
    if isinstance(obj, str):
        return mrkdwn_to_html(obj, ctx)
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text") or "")
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_html(text, ctx)
    return _emoji(_e(_slack_unescape(text))).replace("\n", "<br>")


def _plain(obj: Any) -> str:
    """A plain_text object's text, unescaped, for attributes and option labels."""
    if isinstance(obj, Mapping):
        return _slack_unescape(str(obj.get("text") or ""))
    return _slack_unescape(str(obj or ""))


# --- blocks --------------------------------------------------------------------------------------------
def _block(block: Mapping[str, Any], ctx: _Context) -> str:
    kind = str(block.get("type") or "")
    block_id = _e(block.get("block_id") or "")
    body = {
        "header": _header,
        "divider": lambda b, c: "",
        "section": _section,
        "context": _context,
        "actions": _actions,
        "input": _input,
        "image": _image_block,
        "rich_text": _rich_text_block,
        "markdown": lambda b, c: mrkdwn_to_html(str(b.get("text") or ""), c),
    }.get(kind)
    if body is None:
        return f'<div class="bk-unknown" data-block-id="{block_id}">[{_e(kind)}]</div>'
    tag = "hr" if kind == "divider" else "div"
    if tag == "hr":
        return f'<hr class="bk-divider" data-block-id="{block_id}">'
    return f'<div class="bk-{kind}" data-block-id="{block_id}">{body(block, ctx)}</div>'


def _header(block: Mapping[str, Any], ctx: _Context) -> str:
    return f'<h3 class="bk-header-text">{_text(block.get("text"), ctx)}</h3>'


def _section(block: Mapping[str, Any], ctx: _Context) -> str:
    main = ""
    if block.get("text") is not None:
        main += f'<div class="bk-text">{_text(block["text"], ctx)}</div>'
    fields = [f'<div class="bk-field">{_text(f, ctx)}</div>' for f in block.get("fields") or []]
    if fields:
        main += f'<div class="bk-fields">{"".join(fields)}</div>'
    accessory = block.get("accessory")
    side = ""
    if isinstance(accessory, Mapping):
        side = f'<div class="bk-accessory">{_element(accessory, block, ctx)}</div>'
    return f'<div class="bk-section-main">{main}</div>{side}'


def _context(block: Mapping[str, Any], ctx: _Context) -> str:
    parts = []
    for element in block.get("elements") or []:
        if not isinstance(element, Mapping):
            continue
        if element.get("type") == "image":
            parts.append(_image(element, ctx, "bk-context-image"))
        else:
            parts.append(f"<span>{_text(element, ctx)}</span>")
    return "".join(parts)


def _actions(block: Mapping[str, Any], ctx: _Context) -> str:
    return "".join(_element(e, block, ctx) for e in block.get("elements") or [] if isinstance(e, Mapping))


def _image_block(block: Mapping[str, Any], ctx: _Context) -> str:
    title = f'<div class="bk-image-title">{_text(block["title"], ctx)}</div>' if block.get("title") else ""
    return title + _image(block, ctx, "bk-picture")


def _image(element: Mapping[str, Any], ctx: _Context, css: str) -> str:
    url = element.get("image_url")
    slack_file = element.get("slack_file")
    if not url and isinstance(slack_file, Mapping):
        file_id = str(slack_file.get("id") or "")
        url = (ctx.file_url(file_id) if ctx.file_url and file_id else None) or slack_file.get("url")
    alt = _e(element.get("alt_text") or "")
    if not url:
        return f'<span class="{css} bk-missing">[{alt or "image"}]</span>'
    return f'<img class="{css}" src="{_e(url)}" alt="{alt}" title="{alt}">'


# --- interactive elements ------------------------------------------------------------------------------
def _data(element: Mapping[str, Any], block: Mapping[str, Any]) -> str:
    """The attributes the page's script sends back: which block, which action, which kind of element."""
    out = (
        f' data-block-id="{_e(block.get("block_id") or "")}" data-action-id="{_e(element.get("action_id") or "")}"'
        f' data-kind="{_e(element.get("type") or "")}"'
    )
    if isinstance(element.get("confirm"), Mapping):
        out += f' data-confirm="{_attr(_confirm(element["confirm"]))}"'
    return out


def _confirm(confirm: Mapping[str, Any]) -> dict[str, str]:
    """A confirm dialog's texts, plain (its `text` may be mrkdwn: shown without markup)."""
    return {
        "title": _plain(confirm.get("title")) or "Are you sure?",
        "text": _slack_unescape(re.sub(r"[*_~]", "", str((confirm.get("text") or {}).get("text") or ""))),
        "confirm": _plain(confirm.get("confirm")) or "Yes",
        "deny": _plain(confirm.get("deny")) or "Cancel",
        "style": str(confirm.get("style") or ""),
    }


def _element(element: Mapping[str, Any], block: Mapping[str, Any], ctx: _Context) -> str:
    kind = str(element.get("type") or "")
    data = _data(element, block)
    if kind in ("button", "workflow_button"):
        style = element.get("style")
        css = f"bk-button bk-button-{style}" if style in ("primary", "danger") else "bk-button"
        value = f' data-value="{_e(element["value"])}"' if element.get("value") is not None else ""
        if element.get("url"):
            link = _e(element["url"]) if _SAFE_URL.match(str(element["url"])) else "#"
            return (
                f'<a class="{css}" href="{link}" target="_blank" rel="noopener noreferrer"{data}{value}>'
                f"{_text(element.get('text'), ctx)}</a>"
            )
        return f'<button type="button" class="{css}"{data}{value}>{_text(element.get("text"), ctx)}</button>'
    if kind == "overflow":
        options = "".join(
            f'<option value="{_e(o.get("value"))}">{_e(_plain(o.get("text")))}</option>'
            for o in element.get("options") or []
            if isinstance(o, Mapping)
        )
        return f'<select class="bk-overflow" title="More actions"{data}><option value="">⋯</option>{options}</select>'
    if kind == "image":
        return _image(element, ctx, "bk-accessory-image")
    return _field(element, block, ctx, name=None)


def _field(element: Mapping[str, Any], block: Mapping[str, Any], ctx: _Context, name: str | None) -> str:
    """A form control; `name` (block_id/action_id) when it is a modal input whose value is submitted."""
    kind = str(element.get("type") or "")
    data = _data(element, block)
    named = f' name="{_e(name)}"' if name else ""
    placeholder = _e(_plain(element.get("placeholder")))
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        value = _e(element.get("initial_value") or "")
        limits = ""
        if element.get("max_length"):
            limits += f' maxlength="{int(element["max_length"])}"'
        if kind == "plain_text_input" and element.get("multiline"):
            attrs = f'{named}{data}{limits} placeholder="{placeholder}"'
            return f'<textarea class="bk-textarea" rows="4"{attrs}>{value}</textarea>'
        html_type = {"email_text_input": "email", "url_text_input": "url", "number_input": "number"}.get(kind, "text")
        if kind == "number_input":
            step = "any" if element.get("is_decimal_allowed") else "1"
            for key in ("min_value", "max_value"):
                if element.get(key) is not None:
                    limits += f' {key[:3]}="{_e(element[key])}"'
            limits += f' step="{step}"'
        attrs = f'{named}{data}{limits} value="{value}" placeholder="{placeholder}"'
        return f'<input class="bk-input-text" type="{html_type}"{attrs}>'
    if kind in ("static_select", "multi_static_select"):
        multiple = " multiple" if kind.startswith("multi_") else ""
        chosen = _chosen_values(element)
        empty = "" if multiple else f'<option value="">{placeholder or "Select an item"}</option>'
        return f'<select class="bk-select"{multiple}{named}{data}>{empty}{_options(element, chosen)}</select>'
    if kind in ("users_select", "multi_users_select"):
        multiple = " multiple" if kind.startswith("multi_") else ""
        initial = element.get("initial_users") if multiple else [element.get("initial_user")]
        chosen = {str(u) for u in initial or [] if u}
        people = "".join(
            f'<option value="{_e(uid)}"{" selected" if uid in chosen else ""}>{_e(name_)}</option>'
            for uid, name_ in sorted(ctx.users.items(), key=lambda item: item[1].lower())
        )
        empty = "" if multiple else f'<option value="">{placeholder or "Pick a person"}</option>'
        return f'<select class="bk-select bk-users"{multiple}{named}{data}>{empty}{people}</select>'
    if kind in ("external_select", "multi_external_select"):
        initial = element.get("initial_option")
        value = _e(initial.get("value")) if isinstance(initial, Mapping) else ""
        label = _e(_plain(initial.get("text"))) if isinstance(initial, Mapping) else ""
        return (
            f'<span class="bk-external"><input class="bk-input-text bk-external-input" type="text" autocomplete="off"'
            f'{data} placeholder="{placeholder or "Type to search"}" value="{label}">'
            f'<input type="hidden"{named} value="{value}" data-label="{label}">'
            f'<span class="bk-suggestions" hidden></span></span>'
        )
    if kind in ("checkboxes", "radio_buttons"):
        html_type = "checkbox" if kind == "checkboxes" else "radio"
        chosen = _chosen_values(element)
        group = _e(name or f"{block.get('block_id')}/{element.get('action_id')}")
        items = []
        for option in element.get("options") or []:
            if not isinstance(option, Mapping):
                continue
            checked = " checked" if option.get("value") in chosen else ""
            description = option.get("description")
            note = f'<span class="bk-option-note">{_text(description, ctx)}</span>' if description else ""
            items.append(
                f'<label class="bk-choice"><input type="{html_type}" name="{group}" value="{_e(option.get("value"))}"'
                f"{checked}{data}> <span>{_text(option.get('text'), ctx)}</span>{note}</label>"
            )
        return f'<div class="bk-choices">{"".join(items)}</div>'
    if kind == "datepicker":
        value = _e(element.get("initial_date") or "")
        return f'<input class="bk-date-input" type="date"{named}{data} value="{value}" title="{placeholder}">'
    if kind == "timepicker":
        value = _e(element.get("initial_time") or "")
        return f'<input class="bk-date-input" type="time"{named}{data} value="{value}">'
    return f'<span class="bk-unknown">[{_e(kind)}]</span>'


def _chosen_values(element: Mapping[str, Any]) -> set[str]:
    initial = element.get("initial_options")
    if not isinstance(initial, list):
        initial = [element.get("initial_option")]
    return {str(o.get("value")) for o in initial if isinstance(o, Mapping)}


def _options(element: Mapping[str, Any], chosen: set[str]) -> str:
    def one(option: Mapping[str, Any]) -> str:
        selected = " selected" if str(option.get("value")) in chosen else ""
        return f'<option value="{_e(option.get("value"))}"{selected}>{_e(_plain(option.get("text")))}</option>'

    out = "".join(one(o) for o in element.get("options") or [] if isinstance(o, Mapping))
    for group in element.get("option_groups") or []:
        if isinstance(group, Mapping):
            inner = "".join(one(o) for o in group.get("options") or [] if isinstance(o, Mapping))
            out += f'<optgroup label="{_e(_plain(group.get("label")))}">{inner}</optgroup>'
    return out


def _input(block: Mapping[str, Any], ctx: _Context) -> str:
    element = block.get("element")
    if not isinstance(element, Mapping):
        return ""
    block_id = str(block.get("block_id") or "")
    name = f"{block_id}/{element.get('action_id') or ''}"
    optional = ' <span class="bk-optional">(optional)</span>' if block.get("optional") else ""
    label = f'<label class="bk-label">{_text(block.get("label"), ctx)}{optional}</label>'
    hint = f'<div class="bk-hint">{_text(block["hint"], ctx)}</div>' if block.get("hint") else ""
    # A refused submission's error for this block goes in this slot (the page fills it): Slack shows it here.
    error = '<div class="bk-error" role="alert" hidden></div>'
    return f'{label}<div class="bk-field-wrap">{_field(element, block, ctx, name)}</div>{error}{hint}'


# --- rich text -----------------------------------------------------------------------------------------
def _rich_text_block(block: Mapping[str, Any], ctx: _Context) -> str:
    return "".join(_rich(e, ctx) for e in block.get("elements") or [] if isinstance(e, Mapping))


def _rich(element: Mapping[str, Any], ctx: _Context) -> str:
    kind = element.get("type")
    inner = element.get("elements") or []
    if kind == "rich_text_list":
        tag = "ol" if element.get("style") == "ordered" else "ul"
        items = "".join(f"<li>{_rich(i, ctx)}</li>" for i in inner if isinstance(i, Mapping))
        return f'<{tag} class="bk-list">{items}</{tag}>'
    if kind == "rich_text_quote":
        return f'<blockquote class="bk-quote">{_inline(inner, ctx)}</blockquote>'
    if kind == "rich_text_preformatted":
        return f'<pre class="bk-pre">{_inline(inner, ctx)}</pre>'
    return f'<div class="bk-rich-section">{_inline(inner, ctx)}</div>'


def _inline(elements: Iterable[Any], ctx: _Context) -> str:
    parts: list[str] = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        kind = element.get("type")
        if kind == "text":
            piece = _e(element.get("text") or "").replace("\n", "<br>")
        elif kind == "link":
            url = str(element.get("url") or "")
            label = _e(element.get("text") or url)
            piece = (
                f'<a class="bk-link" href="{_e(url)}" target="_blank" rel="noopener noreferrer">{label}</a>'
                if _SAFE_URL.match(url)
                else label
            )
        elif kind == "user":
            user_id = str(element.get("user_id") or "")
            piece = f'<span class="bk-mention" data-user="{_e(user_id)}">@{_e(ctx.users.get(user_id, user_id))}</span>'
        elif kind == "channel":
            piece = f'<span class="bk-mention">#{_e(element.get("channel_id") or "")}</span>'
        elif kind == "emoji":
            name = str(element.get("name") or "")
            piece = EMOJI.get(name, f":{_e(name)}:")
        elif kind == "broadcast":
            piece = f'<span class="bk-mention">@{_e(element.get("range") or "here")}</span>'
        elif kind == "date":
            try:
                moment = datetime.fromtimestamp(int(element.get("timestamp")), UTC)  # type: ignore[arg-type]
                piece = _e(format_date(moment, str(element.get("format") or "{date_short}"), ctx.tz, ctx.now))
            except (TypeError, ValueError, OverflowError):
                piece = _e(element.get("fallback") or "")
        else:
            continue
        parts.append(_styled(piece, element.get("style")))
    return "".join(parts)


def _styled(piece: str, style: Any) -> str:
    if not isinstance(style, Mapping):
        return piece
    for key, tag in (("code", "code"), ("strike", "s"), ("italic", "i"), ("bold", "b")):
        if style.get(key):
            piece = f'<{tag} class="bk-code">{piece}</{tag}>' if tag == "code" else f"<{tag}>{piece}</{tag}>"
    return piece


# --- attachments and files -----------------------------------------------------------------------------
def _attachment(attachment: Mapping[str, Any], ctx: _Context) -> str:
    if attachment.get("blocks"):
        inner = "".join(_block(b, ctx) for b in attachment["blocks"] if isinstance(b, Mapping))
    else:
        inner = "".join(
            f'<div class="bk-text">{mrkdwn_to_html(str(attachment[key]), ctx)}</div>'
            for key in ("pretext", "title", "text")
            if attachment.get(key)
        )
    return f'<div class="bk-attachment">{inner}</div>'


def _file(file: Mapping[str, Any], ctx: _Context) -> str:
    file_id = str(file.get("id") or "")
    title = _e(file.get("title") or file.get("name") or file_id)
    url = ctx.file_url(file_id) if ctx.file_url and file_id else None
    if url and str(file.get("name") or "").lower().endswith((".png", ".jpg", ".jpeg", ".gif")):
        return f'<figure class="bk-file"><img src="{_e(url)}" alt="{title}"><figcaption>{title}</figcaption></figure>'
    return f'<div class="bk-file">📎 {title}</div>'
