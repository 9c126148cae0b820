"""Reading a submitted modal's state into plain strings, whatever element each input used.

Everything here tolerates payloads that are not shaped the way refbot renders them (an old button, a
form from an older version, a forged request that was still signed): such input reads as missing, so
the listener answers "out of date" instead of failing with an exception.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_ID = 2**31 - 1  # the largest id the database can hold (PostgreSQL `integer`)
_DIGITS = re.compile(r"[0-9]{1,10}")


def record_id(value: object) -> int | None:
    """A database id from a button value or private_metadata: a positive integer in range, else None.

    Only ASCII digits count (`"²".isdigit()` is true, and `int("²")` fails); an id beyond the column's
    range would make the database raise rather than answer "not found".
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ID else None


def form_values(view: dict[str, Any]) -> dict[str, str | None]:
    """`{block_id: value}` for every input in a submitted view (None when left empty)."""
    out: dict[str, str | None] = {}
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    for block_id, actions in (values if isinstance(values, dict) else {}).items():
        for element in (actions if isinstance(actions, dict) else {}).values():
            if not isinstance(element, dict):
                continue
            value: Any = element.get("value")
            chosen = element.get("selected_option")
            if isinstance(chosen, dict) and chosen:
                value = chosen.get("value")
            elif "selected_date" in element:
                value = element.get("selected_date")
            if value is not None and not isinstance(value, str | int | float):
                value = None  # a list or an object where text belongs: not from a form refbot rendered
            out[block_id] = value if value is None else str(value)
    return out


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The view's private_metadata as a dict ({} when absent or not ours)."""
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    if not isinstance(raw, str):
        return {}
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def ids_from(value: object, count: int) -> tuple[int, ...] | None:
    """Parse a button value like "12:34"; None when it is not `count` ids (a forged or old button)."""
    if not isinstance(value, str):
        return None
    parts = [record_id(part) for part in value.split(":")]
    if len(parts) != count or None in parts:
        return None
    return tuple(p for p in parts if p is not None)
