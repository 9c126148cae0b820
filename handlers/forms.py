"""Reading a submitted modal's state into plain strings, whatever element each input used.

Everything here tolerates payloads that are not shaped the way refbot renders them (an old button, a
form from an older version, a forged request that was still signed): such input reads as missing, so
the listener answers "out of date" instead of failing with an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

E = TypeVar("E", bound=Enum)

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


FormValue = str | list[str] | None
FormValues = dict[str, FormValue]


def form_values(view: dict[str, Any]) -> FormValues:
    """`{block_id: value}` for every input in a submitted view, the one reader of a form's state.

    Text, a chosen option's value, a date or a user is a string (None when left empty); checkboxes give the
    list of the chosen values. Anything else where a value belongs reads as missing.
    """
    out: FormValues = {}
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    for block_id, actions in (values if isinstance(values, dict) else {}).items():
        for element in (actions if isinstance(actions, dict) else {}).values():
            if isinstance(element, dict):
                out[block_id] = _element_value(element)
    return out


def _element_value(element: dict[str, Any]) -> FormValue:
    if element.get("type") == "file_input":  # the uploaded files' ids
        files = element.get("files")
        return [str(f.get("id")) for f in files if isinstance(f, dict)] if isinstance(files, list) else []
    if "selected_options" in element:
        chosen = element.get("selected_options")
        return [str(o.get("value")) for o in chosen if isinstance(o, dict)] if isinstance(chosen, list) else []
    value: Any = element.get("value")
    picked = element.get("selected_option")
    if isinstance(picked, dict) and picked:
        value = picked.get("value")
    elif "selected_date" in element:
        value = element.get("selected_date")
    elif "selected_user" in element:
        value = element.get("selected_user")
    if value is not None and not isinstance(value, str | int | float):
        return None  # a list or an object where text belongs: not from a form refbot rendered
    return value if value is None else str(value)


def texts(values: FormValues) -> dict[str, str | None]:
    """The single-value inputs only: a list where one value belongs (a forged form) reads as missing."""
    return {key: value if not isinstance(value, list) else None for key, value in values.items()}


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


def one_record(value: object) -> int | None:
    """A button carrying one id ("12")."""
    found = ids_from(value, 1)
    return found[0] if found else None


def two_records(value: object) -> tuple[int, int] | None:
    """A button carrying two ids ("12:34": a request and a candidate customer)."""
    found = ids_from(value, 2)
    return (found[0], found[1]) if found else None


def record_and(choices: type[E]) -> Callable[[object], tuple[int, E] | None]:
    """A reader of a button carrying an id and one of `choices` ("12:happy")."""

    def read(value: object) -> tuple[int, E] | None:
        raw_id, _, raw_choice = str(value or "").partition(":")
        found = record_id(raw_id)
        if found is None or raw_choice not in {c.value for c in choices}:
            return None
        return found, choices(raw_choice)

    return read


def nothing(value: object) -> tuple[()]:
    """A button that carries nothing refbot needs (its action id says it all)."""
    return ()
