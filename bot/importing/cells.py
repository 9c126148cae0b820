"""Spreadsheet cells made safe both ways: `refbot export` guards formulas, the importer undoes the guard.

Its own module because the importer's rows and report and the exporter all need it, and none of them
should import another for it.
"""

from __future__ import annotations

# Cells `refbot export` prefixed with an apostrophe so a spreadsheet does not run them as formulas.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def unescape_cell(value: str) -> str:
    """Undo `refbot export`'s formula guard: "'=SUM(A1)" → "=SUM(A1)"; any other text is left alone."""
    if value[:1] == "'" and value.lstrip("'")[:1] in FORMULA_STARTS and value.lstrip("'"):
        return value[1:]
    return value


def escape_cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (= + - @), reversibly, with one apostrophe."""
    if value and value.lstrip("'")[:1] in FORMULA_STARTS and value.lstrip("'"):
        return "'" + value
    return value
