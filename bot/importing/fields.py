"""What a column can mean: refbot's customer fields, the header spellings that name them, `--map` overrides.

Lists arrive with whatever headers their tool wrote ("Account Name", "Company", "Customer"…). A header is
folded (case, punctuation, spacing) and looked up among the spellings below; `--map "Header=field"` wins
over the guess, and `--map "Header=ignore"` drops a column. The mapping used is shown to the operator,
so a wrong guess is seen before it is trusted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.customer import PROFILE_FIELDS
from models.enums import RefType

# The canonical file's columns (README "Load your customers"), in the order `refbot export` writes them.
CANONICAL = [*PROFILE_FIELDS, "contact_name", "contact_title", "contact_email", "referenceable", "consents"]
PUBLIC_TYPES = tuple(t.value for t in RefType if t.is_public)
CONSENT_DETAILS = ("approved_by", "approved_on", "expires_on")

# field → the header spellings (folded: lower case, words separated by one space) that mean it.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "name",
        "account",
        "account name",
        "company",
        "company name",
        "customer",
        "customer name",
        "organisation",
        "organization",
        "organisation name",
        "organization name",
        "org",
        "org name",
        "client",
        "client name",
        "account title",
        "legal name",
    ),
    "domain": (
        "domain",
        "domain name",
        "website",
        "web site",
        "website url",
        "url",
        "web",
        "homepage",
        "home page",
        "web address",
        "company domain",
        "company website",
        "company url",
        "site",
    ),
    "industry": ("industry", "vertical", "sector", "industry vertical", "industry sector", "market vertical"),
    "region": ("region", "geo", "geography", "territory", "sales region", "sales territory", "market region"),
    "segment": ("segment", "customer segment", "market segment", "tier", "account tier", "company size", "size"),
    "products": ("products", "product", "products used", "product lines", "product line", "modules", "solutions"),
    "topics": ("topics", "topic", "use cases", "use case", "themes", "talking points", "expertise"),
    "owner": (
        "owner",
        "account owner",
        "csm",
        "customer success manager",
        "account manager",
        "am",
        "ae",
        "account executive",
        "relationship owner",
        "owner name",
    ),
    "owner_email": (
        "owner email",
        "owner e mail",
        "account owner email",
        "account owner e mail",
        "csm email",
        "csm e mail",
        "account manager email",
        "ae email",
    ),
    "owner_slack_id": ("owner slack id", "owner slack", "slack owner", "owner slack user", "owner slack user id"),
    "contact_name": (
        "contact name",
        "contact",
        "contact person",
        "reference contact",
        "primary contact",
        "main contact",
        "champion",
        "advocate",
        "advocate name",
    ),
    "contact_title": ("contact title", "title", "job title", "role", "contact role", "position", "advocate title"),
    "contact_email": (
        "contact email",
        "contact e mail",
        "email",
        "e mail",
        "email address",
        "e mail address",
        "advocate email",
        "champion email",
    ),
    "referenceable": ("referenceable", "reference", "can reference", "reference ok", "is referenceable"),
    "not_referenceable_reason": (
        "not referenceable reason",
        "not referenceable because",
        "do not use reason",
        "do not contact reason",
        "dnc reason",
    ),
    "consents": ("consents", "consent", "approved uses", "public consents", "approved public uses", "permissions"),
    "notes": ("notes", "note", "comments", "comment", "remarks"),
    "guidance": ("guidance", "reference guidance", "guidance for reps", "dos and donts", "do s and don ts"),
}
FIELDS = tuple(SYNONYMS)
IGNORE = "ignore"
_IGNORE_WORDS = {"ignore", "-", "skip", "none", ""}
_NUMBERED_CONTACT = re.compile(r"^contact (\d+) (name|title|email|e mail)$")
_CONSENT_DETAIL = re.compile(
    r"^consent (" + "|".join(t.replace("_", " ") for t in PUBLIC_TYPES) + r") (approved by|approved on|expires on)$"
)
_LOOKUP = {spelling: field for field, spellings in SYNONYMS.items() for spelling in spellings}


def fold_header(header: str) -> str:
    """Fold a header ("Account_Name " → "account name"): case, punctuation and spacing do not matter."""
    return " ".join(re.sub(r"[^\w]+|_", " ", header.casefold()).split())


def field_for(header: str) -> str | None:
    """The field a header names on its own, or None: what the automatic mapping guesses."""
    folded = fold_header(header)
    if not folded:
        return None
    found = _LOOKUP.get(folded) or _LOOKUP.get(re.sub(r"\s*\(.*?\)\s*", " ", folded).strip())
    if found:
        return found
    return _numbered_field(folded)


def _numbered_field(folded: str) -> str | None:
    """`contact_2_email`, `consent_logo_expires_on`: the export's columns for second contacts and consents."""
    match = _NUMBERED_CONTACT.match(folded)
    if match:
        number, part = int(match.group(1)), match.group(2).replace("e mail", "email")
        if number == 1:
            return f"contact_{part}"
        return f"contact_{number}_{part}" if number > 1 else None
    match = _CONSENT_DETAIL.match(folded)
    if match:
        return f"consent_{match.group(1).replace(' ', '_')}_{match.group(2).replace(' ', '_')}"
    return None


def canonical_field(name: str) -> str | None:
    """A field name as `--map` accepts it ("Owner Email" or "owner_email"), or None if there is none."""
    folded = fold_header(name)
    for field in FIELDS:
        if folded == fold_header(field):
            return field
    return _numbered_field(folded)


def all_field_names() -> str:
    """The fields `--map` accepts, for an error message."""
    return ", ".join(FIELDS) + ", contact_N_name|title|email, consent_TYPE_approved_by|approved_on|expires_on"


def parse_overrides(items: list[str]) -> dict[str, str]:
    """`["Acct=name", "Revenue=ignore"]` → {folded header: field or "ignore"}; ValueError says what is wrong."""
    overrides: dict[str, str] = {}
    for item in items:
        header, sep, target = item.rpartition("=")
        if not sep or not fold_header(header):
            raise ValueError(f'--map {item!r} should look like "Header=field" (e.g. "Account Name=name")')
        if target.strip().lower() in _IGNORE_WORDS:
            overrides[fold_header(header)] = IGNORE
            continue
        field = canonical_field(target)
        if field is None:
            raise ValueError(f"--map {item!r}: refbot has no field {target.strip()!r}; fields are {all_field_names()}")
        overrides[fold_header(header)] = field
    return overrides


@dataclass(frozen=True)
class Column:
    """One column of a file and what refbot makes of it."""

    index: int
    header: str
    field: str | None
    how: str  # "as is", "recognised", "--map", "ignored", "duplicate", "empty header"


@dataclass(frozen=True)
class ColumnMapping:
    """The mapping used for one file: every column, the field it fills (or why none)."""

    columns: tuple[Column, ...]

    def index_of(self) -> dict[str, int]:
        return {c.field: c.index for c in self.columns if c.field is not None}

    @property
    def interpreted(self) -> bool:
        """True when any header was not already a field's own name: the operator should see the mapping."""
        return any(c.how != "as is" for c in self.columns if c.header.strip())

    def describe(self) -> list[str]:
        """One line per column, "Account Name → name", as `refbot import` prints it."""
        width = max((len(c.header) for c in self.columns), default=0)
        lines = []
        for c in self.columns:
            if not c.header.strip():
                continue
            if c.field is None:
                target = "(ignored)" if c.how == "ignored" else f"(ignored: {c.how})"
            else:
                target = c.field + (" (--map)" if c.how == "--map" else "")
            lines.append(f"{c.header:<{width}} → {target}")
        return lines


def map_headers(headers: list[str], overrides: dict[str, str]) -> ColumnMapping:
    """Decide what each header means: `--map` first, then the field's own name, then known spellings.

    A field is filled from one column only; a later column that would fill it again is listed as a
    duplicate and ignored, so two "Email" columns never silently overwrite each other.
    """
    chosen: dict[int, tuple[str | None, str]] = {}
    for index, header in enumerate(headers):  # --map first, so an override wins over any guess
        folded = fold_header(header)
        if folded and folded in overrides:
            target = overrides[folded]
            chosen[index] = (None, "ignored") if target == IGNORE else (target, "--map")
    taken = {field for field, _ in chosen.values() if field is not None}
    columns: list[Column] = []
    for index, header in enumerate(headers):
        folded = fold_header(header)
        if index in chosen:
            field, how = chosen[index]
            if field is not None and sum(1 for f, _ in chosen.values() if f == field) > 1:
                first = min(i for i, (f, _) in chosen.items() if f == field)
                if first != index:
                    columns.append(Column(index, header, None, f"{field} is already read from another column"))
                    continue
            columns.append(Column(index, header, field, how))
            continue
        if not folded:
            columns.append(Column(index, header, None, "empty header"))
            continue
        field = field_for(header)
        if field is None:
            columns.append(Column(index, header, None, "ignored"))
        elif field in taken:
            columns.append(Column(index, header, None, f"{field} is already read from another column"))
        else:
            taken.add(field)
            how = "as is" if folded == fold_header(field) else "recognised"
            columns.append(Column(index, header, field, how))
    return ColumnMapping(tuple(columns))
