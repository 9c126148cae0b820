"""What a person types to find customers: `/reference find` words and facets, domains, reference types.

Pure parsing, no database: `parse_query` turns `payments industry:fintech type:"case study"` into a
`SearchQuery` that `bot.customers.search` scores; `parse_ref_type` reads a reference type however it is
written (aliases, spacing, a near miss).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.errors import ValidationFailed
from bot.importer import normalise_domain
from bot.views.text import escape
from models.enums import RefType

MAX_QUERY = 500

# Facets written inline: `industry:fintech region:"north america" type:case_study`.
FACETS = {
    "industry": "industry",
    "region": "region",
    "segment": "segment",
    "product": "products",
    "products": "products",
    "topic": "topics",
    "topics": "topics",
    "type": "type",
    "owner": "owner",
}
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "«": '"', "»": '"'})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_TOKEN = re.compile(r'(?P<key>[A-Za-z]+):(?:"(?P<quoted>[^"]*)"?|(?P<value>\S*))|"(?P<phrase>[^"]*)"?|(?P<word>\S+)')
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class SearchQuery:
    """A parsed `/reference find` query: free-text words plus facets."""

    text: str
    words: tuple[str, ...] = ()
    industry: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    segment: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    ref_type: RefType | None = None
    owner: str | None = None

    @property
    def criteria(self) -> dict[str, tuple[str, ...]]:
        """The facets that are matched against the customer's attributes (not type, not owner)."""
        pairs = {
            "industry": self.industry,
            "region": self.region,
            "segment": self.segment,
            "products": self.products,
            "topics": self.topics,
        }
        return {attr: values for attr, values in pairs.items() if values}

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.criteria or self.ref_type or self.owner)


def domain_of(value: str) -> str | None:
    """`normalise_domain`, with a broken URL ("[::1") meaning "not a domain" rather than an error."""
    try:
        return normalise_domain(value)
    except ValueError:
        return None


def clean_text(text: str) -> str:
    """One line, typographic quotes made plain, control characters gone (Slack clients add all three)."""
    return " ".join(_CONTROL.sub(" ", text.translate(_QUOTES)).split())


def parse_query(text: str, actor: str | None = None) -> SearchQuery:
    """`fintech "open banking" region:emea type:case_study` → words and facets; bad facets are explained."""
    text = clean_text(text)
    if len(text) > MAX_QUERY:
        raise ValidationFailed({"query": f"Keep the search under {MAX_QUERY} characters (it has {len(text)})."})
    words: list[str] = []
    facets: dict[str, list[str]] = {}
    ref_type: RefType | None = None
    owner: str | None = None
    for match in _TOKEN.finditer(text):
        key = (match.group("key") or "").lower()
        if key and key in FACETS:
            value = " ".join((match.group("quoted") or match.group("value") or "").split())
            if not value:
                continue
            attr = FACETS[key]
            if attr == "type":
                ref_type = parse_ref_type(value)
                if ref_type is None:
                    raise ValidationFailed({"query": unknown_type(value)})
            elif attr == "owner":
                owner = _owner(value, actor)
            else:
                facets.setdefault(attr, []).append(value[:100])
            continue
        raw = match.group("phrase") if match.group("phrase") is not None else match.group(0)
        phrase = " ".join(raw.lower().split())
        if phrase:
            words.append(phrase[:100])
    return SearchQuery(
        text=text,
        words=tuple(dict.fromkeys(words)),
        ref_type=ref_type,
        owner=owner,
        **{attr: tuple(dict.fromkeys(values)) for attr, values in facets.items()},
    )


def _owner(value: str, actor: str | None) -> str:
    if value.lower() == "me" and actor:
        return actor
    found = _MENTION.match(value)
    if found:
        return found.group(1)
    if USER_ID.match(value.upper()):
        return value.upper()
    raise ValidationFailed({"query": "Write the owner as `owner:me` or `owner:@name` (pick the person from the list)."})


# Every way people write a reference type: its value, its label, and the words they use for it.
_TYPE_ALIASES: dict[str, RefType] = {
    "reference_call": RefType.CALL,
    "phone": RefType.CALL,
    "site": RefType.SITE_VISIT,
    "visit": RefType.SITE_VISIT,
    "case": RefType.CASE_STUDY,
    "press": RefType.PRESS_RELEASE,
    "pr": RefType.PRESS_RELEASE,
    "analyst_briefing": RefType.ANALYST,
    "briefing": RefType.ANALYST,
    "media_interview": RefType.MEDIA,
    "interview": RefType.MEDIA,
    "website": RefType.LOGO,
    "testimonial": RefType.QUOTE,
}


def _type_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _type_names() -> dict[str, RefType]:
    names = dict(_TYPE_ALIASES)
    for ref_type in RefType:
        names[ref_type.value] = ref_type
        names[ref_type.value.replace("_", "")] = ref_type
        names[_type_key(ref_type.label)] = ref_type
    return names


def parse_ref_type(text: str, *, fuzzy: bool = True) -> RefType | None:
    """A reference type by value or label ("case_study", "Case study", "case-study", "case stdy")."""
    key = _type_key(text)
    if not key:
        return None
    names = _type_names()
    if key in names:
        return names[key]
    if not fuzzy:
        return None
    best = process.extractOne(key, list(names), scorer=fuzz.ratio, score_cutoff=80)
    return names[best[0]] if best else None


def unknown_type(text: str) -> str:
    kinds = ", ".join(f"`{t.value}`" for t in RefType)
    return f"I don't know the reference type “{escape(text[:50])}”. Use one of: {kinds}."


def contains_pattern(term: str) -> str:
    """A LIKE pattern that matches `term` literally anywhere (no user-typed % or _ wildcards)."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
