"""Block Kit for forms: the modal around them and the inputs in them, the same in every refbot form."""

from __future__ import annotations

import json
from typing import Any

from bot.views.text import clip, plain


def modal(
    callback_id: str, title: str, submit: str, blocks: list[dict[str, Any]], *, close: str = "Back", **metadata: Any
) -> dict[str, Any]:
    """A form: what it is for (`callback_id`), and the ids it was opened for, kept in its private_metadata."""
    view: dict[str, Any] = {"type": "modal", "callback_id": callback_id}
    if metadata:
        view["private_metadata"] = json.dumps(metadata)
    return {**view, "title": plain(title, 24), "submit": plain(submit, 24), "close": plain(close, 24), "blocks": blocks}


def text_input(
    block_id: str,
    label: str,
    *,
    initial: str = "",
    limit: int,
    optional: bool = True,
    multiline: bool = False,
    hint: str = "",
    placeholder: str = "",
) -> dict[str, Any]:
    """A text input block; `limit` is what the domain accepts (Slack allows 3000 at most)."""
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": block_id,
        "max_length": min(limit, 3000),
        "multiline": multiline,
    }
    if initial:
        element["initial_value"] = clip(initial, min(limit, 3000))
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label, 2000),
        "element": element,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def notice(title: str, blocks: list[dict[str, Any]], *, close: str = "Done") -> dict[str, Any]:
    """What a form turns into once saved (`response_action: update`): no submit, only a way out."""
    return {"type": "modal", "title": plain(title, 24), "close": plain(close, 24), "blocks": blocks}
