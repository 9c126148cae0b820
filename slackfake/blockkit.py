"""Block Kit validation against Slack's published limits.

Slack rejects a bad message or view with a terse ``invalid_blocks`` and a JSON pointer; the bot only finds
out in production. The fake server runs every message and view it receives through these validators so a
test fails on the same payloads Slack would refuse, with a message a human can act on.

Each function returns a list of violations ("<path>: <problem>"); an empty list means valid. Unknown keys
are tolerated (Slack keeps adding fields); unknown block and element types are not, since a typo there is
the commonest way to get ``invalid_blocks``.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

# --- Message and view limits -------------------------------------------------------------------------
MAX_MESSAGE_TEXT = 40000
MAX_MESSAGE_BLOCKS = 50
MAX_ATTACHMENTS = 100
MAX_VIEW_BLOCKS = 100
MAX_MODAL_TITLE = 24
MAX_MODAL_BUTTON = 24  # submit and close
MAX_CALLBACK_ID = 255
MAX_PRIVATE_METADATA = 3000
MAX_EXTERNAL_ID = 255

# --- Block limits --------------------------------------------------------------------------------------
MAX_BLOCK_ID = 255
MAX_TEXT_OBJECT = 3000  # any text object without a tighter limit of its own
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_INPUT_LABEL = 2000
MAX_INPUT_HINT = 2000
MAX_IMAGE_ALT_TEXT = 2000
MAX_IMAGE_TITLE = 2000
MAX_VIDEO_TITLE = 200
MAX_MARKDOWN_BLOCK_TEXT = 12000

# --- Element limits ------------------------------------------------------------------------------------
MAX_ACTION_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_BUTTON_ACCESSIBILITY_LABEL = 75
MAX_URL = 3000
BUTTON_STYLES = ("primary", "danger")
MAX_PLACEHOLDER = 150
MAX_TEXT_INPUT_LENGTH = 3000  # plain_text_input max_length and min_length
MAX_CHECKBOX_OPTIONS = 10
MAX_RADIO_OPTIONS = 10
MAX_OVERFLOW_OPTIONS = 5

# --- Composition object limits -------------------------------------------------------------------------
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTION_DESCRIPTION = 75
MAX_OPTIONS = 100
MAX_OPTION_GROUPS = 100
MAX_OPTION_GROUP_LABEL = 75
MAX_OPTION_GROUP_OPTIONS = 100
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30  # confirm and deny

TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})

BLOCK_TYPES = frozenset(
    {
        "section",
        "divider",
        "image",
        "actions",
        "context",
        "input",
        "header",
        "rich_text",
        "file",
        "video",
        "markdown",
    }
)

SINGLE_SELECTS = frozenset(
    {"static_select", "external_select", "users_select", "conversations_select", "channels_select"}
)
MULTI_SELECTS = frozenset({"multi_" + name for name in SINGLE_SELECTS})
TEXT_INPUTS = frozenset({"plain_text_input", "number_input", "email_text_input", "url_text_input"})
ELEMENT_TYPES = frozenset(
    {"button", "overflow", "datepicker", "timepicker", "datetimepicker", "checkboxes", "radio_buttons"}
    | {"image", "workflow_button", "file_input", "rich_text_input"}
    | SINGLE_SELECTS
    | MULTI_SELECTS
    | TEXT_INPUTS
)

SECTION_ACCESSORIES = frozenset(
    {"button", "checkboxes", "datepicker", "image", "overflow", "radio_buttons", "timepicker"}
    | {"workflow_button"}
    | SINGLE_SELECTS
    | MULTI_SELECTS
)
ACTIONS_ELEMENTS = frozenset(
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "overflow",
        "radio_buttons",
        "timepicker",
        "workflow_button",
        "rich_text_input",
    }
    | SINGLE_SELECTS
    | MULTI_SELECTS
)
INPUT_ELEMENTS = frozenset(
    {"checkboxes", "datepicker", "datetimepicker", "radio_buttons", "timepicker"}
    | {"file_input", "rich_text_input"}
    | SINGLE_SELECTS
    | MULTI_SELECTS
    | TEXT_INPUTS
)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def validate_message(payload: Mapping[str, Any]) -> list[str]:
    """Return every way ``payload`` (chat.postMessage-style text/blocks/attachments) breaks Slack's rules."""
    v = _Validator()
    if not isinstance(payload, Mapping):
        return ["message: must be an object"]
    text = payload.get("text")
    if text is not None and not isinstance(text, str):
        v.err("text", "must be a string")
    elif isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        v.err("text", f"must be at most {MAX_MESSAGE_TEXT} characters (got {len(text)})")
    blocks = payload.get("blocks")
    attachments = payload.get("attachments")
    has_text = isinstance(text, str) and text != ""
    has_blocks = isinstance(blocks, list) and len(blocks) > 0
    has_attachments = isinstance(attachments, list) and len(attachments) > 0
    if not (has_text or has_blocks or has_attachments):
        v.err("message", "needs a non-empty `text` or `blocks`")
    if blocks is not None:
        v.blocks(blocks, "blocks", MAX_MESSAGE_BLOCKS)
    if attachments is not None:
        if not isinstance(attachments, list):
            v.err("attachments", "must be an array")
        else:
            v.count(attachments, "attachments", MAX_ATTACHMENTS)
            for i, attachment in enumerate(attachments):
                if isinstance(attachment, Mapping) and attachment.get("blocks") is not None:
                    v.blocks(attachment["blocks"], f"attachments[{i}].blocks", MAX_MESSAGE_BLOCKS)
    return v.errors


def validate_view(view: Mapping[str, Any]) -> list[str]:
    """Return every way ``view`` (a modal or home tab) breaks Slack's rules."""
    v = _Validator()
    if not isinstance(view, Mapping):
        return ["view: must be an object"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        v.err("type", f"must be 'modal' or 'home' (got {kind!r})")
    blocks = view.get("blocks")
    if blocks is None:
        v.err("blocks", "is required")
    else:
        v.blocks(blocks, "blocks", MAX_VIEW_BLOCKS)
    if kind == "modal":
        if view.get("title") is None:
            v.err("title", "is required for a modal")
        else:
            v.text(view["title"], "title", MAX_MODAL_TITLE, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                v.text(view[key], key, MAX_MODAL_BUTTON, plain_only=True)
        has_input = isinstance(blocks, list) and any(
            isinstance(b, Mapping) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            v.err("submit", "is required when the modal contains an input block")
    v.string(view, "private_metadata", "private_metadata", MAX_PRIVATE_METADATA)
    v.string(view, "callback_id", "callback_id", MAX_CALLBACK_ID)
    v.string(view, "external_id", "external_id", MAX_EXTERNAL_ID)
    for key in ("clear_on_close", "notify_on_close", "submit_disabled"):
        if key in view and not isinstance(view[key], bool):
            v.err(key, "must be a boolean")
    return v.errors


def _is_int(value: Any, *, minimum: int) -> bool:
    """JSON integers only: ``True`` is an int to Python but not to Slack."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


class _Validator:
    """Collects violations while walking one message or view, remembering ids that must stay unique in it."""

    def __init__(self) -> None:
        """Start empty: ids are unique per message/view, so one validator walks exactly one payload."""
        self.errors: list[str] = []
        self.block_ids: dict[str, str] = {}
        self.action_ids: dict[str, str] = {}

    def err(self, path: str, problem: str) -> None:
        """Record one violation as ``<path>: <problem>`` so the message points at the offending field."""
        self.errors.append(f"{path}: {problem}")

    # --- primitives ------------------------------------------------------------------------------------
    def count(self, items: list[Any], path: str, max_count: int) -> None:
        """Flag arrays longer than Slack allows (blocks, fields, elements, options)."""
        if len(items) > max_count:
            self.err(path, f"no more than {max_count} items allowed (got {len(items)})")

    def string(
        self, obj: Mapping[str, Any], key: str, path: str, max_len: int, *, required: bool = False
    ) -> str | None:
        """Check an optional (or required) string field's type and length; return it when it is a string."""
        if key not in obj or obj[key] is None:
            if required:
                self.err(path, "is required")
            return None
        value = obj[key]
        if not isinstance(value, str):
            self.err(path, f"must be a string (got {type(value).__name__})")
            return None
        if len(value) > max_len:
            self.err(path, f"must be at most {max_len} characters (got {len(value)})")
        return value

    def text(self, obj: Any, path: str, max_len: int = MAX_TEXT_OBJECT, *, plain_only: bool = False) -> None:
        """Check a text object: {type: plain_text|mrkdwn, text: non-empty str} within ``max_len``."""
        if not isinstance(obj, Mapping):
            self.err(path, "must be a text object {type, text}")
            return
        kind = obj.get("type")
        if kind not in TEXT_TYPES:
            self.err(f"{path}.type", f"must be 'plain_text' or 'mrkdwn' (got {kind!r})")
        elif plain_only and kind != "plain_text":
            self.err(f"{path}.type", "must be 'plain_text' here")
        text = obj.get("text")
        if not isinstance(text, str):
            self.err(f"{path}.text", "is required and must be a string")
        elif text == "":
            self.err(f"{path}.text", "must not be empty")
        elif len(text) > max_len:
            self.err(f"{path}.text", f"must be at most {max_len} characters (got {len(text)})")
        if "emoji" in obj:
            if kind == "mrkdwn":
                self.err(f"{path}.emoji", "is only allowed on plain_text")
            elif not isinstance(obj["emoji"], bool):
                self.err(f"{path}.emoji", "must be a boolean")
        if "verbatim" in obj:
            if kind == "plain_text":
                self.err(f"{path}.verbatim", "is only allowed on mrkdwn")
            elif not isinstance(obj["verbatim"], bool):
                self.err(f"{path}.verbatim", "must be a boolean")

    def action_id(self, element: Mapping[str, Any], path: str) -> None:
        """Check action_id length and that no other element of this message/view already uses it."""
        value = self.string(element, "action_id", f"{path}.action_id", MAX_ACTION_ID)
        if value is None:
            return
        if value == "":
            self.err(f"{path}.action_id", "must not be empty")
            return
        first = self.action_ids.get(value)
        if first is not None:
            self.err(f"{path}.action_id", f"duplicate action_id {value!r} (already used at {first})")
        else:
            self.action_ids[value] = path

    def url(self, obj: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> None:
        """URLs share Slack's 3000-character limit wherever they appear."""
        self.string(obj, key, f"{path}.{key}", MAX_URL, required=required)

    # --- blocks ----------------------------------------------------------------------------------------
    def blocks(self, blocks: Any, path: str, max_blocks: int) -> None:
        """Validate a block array: its length for the surface, then each block."""
        if not isinstance(blocks, list):
            self.err(path, "must be an array of blocks")
            return
        self.count(blocks, path, max_blocks)
        for i, block in enumerate(blocks):
            self.block(block, f"{path}[{i}]")

    def block(self, block: Any, path: str) -> None:
        """Validate one block: known type, unique block_id, then the type's own rules."""
        if not isinstance(block, Mapping):
            self.err(path, "must be a block object")
            return
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.err(f"{path}.type", f"unknown block type {kind!r}")
            return
        block_id = self.string(block, "block_id", f"{path}.block_id", MAX_BLOCK_ID)
        if block_id is not None:
            if block_id == "":
                self.err(f"{path}.block_id", "must not be empty")
            elif block_id in self.block_ids:
                self.err(
                    f"{path}.block_id",
                    f"duplicate block_id {block_id!r} (already used at {self.block_ids[block_id]})",
                )
            else:
                self.block_ids[block_id] = path
        getattr(self, f"_block_{kind}")(block, path)

    def _block_section(self, block: Mapping[str, Any], path: str) -> None:
        """Sections need text or fields; fields render in two columns and have tighter limits."""
        text = block.get("text")
        fields = block.get("fields")
        if text is None and not fields:
            self.err(path, "a section needs `text` or `fields`")
        if text is not None:
            self.text(text, f"{path}.text", MAX_SECTION_TEXT)
        if fields is not None:
            if not isinstance(fields, list):
                self.err(f"{path}.fields", "must be an array of text objects")
            else:
                self.count(fields, f"{path}.fields", MAX_SECTION_FIELDS)
                for i, field in enumerate(fields):
                    self.text(field, f"{path}.fields[{i}]", MAX_SECTION_FIELD_TEXT)
        if block.get("accessory") is not None:
            self.element(block["accessory"], f"{path}.accessory", SECTION_ACCESSORIES, "a section accessory")

    def _block_divider(self, block: Mapping[str, Any], path: str) -> None:
        """A divider carries nothing but its type and block_id."""

    def _block_image(self, block: Mapping[str, Any], path: str) -> None:
        """Image blocks must say where the image is and describe it for screen readers."""
        self._image_source(block, path)
        self.string(block, "alt_text", f"{path}.alt_text", MAX_IMAGE_ALT_TEXT, required=True)
        if block.get("title") is not None:
            self.text(block["title"], f"{path}.title", MAX_IMAGE_TITLE, plain_only=True)

    def _block_actions(self, block: Mapping[str, Any], path: str) -> None:
        """Actions blocks hold up to 25 interactive elements, but not inputs."""
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.err(f"{path}.elements", "is required and must be a non-empty array")
            return
        self.count(elements, f"{path}.elements", MAX_ACTIONS_ELEMENTS)
        for i, element in enumerate(elements):
            self.element(element, f"{path}.elements[{i}]", ACTIONS_ELEMENTS, "an actions block")

    def _block_context(self, block: Mapping[str, Any], path: str) -> None:
        """Context blocks hold only text objects and images, at most 10."""
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.err(f"{path}.elements", "is required and must be a non-empty array")
            return
        self.count(elements, f"{path}.elements", MAX_CONTEXT_ELEMENTS)
        for i, element in enumerate(elements):
            epath = f"{path}.elements[{i}]"
            if isinstance(element, Mapping) and element.get("type") == "image":
                self.element(element, epath, frozenset({"image"}), "a context block")
            else:
                self.text(element, epath)

    def _block_input(self, block: Mapping[str, Any], path: str) -> None:
        """Input blocks need a plain-text label and exactly one input-capable element."""
        if block.get("label") is None:
            self.err(f"{path}.label", "is required")
        else:
            self.text(block["label"], f"{path}.label", MAX_INPUT_LABEL, plain_only=True)
        if block.get("hint") is not None:
            self.text(block["hint"], f"{path}.hint", MAX_INPUT_HINT, plain_only=True)
        for key in ("optional", "dispatch_action"):
            if key in block and not isinstance(block[key], bool):
                self.err(f"{path}.{key}", "must be a boolean")
        if block.get("element") is None:
            self.err(f"{path}.element", "is required")
        else:
            self.element(block["element"], f"{path}.element", INPUT_ELEMENTS, "an input block")

    def _block_header(self, block: Mapping[str, Any], path: str) -> None:
        """Headers are plain text only and short (150)."""
        if block.get("text") is None:
            self.err(f"{path}.text", "is required")
        else:
            self.text(block["text"], f"{path}.text", MAX_HEADER_TEXT, plain_only=True)

    def _block_rich_text(self, block: Mapping[str, Any], path: str) -> None:
        """Rich text is structurally deep; only its shape is checked, not every run."""
        if not isinstance(block.get("elements"), list):
            self.err(f"{path}.elements", "is required and must be an array")

    def _block_file(self, block: Mapping[str, Any], path: str) -> None:
        """File blocks reference a remote file by external_id."""
        self.string(block, "external_id", f"{path}.external_id", MAX_EXTERNAL_ID, required=True)
        if block.get("source") != "remote":
            self.err(f"{path}.source", "must be 'remote'")

    def _block_video(self, block: Mapping[str, Any], path: str) -> None:
        """Video blocks need their URLs, thumbnail and accessible text."""
        self.string(block, "alt_text", f"{path}.alt_text", MAX_IMAGE_ALT_TEXT, required=True)
        self.url(block, "video_url", path, required=True)
        self.url(block, "thumbnail_url", path, required=True)
        if block.get("title") is None:
            self.err(f"{path}.title", "is required")
        else:
            self.text(block["title"], f"{path}.title", MAX_VIDEO_TITLE, plain_only=True)

    def _block_markdown(self, block: Mapping[str, Any], path: str) -> None:
        """Markdown blocks carry raw markdown with their own larger limit."""
        self.string(block, "text", f"{path}.text", MAX_MARKDOWN_BLOCK_TEXT, required=True)

    def _image_source(self, obj: Mapping[str, Any], path: str) -> None:
        """An image is given by URL or by a slack_file reference; one of them is required."""
        if obj.get("image_url") is None and obj.get("slack_file") is None:
            self.err(path, "needs `image_url` or `slack_file`")
        self.url(obj, "image_url", path)

    # --- elements --------------------------------------------------------------------------------------
    def element(self, element: Any, path: str, allowed: frozenset[str], where: str) -> None:
        """Validate an element: known type, allowed where it sits, then the type's own rules."""
        if not isinstance(element, Mapping):
            self.err(path, "must be an element object")
            return
        kind = element.get("type")
        if kind not in ELEMENT_TYPES:
            self.err(f"{path}.type", f"unknown element type {kind!r}")
            return
        if kind not in allowed:
            self.err(f"{path}.type", f"{kind!r} is not allowed in {where}")
            return
        if kind == "image":
            self._image_source(element, path)
            self.string(element, "alt_text", f"{path}.alt_text", MAX_IMAGE_ALT_TEXT, required=True)
            return
        self.action_id(element, path)
        if element.get("confirm") is not None:
            self.confirm(element["confirm"], f"{path}.confirm")
        if element.get("placeholder") is not None:
            self.text(element["placeholder"], f"{path}.placeholder", MAX_PLACEHOLDER, plain_only=True)
        if kind in ("button", "workflow_button"):
            self._button(element, path)
        elif kind in ("static_select", "multi_static_select"):
            self._static_select(element, path, multi=kind.startswith("multi_"))
        elif kind in ("external_select", "multi_external_select"):
            self._external_select(element, path, multi=kind.startswith("multi_"))
        elif kind in MULTI_SELECTS | SINGLE_SELECTS:
            self._max_selected(element, path, multi=kind.startswith("multi_"))
        elif kind == "overflow":
            self._options(element, path, MAX_OVERFLOW_OPTIONS, mrkdwn_ok=False, url_ok=True, min_count=1)
        elif kind == "checkboxes":
            options = self._options(element, path, MAX_CHECKBOX_OPTIONS, mrkdwn_ok=True)
            self._initial_options(element, path, options, multi=True)
        elif kind == "radio_buttons":
            options = self._options(element, path, MAX_RADIO_OPTIONS, mrkdwn_ok=True)
            self._initial_options(element, path, options, multi=False)
        elif kind == "datepicker":
            self._date(element, path)
        elif kind == "timepicker":
            initial = element.get("initial_time")
            if initial is not None and not (isinstance(initial, str) and _TIME_RE.match(initial)):
                self.err(f"{path}.initial_time", f"must be HH:mm (got {initial!r})")
        elif kind == "datetimepicker":
            initial = element.get("initial_date_time")
            if initial is not None and (isinstance(initial, bool) or not isinstance(initial, int)):
                self.err(f"{path}.initial_date_time", "must be a UNIX timestamp in seconds")
        elif kind == "plain_text_input":
            self._plain_text_input(element, path)
        elif kind == "number_input":
            if not isinstance(element.get("is_decimal_allowed"), bool):
                self.err(f"{path}.is_decimal_allowed", "is required and must be a boolean")
            for key in ("initial_value", "min_value", "max_value"):
                self.string(element, key, f"{path}.{key}", MAX_TEXT_INPUT_LENGTH)
        elif kind in ("email_text_input", "url_text_input"):
            self.string(element, "initial_value", f"{path}.initial_value", MAX_TEXT_INPUT_LENGTH)

    def _button(self, element: Mapping[str, Any], path: str) -> None:
        """Buttons: short plain-text label, bounded value and URL, and only Slack's two styles."""
        if element.get("text") is None:
            self.err(f"{path}.text", "is required")
        else:
            self.text(element["text"], f"{path}.text", MAX_BUTTON_TEXT, plain_only=True)
        self.string(element, "value", f"{path}.value", MAX_BUTTON_VALUE)
        self.url(element, "url", path)
        label_path = f"{path}.accessibility_label"
        self.string(element, "accessibility_label", label_path, MAX_BUTTON_ACCESSIBILITY_LABEL)
        style = element.get("style")
        if style is not None and style not in BUTTON_STYLES:
            self.err(f"{path}.style", f"must be 'primary' or 'danger' (got {style!r})")

    def _static_select(self, element: Mapping[str, Any], path: str, *, multi: bool) -> None:
        """Static selects take options or option_groups (not both), and initial choices among them."""
        has_options = element.get("options") is not None
        has_groups = element.get("option_groups") is not None
        if has_options and has_groups:
            self.err(path, "use either `options` or `option_groups`, not both")
        if not has_options and not has_groups:
            self.err(path, "needs `options` or `option_groups`")
        options: list[Mapping[str, Any]] = []
        if has_options:
            options = self._options(element, path, MAX_OPTIONS, mrkdwn_ok=False)
        if has_groups:
            options = self._option_groups(element, path)
        self._initial_options(element, path, options, multi=multi)
        self._max_selected(element, path, multi=multi)

    def _external_select(self, element: Mapping[str, Any], path: str, *, multi: bool) -> None:
        """External selects get options from the app at run time; only static parts are checked."""
        min_query = element.get("min_query_length")
        if min_query is not None and not _is_int(min_query, minimum=0):
            self.err(f"{path}.min_query_length", "must be a non-negative integer")
        key = "initial_options" if multi else "initial_option"
        initial = element.get(key)
        if initial is not None:
            for i, option in enumerate(initial if multi and isinstance(initial, list) else [initial]):
                self.option(option, f"{path}.{key}" + (f"[{i}]" if multi else ""), mrkdwn_ok=False)
        self._max_selected(element, path, multi=multi)

    def _max_selected(self, element: Mapping[str, Any], path: str, *, multi: bool) -> None:
        """Multi-selects may cap the selection, with a positive integer."""
        if not multi or element.get("max_selected_items") is None:
            return
        value = element["max_selected_items"]
        if not _is_int(value, minimum=1):
            self.err(f"{path}.max_selected_items", "must be an integer of at least 1")

    def _options(
        self,
        element: Mapping[str, Any],
        path: str,
        max_count: int,
        *,
        mrkdwn_ok: bool,
        url_ok: bool = False,
        min_count: int = 1,
    ) -> list[Mapping[str, Any]]:
        """Check an option list's size and each option; return the options for initial-value checks."""
        options = element.get("options")
        if not isinstance(options, list):
            self.err(f"{path}.options", "is required and must be an array")
            return []
        if len(options) < min_count:
            self.err(f"{path}.options", f"needs at least {min_count} item(s)")
        self.count(options, f"{path}.options", max_count)
        for i, option in enumerate(options):
            self.option(option, f"{path}.options[{i}]", mrkdwn_ok=mrkdwn_ok, url_ok=url_ok)
        return [o for o in options if isinstance(o, Mapping)]

    def _option_groups(self, element: Mapping[str, Any], path: str) -> list[Mapping[str, Any]]:
        """Check option groups (label + options) and return all their options."""
        groups = element.get("option_groups")
        if not isinstance(groups, list) or not groups:
            self.err(f"{path}.option_groups", "must be a non-empty array")
            return []
        self.count(groups, f"{path}.option_groups", MAX_OPTION_GROUPS)
        collected: list[Mapping[str, Any]] = []
        for i, group in enumerate(groups):
            gpath = f"{path}.option_groups[{i}]"
            if not isinstance(group, Mapping):
                self.err(gpath, "must be an option group object {label, options}")
                continue
            if group.get("label") is None:
                self.err(f"{gpath}.label", "is required")
            else:
                self.text(group["label"], f"{gpath}.label", MAX_OPTION_GROUP_LABEL, plain_only=True)
            collected.extend(self._options(group, gpath, MAX_OPTION_GROUP_OPTIONS, mrkdwn_ok=False))
        return collected

    def option(self, option: Any, path: str, *, mrkdwn_ok: bool, url_ok: bool = False) -> None:
        """Check one option: text (plain unless checkboxes/radios), value, description, overflow-only URL."""
        if not isinstance(option, Mapping):
            self.err(path, "must be an option object {text, value}")
            return
        if option.get("text") is None:
            self.err(f"{path}.text", "is required")
        else:
            self.text(option["text"], f"{path}.text", MAX_OPTION_TEXT, plain_only=not mrkdwn_ok)
        self.string(option, "value", f"{path}.value", MAX_OPTION_VALUE, required=True)
        if option.get("description") is not None:
            self.text(option["description"], f"{path}.description", MAX_OPTION_DESCRIPTION, plain_only=not mrkdwn_ok)
        if "url" in option:
            if url_ok:
                self.url(option, "url", path)
            else:
                self.err(f"{path}.url", "is only allowed on overflow menu options")

    def _initial_options(
        self, element: Mapping[str, Any], path: str, options: Iterable[Mapping[str, Any]], *, multi: bool
    ) -> None:
        """Slack refuses an initial option that is not one of the element's options; compare by value."""
        values = {o.get("value") for o in options}
        key = "initial_options" if multi else "initial_option"
        initial = element.get(key)
        if initial is None:
            return
        chosen = initial if multi else [initial]
        if not isinstance(chosen, list):
            self.err(f"{path}.{key}", "must be an array of options")
            return
        for i, option in enumerate(chosen):
            opath = f"{path}.{key}" + (f"[{i}]" if multi else "")
            if not isinstance(option, Mapping):
                self.err(opath, "must be an option object")
            elif option.get("value") not in values:
                self.err(opath, f"value {option.get('value')!r} is not one of the element's options")

    def _date(self, element: Mapping[str, Any], path: str) -> None:
        """Datepickers take YYYY-MM-DD and Slack rejects impossible dates."""
        initial = element.get("initial_date")
        if initial is None:
            return
        valid = isinstance(initial, str) and bool(_DATE_RE.match(initial))
        if valid:
            try:
                _dt.date.fromisoformat(initial)
            except ValueError:
                valid = False
        if not valid:
            self.err(f"{path}.initial_date", f"must be a real date as YYYY-MM-DD (got {initial!r})")

    def _plain_text_input(self, element: Mapping[str, Any], path: str) -> None:
        """Length bounds must be within 0..3000, ordered, and the initial value must fit them."""
        lengths: dict[str, int] = {}
        for key, low in (("min_length", 0), ("max_length", 1)):
            value = element.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                self.err(f"{path}.{key}", "must be an integer")
            elif not low <= value <= MAX_TEXT_INPUT_LENGTH:
                self.err(f"{path}.{key}", f"must be between {low} and {MAX_TEXT_INPUT_LENGTH} (got {value})")
            else:
                lengths[key] = value
        if lengths.get("min_length", 0) > lengths.get("max_length", MAX_TEXT_INPUT_LENGTH):
            self.err(f"{path}.min_length", "must not exceed max_length")
        limit = lengths.get("max_length", MAX_TEXT_INPUT_LENGTH)
        self.string(element, "initial_value", f"{path}.initial_value", limit)
        if "multiline" in element and not isinstance(element["multiline"], bool):
            self.err(f"{path}.multiline", "must be a boolean")

    def confirm(self, confirm: Any, path: str) -> None:
        """Confirmation dialogs need all four texts within their own limits."""
        if not isinstance(confirm, Mapping):
            self.err(path, "must be a confirmation dialog object")
            return
        for key, limit, plain in (
            ("title", MAX_CONFIRM_TITLE, True),
            ("text", MAX_CONFIRM_TEXT, False),
            ("confirm", MAX_CONFIRM_BUTTON, True),
            ("deny", MAX_CONFIRM_BUTTON, True),
        ):
            if confirm.get(key) is None:
                self.err(f"{path}.{key}", "is required")
            else:
                self.text(confirm[key], f"{path}.{key}", limit, plain_only=plain)
        style = confirm.get("style")
        if style is not None and style not in BUTTON_STYLES:
            self.err(f"{path}.style", f"must be 'primary' or 'danger' (got {style!r})")
