"""The SOQL subset the Salesforce fake understands, parsed properly rather than pattern-matched.

    SELECT field, … FROM object [WHERE condition] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], …]
    [LIMIT n] [OFFSET n]

Conditions: `=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`, `LIKE`, `IN (…)`, `NOT IN (…)`, combined with `AND`,
`OR`, `NOT` and parentheses. Literals: quoted strings with backslash escapes, numbers, `TRUE`/`FALSE`,
`NULL`, dates (`2026-12-01`) and date-times (`2026-12-01T10:00:00Z`, with optional milliseconds or an
offset) unquoted, as the SOQL reference writes them. Keywords and field names are case-insensitive;
text comparisons are too (as in Salesforce), ids are not.

`parse` checks syntax (MALFORMED_QUERY); `bind` checks the query against an object's fields the way
Salesforce answers: an unknown field is INVALID_FIELD ("No such column …"), filtering on a field that
cannot be filtered (a long text area) is INVALID_FIELD too, a date-time literal against a date field is
INVALID_FIELD ("value of filter criterion … must be of type date").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}))
      | (?P<date>\d{4}-\d{2}-\d{2})(?![\dT])
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_TEXT_TYPES = {"string", "textarea", "picklist", "combobox", "url", "email", "phone"}
_NUMBER_TYPES = {"int", "double", "currency", "percent"}


class SoqlError(Exception):
    """A query Salesforce would refuse: `code` is its errorCode (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FieldSpec:
    """What the fake knows of one field: its describe type and whether WHERE may use it."""

    name: str
    type: str
    filterable: bool = True
    sortable: bool = True


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    value: Any


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str  # = != < <= > >= like in notin
    value: Any  # a literal, or a tuple of literals for in/notin


@dataclass(frozen=True)
class Junction:
    op: str  # and / or
    left: Condition
    right: Condition


@dataclass(frozen=True)
class Negation:
    inner: Condition


Condition = Comparison | Junction | Negation


@dataclass(frozen=True)
class Order:
    field: str
    descending: bool
    nulls_last: bool
    text: bool = False  # text sorts without regard to case; ids and the rest as they are


@dataclass(frozen=True)
class Query:
    """A parsed SELECT, field names still as the client wrote them."""

    text: str
    fields: tuple[str, ...]
    sobject: str
    where: Condition | None
    order_by: tuple[Order, ...]
    limit: int | None
    offset: int


@dataclass(frozen=True)
class BoundQuery:
    """A query checked against an object's fields: canonical names, a predicate and a sort."""

    sobject: str
    fields: tuple[str, ...]
    predicate: Predicate | None
    order_by: tuple[Order, ...]
    limit: int | None
    offset: int

    def run(self, rows: Sequence[Row]) -> list[Row]:
        """The rows this query selects, in its order (stable, so ties keep the object's own order)."""
        selected = list(rows) if self.predicate is None else [row for row in rows if self.predicate(row)]
        for order in reversed(self.order_by):
            selected = _sorted(selected, order)
        end = None if self.limit is None else self.offset + self.limit
        return selected[self.offset : end]


def parse(text: str) -> Query:
    """Parse one SELECT statement; anything outside the subset is MALFORMED_QUERY, as Salesforce says."""
    return _Parser(text).query()


def bind(
    query: Query, fields: Mapping[str, FieldSpec], literal: Callable[[FieldSpec, Any], Any] = lambda spec, v: v
) -> BoundQuery:
    """Resolve `query`'s field names against `fields` (canonical name → spec), the way Salesforce checks them.

    `literal` turns a checked literal (a `datetime`, a `date`, …) into the form the rows hold values in."""
    by_lower = {name.lower(): spec for name, spec in fields.items()}

    def resolve(name: str, purpose: str = "select") -> FieldSpec:
        spec = by_lower.get(name.lower())
        if spec is None:
            raise SoqlError("INVALID_FIELD", _no_such_column(query, name))
        if purpose == "filter" and not spec.filterable:
            raise SoqlError(
                "INVALID_FIELD",
                f"field '{spec.name}' can not be filtered in a query call",
            )
        if purpose == "sort" and not spec.sortable:
            raise SoqlError("INVALID_FIELD", f"field '{spec.name}' can not be sorted in a query call")
        return spec

    selected = tuple(resolve(name).name for name in query.fields)
    predicate = _compile(query.where, resolve, literal) if query.where is not None else None
    order = []
    for wanted in query.order_by:
        spec = resolve(wanted.field, "sort")
        order.append(Order(spec.name, wanted.descending, wanted.nulls_last, spec.type in _TEXT_TYPES))
    return BoundQuery(query.sobject, selected, predicate, tuple(order), query.limit, query.offset)


def _no_such_column(query: Query, name: str) -> str:
    """Salesforce's own wording, with the query echoed and a caret under the offending column."""
    line = " ".join(query.text.split())
    column = line.lower().find(name.lower())
    caret = " " * max(column, 0) + "^"
    return (
        f"\n{line}\n{caret}\nERROR at Row:1:Column:{max(column, 0) + 1}\n"
        f"No such column '{name}' on entity '{query.sobject}'. If you are attempting to use a custom field, be "
        "sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call "
        "for the appropriate names."
    )


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0

    def _tokenize(self, text: str) -> list[Token]:
        tokens: list[Token] = []
        pos = 0
        end = len(text.rstrip())
        while pos < end:
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text[pos:].split()[0]}'")
            kind = match.lastgroup or ""
            raw = match.group(kind)
            tokens.append(Token(kind, raw, self._literal(kind, raw)))
            pos = match.end()
        return tokens

    @staticmethod
    def _literal(kind: str, raw: str) -> Any:
        if kind == "string":
            return _unescape(raw[1:-1])
        if kind == "datetime":
            text = raw.replace("Z", "+00:00")
            if re.search(r"[+-]\d{4}$", text):
                text = text[:-2] + ":" + text[-2:]
            return datetime.fromisoformat(text).astimezone(UTC)
        if kind == "date":
            return date.fromisoformat(raw)
        if kind == "number":
            return float(raw) if "." in raw else int(raw)
        return raw

    def peek(self, offset: int = 0) -> Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def keyword(self, *words: str) -> bool:
        """Consume the keyword sequence `words` if it comes next."""
        for offset, word in enumerate(words):
            token = self.peek(offset)
            if token is None or token.kind != "word" or token.text.upper() != word:
                return False
        self.pos += len(words)
        return True

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            found = self.peek()
            raise SoqlError("MALFORMED_QUERY", f"expecting '{word}', found '{found.text if found else '<EOF>'}'")

    def take(self, kind: str, text: str | None = None) -> Token:
        token = self.peek()
        if token is None or token.kind != kind or (text is not None and token.text != text):
            wanted = text or kind
            raise SoqlError(
                "MALFORMED_QUERY", f"expecting {wanted!r}, found '{token.text if token else '<EOF>'}'"
            )
        self.pos += 1
        return token

    def query(self) -> Query:
        self.expect_keyword("SELECT")
        fields = [self.take("word").text]
        while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
            self.pos += 1
            fields.append(self.take("word").text)
        self.expect_keyword("FROM")
        sobject = self.take("word").text
        where = self.condition() if self.keyword("WHERE") else None
        order: list[Order] = []
        if self.keyword("ORDER", "BY"):
            order.append(self.order())
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.pos += 1
                order.append(self.order())
        limit = int(self.take("number").value) if self.keyword("LIMIT") else None
        offset = int(self.take("number").value) if self.keyword("OFFSET") else 0
        if self.peek() is not None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{self.peek().text}'")  # type: ignore[union-attr]
        return Query(self.text, tuple(fields), sobject, where, tuple(order), limit, offset)

    def order(self) -> Order:
        field = self.take("word").text
        descending = self.keyword("DESC")
        if not descending:
            self.keyword("ASC")
        nulls_last = descending  # SOQL's default: nulls first ascending, last descending
        if self.keyword("NULLS", "FIRST"):
            nulls_last = False
        elif self.keyword("NULLS", "LAST"):
            nulls_last = True
        return Order(field, descending, nulls_last)

    def condition(self) -> Condition:
        left = self.conjunction()
        while self.keyword("OR"):
            left = Junction("or", left, self.conjunction())
        return left

    def conjunction(self) -> Condition:
        left = self.negation()
        while self.keyword("AND"):
            left = Junction("and", left, self.negation())
        return left

    def negation(self) -> Condition:
        if self.keyword("NOT"):
            return Negation(self.negation())
        token = self.peek()
        if token is not None and token.text == "(":
            self.pos += 1
            inner = self.condition()
            self.take("punct", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        field = self.take("word").text
        if self.keyword("NOT", "IN"):
            return Comparison(field, "notin", self.value_list())
        if self.keyword("IN"):
            return Comparison(field, "in", self.value_list())
        if self.keyword("LIKE"):
            return Comparison(field, "like", self.take("string").value)
        op = self.take("op").text
        return Comparison(field, "!=" if op == "<>" else op, self.value())

    def value_list(self) -> tuple[Any, ...]:
        self.take("punct", "(")
        values = [self.value()]
        while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
            self.pos += 1
            values.append(self.value())
        self.take("punct", ")")
        return tuple(values)

    def value(self) -> Any:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self.pos += 1
        if token.kind in ("string", "number", "date", "datetime"):
            return token.value
        if token.kind == "word" and token.text.upper() in ("TRUE", "FALSE"):
            return token.text.upper() == "TRUE"
        if token.kind == "word" and token.text.upper() == "NULL":
            return None
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")


def _unescape(body: str) -> str:
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        following = next(chars, "")
        if following in ("%", "_"):  # kept escaped: only LIKE gives them meaning
            out.append("\\" + following)
        elif following in _ESCAPES:
            out.append(_ESCAPES[following])
        else:
            raise SoqlError("MALFORMED_QUERY", f"Invalid string literal: illegal escape sequence '\\{following}'")
    return "".join(out)


def _plain(text: str) -> str:
    """A string literal outside LIKE: `\\%` and `\\_` stand for themselves."""
    return text.replace("\\%", "%").replace("\\_", "_")


def _like_pattern(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _compile(
    condition: Condition, resolve: Callable[[str, str], FieldSpec], literal: Callable[[FieldSpec, Any], Any]
) -> Predicate:
    if isinstance(condition, Junction):
        left, right = _compile(condition.left, resolve, literal), _compile(condition.right, resolve, literal)
        if condition.op == "and":
            return lambda row: left(row) and right(row)
        return lambda row: left(row) or right(row)
    if isinstance(condition, Negation):
        inner = _compile(condition.inner, resolve, literal)
        return lambda row: not inner(row)
    spec = resolve(condition.field, "filter")
    name, op = spec.name, condition.op
    if op == "like":
        if spec.type not in _TEXT_TYPES and spec.type not in ("id", "reference"):
            raise SoqlError("INVALID_FIELD", f"invalid operator on {spec.type} field: LIKE")
        regex = _like_pattern(condition.value)
        return lambda row: row.get(name) is not None and regex.fullmatch(str(row[name])) is not None
    if op in ("in", "notin"):
        values = {_comparable(spec, literal(spec, _checked(spec, v))) for v in condition.value}
        if op == "in":
            return lambda row: _comparable(spec, row.get(name)) in values
        return lambda row: _comparable(spec, row.get(name)) not in values
    value = _comparable(spec, literal(spec, _checked(spec, condition.value)))
    if value is None:
        if op not in ("=", "!="):
            raise SoqlError("MALFORMED_QUERY", f"invalid operator with null: {op}")
        return (lambda row: row.get(name) is None) if op == "=" else (lambda row: row.get(name) is not None)
    compare = _OPERATORS[op]
    return lambda row: (v := _comparable(spec, row.get(name))) is not None and compare(v, value)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _checked(spec: FieldSpec, value: Any) -> Any:
    """A literal of the right kind for the field, or INVALID_FIELD in Salesforce's words."""
    if value is None:
        return None
    kind = spec.type
    wrong = (
        (kind == "datetime" and not isinstance(value, datetime))
        or (kind == "date" and (isinstance(value, datetime) or not isinstance(value, date)))
        or (kind == "boolean" and not isinstance(value, bool))
        or (kind in _NUMBER_TYPES and (isinstance(value, bool) or not isinstance(value, int | float)))
        or (kind in _TEXT_TYPES | {"id", "reference"} and not isinstance(value, str))
    )
    if wrong:
        criterion = f"value of filter criterion for field '{spec.name}'"
        if kind in _TEXT_TYPES or kind in ("id", "reference"):
            raise SoqlError("INVALID_FIELD", f"{criterion} must be of type string and should be enclosed in quotes")
        expected = "dateTime" if kind == "datetime" else kind
        raise SoqlError("INVALID_FIELD", f"{criterion} must be of type {expected} and should not be enclosed in quotes")
    if isinstance(value, str):
        return _plain(value)
    return value


def _comparable(spec: FieldSpec, value: Any) -> Any:
    if value is not None and spec.type in _TEXT_TYPES:
        return str(value).casefold()
    return value


def _sorted(rows: list[Row], order: Order) -> list[Row]:
    name = order.field
    present = [row for row in rows if row.get(name) is not None]
    absent = [row for row in rows if row.get(name) is None]

    if order.text:
        present.sort(key=lambda row: str(row[name]).casefold(), reverse=order.descending)
    else:
        present.sort(key=lambda row: row[name], reverse=order.descending)
    return present + absent if order.nulls_last else absent + present
