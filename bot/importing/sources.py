"""Reading a list as it comes: CSV with any delimiter and the usual encodings, or an XLSX sheet.

A file is decoded and split into cells here and nothing else: what the cells mean is `fields`' job.
Every problem that makes the whole file unusable is an `ImportFailed` with one sentence for the operator.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from bot.importing.fields import field_for, fold_header

_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".tab"}
# How far down a title block ("Customer list — Q3", blank lines) the header row is looked for.
_HEADER_SEARCH_ROWS = 10


class ImportFailed(Exception):
    """The file as a whole cannot be imported; nothing was written from it."""


@dataclass
class Table:
    """A file's header row and its data rows as strings, each with the line (or sheet row) it ends on."""

    path: Path
    kind: str  # "CSV" or "XLSX"
    details: str  # "semicolon-separated, Latin-1" or "sheet 'Accounts'"
    header_line: int
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]


def read_table(path: Path, *, sheet: str | None = None, name_headers: frozenset[str] = frozenset()) -> Table:
    """Open a CSV or XLSX file; `name_headers` are folded headers `--map` sends to `name` (header search)."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ImportFailed(f"{path} is an old Excel .xls workbook; save it as .xlsx or CSV and import that")
    try:
        if suffix in _XLSX_SUFFIXES:
            return _read_xlsx(path, sheet, name_headers)
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    if suffix not in _CSV_SUFFIXES and raw.startswith(b"PK\x03\x04"):
        return _read_xlsx(path, sheet, name_headers)
    return _read_csv(path, raw, name_headers)


def _decode(path: Path, raw: bytes) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        try:
            return raw.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise ImportFailed(f"{path} starts like UTF-16 text but is not valid UTF-16") from None
    if b"\x00" in raw[:4096]:
        raise ImportFailed(f"{path} is not a CSV text file")
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        # What Excel on Windows writes; it reads Latin-1's letters the same way.
        return raw.decode("cp1252"), "Windows-1252/Latin-1"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "Latin-1"


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most columns, most consistently."""
    sample = text[:65536].splitlines()[:30]
    best, best_score = ",", 0
    for delimiter in _DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(sample, delimiter=delimiter) if any(c.strip() for c in row)]
        except csv.Error:
            continue
        if not counts:
            continue
        width, occurrences = Counter(counts).most_common(1)[0]
        score = width * occurrences if width > 1 else 0
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _is_header(cells: list[str], name_headers: frozenset[str]) -> bool:
    return any(field_for(c) == "name" or fold_header(c) in name_headers for c in cells)


def _read_csv(path: Path, raw: bytes, name_headers: frozenset[str]) -> Table:
    text, encoding = _decode(path, raw)
    delimiter = _sniff_delimiter(text)
    _allow_cells_up_to(len(text))
    # strict: a quote left open runs to the end of the file, and only strict mode says so instead of
    # returning the rest of the file as one cell.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    def records() -> Iterator[tuple[int, list[str]]]:
        start = 1
        try:
            for row in reader:
                if any(cell.strip() for cell in row):
                    yield reader.line_num, row
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ImportFailed(f"{path} is not valid CSV: {_csv_problem(str(exc), start, reader.line_num)}") from None

    rows = records()
    header_line, headers = _find_header(rows, name_headers)
    details = f"{_DELIMITER_NAMES[delimiter]}-separated, {encoding}"
    return Table(path, "CSV", details, header_line, headers, rows)


def _allow_cells_up_to(length: int) -> None:
    """Let the csv module read a cell as long as the whole text, so an oversized cell reaches the row check
    (which skips that row and says why) instead of failing the file with the module's own limit. The limit
    is process-wide, so it is only ever raised: lowering it could break a read going on in another thread."""
    if csv.field_size_limit() < length + 1:
        csv.field_size_limit(length + 1)


def _csv_problem(error: str, start: int, line: int) -> str:
    """The csv module's complaint in the words of someone fixing the file; `start` is the record's first line."""
    if "unexpected end of data" in error:
        return f'the quoted cell that starts on line {start} is never closed (a " is missing)'
    if "expected after" in error:
        return f"line {line} has text right after a quoted cell's closing \" (a stray quote mark?)"
    if "new-line character seen in unquoted field" in error:
        return f"line {line} has a line break inside an unquoted cell"
    return f"line {line}: {error}"


def _find_header(rows: Iterator[tuple[int, list[str]]], name_headers: frozenset[str]) -> tuple[int, list[str]]:
    """The header row: the first one naming a customer-name column, within a short title block.

    Rows above it (a report title, an export date) are dropped; when none of the first rows names the
    name column, the first row is the header and the mapping will say that no name column was found.
    """
    looked: list[tuple[int, list[str]]] = []
    for line, cells in rows:
        looked.append((line, cells))
        if _is_header(cells, name_headers):
            return line, cells
        if len(looked) >= _HEADER_SEARCH_ROWS:
            break
    if not looked:
        return 0, []
    return looked[0]


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a CSV would hold: 3.0 → "3", a midnight datetime → "2024-09-30"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path, sheet: str | None, name_headers: frozenset[str]) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImportFailed(f"{path} is not a readable XLSX workbook ({reason})") from None
    if not book.worksheets:
        book.close()
        raise ImportFailed(f"{path} has no worksheet")
    if sheet is None:
        worksheet = book.worksheets[0]
    else:
        matches = [ws for ws in book.worksheets if ws.title == sheet] or [
            ws for ws in book.worksheets if ws.title.casefold() == sheet.casefold()
        ]
        if not matches:
            names = ", ".join(repr(ws.title) for ws in book.worksheets)
            book.close()
            raise ImportFailed(f"{path} has no sheet {sheet!r} (its sheets: {names})")
        worksheet = matches[0]
    title = worksheet.title

    def records() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(worksheet.iter_rows(min_row=1, values_only=True), start=1):
                cells = [_cell_text(v) for v in values]
                if any(c.strip() for c in cells):
                    yield number, cells
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
            raise ImportFailed(f"{path} is not a readable XLSX workbook ({exc})") from None
        finally:
            book.close()

    rows = records()
    header_line, headers = _find_header(rows, name_headers)
    return Table(path, "XLSX", f"sheet {title!r}", header_line, headers, rows)
