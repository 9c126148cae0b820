"""What people see about customers: find results, the profile, can-use answers, and the add/edit form.

Every string that came from a person or a spreadsheet goes through `escape`/`safe`/`plain`, and every
message is built to stay within Block Kit's limits (50 blocks, 3000 characters a section) whatever
the data holds: lists are cut with "…and N more" rather than truncated mid-entity or rejected by Slack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot import ids
from bot.customers import (
    LIMITS,
    MAX_QUERY,
    MAX_RESOLVABLE,
    PAGE_SIZE,
    SEVERITIES,
    CanUse,
    Profile,
    Saved,
    SearchPage,
    SearchResult,
    answered_checkins,
    consent_block,
    contacts_text,
    list_text,
    open_incidents,
)
from bot.customers.query import USER_ID
from bot.settings import Settings
from bot.views.audit import change_sentence
from bot.views.forms import modal, notice, text_input
from bot.views.incidents import profile_buttons as incident_buttons
from bot.views.text import (
    actions,
    approver_words,
    button,
    clip,
    context,
    divider,
    escape,
    header,
    md,
    mention,
    plain,
    plural,
    quote,
    safe,
    section,
    when,
)
from models import AuditEntry, Consent, Customer
from models.enums import MARKETING_TYPES, Happiness, Outcome, RefType

Message = dict[str, Any]

SECTION_BUDGET = 2900  # a section's text may hold 3000; keep a margin for the "…and N more" line
_HAPPINESS_EMOJI = {
    Happiness.HAPPY: ":large_green_circle:",
    Happiness.CONCERNS: ":large_yellow_circle:",
    Happiness.UNHAPPY: ":red_circle:",
}


# -- small pieces shared by find, show and can-use ----------------------------------------------------


def _ago(moment: datetime, now: datetime) -> str:
    days = (now - moment).days
    if days <= 0:
        return "today"
    return f"{days} day{'s' if days != 1 else ''} ago"


def _happiness(value: str | None) -> Happiness | None:
    try:
        return Happiness(value or "")
    except ValueError:
        return None


def health_badge(customer: Customer, settings: Settings, now: datetime) -> str:
    """Happy N days ago / stale / unhappy, from the latest answered check-in."""
    answer = _happiness(customer.last_checkin_answer)
    if customer.last_checkin_at is None or answer is None:
        return ":white_circle: never checked in"
    ago = _ago(customer.last_checkin_at, now)
    if (now - customer.last_checkin_at).days > settings.checkin_max_age_days:
        return f":hourglass: stale: {answer.label.lower()} {ago}"
    return f"{_HAPPINESS_EMOJI[answer]} {answer.label.lower()} {ago}"


def fatigue(uses: int, settings: Settings) -> str:
    mark = ":warning: " if uses >= settings.fatigue_limit else ""
    return f"{mark}used {uses}× in {settings.fatigue_window_days} days (limit {settings.fatigue_limit})"


def _consent_state(consent: Consent, today: date) -> str:
    if consent.expires_on is not None and consent.expires_on < today:
        return f"expired {consent.expires_on.isoformat()}"
    if consent.expires_on is not None:
        return f"until {consent.expires_on.isoformat()}"
    return "no expiry"


def consents_summary(customer: Customer, today: date) -> str:
    if not customer.consents:
        return "no public-use consent on record"
    parts = []
    for consent in customer.consents:
        label = _type_label(consent.ref_type)
        parts.append(f"{label} ({_consent_state(consent, today)})")
    return "Consents: " + ", ".join(parts)


def _type_label(value: str) -> str:
    try:
        return RefType(value).label
    except ValueError:
        return escape(value[:30])


def _lines_within(lines: Sequence[str], budget: int = SECTION_BUDGET, more: int = 0) -> str:
    """Lines joined while they fit `budget` characters; the rest counted in a final "…and N more"."""
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget - 40:
            break
        kept.append(line)
        used += len(line) + 1
    hidden = len(lines) - len(kept) + more
    if hidden > 0:
        kept.append(f"_…and {hidden} more_")
    return "\n".join(kept)


def _facts(customer: Customer) -> str:
    return " · ".join(safe(v, 60) for v in (customer.industry, customer.region, customer.segment) if v)


# -- /reference find -----------------------------------------------------------------------------------


def page_value(query: str, offset: int) -> str:
    """A Next/Previous button's value: the query and where the page starts (re-parsed on click)."""
    return json.dumps({"q": query[:MAX_QUERY], "o": offset}, ensure_ascii=False)


def read_page_value(value: object) -> tuple[str, int] | None:
    """The query and offset from a Next/Previous button, or None when the value is not one of ours."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    query, offset = data.get("q"), data.get("o")
    if not isinstance(query, str) or not isinstance(offset, int) or isinstance(offset, bool):
        return None
    if not 0 <= offset <= 100_000 or len(query) > MAX_QUERY:
        return None
    return query, offset


def _result_blocks(rank: int, result: SearchResult, page: SearchPage, settings: Settings, now: datetime) -> list[Any]:
    customer = result.customer
    verdict = result.assessment
    today = now.astimezone(settings.tz).date()
    facts = _facts(customer)
    lines = [f"*{rank}. {safe(customer.name, 150)}*" + (f"  ·  {facts}" if facts else "")]
    if customer.domain:
        lines[0] += f"  ·  {safe(customer.domain, 80)}"
    if result.fits:
        lines.append(f":dart: Fits: {safe(', '.join(result.fits), 300)}")
    ref_type = page.query.ref_type
    if ref_type is not None:
        if verdict.blockers:
            lines.append(f":no_entry: Not for a {ref_type.label.lower()}: {safe(verdict.blockers[0], 300)}")
            if len(verdict.blockers) > 1:
                lines.append(f"_…and {plural(len(verdict.blockers) - 1, 'more reason')}_")
        elif verdict.needs_checkin:
            lines.append(f":hourglass: {ref_type.label}: possible once the owner confirms they're happy")
        else:
            lines.append(f":white_check_mark: Can be used for a {ref_type.label.lower()}")
    else:
        lines += [f":no_entry: {safe(b, 300)}" for b in verdict.blockers[:2]]
    if customer.notes:
        lines.append(f"_{safe(' '.join(customer.notes.split()), 200)}_")
    owner = f"Owner {mention(customer.owner_slack_id)}" if customer.owner_slack_id else "No owner"
    blocks: list[Any] = [
        section("\n".join(lines)),
        context(
            health_badge(customer, settings, now),
            fatigue(verdict.uses_in_window, settings),
            safe(consents_summary(customer, today), 600),
            owner,
        ),
        actions(
            f"customer:{customer.id}",
            button(
                "Request this reference",
                ids.for_item(ids.CUSTOMER_REQUEST, customer.id),
                str(customer.id),
                style="primary" if verdict.eligible else None,
            ),
            button("Profile", ids.for_item(ids.CUSTOMER_PROFILE, customer.id), str(customer.id)),
        ),
    ]
    return blocks


def find_results(page: SearchPage, settings: Settings, now: datetime) -> Message:
    """One page of `/reference find`: at most 10 customers × 3 blocks + 3, well within 50 blocks."""
    shown = f"“{safe(page.query.text, 300)}”"
    if not page.results:
        return {
            "text": f"No customer matches {shown}",
            "blocks": [
                section(
                    f":mag: No customer matches {shown}. Try fewer words, or facets such as "
                    "`industry:fintech`, `region:emea`, `product:payments`, `type:case_study`."
                )
            ],
        }
    first, last = page.offset + 1, page.offset + len(page.results)
    noun = "customer matches" if page.total == 1 else "customers match"
    head = f":mag: *{page.total:,} {noun}* {shown} · showing {first}–{last}"
    if page.query.ref_type is not None:
        head += f" · those usable for a *{page.query.ref_type.label.lower()}* first"
    if page.ranked < page.total:
        head += f"\n_Only the best {page.ranked} can be paged through; add words or facets to narrow it down._"
    blocks: list[Any] = [section(head)]
    for rank, result in enumerate(page.results, start=first):
        blocks += _result_blocks(rank, result, page, settings, now)
    nav = []
    if page.has_previous:
        nav.append(
            button(
                "Previous 10",
                ids.for_item(ids.CUSTOMER_FIND_PAGE, "previous"),
                page_value(page.query.text, max(0, page.offset - PAGE_SIZE)),
            )
        )
    if page.has_next:
        nav.append(
            button(
                f"Next {min(PAGE_SIZE, page.ranked - last)}",
                ids.for_item(ids.CUSTOMER_FIND_PAGE, "next"),
                page_value(page.query.text, page.offset + PAGE_SIZE),
            )
        )
    if nav:
        blocks.append(actions("find_pages", *nav))
    text = f"{page.total} {noun} {escape(clip(page.query.text, 200))} (showing {first}–{last})"
    return {"text": text, "blocks": blocks}


def did_you_mean(typed: str, choices: Sequence[Customer]) -> Message:
    """Several customers are about as close to what was typed: one Profile button each."""
    names = [f"*{safe(c.name, 100)}*" + (f" ({safe(c.domain, 60)})" if c.domain else "") for c in choices]
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    blocks = [
        section(f":thinking_face: “{safe(typed, 200)}” could be several customers. Did you mean {listed}?"),
        actions(
            "did_you_mean",
            *[button(clip(c.name, 60), ids.for_item(ids.CUSTOMER_PROFILE, c.id), str(c.id)) for c in choices[:5]],
        ),
    ]
    return {"text": f"Did you mean {', '.join(escape(clip(c.name, 60)) for c in choices)}?", "blocks": blocks}


# -- /reference show -------------------------------------------------------------------------------------


def _use_line(item: Any, settings: Settings) -> str:
    use, request = item.use, item.request
    label = _type_label(use.ref_type)
    day = use.used_at.astimezone(settings.tz).date().isoformat()
    line = f"{day} · {label}"
    if request is not None:
        status = request.status.value.replace("_", " ")
        line += f" for *{safe(request.prospect, 100)}* · #{request.id} {status}"
        if request.outcome:
            line += f" · outcome: {Outcome(request.outcome).label}"
            if request.deal_won is not None:
                line += " (deal won)" if request.deal_won else " (deal lost)"
            if request.feedback:
                line += f" · “{safe(' '.join(request.feedback.split()), 150)}”"
    if not use.counted:
        line += " · _not counted_"
    return line


def _change_line(entry: AuditEntry, settings: Settings) -> str:
    return f"{when(entry.at, settings.tz)} · {change_sentence(entry)}"


def profile(
    p: Profile, settings: Settings, now: datetime, *, is_manager: bool, may_record_incidents: bool = False
) -> Message:
    """`/reference show`: the whole record in at most 13 blocks, each within its limits. `may_record_incidents`
    (a manager or the account owner) adds *Record incident* / *Resolve incident…*."""
    customer = p.customer
    verdict = p.assessment
    today = now.astimezone(settings.tz).date()
    referenceable = "yes" if customer.referenceable else f"*no*: {safe(customer.not_referenceable_reason, 300)}"
    owner = mention(customer.owner_slack_id) if customer.owner_slack_id else safe(customer.owner_email or "—", 200)
    pairs = [
        ("Domain", safe(customer.domain or "—", 300)),
        ("Industry", safe(customer.industry or "—", 300)),
        ("Region", safe(customer.region or "—", 300)),
        ("Segment", safe(customer.segment or "—", 300)),
        ("Products", safe(list_text(customer.products or []) or "—", 600)),
        ("Topics", safe(list_text(customer.topics or []) or "—", 600)),
        ("Owner", owner),
        ("Referenceable", referenceable),
        ("Health", health_badge(customer, settings, now)),
        ("Fatigue", fatigue(verdict.uses_in_window, settings)),
    ]
    blocks: list[Any] = [
        header(customer.name),
        {"type": "section", "fields": [md(f"*{label}*\n{value}") for label, value in pairs]},
    ]
    if verdict.blockers:
        blocks.append(context(*[f":no_entry: {safe(blocker, 500)}" for blocker in verdict.blockers[:5]]))
    if customer.guidance:
        blocks.append(section(f"*Guidance for reps*\n{quote(customer.guidance, 1200)}"))
    if customer.notes:
        blocks.append(section(f"*Notes*\n{quote(customer.notes, 1200)}"))

    primary = customer.primary_contact
    contact_lines = []
    for contact in sorted(customer.contacts, key=lambda c: (c is not primary, c.id)):
        line = f"• {safe(contact.display_name, 150)}"
        if contact.title:
            line += f", {safe(contact.title, 150)}"
        if contact.email and contact.name:  # a nameless contact is already shown by its e-mail
            line += f" · {safe(contact.email, 200)}"
        if contact is primary:
            line += " _(primary)_"
        contact_lines.append(line)
    blocks.append(section("*Contacts*\n" + (_lines_within(contact_lines) if contact_lines else "None on record.")))

    consent_lines = []
    for consent in customer.consents:
        expired = consent.expires_on is not None and consent.expires_on < today
        mark = ":warning: " if expired else ":white_check_mark: "
        line = f"{mark}*{_type_label(consent.ref_type)}*: approved by {safe(approver_words(consent.approved_by), 200)}"
        if consent.approved_on:
            line += f" on {consent.approved_on.isoformat()}"
        line += f" · {'*' + _consent_state(consent, today) + '*' if expired else _consent_state(consent, today)}"
        line += f" · recorded by {mention(consent.recorded_by)}"
        consent_lines.append(line)
    blocks.append(
        section(
            "*Consents for public use*\n"
            + (_lines_within(consent_lines) if consent_lines else "None on record: no public use is allowed.")
        )
    )

    answered = answered_checkins(customer)
    checkin_lines = []
    for checkin in answered[:5]:
        answer = _happiness(checkin.answer)
        label = answer.label if answer else escape(str(checkin.answer))
        emoji = _HAPPINESS_EMOJI.get(answer, "") if answer else ""
        line = f"{emoji} {checkin.answered_at.astimezone(settings.tz).date().isoformat()} · {label}"  # type: ignore[union-attr]
        if checkin.nps is not None:
            line += f" · NPS {checkin.nps}"
        line += f" · {mention(checkin.answered_by)}"
        if checkin.note:
            line += f" · “{safe(' '.join(checkin.note.split()), 300)}”"
        checkin_lines.append(line)
    blocks.append(
        section(
            "*Check-ins*\n"
            + (_lines_within(checkin_lines, more=max(0, len(answered) - 5)) if checkin_lines else "None answered yet.")
        )
    )

    still_open = open_incidents(customer)
    resolved = sorted((i for i in customer.incidents if i.resolved), key=lambda i: (i.occurred_on, i.id), reverse=True)
    incident_lines = [
        f"{':rotating_light: *open*' if not i.resolved else ':heavy_check_mark: resolved'} · "
        f"{i.occurred_on.isoformat()} · {safe(i.severity, 20)} · {safe(' '.join(i.summary.split()), 300)}"
        for i in [*still_open, *resolved]
    ]
    blocks.append(section("*Incidents*\n" + (_lines_within(incident_lines) if incident_lines else "None on record.")))

    use_lines = [f"• {_use_line(item, settings)}" for item in p.uses]
    blocks.append(
        section(
            f"*Past uses* ({p.uses_total})\n"
            + (_lines_within(use_lines, more=p.uses_total - len(p.uses)) if use_lines else "Never used yet.")
        )
    )

    change_lines = [f"• {_change_line(entry, settings)}" for entry in p.changes]
    blocks.append(
        section(
            "*Recent changes*\n"
            + (
                _lines_within(change_lines, more=p.changes_total - len(p.changes))
                if change_lines
                else "No changes recorded."
            )
        )
    )
    buttons = [
        button(
            "Request this reference",
            ids.for_item(ids.CUSTOMER_REQUEST, customer.id),
            str(customer.id),
            style="primary",
        )
    ]
    if is_manager:
        buttons.append(button("Edit", ids.CUSTOMER_EDIT, str(customer.id)))
    if may_record_incidents:
        buttons += incident_buttons(customer)
    blocks.append(actions(f"profile:{customer.id}", *buttons))
    return {"text": f"Customer profile: {escape(clip(customer.name, 200))}", "blocks": blocks}


# -- /reference can-use ------------------------------------------------------------------------------------


def _checkin_words(result: CanUse, now: datetime) -> str:
    last = result.assessment.last_checkin
    if last is None or last.answered_at is None:
        return "never checked in"
    answer = _happiness(last.answer)
    return f"last check-in {_ago(last.answered_at, now)} ({answer.label if answer else '?'})"


def can_use_message(result: CanUse, settings: Settings, now: datetime) -> Message:
    """Yes / No / Not yet, with the reason and where it comes from (who approved, who recorded it)."""
    customer, verdict, ref_type = result.customer, result.assessment, result.ref_type
    name = f"*{safe(customer.name, 200)}*"
    use = ref_type.label.lower()
    lines: list[str] = []
    if result.answer == "no":
        head = f":no_entry: *No:* {safe(verdict.blockers[0], 600)}"
        lines += [f"• {safe(b, 400)}" for b in verdict.blockers[1:6]]
        text = f"No: {escape(clip(verdict.blockers[0], 300))}"
    elif result.answer == "not_yet":
        owner = mention(customer.owner_slack_id)
        head = (
            f":hourglass: *Not yet:* {name} needs a check-in first ({_checkin_words(result, now)}). "
            f"{owner} will be asked to confirm they're happy when a manager approves a {use}."
        )
        text = f"Not yet: {escape(clip(customer.name, 100))} needs a check-in first"
    else:
        head = f":white_check_mark: *Yes:* {name} can be used for a {use}."
        text = f"Yes: {escape(clip(customer.name, 100))} can be used for a {use}"
        last = verdict.last_checkin
        if last is not None and last.answered_at is not None:
            lines.append(f"• Happy at the check-in {_ago(last.answered_at, now)} ({mention(last.answered_by)})")
    consent = result.consent
    if consent is not None and (result.answer != "no" or any("consent" in b for b in verdict.blockers)):
        source = f"Consent on record: approved by {safe(approver_words(consent.approved_by), 200)}"
        if consent.approved_on:
            source += f" on {consent.approved_on.isoformat()}"
        source += f", {_consent_state(consent, now.astimezone(settings.tz).date())}"
        source += f"; recorded by {mention(consent.recorded_by)} {when(consent.recorded_at, settings.tz)}"
        lines.append(f"• {source}")
    if result.answer != "no":
        lines.append(f"• {fatigue(verdict.uses_in_window, settings)}")
        lines += [f":warning: {safe(w, 400)}" for w in verdict.warnings[:3] if "will be asked first" not in w]
    blocks: list[Any] = [section(head)]
    if lines:
        blocks.append(section(_lines_within(lines)))
    return {"text": text, "blocks": blocks}


def can_use_choices(typed: str, choices: Sequence[Customer], ref_type: RefType | None) -> Message:
    names = [f"*{safe(c.name, 100)}*" + (f" (`{safe(c.domain, 60)}`)" if c.domain else "") for c in choices]
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    example = next((c.domain for c in choices if c.domain), None)
    kind = ref_type.value if ref_type else RefType.CASE_STUDY.value
    hint = f" Be exact with the domain, e.g. `/reference can-use {safe(example, 80)} {kind}`." if example else ""
    return {
        "text": "Which customer did you mean?",
        "blocks": [section(f":thinking_face: “{safe(typed, 200)}” could be {listed}.{hint}")],
    }


def can_use_which_type(typed: str, customer: Customer) -> Message:
    """`/reference can-use Acme Corp` names a customer and no kind of use: ask which, with the kinds to pick."""
    kinds = ", ".join(f"`{t.value}`" for t in RefType)
    return {
        "text": f"Which kind of use of {escape(clip(customer.name, 100))}?",
        "blocks": [
            section(
                f":thinking_face: Which kind of use of *{safe(customer.name, 200)}* do you mean? Name a customer "
                f"and a kind of use, e.g. `/reference can-use {safe(typed, 100)} case_study`. The kinds: {kinds}."
            )
        ],
    }


# -- the add/edit form -------------------------------------------------------------------------------------


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label, 75), "value": value}


def _datepicker(block_id: str, label: str, initial: date | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "datepicker", "action_id": block_id}
    if initial is not None:
        element["initial_date"] = initial.isoformat()
    return {"type": "input", "block_id": block_id, "optional": True, "label": plain(label, 2000), "element": element}


def customer_modal(customer: Customer | None, *, name: str = "", fingerprint: str | None = None) -> dict[str, Any]:
    """Add (no customer) or edit: fields, contacts, consent per public type, incidents. At most 53 blocks."""
    c = customer
    referenceable = c.referenceable if c is not None else True
    yes, no = _option("yes", "Yes: they may be asked"), _option("no", "No: do not ask them")
    owner: dict[str, Any] = {"type": "users_select", "action_id": "owner", "placeholder": plain("Pick a person", 150)}
    if c is not None and c.owner_slack_id and USER_ID.fullmatch(c.owner_slack_id):  # a Slack ID, nothing else
        owner["initial_user"] = c.owner_slack_id
    shown = {key: (getattr(c, key) or "") if c else "" for key in ("domain", "industry", "region", "segment")}
    listed = {key: list_text(getattr(c, key) or []) if c else "" for key in ("products", "topics")}
    plain_fields = (
        ("domain", "Domain", shown, "e.g. acme.com"),
        ("industry", "Industry", shown, ""),
        ("region", "Region", shown, "e.g. EMEA"),
        ("segment", "Segment", shown, "e.g. Enterprise"),
        ("products", "Products", listed, "Comma-separated."),
        ("topics", "Topics they can speak to", listed, "Comma-separated, e.g. migration, SSO."),
    )
    blocks: list[dict[str, Any]] = [
        text_input("name", "Customer name", initial=c.name if c else name, limit=LIMITS["name"], optional=False),
        *(
            text_input(key, label, initial=values[key], limit=LIMITS[key], hint=hint)
            for key, label, values, hint in plain_fields
        ),
        {
            "type": "input",
            "block_id": "owner",
            "optional": True,
            "label": plain("Account owner (answers the happiness check-ins)", 2000),
            "element": owner,
        },
        {
            "type": "input",
            "block_id": "referenceable",
            "label": plain("Referenceable", 2000),
            "element": {
                "type": "radio_buttons",
                "action_id": "referenceable",
                "options": [yes, no],
                "initial_option": yes if referenceable else no,
            },
        },
        text_input(
            "reason",
            "Why not referenceable",
            initial=c.not_referenceable_reason if c else "",
            limit=LIMITS["reason"],
            hint="Required when they are not referenceable.",
        ),
        text_input(
            "guidance",
            "Guidance for reps",
            initial=c.guidance if c else "",
            limit=LIMITS["guidance"],
            multiline=True,
        ),
        text_input("notes", "Notes", initial=c.notes if c else "", limit=LIMITS["notes"], multiline=True),
        text_input(
            "contacts",
            "Contacts",
            initial=contacts_text(c),
            limit=LIMITS["contacts"],
            multiline=True,
            hint="One per line: Name | Title | email. The first is the primary contact.",
            placeholder="Jane Doe | VP Finance | jane@acme.com",
        ),
        divider(),
        section(
            "*Consent for public use* (SPEC rule 1): who at the customer approved each kind, when, and until when. "
            "Leave “approved by” empty for no consent; empty it to withdraw one."
        ),
    ]
    consents = {consent.ref_type: consent for consent in (c.consents if c else [])}
    for ref_type in MARKETING_TYPES:
        consent = consents.get(ref_type.value)
        blocks += [
            text_input(
                consent_block(ref_type, "by"),
                f"{ref_type.label}: approved by",
                initial=consent.approved_by if consent else "",
                limit=LIMITS["consent_by"],
                placeholder="Name and role at the customer, e.g. Carla Diaz (CMO)",
            ),
            _datepicker(
                consent_block(ref_type, "on"), f"{ref_type.label}: approved on", consent and consent.approved_on
            ),
            _datepicker(
                consent_block(ref_type, "until"),
                f"{ref_type.label}: expires on",
                consent and consent.expires_on,
            ),
        ]
    blocks += [divider(), section("*Incidents*")]
    still_open = open_incidents(c) if c else []
    if still_open:
        options = [
            _option(str(i.id), f"{i.occurred_on.isoformat()} · {i.severity} · {' '.join(i.summary.split())}")
            for i in still_open[:MAX_RESOLVABLE]
        ]
        hidden = len(still_open) - len(options)
        blocks.append(
            {
                "type": "input",
                "block_id": "resolve",
                "optional": True,
                "label": plain("Open incidents: tick the ones now resolved", 2000),
                "element": {"type": "checkboxes", "action_id": "resolve", "options": options},
                **({"hint": plain(f"{hidden} older open incidents are not shown.", 2000)} if hidden > 0 else {}),
            }
        )
    blocks += [
        _datepicker("incident_on", "New incident: date", None),
        {
            "type": "input",
            "block_id": "incident_severity",
            "optional": True,
            "label": plain("New incident: severity", 2000),
            "element": {
                "type": "static_select",
                "action_id": "incident_severity",
                "options": [_option(s, s.capitalize()) for s in SEVERITIES],
            },
        },
        text_input(
            "incident_summary",
            "New incident: what happened",
            limit=LIMITS["incident_summary"],
            multiline=True,
        ),
    ]
    metadata = {"customer_id": c.id if c else None, "fingerprint": fingerprint}
    title = "Edit customer" if c else "Add customer"
    return modal(ids.CUSTOMER_MODAL, title, "Save", blocks, close="Cancel", **metadata)


def saved_view(saved: Saved) -> dict[str, Any]:
    """What the form turns into once saved: what changed, and how to see the profile."""
    verb = "added" if saved.created else "saved"
    changes = [f"• {safe(line, 300)}" for line in saved.changes] or ["• Nothing changed."]
    return notice(
        "Customer saved",
        blocks=[
            section(f":white_check_mark: *{safe(saved.name, 200)}* is {verb}."),
            section(_lines_within(changes)),
            context(f"See the profile with `/reference show {safe(clip(saved.name, 100), 300)}`."),
        ],
    )
