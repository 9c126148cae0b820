"""Reading a submitted modal's state into plain strings, whatever element each input used."""

from __future__ import annotations

import json
from typing import Any


def form_values(view: dict[str, Any]) -> dict[str, str | None]:
    """`{block_id: value}` for every input in a submitted view (None when left empty)."""
    out: dict[str, str | None] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for state in (actions or {}).values():
            if not isinstance(state, dict):
                continue
            value: Any = state.get("value")
            if state.get("selected_option"):
                value = state["selected_option"].get("value")
            elif "selected_date" in state:
                value = state.get("selected_date")
            out[block_id] = value if value is None else str(value)
    return out


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The view's private_metadata as a dict ({} when absent or not ours)."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def ids_from(value: str | None, count: int) -> tuple[int, ...] | None:
    """Parse a button value like "12:34"; None when it is not `count` integers (a forged or old button)."""
    parts = (value or "").split(":")
    if len(parts) != count or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)
