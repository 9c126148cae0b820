"""What requesters and managers see about a request: the intake modal, the manager card, the rep's DMs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from bot import ids
from bot.matching import Candidate
from bot.message_requests import source_link
from bot.requests import LIMITS
from bot.settings import Settings
from bot.shadow import Prefill
from bot.views.forms import modal, text_input
from bot.views.outcomes import outcome_buttons
from bot.views.refusals import Words, decided
from bot.views.text import actions, button, clip, context, divider, header, md, mention, plain, quote, safe, section
from models import CheckIn, Contact, Customer, ReferenceRequest
from models.enums import MARKETING_TYPES, SALES_TYPES, Outcome, RefType, RequestStatus

Message = dict[str, Any]


# -- the intake modal ---------------------------------------------------------------------------------


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label, 75), "value": value}


def _text_input(
    block_id: str, label: str, *, initial: str = "", optional: bool = True, multiline: bool = False, hint: str = ""
) -> dict[str, Any]:
    return text_input(
        block_id, label, initial=initial, limit=LIMITS[block_id], optional=optional, multiline=multiline, hint=hint
    )


def request_modal(
    prospect: str = "",
    specific: Customer | None = None,
    *,
    industry: str = "",
    region: str = "",
    ref_type: RefType | None = None,
    notes: str = "",
    crm: str | None = None,
    opportunity: tuple[int, str] | None = None,
    amount: Decimal | None = None,
    source: str = "",
) -> dict[str, Any]:
    """The intake form; `prospect` comes pre-filled from `/reference request Globex`, the other fields from an
    ask spotted in a watched channel (bot/shadow.py) or a message the shortcut was used on: all of them
    editable before sending. `source` is that message's permalink, carried in private_metadata. With a CRM
    connected (`crm`: its name as people say it) the form starts with a type-ahead over the rep's own open
    opportunities; picking one (`opportunity`: id and label) fills the prospect, amount, industry and region."""
    chosen = ref_type or RefType.CALL
    type_groups = [
        {"label": plain("Sales (private)", 75), "options": [_option(t.value, t.label) for t in SALES_TYPES]},
        {
            "label": plain("Marketing (public: needs the customer's consent)", 75),
            "options": [_option(t.value, t.label) for t in MARKETING_TYPES],
        },
    ]
    customer_select: dict[str, Any] = {
        "type": "external_select",
        "action_id": ids.SPECIFIC_CUSTOMER,
        "min_query_length": 1,
        "placeholder": plain("Type a customer name", 150),
    }
    if specific is not None:
        customer_select["initial_option"] = _option(str(specific.id), specific.name)
    blocks = [
        *([opportunity_input(crm, opportunity)] if crm else []),
        _text_input("prospect", "Prospect company", initial=prospect, optional=False),
        {
            "type": "input",
            "block_id": "ref_type",
            "label": plain("Kind of reference", 2000),
            "element": {
                "type": "static_select",
                "action_id": "ref_type",
                "option_groups": type_groups,
                "initial_option": _option(chosen.value, chosen.label),
            },
        },
        _text_input(
            "industry", "Industry", initial=industry, hint="The prospect's industry, e.g. Fintech or Healthcare."
        ),
        _text_input("products", "Products", hint="Comma-separated: the products the prospect is evaluating."),
        _text_input("region", "Region", initial=region, hint="e.g. EMEA, North America, APAC."),
        _text_input("segment", "Segment", hint="e.g. Enterprise, Mid-market, SMB."),
        _text_input("topics", "Topics to cover", multiline=True, hint="Comma-separated, e.g. migration, SSO."),
        {
            "type": "input",
            "block_id": "specific_customer",
            "optional": True,
            "label": plain("A specific customer", 2000),
            "element": customer_select,
        },
        {
            "type": "input",
            "block_id": "needed_by",
            "optional": True,
            "label": plain("Needed by", 2000),
            "element": {"type": "datepicker", "action_id": "needed_by"},
        },
        {
            "type": "input",
            "block_id": "opportunity_amount",
            "optional": True,
            "label": plain("Opportunity amount", 2000),
            "element": {
                "type": "number_input",
                "action_id": "opportunity_amount",
                "is_decimal_allowed": True,
                "min_value": "0",
                **({"initial_value": f"{amount:f}"} if amount is not None else {}),
            },
        },
        _text_input("notes", "Notes for the reference team", initial=notes, multiline=True),
    ]
    metadata = {"source": source} if source else {}
    return modal(ids.REQUEST_MODAL, "Request a reference", "Send request", blocks, close="Cancel", **metadata)


def opportunity_input(crm: str, chosen: tuple[int, str] | None, *, anyone: bool = False) -> dict[str, Any]:
    """The type-ahead over open CRM opportunities: the rep's own in the form, any for a manager linking later."""
    select_menu: dict[str, Any] = {
        "type": "external_select",
        "action_id": ids.LINK_OPPORTUNITY if anyone else ids.OPPORTUNITY,
        "min_query_length": 0,
        "placeholder": plain("Type a deal or account name", 150),
    }
    if chosen is not None:
        select_menu["initial_option"] = _option(str(chosen[0]), chosen[1])
    block: dict[str, Any] = {
        "type": "input",
        "block_id": "opportunity",
        "optional": not anyone,
        "label": plain(f"{'The' if anyone else 'Your'} {crm} opportunity", 2000),
        "element": select_menu,
    }
    if not anyone:
        block["dispatch_action"] = True
        block["hint"] = plain(
            "Picking one fills in the prospect, amount, industry and region, and links the request to it.", 2000
        )
    return block


def link_modal(request: ReferenceRequest, crm: str) -> dict[str, Any]:
    """A manager links a request made without an opportunity (so won/lost and the write-back follow it)."""
    return modal(
        ids.LINK_MODAL,
        "Link an opportunity",
        "Link",
        close="Cancel",
        request_id=request.id,
        blocks=[
            section(f"Request #{request.id} for *{safe(request.prospect, 200)}*: which {crm} opportunity is it for?"),
            opportunity_input(crm, None, anyone=True),
        ],
    )


def prefilled_modal(prefill: Prefill, source: str = "") -> dict[str, Any]:
    """The one form both the shadow-market reply's button and the message shortcut open."""
    guess = prefill.guess
    return request_modal(
        guess.prospect,
        industry=guess.industry,
        region=guess.region,
        ref_type=guess.ref_type,
        notes=prefill.notes,
        source=source,
    )


def decline_modal(request: ReferenceRequest) -> dict[str, Any]:
    blocks = [
        section(
            f"Declining request #{request.id} for *{safe(request.prospect, 200)}* from {mention(request.requester_id)}."
        ),
        {
            "type": "input",
            "block_id": "reason",
            "label": plain("Reason (the rep will see it)", 2000),
            "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True, "max_length": 1000},
        },
    ]
    return modal(ids.DECLINE_MODAL, "Decline request", "Decline", blocks, request_id=request.id)


# -- summaries shared by several messages -------------------------------------------------------------


def _money(amount: Decimal | None) -> str:
    return f"{amount:,.0f}" if amount is not None else "—"


def request_fields(request: ReferenceRequest, specific: Customer | None) -> dict[str, Any]:
    pairs = [
        ("Type", RefType(request.ref_type).label + (" (public)" if RefType(request.ref_type).is_public else "")),
        ("Needed by", request.needed_by.isoformat() if request.needed_by else "—"),
        ("Opportunity", _money(request.opportunity_amount)),
        ("Industry", request.industry or "—"),
        ("Region", request.region or "—"),
        ("Segment", request.segment or "—"),
        ("Products", ", ".join(request.products) or "—"),
        ("Topics", ", ".join(request.topics) or "—"),
    ]
    if specific is not None:
        pairs.append(("Asked for", specific.name))
    return {"type": "section", "fields": [md(f"*{label}*\n{safe(value, 1900)}") for label, value in pairs]}


def cancel_button(request: ReferenceRequest, action_id: str) -> dict[str, Any]:
    """The requester's "Cancel request", with Slack's confirmation dialog first."""
    confirm = {
        "title": plain("Cancel this request?", 100),
        "text": plain(f"Request #{request.id} for {request.prospect} will be withdrawn.", 300),
        "confirm": plain("Cancel it", 30),
        "deny": plain("Keep it", 30),
    }
    return button("Cancel request", action_id, str(request.id), confirm=confirm)


def _decision_line(request: ReferenceRequest, customer: Customer | None, settings: Settings) -> str:
    status = request.status
    by = partial(decided, decided_by=request.decided_by, decided_at=request.decided_at, w=Words(settings.tz))
    name = f" — *{safe(customer.name, 200)}*" if customer else ""
    if status == RequestStatus.APPROVED:
        return f":white_check_mark: {by('Approved')}{name}"
    if status == RequestStatus.COMPLETED:
        return f":checkered_flag: Completed{name}"
    if status == RequestStatus.DECLINED:
        return f":x: {by('Declined')}\n{quote(request.decline_reason)}"
    if status == RequestStatus.CANCELLED:
        return f":no_entry_sign: {by('Cancelled')}"
    return ""


# -- the manager's card -------------------------------------------------------------------------------


def _checkin_summary(checkin: CheckIn | None, now: datetime) -> str:
    if checkin is None or checkin.answered_at is None:
        return "never checked in"
    days = (now - checkin.answered_at).days
    nps = f", NPS {checkin.nps}" if checkin.nps is not None else ""
    ago = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
    return f"{checkin.answer.label} {ago}{nps}"


def _candidate_blocks(
    request: ReferenceRequest, rank: int, candidate: Candidate, asked: CheckIn | None, settings: Settings, now: datetime
) -> list[dict[str, Any]]:
    customer = candidate.customer
    verdict = candidate.assessment
    facts = " · ".join(safe(v, 100) for v in (customer.industry, customer.region, customer.segment) if v)
    lines = [f"*{rank}. {safe(customer.name, 200)}*" + (f"  ·  {facts}" if facts else "")]
    if candidate.pinned:
        lines.append(":pushpin: The rep asked for this customer")
    if candidate.fits:
        lines.append(f":white_check_mark: Fits: {safe(', '.join(candidate.fits), 600)} ({candidate.score:.0f}% fit)")
    elif request.industry or request.region or request.segment or request.products or request.topics:
        lines.append(":heavy_minus_sign: Matches none of the criteria given")
    lines += [f":warning: {safe(w, 400)}" for w in verdict.warnings]
    lines += [f":no_entry: {safe(b, 400)}" for b in verdict.blockers]
    uses = f"used {verdict.uses_in_window}× in {settings.fatigue_window_days} days (limit {settings.fatigue_limit})"
    owner = f"Owner {mention(customer.owner_slack_id)}" if customer.owner_slack_id else "No owner"
    waiting = f":hourglass: owner asked {Words(settings.tz).at(asked.asked_at)}" if asked else ""
    blocks: list[dict[str, Any]] = [
        section("\n".join(lines)),
        context(owner, f"Last check-in: {_checkin_summary(verdict.last_checkin, now)}", uses, waiting),
    ]
    value = f"{request.id}:{customer.id}"
    elements = []
    if verdict.eligible:
        label = "Approve (after check-in)" if verdict.needs_checkin else "Approve"
        elements.append(
            button(
                f"{label}: {clip(customer.name, 40)}", ids.for_item(ids.APPROVE, customer.id), value, style="primary"
            )
        )
    if verdict.worth_asking_owner and asked is None:
        elements.append(button("Ask owner", ids.for_item(ids.ASK_OWNER, customer.id), value))
    if elements:
        blocks.append(actions(f"candidate:{customer.id}", *elements))
    return blocks


# Resting good fits named on the card; the rest are counted.
RESTING_NAMED = 3


def _resting_line(resting: Sequence[tuple[Candidate, date | None]], settings: Settings) -> str:
    """ "2 more fit well but are resting: *Northwind* (used 2× in 90 days, free again on 2027-01-04), …"."""
    named = []
    # The best fits first and, among equals, the one free soonest.
    ordered = sorted(resting, key=lambda pair: (-pair[0].score, pair[1] or date.max, pair[0].customer.name))
    for candidate, free_on in ordered[:RESTING_NAMED]:
        verdict = candidate.assessment
        if verdict.customer_tired:
            why = f"used {verdict.uses_in_window}× in {settings.fatigue_window_days} days"
        else:
            why = f"every contact used {settings.contact_fatigue_limit}× in {settings.contact_fatigue_window_days} days"
        until = f", free again on {free_on.isoformat()}" if free_on else ""
        named.append(f"*{safe(candidate.customer.name, 200)}* ({why}{until})")
    more = len(resting) - len(named)
    tail = f" and {more} more" if more else ""
    fits = "fits well but is resting" if len(resting) == 1 else "fit well but are resting"
    return f":zzz: {len(resting)} more {fits}: {', '.join(named)}{tail}."


def manager_card(
    request: ReferenceRequest,
    candidates: list[Candidate],
    pending: dict[int, CheckIn],
    waiting_on: CheckIn | None,
    settings: Settings,
    now: datetime,
    *,
    resting: Sequence[tuple[Candidate, date | None]] = (),
    content: Sequence[dict[str, Any]] = (),
) -> Message:
    """The manager's DM: the request, ranked candidates with their verdicts, and the decision buttons.

    `resting` are the good fits left off only for fatigue, with the day each is free again: named below
    the candidates so the manager knows the pool is thin for now, not empty. `content` are the blocks naming
    the library's assets that could answer a request for content (`bot.views.assets.content_blocks`).
    Once decided it becomes a one-line record of the decision, so no stale button stays behind.
    """
    ref_type = RefType(request.ref_type)
    title = f"Request #{request.id}: {ref_type.label} for {request.prospect}"
    text = f"Request #{request.id}: {ref_type.label} for {safe(request.prospect, 200)}"
    text += f" from {mention(request.requester_id)}"
    blocks: list[dict[str, Any]] = [
        header(title),
        section(
            f"{mention(request.requester_id)} needs a *{ref_type.label}* for *{safe(request.prospect, 200)}*"
            f" · requested {Words(settings.tz).at(request.created_at)}"
        ),
        request_fields(request, request.specific_customer),
    ]
    if request.notes:
        blocks.append(section(quote(request.notes)))
    source = source_link(request.source_permalink)
    if source:  # checked again: the link is Slack's own, so it holds no `|` or `>` to break out of
        blocks.append(context(f":speech_balloon: <{source}|From this message>"))
    status = request.status
    if status not in (RequestStatus.SUBMITTED, RequestStatus.AWAITING_CHECKIN):
        blocks.append(section(_decision_line(request, request.customer, settings)))
        return {"text": text, "blocks": blocks}
    blocks.append(divider())
    if status == RequestStatus.SUBMITTED:
        blocks += content
    if status == RequestStatus.AWAITING_CHECKIN and waiting_on is not None:
        blocks.append(
            section(
                f":hourglass_flowing_sand: {mention(waiting_on.asked_by)} picked "
                f"*{safe(waiting_on.customer.name, 200)}*; it is approved as soon as {mention(waiting_on.asked_of)} "
                f"confirms the customer is still happy (asked {Words(settings.tz).at(waiting_on.asked_at)})."
            )
        )
    elif candidates:
        blocks.append(section("*Best candidates*"))
        for rank, candidate in enumerate(candidates, start=1):
            blocks += _candidate_blocks(request, rank, candidate, pending.get(candidate.customer.id), settings, now)
        if resting:
            blocks.append(context(_resting_line(resting, settings)))
    else:
        blocks.append(
            section(
                ":mag: No referenceable customer is on record yet. Import customers with `refbot import`, "
                "or decline with a reason."
            )
        )
    blocks.append(actions("decision", button("Decline…", ids.DECLINE, str(request.id), style="danger")))
    return {"text": text, "blocks": blocks}


# -- the requester's messages -------------------------------------------------------------------------


def receipt(request: ReferenceRequest, settings: Settings) -> Message:
    """The rep's receipt; while the request is pending it carries the Cancel button."""
    text = f"Request #{request.id} for {safe(request.prospect, 200)} sent to the reference team"
    status = request.status
    title = f"{text}." if status.is_open else f"Request #{request.id} for {safe(request.prospect, 200)}"
    blocks: list[dict[str, Any]] = [section(f":inbox_tray: {title}")]
    if status == RequestStatus.SUBMITTED:
        blocks.append(context("Status: waiting for a reference manager. You'll get a DM when it is decided."))
    elif status == RequestStatus.AWAITING_CHECKIN:
        blocks.append(context("Status: a customer was picked; its account owner is confirming they're happy."))
    else:
        blocks.append(context(_decision_line(request, request.customer, settings)))
    if status.is_open:
        blocks.append(actions("receipt", cancel_button(request, ids.CANCEL)))
    return {"text": text, "blocks": blocks}


DEFAULT_GUIDANCE = (
    "Introduce yourself to the contact by email and copy the account owner. Keep it to the time agreed, "
    "and tell us how it went afterwards."
)


def approved_notice(
    request: ReferenceRequest, customer: Customer, contact: Contact | None, settings: Settings
) -> Message:
    text = f"Your reference for {safe(request.prospect, 200)} is approved: {safe(customer.name, 200)}"
    if contact is not None:
        who = safe(contact.display_name, 200) + (f", {safe(contact.title, 200)}" if contact.title else "")
        reach = f" · {safe(contact.email, 320)}" if contact.email and contact.name else ""
        contact_line = f"*Contact:* {who}{reach}"
    else:
        contact_line = f"*Contact:* none on record; ask {mention(customer.owner_slack_id)} for an introduction."
    guidance = customer.guidance or DEFAULT_GUIDANCE
    blocks = [
        section(
            f":white_check_mark: Request #{request.id}: your *{RefType(request.ref_type).label}* for "
            f"*{safe(request.prospect, 200)}* is approved by {mention(request.decided_by)}."
        ),
        section(
            f"*Customer:* {safe(customer.name, 200)}\n{contact_line}\n"
            f"*Account owner:* {mention(customer.owner_slack_id)}"
            + (f"\n*Needed by:* {request.needed_by.isoformat()}" if request.needed_by else "")
        ),
        section(f"*Guidance*\n{quote(guidance)}"),
    ]
    return {"text": text, "blocks": blocks}


def declined_notice(request: ReferenceRequest, settings: Settings) -> Message:
    text = f"Request #{request.id} for {safe(request.prospect, 200)} was declined"
    blocks = [
        section(
            f":x: Request #{request.id} for *{safe(request.prospect, 200)}* was declined by "
            f"{mention(request.decided_by)}:\n{quote(request.decline_reason)}"
        ),
        context("Questions? Reply to the reference team, or make a new request with `/reference request`."),
    ]
    return {"text": text, "blocks": blocks}


# -- /reference mine --------------------------------------------------------------------------------------

MINE_LIMIT = 15


def _next_step(request: ReferenceRequest, due: bool) -> str:
    status = request.status
    if status == RequestStatus.SUBMITTED:
        return ":hourglass: waiting for a reference manager"
    if status == RequestStatus.AWAITING_CHECKIN:
        return ":hourglass: the account owner is confirming the customer is happy"
    if status == RequestStatus.APPROVED:
        if due:
            return ":point_right: *your turn:* tell us how it went"
        return ":white_check_mark: approved: get in touch, then tell us how it went"
    if status == RequestStatus.COMPLETED:
        return f":memo: {Outcome(request.outcome).label}" if request.outcome else ":memo: completed"
    if status == RequestStatus.DECLINED:
        return ":no_entry: declined"
    return "cancelled"


def mine_message(
    requests: list[ReferenceRequest], outcome_due: dict[int, datetime | None], settings: Settings, now: datetime
) -> Message:
    """The rep's requests, what each is waiting for, and buttons for what is waiting for *them*:
    the outcome of an approved reference, or cancelling a pending one."""
    if not requests:
        text = "You have no reference requests yet. Start one with `/reference request`."
        return {"text": text, "blocks": [section(text)]}
    due = {
        r.id
        for r in requests
        if r.status == RequestStatus.APPROVED and (moment := outcome_due.get(r.id)) is not None and moment <= now
    }
    blocks: list[dict[str, Any]] = [header("Your reference requests")]
    if due:
        blocks.append(section(f":point_right: *{len(due)} need{'s' if len(due) == 1 else ''} you:* how did it go?"))
    for request in requests[:MINE_LIMIT]:
        status = request.status
        customer = f" → *{safe(request.customer.name, 60)}*" if request.customer else ""
        blocks.append(
            section(
                f"*#{request.id}* {safe(request.prospect, 150)} · {RefType(request.ref_type).label}{customer}\n"
                f"{_next_step(request, request.id in due)} · requested {Words(settings.tz).at(request.created_at)}"
            )
        )
        if status == RequestStatus.APPROVED:
            blocks.append(actions(f"mine:outcome:{request.id}", *outcome_buttons(request.id, in_list=True)))
        elif status.is_open:
            cancel = cancel_button(request, ids.for_item(ids.CANCEL, request.id))
            blocks.append(actions(f"mine:cancel:{request.id}", cancel))
    more = len(requests) - MINE_LIMIT
    blocks.append(
        context(
            (f"{more} older request{'s' if more != 1 else ''} not shown. " if more > 0 else "")
            + "The buttons here do the same as those in your DMs with refbot."
        )
    )
    return {"text": "Your reference requests", "blocks": blocks[:50]}
