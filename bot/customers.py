"""The customer list as people curate it from Slack: find, profile, add/edit (audited), and "may we use them?".

Plain Python that knows nothing of Slack payloads: a command arrives as its text, a form as `{block_id: value}`.
Refusals are typed errors (`NotAllowed`, `NotFound`, `ValidationFailed` keyed by the form's block ids).
Nothing here judges eligibility: `bot.eligibility.assess` does, so what find, show and can-use say is
exactly what a manager's Approve button would do.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import ColumnElement, String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session, selectinload

from bot import audit
from bot.eligibility import ASSESS_LOADS, Assessment, assess, load_context
from bot.errors import NotAllowed, NotFound, ValidationFailed
from bot.importer import name_key, normalise_domain
from bot.matching import fit
from bot.settings import Settings
from bot.views.text import clip, escape, mention
from models import AuditEntry, CheckIn, Consent, Contact, Customer, Incident, ReferenceRequest, ReferenceUse
from models.customer import PROFILE_FIELDS, STANDING_FIELDS
from models.enums import MARKETING_TYPES, CheckInStatus, Happiness, RefType

# -- finding customers ----------------------------------------------------------------------------------

MAX_QUERY = 500
PAGE_SIZE = 10
# Light rows scored per search, and (with a `type:`) how many of the best are judged in full.
SCAN_LIMIT = 5000
JUDGED = 300

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
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
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
    if _USER_ID.match(value.upper()):
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


@dataclass
class SearchResult:
    """One customer found: the verdict for the type asked about (a call if none), and why it fits."""

    assessment: Assessment
    relevance: float
    fits: list[str] = field(default_factory=list)

    @property
    def customer(self) -> Customer:
        return self.assessment.customer


@dataclass
class SearchPage:
    query: SearchQuery
    results: list[SearchResult]
    offset: int
    total: int  # customers matching
    ranked: int  # of which this many can be paged through (the best `JUDGED` when a type is judged)

    @property
    def has_next(self) -> bool:
        return self.offset + PAGE_SIZE < self.ranked

    @property
    def has_previous(self) -> bool:
        return self.offset > 0


def _like(term: str) -> str:
    """A LIKE pattern that matches `term` literally anywhere (no user-typed % or _ wildcards)."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fold(value: str) -> str:
    """Lower-cased without spaces, hyphens and underscores: "Fin-Tech" and "fintech" fold the same."""
    return re.sub(r"[\s\-_]+", "", value.lower())


def _folded(column: Any) -> ColumnElement[str]:
    lowered = func.lower(column)
    return func.replace(func.replace(func.replace(lowered, " ", ""), "-", ""), "_", "")


def _json_forms(term: str) -> list[str]:
    """A term as it may appear inside a JSON column's text ("Zürich" is stored as "Z\\u00fcrich")."""
    escaped = json.dumps(term)[1:-1]
    return [term] if escaped == term else [term, escaped]


def _facet_condition(attr: str, values: Sequence[str]) -> ColumnElement[bool]:
    column = getattr(Customer, attr)
    options: list[ColumnElement[bool]] = []
    for value in values:
        folded = _fold(value)
        if not folded:
            continue
        if attr in ("products", "topics"):
            text = _folded(cast(column, String))
            options += [text.like(_like(form), escape="\\") for form in _json_forms(folded)]
        else:
            options.append(_folded(column).like(_like(folded), escape="\\"))
    return or_(*options) if options else Customer.id.is_not(None)


def _word_condition(word: str) -> ColumnElement[bool]:
    pattern = _like(word)
    columns = [
        Customer.name_key,
        func.lower(Customer.domain),
        func.lower(Customer.industry),
        func.lower(Customer.region),
        func.lower(Customer.segment),
        func.lower(Customer.notes),
    ]
    options = [column.like(pattern, escape="\\") for column in columns]
    for attr in ("products", "topics"):
        text = func.lower(cast(getattr(Customer, attr), String))
        options += [text.like(_like(form), escape="\\") for form in _json_forms(word)]
    return or_(*options)


def _text_score(words: Sequence[str], row: Any) -> float:
    """How well the free text matches: a hit in the name counts most, one in the notes least."""
    if not words:
        return 0.0
    name = row.name_key or ""
    if " ".join(words) == name:
        return 120.0
    labels = " ".join((row.industry or "", row.region or "", row.segment or "")).lower()
    lists = " ".join([*(row.products or []), *(row.topics or [])]).lower()
    total = 0.0
    for word in words:
        if name == word:
            total += 100
        elif name.startswith(word) or f" {word}" in name:
            total += 85
        elif word in name:
            total += 70
        elif word in (row.domain or "").lower():
            total += 65
        elif word in labels:
            total += 50
        elif word in lists:
            total += 45
        elif word in (row.notes or "").lower():
            total += 30
        else:
            total += 20  # matched by the database in a form Python doesn't see (escaped text)
    return total / len(words)


def pseudo_requests(query: SearchQuery) -> list[ReferenceRequest]:
    """Transient requests (never added to a session) made of the facets, for `bot.matching.fit`.

    A facet given twice (`industry:fintech industry:banking`) means either, so there is one per combination.
    """
    criteria = query.criteria
    if not criteria:
        return []
    scalar = {attr: criteria.get(attr, ("",))[:3] for attr in ("industry", "region", "segment")}
    return [
        ReferenceRequest(
            ref_type=(query.ref_type or RefType.CALL).value,
            industry=industry,
            region=region,
            segment=segment,
            products=list(query.products),
            topics=list(query.topics),
        )
        for industry in scalar["industry"]
        for region in scalar["region"]
        for segment in scalar["segment"]
    ]


def _facet_score(requests: Sequence[ReferenceRequest], row: Any) -> tuple[float, list[str]]:
    """The best fit to the facets; a label that merely contains a facet (the database's test) scores 60."""
    if not requests:
        return 0.0, []
    candidate = Customer(
        industry=row.industry or "",
        region=row.region or "",
        segment=row.segment or "",
        products=list(row.products or []),
        topics=list(row.topics or []),
    )
    best: tuple[float, list[str]] = (0.0, [])
    for request in requests:
        score, reasons = fit(request, candidate)
        if score > best[0]:
            best = (score, reasons)
    return (best[0], best[1]) if best[0] >= 60 else (60.0, best[1])


def _light_blocked(row: Any, settings: Settings, now: datetime) -> bool:
    """A cheap hint for ordering only (the verdict shown is always `assess`'s)."""
    if not row.referenceable:
        return True
    fresh = row.last_checkin_at is not None and (now - row.last_checkin_at).days <= settings.checkin_max_age_days
    return fresh and row.last_checkin_answer in (Happiness.CONCERNS, Happiness.UNHAPPY)


def _full(session: Session, ids: Sequence[int]) -> dict[int, Customer]:
    customers = session.scalars(select(Customer).where(Customer.id.in_(list(ids))).options(*ASSESS_LOADS)).all()
    return {c.id: c for c in customers}


def search(session: Session, settings: Settings, query: SearchQuery, offset: int, now: datetime) -> SearchPage:
    """One page of customers matching `query`, best first.

    Every word must match somewhere (name, domain, industry, region, segment, products, topics, notes) and
    every facet must match its attribute. Ranked by fit to the facets and the words, then a fresh happy
    check-in. With `type:` the best `JUDGED` are judged for that type and the usable ones come first.
    """
    conditions: list[ColumnElement[bool]] = [_word_condition(word) for word in query.words]
    conditions += [_facet_condition(attr, values) for attr, values in query.criteria.items()]
    if query.owner:
        conditions.append(Customer.owner_slack_id == query.owner)
    light = select(
        Customer.id,
        Customer.name_key,
        Customer.domain,
        Customer.industry,
        Customer.region,
        Customer.segment,
        Customer.products,
        Customer.topics,
        Customer.notes,
        Customer.referenceable,
        Customer.last_checkin_at,
        Customer.last_checkin_answer,
    ).where(*conditions)
    # On a list larger than the scan, customers whose *name* matches are scanned first, then the freshest.
    in_name = [Customer.name_key.like(_like(word), escape="\\") for word in query.words]
    name_first = [case((or_(*in_name), 0), else_=1)] if in_name else []
    rows = session.execute(
        light.order_by(*name_first, Customer.last_checkin_at.desc().nulls_last(), Customer.id).limit(SCAN_LIMIT)
    ).all()
    total = len(rows)
    if total == SCAN_LIMIT:
        total = session.scalar(select(func.count()).select_from(Customer).where(*conditions)) or total

    requests = pseudo_requests(query)
    scored: dict[int, tuple[float, list[str], Any]] = {}
    for row in rows:
        facet, reasons = _facet_score(requests, row)
        scored[row.id] = (facet + _text_score(query.words, row), reasons, row)

    def light_order(cid: int) -> tuple[Any, ...]:
        relevance, _, row = scored[cid]
        checked = row.last_checkin_at.timestamp() if row.last_checkin_at else float("-inf")
        return (-relevance, _light_blocked(row, settings, now), -checked, row.name_key, cid)

    order = sorted(scored, key=light_order)
    ref_type = query.ref_type or RefType.CALL
    verdicts: dict[int, Assessment] = {}
    if query.ref_type is not None:
        # Judge the best in full for the type asked about, and put the usable ones first.
        order = order[:JUDGED]
        customers = _full(session, order)
        context = load_context(session, settings, order, now, exclude_request=None)
        verdicts = {cid: assess(customers[cid], ref_type, settings, now, context) for cid in order}

        def judged_order(cid: int) -> tuple[Any, ...]:
            verdict = verdicts[cid]
            return (not verdict.eligible, verdict.needs_checkin, *light_order(cid))

        order.sort(key=judged_order)
    last_page = max(len(order) - 1, 0) // PAGE_SIZE * PAGE_SIZE
    offset = max(0, min(offset, last_page))
    page_ids = order[offset : offset + PAGE_SIZE]
    if not verdicts and page_ids:
        customers = _full(session, page_ids)
        context = load_context(session, settings, page_ids, now, exclude_request=None)
        verdicts = {cid: assess(customers[cid], ref_type, settings, now, context) for cid in page_ids}
    results = [SearchResult(verdicts[cid], scored[cid][0], scored[cid][1]) for cid in page_ids]
    return SearchPage(query=query, results=results, offset=offset, total=total, ranked=len(order))


def get_customer(session: Session, customer_id: int) -> Customer:
    """A customer by id, with what its profile and forms show; NotFound when it is gone."""
    customer = _full(session, [customer_id]).get(customer_id)
    if customer is None:
        raise NotFound("That customer is no longer in the customer list.")
    return customer


# -- looking one customer up by what a person typed ------------------------------------------------------

MIN_SCORE = 70.0  # below this a name is not a match at all
CLEAR_LEAD = 8.0  # the best match wins outright when it leads the next by this much
MAX_CHOICES = 5


@dataclass
class Lookup:
    """The customer someone meant, or the few they may have meant."""

    customer: Customer | None
    choices: list[Customer] = field(default_factory=list)


def lookup(session: Session, text: str) -> Lookup:
    """Exact domain, then exact name, then the closest names; NotFound when nothing is close."""
    text = clean_text(text).strip('"')
    if not text:
        raise NotFound("Which customer? Give a name or a domain, e.g. `acme.com`.")
    domain = domain_of(text)
    if domain:
        found = session.scalars(select(Customer).where(Customer.domain == domain)).first()
        if found is not None:
            return Lookup(found)
    key = name_key(text)
    exact = session.scalars(select(Customer).where(Customer.name_key == key).order_by(Customer.id).limit(6)).all()
    if len(exact) == 1:
        return Lookup(exact[0])
    if exact:
        return Lookup(None, list(exact[:MAX_CHOICES]))
    rows = session.execute(
        select(Customer.id, Customer.name).where(Customer.name_key.like(_like(key), escape="\\")).limit(2000)
    ).all()
    if not rows:
        words = [w for w in key.split() if len(w) >= 3]
        if words:
            rows = session.execute(
                select(Customer.id, Customer.name)
                .where(or_(*(Customer.name_key.like(_like(w), escape="\\") for w in words)))
                .limit(2000)
            ).all()
    if not rows:
        rows = session.execute(select(Customer.id, Customer.name)).all()
    names = {row.id: row.name for row in rows}
    ranked = process.extract(
        text, names, scorer=fuzz.WRatio, processor=utils.default_process, limit=MAX_CHOICES + 1, score_cutoff=MIN_SCORE
    )
    if not ranked:
        raise NotFound(
            f"No customer matches “{escape(text[:100])}”. Search with `/reference find {escape(text[:100])}`."
        )
    ranked.sort(key=lambda hit: (-hit[1], len(hit[0]), hit[0]))
    if len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= CLEAR_LEAD:
        return Lookup(session.get(Customer, ranked[0][2]))
    close = [hit[2] for hit in ranked if ranked[0][1] - hit[1] < CLEAR_LEAD][:MAX_CHOICES]
    return Lookup(None, [c for c in (session.get(Customer, cid) for cid in close) if c is not None])


def suggest(session: Session, query: str, limit: int = 20) -> list[tuple[int, str, str]]:
    """(id, name, domain) for a type-ahead: exact, then names starting with it, then containing it, then
    the most similar; `%` and `_` are literal."""
    key = name_key(clean_text(query))[:100]
    if not key:
        return []
    starts = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    tier = case(
        (Customer.name_key == key, 0),
        (Customer.name_key.like(starts, escape="\\"), 1),
        (Customer.name_key.like("% " + starts, escape="\\"), 2),
        else_=3,
    )
    base = select(Customer.id, Customer.name, Customer.domain, Customer.name_key, tier.label("tier"))
    rows = session.execute(
        base.where(
            or_(
                Customer.name_key.like(_like(key), escape="\\"),
                func.lower(Customer.domain).like(_like(key), escape="\\"),
            )
        )
        .order_by(tier, func.length(Customer.name_key), Customer.name_key)
        .limit(500)
    ).all()
    cutoff = 0.0
    if not rows:
        # A typo ("acme crop"): any longer word of it, then the most similar names.
        words = [w for w in key.split() if len(w) >= 3]
        if not words:
            return []
        rows = session.execute(
            base.where(or_(*(Customer.name_key.like(_like(w), escape="\\") for w in words))).limit(500)
        ).all()
        cutoff = 60.0
    scored = []
    for row in rows:
        similarity = fuzz.ratio(key, row.name_key)
        if similarity >= cutoff:
            scored.append((row.tier, -similarity, len(row.name_key), row.name_key, row))
    scored.sort(key=lambda item: item[:4])
    return [(item[4].id, item[4].name, item[4].domain or "") for item in scored[:limit]]


# -- the profile ------------------------------------------------------------------------------------------

PROFILE_USES = 10
PROFILE_CHANGES = 5


@dataclass
class PastUse:
    use: ReferenceUse
    request: ReferenceRequest | None


@dataclass
class Profile:
    """Everything `/reference show` tells about a customer."""

    customer: Customer
    assessment: Assessment  # as a reference call: health, fatigue, the contact to offer
    uses: list[PastUse]
    uses_total: int
    changes: list[AuditEntry]
    changes_total: int


def load_profile(session: Session, settings: Settings, customer_id: int, now: datetime) -> Profile:
    customer = get_customer(session, customer_id)
    context = load_context(session, settings, [customer.id], now, exclude_request=None)
    verdict = assess(customer, RefType.CALL, settings, now, context)
    uses = session.execute(
        select(ReferenceUse, ReferenceRequest)
        .outerjoin(ReferenceRequest, ReferenceUse.request_id == ReferenceRequest.id)
        .where(ReferenceUse.customer_id == customer.id)
        .order_by(ReferenceUse.used_at.desc(), ReferenceUse.id.desc())
        .limit(PROFILE_USES)
    ).all()
    uses_total = session.scalar(
        select(func.count()).select_from(ReferenceUse).where(ReferenceUse.customer_id == customer.id)
    )
    mine = and_(AuditEntry.entity == "customer", AuditEntry.entity_id == str(customer.id))
    changes = session.scalars(
        select(AuditEntry).where(mine).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(PROFILE_CHANGES)
    ).all()
    changes_total = session.scalar(select(func.count()).select_from(AuditEntry).where(mine))
    return Profile(
        customer=customer,
        assessment=verdict,
        uses=[PastUse(use, request) for use, request in uses],
        uses_total=uses_total or 0,
        changes=list(changes),
        changes_total=changes_total or 0,
    )


# -- may we use them? --------------------------------------------------------------------------------------


@dataclass
class CanUse:
    """`/reference can-use`: yes, no, or not yet (a check-in first), with `assess`'s reasons."""

    assessment: Assessment
    ref_type: RefType
    consent: Consent | None

    @property
    def customer(self) -> Customer:
        return self.assessment.customer

    @property
    def answer(self) -> str:
        if self.assessment.blockers:
            return "no"
        return "not_yet" if self.assessment.needs_checkin else "yes"


def named_exactly(session: Session, text: str) -> Customer | None:
    """The one customer whose domain or whole name `text` is, without guessing (None when not exactly one)."""
    text = clean_text(text).strip('"')
    domain = domain_of(text)
    if domain:
        found = session.scalars(select(Customer).where(Customer.domain == domain).limit(2)).all()
        if len(found) == 1:
            return found[0]
    exact = session.scalars(select(Customer).where(Customer.name_key == name_key(text)).limit(2)).all()
    return exact[0] if len(exact) == 1 else None


def parse_can_use(text: str, session: Session | None = None) -> tuple[str, RefType | None]:
    """`acme corp case study` → ("acme corp", CASE_STUDY): the type is the last one to three words.

    With a `session`, the whole text is tried as a customer first: `Acme Corp` (no type) → ("Acme Corp",
    None), so the caller asks which kind of use, rather than reading "Corp" as a type it doesn't know.
    """
    text = clean_text(text)
    if session is not None and text and named_exactly(session, text) is not None:
        return text.strip('"'), None
    words = text.split()
    if len(words) < 2:
        raise ValidationFailed(
            {"query": "Name a customer and a kind of use, e.g. `/reference can-use acme.com case_study`."}
        )
    for size in (3, 2, 1):
        if len(words) > size:
            ref_type = parse_ref_type(" ".join(words[-size:]), fuzzy=False)
            if ref_type is not None:
                return " ".join(words[:-size]).strip('"'), ref_type
    ref_type = parse_ref_type(words[-1])
    if ref_type is None:
        raise ValidationFailed({"query": unknown_type(words[-1])})
    return " ".join(words[:-1]).strip('"'), ref_type


def can_use(session: Session, settings: Settings, customer_id: int, ref_type: RefType, now: datetime) -> CanUse:
    customer = get_customer(session, customer_id)
    context = load_context(session, settings, [customer.id], now, exclude_request=None)
    verdict = assess(customer, ref_type, settings, now, context)
    consent = next((c for c in customer.consents if c.ref_type == ref_type), None)
    return CanUse(verdict, ref_type, consent if ref_type.is_public else None)


# -- adding and editing --------------------------------------------------------------------------------------

LIMITS = {
    "name": 200,
    "domain": 253,
    "industry": 100,
    "region": 100,
    "segment": 100,
    "products": 1000,
    "topics": 1000,
    "reason": 500,
    "guidance": 2000,
    "notes": 3000,
    "contacts": 3000,
    "consent_by": 200,
    "incident_summary": 1000,
}
SEVERITIES = ("low", "medium", "high", "critical")
MAX_CONTACTS = 25
MAX_RESOLVABLE = 10  # open incidents offered for resolving in one form (a checkbox group holds ten)
_EMAIL = re.compile(r"^[^@\s|]+@[^@\s|]+\.[^@\s|]+$")
# Attributes the form edits, in the order changes are reported.
EDITABLE = (*PROFILE_FIELDS, *STANDING_FIELDS)


def consent_block(ref_type: RefType, part: str) -> str:
    """The form's block id for one part ("by", "on", "until") of one type's consent."""
    return f"consent:{ref_type.value}:{part}"


def require_manager(settings: Settings, actor: str, what: str) -> None:
    if not settings.is_manager(actor):
        managers = ", ".join(mention(m) for m in settings.managers) or "the reference managers"
        raise NotAllowed(f"Only reference managers can {what}. Ask one of {managers}.")


def load_for_edit(session: Session, settings: Settings, actor: str, customer_id: int) -> Customer:
    require_manager(settings, actor, "edit customers")
    return get_customer(session, customer_id)


def contacts_text(customer: Customer | None) -> str:
    """Contacts as the form shows them: "Name | Title | email", one per line, the primary first."""
    if customer is None:
        return ""
    primary = customer.primary_contact
    ordered = sorted(customer.contacts, key=lambda c: (c is not primary, c.id or 0))
    lines = []
    for contact in ordered:
        parts = [contact.name, contact.title or "", contact.email or ""]
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def list_text(values: Sequence[str]) -> str:
    return ", ".join(values)


def fingerprint(customer: Customer) -> str:
    """A short digest of what the form shows, so a save can tell that someone else changed it meanwhile."""
    state = {
        "fields": [getattr(customer, attr) for attr in EDITABLE],
        "contacts": [(c.id, c.name, c.title, c.email, c.is_primary) for c in customer.contacts],
        "consents": sorted((c.ref_type, c.approved_by, c.approved_on, c.expires_on) for c in customer.consents),
        "incidents": sorted((i.id, i.resolved) for i in customer.incidents),
    }
    return hashlib.sha256(json.dumps(state, default=str, sort_keys=True).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class ContactDraft:
    name: str
    title: str = ""
    email: str = ""


@dataclass(frozen=True)
class ConsentDraft:
    approved_by: str
    approved_on: date | None
    expires_on: date | None


@dataclass(frozen=True)
class IncidentDraft:
    occurred_on: date
    severity: str
    summary: str


@dataclass
class CustomerDraft:
    """A validated add/edit form."""

    fields: dict[str, Any]
    contacts: list[ContactDraft] | None  # None: unchanged
    consents: dict[RefType, ConsentDraft | None]
    new_incident: IncidentDraft | None
    resolve: set[int]


@dataclass(frozen=True)
class Saved:
    customer_id: int
    name: str
    created: bool
    changes: tuple[str, ...]


def _str(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return value.strip() if isinstance(value, str) else ""


def _text(raw: Mapping[str, Any], key: str, limit: int, current: str, errors: dict[str, str]) -> str:
    """A text field; an over-long current value the form could only show clipped stays as it was."""
    value = _str(raw, key)
    if current and len(current) > limit and value == clip(current, limit).strip():
        return current
    if len(value) > limit:
        errors[key] = f"Keep this under {limit} characters (it has {len(value)})."
    return value


def _date(raw: Mapping[str, Any], key: str, errors: dict[str, str]) -> date | None:
    value = _str(raw, key)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[key] = "Pick a date from the calendar."
        return None


def _items(raw: Mapping[str, Any], key: str, current: list[str], errors: dict[str, str]) -> list[str]:
    value = _str(raw, key)
    if value == clip(list_text(current), LIMITS[key]).strip():
        return list(current)
    if len(value) > LIMITS[key]:
        errors[key] = f"Keep this under {LIMITS[key]} characters (it has {len(value)})."
    parts = (p.strip() for p in value.replace(";", ",").replace("\n", ",").split(","))
    items = list(dict.fromkeys(p for p in parts if p))
    if any(len(p) > 100 for p in items):
        errors[key] = "Keep each item under 100 characters; separate items with commas."
    return items


def _parse_contacts(value: str) -> tuple[list[ContactDraft], str | None]:
    drafts: list[ContactDraft] = []
    for number, line in enumerate((ln for ln in value.splitlines() if ln.strip()), start=1):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) > 3:
            return [], f"Line {number}: write “Name | Title | email” (three parts at most)."
        name, title, email = (parts + ["", ""])[:3]
        if len(parts) == 2 and "@" in title:  # "Name | email" is fine too
            title, email = "", title
        if not name:
            return [], f"Line {number}: the contact's name comes first."
        if email and not _EMAIL.match(email):
            return [], f"Line {number}: “{email[:80]}” is not an e-mail address."
        if len(name) > 200 or len(title) > 200 or len(email) > 320:
            return [], f"Line {number}: keep names and titles under 200 characters."
        drafts.append(ContactDraft(name, title, email))
    if len(drafts) > MAX_CONTACTS:
        return [], f"Keep it to {MAX_CONTACTS} contacts (there are {len(drafts)})."
    return drafts, None


def parse_customer_form(
    raw: Mapping[str, Any], today: date, current: Customer | None = None
) -> tuple[CustomerDraft, dict[str, str]]:
    """The add/edit form's values → a draft, and every problem against its own block id."""
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}
    for key in ("name", "industry", "region", "segment", "guidance", "notes"):
        fields[key] = _text(raw, key, LIMITS[key], getattr(current, key, "") or "", errors)
    if not fields["name"]:
        errors["name"] = "Give the customer's name."
    domain_text = _str(raw, "domain")
    fields["domain"] = None
    if domain_text:
        fields["domain"] = domain_of(domain_text)
        if fields["domain"] is None or len(fields["domain"]) > LIMITS["domain"]:
            errors["domain"] = "Write a domain like acme.com (or leave it empty)."
    for key in ("products", "topics"):
        fields[key] = _items(raw, key, list(getattr(current, key, None) or []), errors)
    owner = _str(raw, "owner")
    fields["owner_slack_id"] = owner or None
    if owner and not _USER_ID.match(owner):
        errors["owner"] = "Pick the account owner from the list."
    referenceable = _str(raw, "referenceable") or "yes"
    if referenceable not in ("yes", "no"):
        errors["referenceable"] = "Choose yes or no."
    fields["referenceable"] = referenceable == "yes"
    reason = _text(raw, "reason", LIMITS["reason"], getattr(current, "not_referenceable_reason", "") or "", errors)
    if not fields["referenceable"] and not reason:
        errors["reason"] = "Say why they must not be asked, so nobody asks by mistake."
    fields["not_referenceable_reason"] = "" if fields["referenceable"] else reason

    contacts: list[ContactDraft] | None = None
    contacts_value = _str(raw, "contacts")
    if current is None or contacts_value != clip(contacts_text(current), LIMITS["contacts"]).strip():
        if len(contacts_value) > LIMITS["contacts"]:
            errors["contacts"] = f"Keep this under {LIMITS['contacts']} characters (it has {len(contacts_value)})."
        contacts, problem = _parse_contacts(contacts_value)
        if problem:
            errors["contacts"] = problem

    consents: dict[RefType, ConsentDraft | None] = {}
    for ref_type in MARKETING_TYPES:
        by_key, on_key, until_key = (consent_block(ref_type, part) for part in ("by", "on", "until"))
        approved_by = _str(raw, by_key)
        approved_on = _date(raw, on_key, errors)
        expires_on = _date(raw, until_key, errors)
        if len(approved_by) > LIMITS["consent_by"]:
            errors[by_key] = f"Keep this under {LIMITS['consent_by']} characters."
        if approved_on and approved_on > today:
            errors[on_key] = "The approval date can't be in the future."
        if approved_on and expires_on and expires_on < approved_on:
            errors[until_key] = (
                f"The consent expires ({expires_on.isoformat()}) before it was approved ({approved_on.isoformat()})."
            )
        consents[ref_type] = ConsentDraft(approved_by, approved_on, expires_on) if approved_by else None
        if not approved_by and (approved_on or expires_on):
            had = current is not None and any(c.ref_type == ref_type for c in current.consents)
            if not had:  # dates without a name: a half-recorded consent, not a withdrawal
                errors[by_key] = "Who at the customer approved it? (Leave it empty for no consent.)"

    new_incident: IncidentDraft | None = None
    summary = _str(raw, "incident_summary")
    occurred_on = _date(raw, "incident_on", errors)
    severity = _str(raw, "incident_severity")
    if summary:
        if len(summary) > LIMITS["incident_summary"]:
            errors["incident_summary"] = f"Keep this under {LIMITS['incident_summary']} characters."
        if occurred_on is None and "incident_on" not in errors:
            errors["incident_on"] = "When did it happen?"
        elif occurred_on is not None and occurred_on > today:
            errors["incident_on"] = "The incident date can't be in the future."
        if severity not in SEVERITIES:
            errors["incident_severity"] = "How severe was it?"
        if occurred_on is not None and severity in SEVERITIES:
            new_incident = IncidentDraft(occurred_on, severity, summary)
    elif occurred_on or severity:
        errors["incident_summary"] = "Describe the incident in a line (or clear its date and severity)."

    resolve: set[int] = set()
    chosen = raw.get("resolve") or []
    for value in chosen if isinstance(chosen, list) else [chosen]:
        if str(value).isdigit():
            resolve.add(int(value))
    draft = CustomerDraft(fields, contacts, consents, new_incident, resolve)
    return draft, errors


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and len(value) > 300:
        return clip(value, 300)
    return value


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


_FIELD_LABELS = {
    "owner_slack_id": "owner",
    "not_referenceable_reason": "not-referenceable reason",
}


def save_customer(
    session: Session,
    settings: Settings,
    actor: str,
    customer_id: int | None,
    raw: Mapping[str, Any],
    now: datetime,
    expected: str | None = None,
) -> Saved:
    """Add (`customer_id` None) or edit a customer from the form; every change is audited, old → new.

    `expected` is the fingerprint the form was opened with: if the customer changed since, nothing is saved.
    """
    require_manager(settings, actor, "add or edit customers")
    today = now.astimezone(settings.tz).date()
    customer: Customer | None = None
    if customer_id is not None:
        customer = session.scalars(
            select(Customer)
            .where(Customer.id == customer_id)
            .options(selectinload(Customer.contacts), selectinload(Customer.consents), selectinload(Customer.incidents))
            .with_for_update()
        ).one_or_none()
        if customer is None:
            raise NotFound("That customer is no longer in the customer list.")
        if expected is not None and expected != fingerprint(customer):
            raise ValidationFailed(
                {
                    "name": "Someone changed this customer after you opened this form. Close it and click Edit "
                    "again, so that nothing they saved is overwritten."
                }
            )
    draft, errors = parse_customer_form(raw, today, customer)
    others = select(Customer.id).where(Customer.id != customer_id) if customer_id else select(Customer.id)
    if draft.fields["domain"] and "domain" not in errors:
        taken = session.scalars(others.where(Customer.domain == draft.fields["domain"])).first()
        if taken is not None:
            other = session.get(Customer, taken)
            errors["domain"] = f"{draft.fields['domain']} is already {other.name if other else 'another customer'}."
    if draft.fields["name"] and "name" not in errors:
        taken = session.scalars(others.where(Customer.name_key == name_key(draft.fields["name"]))).first()
        if taken is not None:
            errors["name"] = "A customer with this name is already on the list; open it with /reference show."
    if customer is not None:
        _check_consent_dates(customer, draft, errors)
    else:
        for ref_type, consent in draft.consents.items():
            if consent is not None and consent.approved_on is None:
                errors.setdefault(consent_block(ref_type, "on"), "When did they approve it?")
    if errors:
        raise ValidationFailed(errors)

    created = customer is None
    if customer is None:
        customer = Customer(name=draft.fields["name"], name_key=name_key(draft.fields["name"]), products=[], topics=[])
        session.add(customer)
    changes: list[str] = []
    field_changes = _apply_fields(customer, draft)
    session.flush()
    if created:
        audit.record(
            session,
            actor,
            "customer.created",
            "customer",
            customer.id,
            fields={k: _jsonable(v) for k, v in draft.fields.items() if v not in (None, "", [])},
        )
        changes.append("added to the customer list")
    elif field_changes:
        audit.record(
            session,
            actor,
            "customer.updated",
            "customer",
            customer.id,
            changes={k: [_jsonable(old), _jsonable(new)] for k, (old, new) in field_changes.items()},
        )
        for attr, (old, new) in field_changes.items():
            changes.append(f"{_FIELD_LABELS.get(attr, attr)}: {clip(_shown(old), 80)} → {clip(_shown(new), 80)}")
    if draft.contacts is not None:
        changes += _apply_contacts(session, actor, customer, draft.contacts)
    changes += _apply_consents(session, actor, customer, draft, now)
    changes += _apply_incidents(session, actor, customer, draft)
    session.flush()
    return Saved(customer.id, customer.name, created, tuple(changes))


def _check_consent_dates(customer: Customer, draft: CustomerDraft, errors: dict[str, str]) -> None:
    """A new consent, or one with a new approver, needs the date it was given."""
    for ref_type, consent in draft.consents.items():
        if consent is None or consent.approved_on is not None:
            continue
        existing = next((c for c in customer.consents if c.ref_type == ref_type), None)
        if existing is None or existing.approved_by != consent.approved_by:
            errors.setdefault(consent_block(ref_type, "on"), "When did they approve it?")


def _apply_fields(customer: Customer, draft: CustomerDraft) -> dict[str, tuple[Any, Any]]:
    changed: dict[str, tuple[Any, Any]] = {}
    for attr in EDITABLE:
        old, new = getattr(customer, attr), draft.fields[attr]
        if isinstance(new, list):
            old = list(old or [])
        if old != new:
            changed[attr] = (old, new)
            setattr(customer, attr, new)
    if "name" in changed:
        customer.name_key = name_key(customer.name)
    return changed


def _apply_contacts(session: Session, actor: str, customer: Customer, drafts: list[ContactDraft]) -> list[str]:
    """Keep each person's row (their per-contact fatigue counts hang on it): match by e-mail, else name."""
    existing = list(customer.contacts)
    kept: list[Contact] = []
    added: list[str] = []
    updated: dict[str, list[Any]] = {}
    for position, draft in enumerate(drafts):
        match = None
        if draft.email:
            match = next(
                (c for c in existing if c not in kept and (c.email or "").lower() == draft.email.lower()), None
            )
        if match is None:
            match = next((c for c in existing if c not in kept and name_key(c.name) == name_key(draft.name)), None)
        if match is None:
            match = Contact(name=draft.name, title=draft.title, email=draft.email, is_primary=position == 0)
            customer.contacts.append(match)
            added.append(draft.name)
        else:
            before = (match.name, match.title, match.email)
            match.name, match.title, match.email = draft.name, draft.title, draft.email
            if before != (draft.name, draft.title, draft.email):
                updated[draft.name] = [" | ".join(before), " | ".join((draft.name, draft.title, draft.email))]
        kept.append(match)
    old_primary = customer.primary_contact
    removed = [c for c in existing if c not in kept]
    for contact in removed:
        customer.contacts.remove(contact)
    for position, contact in enumerate(kept):
        contact.is_primary = position == 0
    new_primary = kept[0].name if kept else None
    primary_changed = (old_primary.name if old_primary else None) != new_primary and bool(existing)
    if not (added or removed or updated or primary_changed):
        return []
    details: dict[str, Any] = {
        "added": added,
        "removed": [c.name for c in removed],
        "changed": updated,
        "primary": new_primary,
    }
    audit.record(session, actor, "customer.contacts_changed", "customer", customer.id, **details)
    lines = [f"contact added: {name}" for name in added]
    lines += [f"contact removed: {c.name}" for c in removed]
    lines += [f"contact changed: {name}" for name in updated]
    if primary_changed and new_primary:
        lines.append(f"primary contact: {new_primary}")
    return lines


def _consent_state(consent: Consent | ConsentDraft) -> dict[str, Any]:
    return {
        "approved_by": consent.approved_by,
        "approved_on": _jsonable(consent.approved_on),
        "expires_on": _jsonable(consent.expires_on),
    }


def _apply_consents(session: Session, actor: str, customer: Customer, draft: CustomerDraft, now: datetime) -> list[str]:
    lines: list[str] = []
    for ref_type, wanted in draft.consents.items():
        existing = next((c for c in customer.consents if c.ref_type == ref_type), None)
        label = ref_type.label
        if wanted is None:
            if existing is not None:
                audit.record(
                    session,
                    actor,
                    "customer.consent_withdrawn",
                    "customer",
                    customer.id,
                    ref_type=ref_type.value,
                    **_consent_state(existing),
                )
                customer.consents.remove(existing)
                lines.append(f"{label} consent withdrawn")
            continue
        if existing is None:
            customer.consents.append(
                Consent(
                    ref_type=ref_type.value,
                    approved_by=wanted.approved_by,
                    approved_on=wanted.approved_on,
                    expires_on=wanted.expires_on,
                    recorded_by=actor,
                    recorded_at=now,
                )
            )
            audit.record(
                session,
                actor,
                "customer.consent_recorded",
                "customer",
                customer.id,
                ref_type=ref_type.value,
                **_consent_state(wanted),
            )
            lines.append(f"{label} consent recorded: {_consent_words(wanted)}")
            continue
        before, after = _consent_state(existing), _consent_state(wanted)
        if wanted.approved_on is None and existing.approved_on is not None:
            after["approved_on"] = before["approved_on"]  # an unchanged approver keeps the date on record
        if before == after:
            continue
        existing.approved_by = wanted.approved_by
        existing.approved_on = date.fromisoformat(after["approved_on"]) if after["approved_on"] else None
        existing.expires_on = wanted.expires_on
        existing.recorded_by = actor
        existing.recorded_at = now
        audit.record(
            session,
            actor,
            "customer.consent_changed",
            "customer",
            customer.id,
            ref_type=ref_type.value,
            changes={k: [before[k], after[k]] for k in before if before[k] != after[k]},
        )
        lines.append(f"{label} consent changed: {_consent_words(existing)}")
    return lines


def _consent_words(consent: Consent | ConsentDraft) -> str:
    on = f" on {consent.approved_on.isoformat()}" if consent.approved_on else ""
    until = f", until {consent.expires_on.isoformat()}" if consent.expires_on else ", no expiry"
    return f"approved by {consent.approved_by}{on}{until}"


def _apply_incidents(session: Session, actor: str, customer: Customer, draft: CustomerDraft) -> list[str]:
    lines: list[str] = []
    for incident in customer.incidents:
        if incident.id in draft.resolve and not incident.resolved:
            incident.resolved = True
            audit.record(
                session,
                actor,
                "customer.incident_resolved",
                "customer",
                customer.id,
                incident_id=incident.id,
                summary=_jsonable(incident.summary),
            )
            lines.append(f"incident resolved: {clip(incident.summary, 80)}")
    if draft.new_incident is not None:
        new = draft.new_incident
        incident = Incident(occurred_on=new.occurred_on, severity=new.severity, summary=new.summary, resolved=False)
        customer.incidents.append(incident)
        session.flush()
        audit.record(
            session,
            actor,
            "customer.incident_added",
            "customer",
            customer.id,
            incident_id=incident.id,
            occurred_on=new.occurred_on.isoformat(),
            severity=new.severity,
            summary=_jsonable(new.summary),
        )
        lines.append(f"incident added ({new.severity}, {new.occurred_on.isoformat()}): {clip(new.summary, 80)}")
    return lines


def open_incidents(customer: Customer) -> list[Incident]:
    """Unresolved incidents, most recent first (the form offers the first `MAX_RESOLVABLE` for resolving)."""
    return sorted((i for i in customer.incidents if not i.resolved), key=lambda i: (i.occurred_on, i.id), reverse=True)


def answered_checkins(customer: Customer) -> list[CheckIn]:
    """Answered check-ins, most recent first."""
    answered = [c for c in customer.checkins if c.status == CheckInStatus.ANSWERED and c.answered_at is not None]
    return sorted(answered, key=lambda c: (c.answered_at, c.id), reverse=True)
