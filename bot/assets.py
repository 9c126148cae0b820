"""The content library: managers add assets made from a customer, anyone finds them and records a use.

Plain Python that knows nothing of Slack payloads. Whether an asset may be used now is never decided here:
`bot.eligibility.assess_asset` is the judge, so what a search result says beside *I'm using this* is what
recording the use will do. Search ranks like customer search: the same query parser (`bot.customers`)
and the same text and facet scorers, with `kind:` and `customer:` facets of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, String, and_, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot import audit
from bot import customers as cu
from bot.eligibility import ASSESS_LOADS, ContentVerdict, assess_asset
from bot.errors import Ineligible, NotFound, ValidationFailed
from bot.importer import name_key
from bot.matching import fit
from bot.settings import Settings
from bot.views.text import escape
from models import Asset, AssetUse, Customer, ReferenceRequest
from models.enums import MARKETING_TYPES, AssetKind, RefType

LIMITS = {"title": 300, "link": 1000, "customer": 200, "industry": 100, "products": 1000, "topics": 1000}
USE_LIMITS = {"prospect": 150, "opportunity": 150}
PAGE_SIZE = 10
# Light rows scored per search: the assets whose title holds the words first, then the newest.
SCAN_LIMIT = 300
PROFILE_ASSETS = 10

# -- what an asset is --------------------------------------------------------------------------------------


def parse_kind(text: str) -> AssetKind | None:
    """An asset kind as people write it: "case_study", "Case study", "case-study", "analyst report"."""
    key = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    for kind in AssetKind:
        if key in (kind.value, kind.value.replace("_", ""), re.sub(r"[^a-z0-9]+", "_", kind.label.lower())):
            return kind
    return {"case": AssetKind.CASE_STUDY, "testimonial": AssetKind.QUOTE, "deck": AssetKind.SLIDE}.get(key)


def unknown_kind(text: str) -> str:
    kinds = ", ".join(f"`{k.value}`" for k in AssetKind)
    return f"I don't know the kind of content “{escape(text[:50])}”. Use one of: {kinds}."


@dataclass(frozen=True)
class AssetDraft:
    """The add form, parsed: every value checked, the customer resolved to one record."""

    kind: AssetKind
    title: str
    link: str
    customer: Customer
    consent_type: RefType
    published_on: date
    expires_on: date | None
    industry: str
    products: list[str]
    topics: list[str]


def _text(raw: Mapping[str, Any], key: str, errors: dict[str, str], *, required: bool = False) -> str:
    value = " ".join(str(raw.get(key) or "").split())
    if required and not value:
        errors[key] = "Fill this in."
    elif len(value) > LIMITS.get(key, USE_LIMITS.get(key, 0)):
        limit = LIMITS.get(key, USE_LIMITS.get(key, 0))
        errors[key] = f"Keep this under {limit} characters (it has {len(value)})."
    return value


def _date(raw: Mapping[str, Any], key: str, errors: dict[str, str]) -> date | None:
    value = raw.get(key)
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[key] = "Pick a date from the calendar."
        return None


def _items(raw: Mapping[str, Any], key: str, errors: dict[str, str]) -> list[str] | None:
    """A comma-separated list, or None when left empty (the customer's own then apply)."""
    value = str(raw.get(key) or "")
    if not value.strip():
        return None
    if len(value) > LIMITS[key]:
        errors[key] = f"Keep this under {LIMITS[key]} characters (it has {len(value)})."
    items = list(dict.fromkeys(p.strip() for p in value.replace(";", ",").split(",") if p.strip()))
    if any(len(p) > 100 for p in items):
        errors[key] = "Keep each item under 100 characters; separate items with commas."
    return items


def _link(value: str, errors: dict[str, str]) -> str:
    parts = urlsplit(value)
    if value and (parts.scheme not in ("http", "https") or not parts.netloc or " " in value):
        errors["link"] = "Give the asset's address, starting with https:// (e.g. https://acme.com/case-study)."
    return value


def _customer(session: Session, typed: str, errors: dict[str, str]) -> Customer | None:
    if not typed:
        return None
    try:
        found = cu.lookup(session, typed)
    except NotFound as exc:
        errors["customer"] = exc.message
        return None
    if found.customer is None:
        names = ", ".join(escape(c.name) for c in found.choices)
        errors["customer"] = f"Which customer? Several match: {names}. Type the full name or the domain."
        return None
    return found.customer


def parse_asset_form(session: Session, raw: Mapping[str, Any], today: date) -> AssetDraft:
    """The add form → a draft, or ValidationFailed keyed by the form's block ids (answered in the modal)."""
    errors: dict[str, str] = {}
    typed_kind = str(raw.get("kind") or "").strip()
    kind = parse_kind(typed_kind)
    if kind is None:
        errors["kind"] = unknown_kind(typed_kind) if typed_kind else "Pick the kind of content."
    title = _text(raw, "title", errors, required=True)
    link = _link(_text(raw, "link", errors, required=True), errors)
    customer = _customer(session, _text(raw, "customer", errors, required=True), errors)
    consent_raw = str(raw.get("consent_type") or "")
    consent_type = RefType(consent_raw) if consent_raw in {t.value for t in MARKETING_TYPES} else None
    if consent_raw and consent_type is None:
        errors["consent_type"] = "Pick the public use the asset depends on from the list."
    published_on = _date(raw, "published_on", errors) or today
    expires_on = _date(raw, "expires_on", errors)
    if expires_on is not None and expires_on < published_on:
        errors["expires_on"] = "The asset cannot expire before it was published."
    industry = _text(raw, "industry", errors)
    products = _items(raw, "products", errors)
    topics = _items(raw, "topics", errors)
    if errors or kind is None or customer is None:
        raise ValidationFailed(errors)
    return AssetDraft(
        kind=kind,
        title=title,
        link=link,
        customer=customer,
        consent_type=consent_type or kind.consent_type,
        published_on=published_on,
        expires_on=expires_on,
        industry=industry or customer.industry,
        products=products if products is not None else list(customer.products or []),
        topics=topics if topics is not None else list(customer.topics or []),
    )


def add_asset(session: Session, settings: Settings, actor: str, raw: Mapping[str, Any], today: date) -> Asset:
    """A manager adds an asset; the addition is audited against the customer, whose profile lists it.

    The clicker's right is checked before the input, so a forged form from anyone else learns nothing.
    """
    cu.require_manager(settings, actor, "add content to the library")
    draft = parse_asset_form(session, raw, today)
    asset = Asset(
        customer=draft.customer,
        kind=draft.kind.value,
        title=draft.title,
        title_key=name_key(draft.title),
        link=draft.link,
        consent_type=draft.consent_type.value,
        published_on=draft.published_on,
        expires_on=draft.expires_on,
        industry=draft.industry,
        products=draft.products,
        topics=draft.topics,
        added_by=actor,
    )
    session.add(asset)
    session.flush()
    audit.record(
        session, actor, "asset.added", "customer", draft.customer.id,
        asset_id=asset.id, kind=asset.kind, title=asset.title, consent_type=asset.consent_type,
    )  # fmt: skip
    return asset


def customer_for_form(session: Session, settings: Settings, actor: str, customer_id: int | None) -> Customer | None:
    """The customer an *Add asset* form is opened for (None from the command); managers only."""
    cu.require_manager(settings, actor, "add content to the library")
    return cu.get_customer(session, customer_id) if customer_id is not None else None


# -- judging ------------------------------------------------------------------------------------------------


def _with_customers(session: Session, asset_ids: Sequence[int]) -> dict[int, Asset]:
    """Assets with what judging their customers reads, in a few queries for any number of them."""
    if not asset_ids:
        return {}
    found = session.scalars(
        select(Asset).where(Asset.id.in_(list(asset_ids))).options(selectinload(Asset.customer).options(*ASSESS_LOADS))
    ).all()
    return {a.id: a for a in found}


def get_asset(session: Session, asset_id: int) -> Asset:
    asset = _with_customers(session, [asset_id]).get(asset_id)
    if asset is None:
        raise NotFound("That asset is no longer in the library.")
    return asset


def use_counts(session: Session, asset_ids: Sequence[int]) -> dict[int, int]:
    if not asset_ids:
        return {}
    rows = session.execute(
        select(AssetUse.asset_id, func.count())
        .where(AssetUse.asset_id.in_(list(asset_ids)))
        .group_by(AssetUse.asset_id)
    )
    return {asset_id: int(n) for asset_id, n in rows}


@dataclass
class Judged:
    """One asset with its verdict and how often it was used."""

    verdict: ContentVerdict
    uses: int
    relevance: float = 0.0
    fits: list[str] = field(default_factory=list)

    @property
    def asset(self) -> Asset:
        return self.verdict.asset


# -- finding content ---------------------------------------------------------------------------------------

# `kind:` and `customer:` are the library's own facets; the rest is the customer search's query language.
_OWN_FACET = re.compile(r'(?i)(?<!\S)(kind|customer):(?:"([^"]*)"?|(\S*))')


@dataclass(frozen=True)
class AssetQuery:
    text: str
    query: cu.SearchQuery
    kinds: tuple[AssetKind, ...] = ()
    customers: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.query.is_empty and not self.kinds and not self.customers


def parse_asset_query(text: str, actor: str | None = None) -> AssetQuery:
    """`kind:case_study industry:Fintech product:Payments customer:Acme onboarding` → facets and words."""
    text = cu.clean_text(text)
    kinds: list[AssetKind] = []
    customers: list[str] = []

    def take(match: re.Match[str]) -> str:
        value = " ".join((match.group(2) if match.group(2) is not None else match.group(3) or "").split())
        if match.group(1).lower() == "kind":
            kind = parse_kind(value)
            if value and kind is None:
                raise ValidationFailed({"query": unknown_kind(value)})
            if kind is not None:
                kinds.append(kind)
        elif value:
            customers.append(name_key(value)[:100])
        return " "

    rest = _OWN_FACET.sub(take, text)
    return AssetQuery(
        text=text,
        query=cu.parse_query(rest, actor=actor),
        kinds=tuple(dict.fromkeys(kinds)),
        customers=tuple(dict.fromkeys(customers)),
    )


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _list_contains(column: Any, term: str) -> ColumnElement[bool]:
    text = func.lower(cast(column, String))
    return or_(*(text.like(_like(form), escape="\\") for form in cu._json_forms(term)))


def _word_condition(word: str) -> ColumnElement[bool]:
    pattern = _like(word)
    return or_(
        Asset.title_key.like(pattern, escape="\\"),
        Customer.name_key.like(pattern, escape="\\"),
        func.lower(Customer.domain).like(pattern, escape="\\"),
        func.lower(Asset.industry).like(pattern, escape="\\"),
        Asset.kind.like(_like(word.replace(" ", "_")), escape="\\"),
        _list_contains(Asset.products, word),
        _list_contains(Asset.topics, word),
    )


def _facet_condition(attr: str, values: Sequence[str]) -> ColumnElement[bool]:
    options: list[ColumnElement[bool]] = []
    for value in values:
        term = value.lower()
        if attr in ("products", "topics"):
            options.append(_list_contains(getattr(Asset, attr), term))
        elif attr == "industry":
            options.append(func.lower(Asset.industry).like(_like(term), escape="\\"))
        else:  # region, segment: the customer's
            options.append(func.lower(getattr(Customer, attr)).like(_like(term), escape="\\"))
    return or_(*options)


def _conditions(query: AssetQuery) -> list[ColumnElement[bool]]:
    conditions = [_word_condition(word) for word in query.query.words]
    conditions += [_facet_condition(attr, values) for attr, values in query.query.criteria.items()]
    if query.kinds:
        conditions.append(Asset.kind.in_([k.value for k in query.kinds]))
    if query.customers:
        conditions.append(or_(*(Customer.name_key.like(_like(c), escape="\\") for c in query.customers)))
    if query.query.ref_type is not None:
        conditions.append(Asset.consent_type == query.query.ref_type.value)
    if query.query.owner:
        conditions.append(Customer.owner_slack_id == query.query.owner)
    return conditions


def _as_scored_row(row: Any) -> SimpleNamespace:
    """An asset row in the shape the customer search scores: its title and customer stand for the name."""
    return SimpleNamespace(
        name_key=f"{row.customer_key} {row.title_key}",
        domain=row.domain,
        industry=row.industry,
        region=row.region,
        segment=row.segment,
        products=row.products,
        topics=row.topics,
        notes=row.kind.replace("_", " "),
    )


@dataclass
class AssetPage:
    query: AssetQuery
    results: list[Judged]
    total: int  # assets scanned; SCAN_LIMIT means "at least this many"

    @property
    def more_than_scanned(self) -> bool:
        return self.total >= SCAN_LIMIT


def search_assets(session: Session, settings: Settings, query: AssetQuery, now: datetime) -> AssetPage:
    """The best `PAGE_SIZE` assets for `query`, each judged now; the usable first among equally good ones.

    Every word must match (title, customer, domain, industry, kind, products, topics) and every facet its
    attribute; ranked by the customer search's scorers, then the newest.
    """
    conditions = _conditions(query)
    light = (
        select(
            Asset.id,
            Asset.title_key,
            Asset.kind,
            Asset.industry,
            Asset.products,
            Asset.topics,
            Asset.published_on,
            Customer.name_key.label("customer_key"),
            Customer.domain,
            Customer.region,
            Customer.segment,
        )
        .join(Customer, Asset.customer_id == Customer.id)
        .where(*conditions)
    )
    # The assets whose title holds every word are scanned first, then the rest, newest first: each part stops
    # at SCAN_LIMIT rows, so a word found in thousands of assets costs no full scan and sort.
    in_title = [Asset.title_key.like(_like(word), escape="\\") for word in query.query.words]
    parts = [light.where(*in_title), light.where(~and_(*in_title))] if in_title else [light]
    rows: list[Any] = []
    for part in parts:
        if len(rows) < SCAN_LIMIT:
            rows += session.execute(part.order_by(Asset.id.desc()).limit(SCAN_LIMIT - len(rows))).all()
    total = len(rows)
    requests = cu.pseudo_requests(query.query)
    scored: dict[int, tuple[float, list[str], Any]] = {}
    for row in rows:
        shaped = _as_scored_row(row)
        facet, reasons = cu._facet_score(requests, shaped)
        scored[row.id] = (facet + cu._text_score(query.query.words, shaped), reasons, row)

    def order(asset_id: int) -> tuple[Any, ...]:
        relevance, _, row = scored[asset_id]
        published = row.published_on.toordinal() if row.published_on else 0
        return (-relevance, -published, -asset_id)

    best = sorted(scored, key=order)[: PAGE_SIZE + 5]  # judged: the page, and a few to lift usable ones into it
    assets = _with_customers(session, best)
    counts = use_counts(session, best)
    judged = [
        Judged(assess_asset(assets[a], settings, now), counts.get(a, 0), scored[a][0], scored[a][1]) for a in best
    ]
    judged.sort(key=lambda j: (-j.relevance, not j.verdict.usable, order(j.asset.id)))
    return AssetPage(query=query, results=judged[:PAGE_SIZE], total=total)


# -- content for a request ---------------------------------------------------------------------------------

CARD_ASSETS = 3
CARD_SCAN = 2000


def content_for_request(session: Session, settings: Settings, request: ReferenceRequest, now: datetime) -> list[Judged]:
    """The assets that could answer a request for content (a case study, a quote …), for the manager's card.

    Assets depending on the consent the request asks for, ranked by `bot.matching.fit` to the request's
    criteria exactly as customers are, the usable first; a request for a call gets none.
    """
    ref_type = RefType(request.ref_type)
    if ref_type not in MARKETING_TYPES:
        return []
    rows = session.execute(
        select(
            Asset.id,
            Asset.industry,
            Asset.products,
            Asset.topics,
            Asset.published_on,
            Customer.region,
            Customer.segment,
        )  # fmt: skip
        .join(Customer, Asset.customer_id == Customer.id)
        .where(Asset.consent_type == ref_type.value)
        .order_by(Asset.id.desc())
        .limit(CARD_SCAN)
    ).all()
    scored = {}
    for row in rows:
        shaped = Customer(
            industry=row.industry or "", region=row.region or "", segment=row.segment or "",
            products=list(row.products or []), topics=list(row.topics or []),
        )  # fmt: skip
        scored[row.id] = fit(request, shaped)
    best = sorted(scored, key=lambda a: (-scored[a][0], -a))[: CARD_ASSETS * 4]
    assets = _with_customers(session, best)
    counts = use_counts(session, best)
    judged = [Judged(assess_asset(assets[a], settings, now), counts.get(a, 0), *scored[a]) for a in best]
    judged.sort(key=lambda j: (not j.verdict.usable, -j.relevance, -j.asset.id))
    return judged[:CARD_ASSETS]


# -- using content --------------------------------------------------------------------------------------------


def asset_to_use(session: Session, settings: Settings, asset_id: int, now: datetime) -> Asset:
    """The asset an *I'm using this* form is for, refused (with the reasons) when it may not be used now."""
    asset = get_asset(session, asset_id)
    verdict = assess_asset(asset, settings, now)
    if not verdict.usable:
        reasons = "; ".join(verdict.blockers)
        raise Ineligible(f"“{escape(asset.title)}” may not be used now: {escape(reasons)}.")
    return asset


@dataclass(frozen=True)
class UseDraft:
    prospect: str
    opportunity: str


def parse_use_form(raw: Mapping[str, Any]) -> UseDraft:
    errors: dict[str, str] = {}
    prospect = _text(raw, "prospect", errors, required=True)
    opportunity = _text(raw, "opportunity", errors)
    if errors:
        raise ValidationFailed(errors)
    return UseDraft(prospect, opportunity)


def record_use(
    session: Session, settings: Settings, actor: str, asset_id: int, draft: UseDraft, via: str, now: datetime
) -> AssetUse:
    """Count one use, judged again now (consent may have lapsed since the form opened); one per form."""
    asset = asset_to_use(session, settings, asset_id, now)
    already = session.scalars(select(AssetUse).where(AssetUse.via == via)).first() if via else None
    if already is not None:
        return already
    use = AssetUse(
        asset_id=asset.id,
        used_by=actor,
        prospect=draft.prospect,
        opportunity=draft.opportunity,
        used_at=now,
        via=via or None,
    )
    try:
        with session.begin_nested():
            session.add(use)
            session.flush()
    except IntegrityError:  # the same form submitted twice at once: the other submission recorded it
        return session.scalars(select(AssetUse).where(AssetUse.via == via)).one()
    session.refresh(use, ["asset"])
    return use


# -- on the customer's profile -----------------------------------------------------------------------------


@dataclass
class Library:
    """A customer's assets for their profile: the most recent, judged, with use counts."""

    items: list[Judged]
    total: int


def library_of(session: Session, settings: Settings, customer_id: int, now: datetime) -> Library:
    newest = select(Asset.id).where(Asset.customer_id == customer_id)
    ids = list(session.scalars(newest.order_by(Asset.id.desc()).limit(PROFILE_ASSETS)))
    total = session.scalar(select(func.count()).select_from(Asset).where(Asset.customer_id == customer_id)) or 0
    assets = _with_customers(session, ids)
    counts = use_counts(session, ids)
    return Library([Judged(assess_asset(assets[a], settings, now), counts.get(a, 0)) for a in ids], total)


@dataclass
class ProfileWithLibrary:
    profile: cu.Profile
    library: Library


def load_profile(session: Session, settings: Settings, customer_id: int, now: datetime) -> ProfileWithLibrary:
    """The customer's profile (`bot.customers.load_profile`) with their content beside it."""
    return ProfileWithLibrary(
        cu.load_profile(session, settings, customer_id, now), library_of(session, settings, customer_id, now)
    )
