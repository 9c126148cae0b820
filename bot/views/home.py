"""The App Home tab: one view per person, the sections of every role they hold, manager first.

Each section shows its first items and, when there are more, says how many with a *Show all* button that
publishes that section on its own (a longer list, still within the 100 blocks a view may hold). Buttons
reuse the actions the DMs already have — Approve / Decline, Cancel, the check-in answers, the outcome —
with per-item action_ids, since Slack wants them unique within a view. All user text is escaped.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from bot import ids
from bot.home import (
    AT_RISK,
    CHECKINS,
    CONSENTS,
    CUSTOMERS,
    OWNER_CHECKINS,
    QUEUE,
    REQUESTS,
    AtRisk,
    AwaitingCheckin,
    CustomerHealth,
    ExpiringConsent,
    Headline,
    Home,
    ManagerHome,
    OwnerHome,
    QueueItem,
    RepHome,
    RepRequest,
    Shown,
)
from bot.settings import Settings
from bot.views import nominations as nomination_views
from bot.views.checkins import ANSWER_DOT, answer_buttons
from bot.views.outcomes import outcome_buttons
from bot.views.text import (
    actions,
    approver_words,
    button,
    clip,
    context,
    divider,
    header,
    md,
    mention,
    plain,
    safe,
    section,
    when,
)
from models import CheckIn
from models.enums import Happiness, Outcome, RefType, RequestStatus

MAX_BLOCKS = 100  # Slack's limit for a Home tab
SECTION_CHARS = 2900  # lines are packed into sections under Slack's 3000 characters

TITLES = {
    QUEUE: "Approval queue",
    CHECKINS: "Check-ins awaiting answers",
    AT_RISK: "At-risk customers",
    CONSENTS: "Consents expiring soon",
    OWNER_CHECKINS: "Check-ins waiting for you",
    CUSTOMERS: "Your customers",
    REQUESTS: "Your requests",
}

Block = dict[str, Any]


def home_view(home: Home, settings: Settings, now: datetime) -> dict[str, Any]:
    """The whole tab: every role's sections, or one section in full when the person asked for it."""
    blocks: list[Block] = [context(f"Updated {when(now, settings.tz)}")]
    if home.expanded:
        blocks.insert(0, actions("home.back", button("← Back", ids.for_item(ids.HOME_EXPAND, "all"), "all")))
        blocks += _section(home, home.expanded, settings, now, full=True)
    else:
        parts: list[list[Block]] = []
        if home.manager is not None:
            parts.append(_manager(home.manager, settings, now))
        if home.owner is not None:
            parts.append(_owner(home.owner, settings, now))
        parts.append(_rep(home.rep, settings, now, full=False))
        for i, part in enumerate(parts):
            blocks += ([divider()] if i else []) + part
    return {"type": "home", "blocks": _fit(blocks)}


def _fit(blocks: list[Block]) -> list[Block]:
    """Never more than Slack's 100 blocks, whatever the data (the limits in bot.home keep well under it)."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    return [*kept, context("… and more than fits on this page: use *Show all* on a section, or `/reference mine`.")]


def _section(home: Home, name: str, settings: Settings, now: datetime, *, full: bool) -> list[Block]:
    manager, owner = home.manager, home.owner
    facts = manager.facts if manager is not None else None
    if manager is not None and name == QUEUE:
        return _queue(manager.queue, settings, now, full)
    if facts is not None and name == CHECKINS:
        return _awaiting(facts.checkins, settings, now, full)
    if facts is not None and name == AT_RISK:
        return _at_risk(facts.at_risk, now, full)
    if facts is not None and name == CONSENTS:
        return _consents(facts.consents, now, settings, full)
    if owner is not None and name == OWNER_CHECKINS:
        return _owner_checkins(owner.checkins, settings, now, full)
    if owner is not None and name == CUSTOMERS:
        return _customers(owner.customers, settings, now, full)
    if name == REQUESTS:
        return _rep(home.rep, settings, now, full=full)
    return [section("That list is not on your Home any more.")]


# -- small pieces ---------------------------------------------------------------------------------------


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "at an unknown time"
    days = (now - moment).days
    if days <= 0:
        return "today"
    return "yesterday" if days == 1 else f"{days} days ago"


def _money(amount: Decimal) -> str:
    return f"{amount:,.0f}"


def _title(name: str, total: int) -> Block:
    return header(f"{TITLES[name]} · {total:,}")


def _lines(lines: list[str]) -> list[Block]:
    """Lines packed into as few sections as fit Slack's text limit."""
    blocks: list[Block] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > SECTION_CHARS:
            blocks.append(section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line[:SECTION_CHARS])
        size += len(line) + 1
    if chunk:
        blocks.append(section("\n".join(chunk)))
    return blocks


def _more(shown: Shown[Any], name: str, full: bool, what: str, hint: str = "") -> list[Block]:
    """ "N more" under a list: a *Show all* button on the Home; on the full page, where the rest are."""
    if not shown.more:
        return []
    text = f"… and {shown.more:,} more {what}."
    if full:
        return [context(f"{text} {hint}".strip())]
    return [section(text, accessory=button("Show all", ids.for_item(ids.HOME_EXPAND, name), name))]


def _confirm(title: str, text: str, yes: str) -> dict[str, Any]:
    return {"title": plain(title, 100), "text": plain(text, 300), "confirm": plain(yes, 30), "deny": plain("Back", 30)}


# -- managers -------------------------------------------------------------------------------------------


def _manager(manager: ManagerHome, settings: Settings, now: datetime) -> list[Block]:
    queue = _queue(manager.queue, settings, now, full=False)
    if manager.nominations is not None:
        queue += nomination_views.home_section(manager.nominations.items, manager.nominations.total)
    facts = manager.facts
    if facts is None:
        gathering = (
            ":hourglass_flowing_sand: Gathering check-ins awaiting answers, at-risk customers, expiring consents "
            "and this quarter's numbers: they appear here in a moment."
        )
        return [*queue, section(gathering), _import_button()]
    return [
        *queue,
        *_awaiting(facts.checkins, settings, now, full=False),
        *_at_risk(facts.at_risk, now, full=False),
        *_consents(facts.consents, now, settings, full=False),
        *_headline(facts.headline, settings),
        _import_button(),
    ]


def _import_button() -> Block:
    """A manager's way to bring a customer list in from Slack (the same import as `refbot import`)."""
    return actions("home.import", button("Import a list", ids.IMPORT_OPEN, "open"))


def _queue(queue: Shown[QueueItem], settings: Settings, now: datetime, full: bool) -> list[Block]:
    blocks = [_title(QUEUE, queue.total)]
    if not queue.items:
        return [*blocks, section(":white_check_mark: No request is waiting for a decision.")]
    for item in queue.items:
        blocks += _queue_item(item, settings, now)
    return blocks + _more(queue, QUEUE, full, "waiting (oldest first above)", "Each has its card in your DMs.")


def _queue_item(item: QueueItem, settings: Settings, now: datetime) -> list[Block]:
    request = item.request
    ref_type = RefType(request.ref_type)
    needed = f" · needed by {request.needed_by.isoformat()}" if request.needed_by else ""
    head = (
        f"*#{request.id} · {safe(request.prospect, 150)}* · {ref_type.label} · from {mention(request.requester_id)}"
        f" · requested {_ago(request.created_at, now)}{needed}"
    )
    top = item.top
    waiting = item.waiting_on
    if request.status == RequestStatus.AWAITING_CHECKIN:
        who = safe(waiting.customer.name, 150) if waiting else "the picked customer"
        asked = f" (asked {_ago(waiting.asked_at, now)})" if waiting else ""
        owner = mention(waiting.asked_of) if waiting else "its account owner"
        detail = f":hourglass_flowing_sand: Waiting for {owner} to confirm *{who}* is happy{asked}."
    elif top is not None:
        fits = f" · {top.score:.0f}% fit ({safe(', '.join(top.fits), 300)})" if top.fits else ""
        later = " · its owner is asked first" if top.needs_checkin else ""
        detail = f":trophy: Best usable candidate: *{safe(top.name, 150)}*{fits}{later}"
    elif not item.ranked:
        detail = ":mag: Candidates still being ranked here; they are on the request's card in your DMs."
    else:
        detail = ":mag: No candidate can be used as things stand: see the card in your DMs, or decline."
    elements = []
    if top is not None and request.status == RequestStatus.SUBMITTED:
        label = "Approve (after check-in)" if top.needs_checkin else "Approve"
        elements.append(
            button(
                f"{label}: {clip(top.name, 40)}",
                ids.for_item(ids.APPROVE, f"{request.id}_{top.customer_id}"),
                f"{request.id}:{top.customer_id}",
                style="primary",
                confirm=_confirm(
                    "Approve this request?",
                    f"Request #{request.id} for {request.prospect}: {top.name}"
                    + (" (once its owner confirms it is happy)." if top.needs_checkin else "."),
                    "Approve",
                ),
            )
        )
    elements.append(button("Decline…", ids.for_item(ids.DECLINE, request.id), str(request.id), style="danger"))
    return [section(f"{head}\n{detail}"), actions(f"home.queue:{request.id}", *elements)]


def _awaiting(checkins: Shown[AwaitingCheckin], settings: Settings, now: datetime, full: bool) -> list[Block]:
    blocks = [_title(CHECKINS, checkins.total)]
    if not checkins.items:
        return [*blocks, section(":white_check_mark: Every check-in has been answered.")]
    lines = []
    for checkin in checkins.items:
        why = f"for request #{checkin.request_id}" if checkin.request_id else "periodic check-in"
        reminded = " · reminded" if checkin.reminded else ""
        lines.append(
            f"• *{safe(checkin.customer, 150)}* · asked {mention(checkin.asked_of)} "
            f"{_ago(checkin.asked_at, now)} · {why}{reminded}"
        )
    return blocks + _lines(lines) + _more(checkins, CHECKINS, full, "check-ins waiting")


def _risk_line(risk: AtRisk, now: datetime) -> str:
    name = f"*{safe(risk.name, 150)}*"
    owner = f" · owner {mention(risk.owner)}" if risk.owner else " · no owner"
    nps = f", NPS {risk.nps}" if risk.nps is not None else ""
    if risk.unanswered_since is not None:
        last = (
            f"last {Happiness(risk.answer).label} {_ago(risk.answered_at, now)}" if risk.answer else "never checked in"
        )
        return (
            f"• :hourglass: {name} · stale ({last}) · check-in unanswered for "
            f"{max((now - risk.unanswered_since).days, 0)} days{owner}"
        )
    answer = Happiness(risk.answer) if risk.answer else Happiness.UNHAPPY
    if answer == Happiness.HAPPY:
        return f"• :large_orange_circle: {name} · Happy but NPS {risk.nps} · {_ago(risk.answered_at, now)}{owner}"
    return f"• {ANSWER_DOT[answer]} {name} · {answer.label}{nps} · {_ago(risk.answered_at, now)}{owner}"


def _at_risk(risks: Shown[AtRisk], now: datetime, full: bool) -> list[Block]:
    blocks = [_title(AT_RISK, risks.total)]
    if not risks.items:
        return [*blocks, section(":large_green_circle: No customer is at risk.")]
    return blocks + _lines([_risk_line(r, now) for r in risks.items]) + _more(risks, AT_RISK, full, "at risk")


def _consents(consents: Shown[ExpiringConsent], now: datetime, settings: Settings, full: bool) -> list[Block]:
    blocks = [_title(CONSENTS, consents.total)]
    if not consents.items:
        days = settings.consent_notice_days
        return [*blocks, section(f":white_check_mark: No public-use consent expires in the next {days} days.")]
    today = now.astimezone(settings.tz).date()
    lines = []
    for consent in consents.items:
        days = (consent.expires_on - today).days
        left = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        who = f" · approved by {safe(approver_words(consent.approved_by), 100)}" if consent.approved_by else ""
        lines.append(
            f"• *{safe(consent.name, 150)}* · {RefType(consent.ref_type).label} consent expires "
            f"{consent.expires_on.isoformat()} ({left}){who}"
        )
    return blocks + _lines(lines) + _more(consents, CONSENTS, full, "expiring")


def _headline(numbers: Headline, settings: Settings) -> list[Block]:
    fields = [
        ("Requests", f"{numbers.requests:,}"),
        ("Approved", f"{numbers.approved:,}"),
        ("Completed", f"{numbers.completed:,}"),
        ("Helped the deal", f"{numbers.helped:,}"),
        ("Amount influenced", _money(numbers.influenced)),
    ]
    since = numbers.since.astimezone(settings.tz).date().isoformat()
    return [
        header(f"{numbers.quarter} so far"),
        {"type": "section", "fields": [md(f"*{label}*\n{value}") for label, value in fields]},
        context(f"Since {since} ({settings.timezone}): requests made, approved, completed with an outcome."),
    ]


# -- account owners -------------------------------------------------------------------------------------


def _owner(owner: OwnerHome, settings: Settings, now: datetime) -> list[Block]:
    blocks: list[Block] = []
    if owner.checkins.total:
        blocks += _owner_checkins(owner.checkins, settings, now, full=False)
    return blocks + _customers(owner.customers, settings, now, full=False)


def _owner_checkins(checkins: Shown[CheckIn], settings: Settings, now: datetime, full: bool) -> list[Block]:
    """The same one-click answers as the check-in DM (and the same actions): answered here, updated there."""
    blocks = [_title(OWNER_CHECKINS, checkins.total)]
    if not checkins.items:
        return [*blocks, section(":white_check_mark: Nothing waits for your answer.")]
    for checkin in checkins.items:
        customer = checkin.customer
        if customer.last_checkin_at is None or customer.last_checkin_answer is None:
            last = "never checked in"
        else:
            last = f"last: {customer.last_checkin_answer.label}, {_ago(customer.last_checkin_at, now)}"
        why = " · before it is used as a reference" if checkin.request_id else ""
        blocks.append(
            section(f"Is *{safe(customer.name, 150)}* still happy? · {last} · asked {_ago(checkin.asked_at, now)}{why}")
        )
        blocks.append(
            actions(f"home.checkin:{checkin.id}", *answer_buttons(checkin.id, in_list=True))
        )
    return blocks + _more(checkins, OWNER_CHECKINS, full, "waiting for you", "They are in your DMs too.")


def _health(customer: CustomerHealth, now: datetime) -> str:
    name = f"*{safe(customer.name, 150)}*"
    waiting = " · :hourglass: check-in waiting for you" if customer.waiting else ""
    if customer.answer is None:
        return f"• :white_circle: {name} · never checked in{waiting}"
    answer = Happiness(customer.answer)
    when_ = _ago(customer.answered_at, now)
    if customer.stale:
        return f"• :white_circle: {name} · stale: last {answer.label} {when_}{waiting}"
    nps = f", NPS {customer.nps}" if customer.nps is not None else ""
    return f"• {ANSWER_DOT[answer]} {name} · {answer.label} {when_}{nps}{waiting}"


def _customers(customers: Shown[CustomerHealth], settings: Settings, now: datetime, full: bool) -> list[Block]:
    blocks = [_title(CUSTOMERS, customers.total)]
    lines = [_health(c, now) for c in customers.items]
    hint = "`/reference find owner:me` lists them all."
    return blocks + _lines(lines) + _more(customers, CUSTOMERS, full, "customers (the least happy first above)", hint)


# -- requesters -----------------------------------------------------------------------------------------


def _request_head(item: RepRequest, now: datetime) -> str:
    request = item.request
    return (
        f"*#{request.id} · {safe(request.prospect, 150)}* · {RefType(request.ref_type).label}"
        f" · {_ago(request.created_at, now).replace('today', 'sent today')}"
    )


def _rep_line(item: RepRequest, settings: Settings, now: datetime) -> str:
    request = item.request
    status = request.status
    customer = f" *{safe(request.customer.name, 150)}*" if request.customer else ""
    if status == RequestStatus.APPROVED:
        due = f" · tell us how it went after {item.due_at.astimezone(settings.tz).date()}" if item.due_at else ""
        return f"• :white_check_mark: {_request_head(item, now)} · approved:{customer}{due}"
    if status == RequestStatus.COMPLETED:
        outcome = f": {Outcome(request.outcome).label}" if request.outcome else ""
        return f"• :checkered_flag: {_request_head(item, now)} · completed{outcome}"
    if status == RequestStatus.DECLINED:
        return f"• :x: {_request_head(item, now)} · declined by {mention(request.decided_by)}"
    return f"• :no_entry_sign: {_request_head(item, now)} · cancelled"


def _cancel_button(request_id: int, prospect: str) -> Block:
    return button(
        "Cancel request",
        ids.for_item(ids.CANCEL, request_id),
        str(request_id),
        confirm=_confirm(
            "Cancel this request?", f"Request #{request_id} for {prospect} will be withdrawn.", "Cancel it"
        ),
    )


def _rep_item(item: RepRequest, now: datetime) -> list[Block]:
    """A request that needs something from its requester: the outcome to report, or a pending one to cancel."""
    request = item.request
    if item.outcome_due:
        customer = f" with *{safe(request.customer.name, 150)}*" if request.customer else ""
        text = f"{_request_head(item, now)}{customer}\n:memo: *How did it go?* One click tells the reference team."
        return [section(text), actions(f"home.outcome:{request.id}", *outcome_buttons(request.id, in_list=True))]
    if request.status == RequestStatus.AWAITING_CHECKIN:
        state = ":hourglass_flowing_sand: a customer was picked; its account owner is confirming they're happy"
    else:
        state = ":hourglass: waiting for a reference manager"
    return [
        section(f"{_request_head(item, now)}\n{state}", accessory=_cancel_button(request.id, request.prospect)),
    ]


def _rep(rep: RepHome, settings: Settings, now: datetime, *, full: bool) -> list[Block]:
    blocks: list[Block] = [
        _title(REQUESTS, rep.requests.total),
        actions("home.new", button("New reference request", ids.NEW_REQUEST, "new", style="primary")),
    ]
    if not rep.requests.items:
        return [
            *blocks,
            section("You have no reference requests yet. Need a happy customer to talk to a prospect? Ask here."),
        ]
    pending_lines: list[str] = []
    for item in rep.requests.items:
        if item.outcome_due or item.request.status.is_open:
            blocks += _lines(pending_lines)
            pending_lines = []
            blocks += _rep_item(item, now)
        else:
            pending_lines.append(_rep_line(item, settings, now))
    blocks += _lines(pending_lines)
    return blocks + _more(rep.requests, REQUESTS, full, "requests", "`/reference mine` lists your latest.")
