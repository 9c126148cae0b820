"""What people see of the content library: the add form, search results, *I'm using this*, the profile's list.

An asset that may not be used now says why and whom to ask, and never carries *I'm using this*. Every
string that came from a person or a spreadsheet goes through `safe`/`escape`/`plain`; a result is two
blocks and a page at most 10 results, well within Block Kit's 50 blocks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import ids
from bot.assets import LIMITS, USE_LIMITS, AssetPage, Judged, Library, ProfileWithLibrary
from bot.eligibility import ContentVerdict
from bot.settings import Settings
from bot.views.customers import profile
from bot.views.forms import modal, notice
from bot.views.text import actions, button, clip, context, escape, mention, plain, plural, safe, section
from models import Asset, AssetUse, Customer
from models.enums import MARKETING_TYPES, AssetKind, RefType

Message = dict[str, Any]

ASSETS_USAGE = (
    "What content are you looking for? For example `/reference assets onboarding`, or with facets: "
    "`/reference assets kind:case_study industry:Fintech product:Payments customer:Acme`."
)


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label, 75), "value": value}


def _text_input(
    block_id: str, label: str, limit: int, *, initial: str = "", optional: bool = True, hint: str = ""
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": block_id, "max_length": limit}
    if initial:
        element["initial_value"] = clip(initial, limit)
    block: dict[str, Any] = {
        "type": "input", "block_id": block_id, "optional": optional, "label": plain(label, 2000), "element": element,
    }  # fmt: skip
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _select(
    block_id: str, label: str, options: list[dict[str, Any]], *, optional: bool, hint: str = ""
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label, 2000),
        "element": {"type": "static_select", "action_id": block_id, "options": options},
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _datepicker(block_id: str, label: str, *, hint: str = "") -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input", "block_id": block_id, "optional": True, "label": plain(label, 2000),
        "element": {"type": "datepicker", "action_id": block_id},
    }  # fmt: skip
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def asset_modal(customer: Customer | None, *, typed: str = "") -> dict[str, Any]:
    """The add form: kind, title, link, customer, the consent it depends on, dates, tags (11 blocks)."""
    kinds = [_option(k.value, k.label) for k in AssetKind]
    consents = [_option(t.value, t.label) for t in MARKETING_TYPES]
    blocks = [
        _select("kind", "Kind", kinds, optional=False),
        _text_input("title", "Title", LIMITS["title"], optional=False),
        _text_input("link", "Link", LIMITS["link"], optional=False, hint="Where the asset lives, e.g. https://…"),
        _text_input(
            "customer",
            "Customer",
            LIMITS["customer"],
            initial=customer.name if customer else typed,
            optional=False,
            hint="The customer's name or domain.",
        ),  # fmt: skip
        _select(
            "consent_type",
            "Depends on the customer's consent for",
            consents,
            optional=True,
            hint="Left empty: the consent its kind needs (a quote needs quote consent, a logo logo consent, …).",
        ),  # fmt: skip
        _datepicker("published_on", "Published on", hint="Left empty: today."),
        _datepicker("expires_on", "Expires on", hint="Left empty: it does not expire."),
        _text_input("industry", "Industry", LIMITS["industry"], hint="Left empty: the customer's."),
        _text_input(
            "products", "Products", LIMITS["products"], hint="Separate with commas. Left empty: the customer's."
        ),
        _text_input("topics", "Topics", LIMITS["topics"], hint="Separate with commas. Left empty: the customer's."),
    ]
    return modal(ids.ASSET_MODAL, "Add asset", "Add", close="Cancel", blocks=blocks)


def asset_added_view(asset: Asset) -> dict[str, Any]:
    return notice(
        "Asset added",
        blocks=[
            section(
                f":white_check_mark: *{safe(asset.title, 250)}* ({AssetKind(asset.kind).label.lower()}) is in the "
                f"library for *{safe(asset.customer.name, 150)}*, depending on its "
                f"{RefType(asset.consent_type).label.lower()} consent."
            ),
            context(f"Find it with `/reference assets customer:{safe(clip(asset.customer.name, 60), 200)}`."),
        ],
    )


def _asks(verdict: ContentVerdict, settings: Settings) -> str:
    who = []
    if verdict.ask_owner:
        who.append(f"the account owner {mention(verdict.asset.customer.owner_slack_id)}")
    if verdict.ask_managers:
        managers = ", ".join(mention(m) for m in settings.managers[:3]) or "the reference managers"
        who.append(f"a reference manager ({managers})")
    return "Ask " + " or ".join(who) if who else ""


def verdict_lines(verdict: ContentVerdict, settings: Settings) -> list[str]:
    """Whether the asset may be used now; if not, every reason and whom to ask."""
    if verdict.usable:
        consent = next((c for c in verdict.asset.customer.consents if c.ref_type == verdict.asset.consent_type), None)
        until = f" until {consent.expires_on.isoformat()}" if consent and consent.expires_on else ""
        return [
            f":white_check_mark: May be used now ({RefType(verdict.asset.consent_type).label.lower()} consent{until})"
        ]
    lines = [f":no_entry: Not now: {safe('; '.join(verdict.blockers), 600)}"]
    ask = _asks(verdict, settings)
    if ask:
        lines.append(f":speech_balloon: {ask}")
    return lines


def _headline(item: Judged, rank: int | None = None) -> str:
    asset = item.asset
    number = f"{rank}. " if rank is not None else ""
    # The link as text (Slack links it): a `<link|title>` would let a stored link's own `|` or `>` reshape it.
    return (
        f"*{number}{safe(asset.title, 200)}*  ·  {AssetKind(asset.kind).label}  ·  {safe(asset.customer.name, 150)}"
        f"  ·  {safe(asset.link, 300)}"
    )


def _facts(item: Judged) -> str:
    asset = item.asset
    parts = [f"published {asset.published_on.isoformat()}" if asset.published_on else "no publication date"]
    if asset.expires_on:
        parts.append(f"expires {asset.expires_on.isoformat()}")
    parts.append(f"used {plural(item.uses, 'time')}")
    tags = [*asset.products, *asset.topics]
    if asset.industry:
        tags.insert(0, asset.industry)
    if tags:
        parts.append(safe(", ".join(tags), 300))
    return " · ".join(parts)


def _result_blocks(rank: int, item: Judged, settings: Settings) -> list[Any]:
    lines = [_headline(item, rank), *verdict_lines(item.verdict, settings)]
    if item.fits:
        lines.append(f":dart: Fits: {safe(', '.join(item.fits), 300)}")
    elements = []
    if item.verdict.usable:
        elements.append(
            button("I'm using this", ids.for_item(ids.ASSET_USE, item.asset.id), str(item.asset.id), "primary")
        )
    customer_id = item.asset.customer_id
    profile_id = ids.for_item(ids.CUSTOMER_PROFILE, f"asset{item.asset.id}")  # unique per result, like its value
    elements.append(button("Customer profile", profile_id, str(customer_id)))
    return [section("\n".join(lines)), context(_facts(item)), actions(f"asset:{item.asset.id}", *elements)]


def asset_results(page: AssetPage, settings: Settings) -> Message:
    """`/reference assets`: at most 10 assets × 3 blocks + 2."""
    shown = f"“{safe(page.query.text, 300)}”"
    if not page.results:
        return {
            "text": f"No content matches {shown}",
            "blocks": [
                section(
                    f":mag: No content matches {shown}. Try fewer words, or facets such as `kind:case_study`, "
                    "`industry:fintech`, `product:payments`, `customer:acme`."
                )
            ],
        }
    noun = "asset matches" if page.total == 1 else "assets match"
    count = f"{page.total:,}+" if page.more_than_scanned else f"{page.total:,}"
    head = f":mag: *{count} {noun}* {shown}"
    if page.total > len(page.results):
        head += f" · the best {len(page.results)} shown; add words or facets to narrow it down"
    blocks: list[Any] = [section(head)]
    for rank, item in enumerate(page.results, start=1):
        blocks += _result_blocks(rank, item, settings)
    return {"text": f"{page.total} {noun} {escape(clip(page.query.text, 200))}", "blocks": blocks}


def use_modal(asset: Asset) -> dict[str, Any]:
    return modal(
        ids.ASSET_USE_MODAL,
        "I'm using this",
        "Record use",
        close="Cancel",
        asset_id=asset.id,
        blocks=[
            section(f"*{safe(asset.title, 250)}* · {AssetKind(asset.kind).label} · {safe(asset.customer.name, 150)}"),
            _text_input("prospect", "For which prospect", USE_LIMITS["prospect"], optional=False),
            _text_input("opportunity", "Opportunity", USE_LIMITS["opportunity"], hint="The deal's name or CRM id."),
        ],
    )


def use_recorded_view(use: AssetUse) -> dict[str, Any]:
    return notice(
        "Use recorded",
        blocks=[
            section(
                f":white_check_mark: Recorded: you are using *{safe(use.asset.title, 250)}* "
                f"for *{safe(use.prospect, 150)}*."
            )
        ],
    )


def _library_section(library: Library, settings: Settings) -> dict[str, Any]:
    if not library.items:
        return section("*Content*\nNo assets yet.")
    lines = []
    for item in library.items:
        state = (
            ":white_check_mark: usable now"
            if item.verdict.usable
            else f":no_entry: {safe(item.verdict.blockers[0], 200)}"
        )
        lines.append(f"• {_headline(item)} · used {plural(item.uses, 'time')} · {state}")
    more = library.total - len(library.items)
    text = f"*Content* ({library.total})\n" + "\n".join(lines)
    if more > 0:
        text += f"\n_…and {more} more: `/reference assets customer:…`_"
    return section(text)


def profile_with_library(
    p: ProfileWithLibrary, settings: Settings, now: datetime, *, is_manager: bool, may_record_incidents: bool = False
) -> Message:
    """The customer's profile with its content listed above the buttons, and *Add asset* for managers."""
    message = profile(p.profile, settings, now, is_manager=is_manager, may_record_incidents=may_record_incidents)
    blocks = list(message["blocks"])
    buttons = blocks.pop()  # the profile ends with its actions block
    elements = list(buttons["elements"])
    customer = p.profile.customer
    if is_manager:
        elements.append(button("Add asset", ids.ASSET_ADD, str(customer.id)))
    if not customer.referenceable:
        elements.append(button("Nominate", ids.for_item(ids.NOMINATE, customer.id), str(customer.id)))
    blocks += [_library_section(p.library, settings), {**buttons, "elements": elements}]
    return {**message, "blocks": blocks}


def content_blocks(items: list[Judged], settings: Settings) -> list[dict[str, Any]]:
    """The manager's card for a content request: the library's best matches beside the customers (≤ 2 blocks)."""
    if not items:
        return []
    lines = []
    for item in items:
        fits = f" · fits {safe(', '.join(item.fits), 200)} ({item.relevance:.0f}% fit)" if item.fits else ""
        lines.append(f"• {_headline(item)} · used {plural(item.uses, 'time')}{fits}")
        lines += [f"    {line}" for line in verdict_lines(item.verdict, settings)]
    return [
        section("*Content ready to send*: the rep may not need the customer at all\n" + "\n".join(lines)),
    ]
