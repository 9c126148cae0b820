"""What the program's reporting looks like: the weekly digest, `/reference stats`, and `/reference mine`.

The digest is one message, readable in ten seconds: the week against the week before, outcomes, the
chart, then what needs someone (fatigue, consents, health, requests waiting) and thanks. A quiet week
says so in each section instead of leaving it out, so the message never looks broken or empty.
Every name comes from a person and goes through `safe()`; every list is capped, so a message stays
within Slack's limits whatever the data.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from bot import ids
from bot.digest import LISTED, PERIOD_HELP, Counts, Digest, Timing
from bot.settings import Settings
from bot.views.program import program_sections
from bot.views.text import actions, button, context, divider, escape, header, mention, plain, safe, section, when
from models import ReferenceRequest
from models.enums import Happiness, Outcome, RefType, RequestStatus

Message = dict[str, Any]
NAME = 60  # characters of a customer's name in a list


def number(value: int) -> str:
    return f"{value:,}"


def money(value: Decimal) -> str:
    return f"{value:,.0f}"


def duration(hours: float | None) -> str:
    if hours is None:
        return "—"
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"
    return f"{hours / 24:.1f} days"


def _change(now: int, before: int) -> str:
    if now == before:
        return "="
    return f"▲{now - before}" if now > before else f"▼{before - now}"


def _versus(now: int, before: int, label: str) -> str:
    return f"*{number(now)}*  _{label}: {number(before)} ({_change(now, before)})_"


def _timing(now: Timing, before: Timing, label: str) -> str:
    if now.count == 0:
        line = "none this period"
    else:
        line = f"median *{duration(now.median_hours)}* · p90 {duration(now.p90_hours)} (n={now.count})"
    if before.count:
        line += f"\n_{label}: median {duration(before.median_hours)} · p90 {duration(before.p90_hours)}_"
    return line


def _more(shown: int, total: int) -> str:
    return f" and {number(total - shown)} more" if total > shown else ""


def _names(items: list[str], total: int | None = None) -> str:
    total = len(items) if total is None else total
    return ", ".join(items) + _more(len(items), total)


def _counts_fields(digest: Digest) -> list[dict[str, Any]]:
    now, before, label = digest.counts, digest.counts_before, digest.before.short
    return [
        {"type": "mrkdwn", "text": f"*Requests received*\n{_versus(now.received, before.received, label)}"},
        {"type": "mrkdwn", "text": f"*Approved*\n{_versus(now.approved, before.approved, label)}"},
        {"type": "mrkdwn", "text": f"*Declined*\n{_versus(now.declined, before.declined, label)}"},
        {"type": "mrkdwn", "text": f"*Completed*\n{_versus(now.completed, before.completed, label)}"},
        {
            "type": "mrkdwn",
            "text": f"*Request → decision*\n{_timing(digest.to_decision, digest.to_decision_before, label)}",
        },
        {
            "type": "mrkdwn",
            "text": f"*Request → fulfilment*\n{_timing(digest.to_fulfilment, digest.to_fulfilment_before, label)}",
        },
    ]


def _outcome_line(counts: Counts) -> str:
    return (
        f"*{number(counts.held)}* held: :large_green_circle: {number(counts.helped)} helped · "
        f":white_circle: {number(counts.neutral)} neutral · :red_circle: {number(counts.hurt)} hurt"
        + (f" · {number(counts.did_not_happen)} didn't happen" if counts.did_not_happen else "")
    )


def _span(digest: Digest) -> str:
    """ "in week 47" / "in Q4 2026": what the period-bound lines are about."""
    period = digest.period
    return (
        f"in week {int(period.label[-2:])}" if period.kind == "week" else f"in {period.short} {period.first_day.year}"
    )


def _outcomes(digest: Digest) -> str:
    counts = digest.counts
    lines = [f"*Outcomes {_span(digest)}*"]
    if counts.completed:
        lines.append(_outcome_line(counts))
        lines.append(
            f":trophy: *{number(counts.deals_won)}* deal{'s' if counts.deals_won != 1 else ''} won with a reference"
            f" · *{money(counts.amount_influenced)}* influenced"
        )
    else:
        lines.append("No outcomes were reported.")
    if digest.quarter is not None and digest.quarter_counts is not None:
        q = digest.quarter_counts
        lines.append(
            f"_{digest.quarter.short} {digest.quarter.first_day.year} to date: {number(q.held)} held · "
            f"{number(q.helped)} helped · {number(q.hurt)} hurt · {number(q.deals_won)} deals won · "
            f"{money(q.amount_influenced)} influenced_"
        )
    return "\n".join(lines)


def _type(ref_type: str) -> str:
    try:
        return RefType(ref_type).label.lower()
    except ValueError:
        return safe(ref_type, 30)


def _references(digest: Digest, settings: Settings) -> str:
    top = [f"{safe(c.name, NAME)} ({c.count}×)" for c in digest.top_references]
    lines = [
        f":star: *Top references, {digest.references_window}:* " + (_names(top) if top else "none used yet."),
    ]
    over = [f"{safe(c.name, NAME)} ({c.count}×)" for c in digest.over_limit]
    limit = f"{settings.fatigue_limit}+ uses in {settings.fatigue_window_days} days"
    lines.append(
        f":warning: *At or over the fatigue limit* ({limit}): "
        + (f"{number(digest.over_limit_total)}: {_names(over, digest.over_limit_total)}" if over else "none.")
    )
    expiring = [f"{safe(c.name, NAME)}'s {_type(c.ref_type)} on {c.expires_on.isoformat()}" for c in digest.expiring]
    lines.append(
        f":hourglass: *Consents expiring within {settings.consent_notice_days} days:* "
        + (_names(expiring, digest.expiring_total) if expiring else "none.")
    )
    return "\n".join(lines)


def _age(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never checked"
    return f"{max(0, (now - moment).days)} days ago"


def _health(digest: Digest, settings: Settings) -> str:
    now = digest.as_of
    lines = ["*Health*"]
    if digest.stale_total:
        stalest = [f"{safe(c.name, NAME)} ({_age(c.last_checkin_at, now)})" for c in digest.stale]
        lines.append(
            f":hourglass_flowing_sand: *{number(digest.stale_total)}* customer{'s' if digest.stale_total != 1 else ''}"
            f" with a stale check-in (older than {settings.checkin_max_age_days} days; "
            f"{number(digest.stale_asked)} asked already): {_names(stalest, digest.stale_total)}"
        )
    else:
        days = settings.checkin_max_age_days
        lines.append(f":white_check_mark: Every referenceable customer was checked in the last {days} days.")
    if digest.at_risk:
        risky = [
            f"{safe(c.name, NAME)} ({Happiness(c.answer).label}"
            + (f", NPS {c.nps}" if c.nps is not None else "")
            + f", owner {mention(c.owner)})"
            for c in digest.at_risk[:LISTED]
        ]
        lines.append(f":red_circle: *Marked unhappy or of concern:* {_names(risky, len(digest.at_risk))}")
    else:
        lines.append(":large_green_circle: Nobody was marked unhappy.")
    if digest.quiet_owners:
        quiet = [
            f"{mention(o.owner)} ({o.pending} check-in{'s' if o.pending != 1 else ''}, "
            f"asked {_age(o.oldest_asked_at, now)})"
            for o in digest.quiet_owners[:LISTED]
        ]
        days = 2 * settings.checkin_remind_days
        lines.append(
            f":zipper_mouth_face: *Owners not answering* ({days}+ days): {_names(quiet, len(digest.quiet_owners))}"
        )
    else:
        lines.append(":speech_balloon: Every owner has answered their check-ins.")
    return "\n".join(lines)


def _waiting(digest: Digest, settings: Settings) -> str:
    head = f"*Waiting longest* (past the {settings.approval_sla_hours} h approval target)"
    if not digest.waiting:
        return f"{head}\n:white_check_mark: No request is waiting past the target."
    lines = [head]
    for item in digest.waiting:
        hours = int((digest.as_of - item.created_at).total_seconds() // 3600)
        waited = f"{hours} h" if hours < 72 else f"{number(hours // 24)} days"
        state = (
            f"owner of {safe(item.customer, NAME)} asked to confirm"
            if item.status == RequestStatus.AWAITING_CHECKIN.value and item.customer
            else "waiting for a decision"
        )
        lines.append(
            f"• Request #{item.request_id} ({safe(item.prospect, NAME)}, {waited}) from {mention(item.requester)}"
            f" · {state}"
        )
    if digest.waiting_total > len(digest.waiting):
        lines.append(f"_…and {number(digest.waiting_total - len(digest.waiting))} more._")
    return "\n".join(lines)


def _thanks(digest: Digest) -> str:
    span = _span(digest)
    if not digest.thanks_customers:
        return f":raised_hands: *Thanks* — no reference was approved or completed {span}."
    owners = [mention(owner) for owner, _ in digest.thanks_owners[:LISTED]]
    customers = [safe(c.name, NAME) for c in digest.thanks_customers[:LISTED]]
    text = f":raised_hands: *Thanks* to {_names(customers, digest.thanks_total)}"
    if owners:
        text += f", and to their account owners {_names(owners, len(digest.thanks_owners))},"
    return text + f" for the references that happened {span}."


def _alt_text(digest: Digest) -> str:
    series = digest.series
    if series is None:
        return "Chart"
    weeks = f"{series.weeks[0]} to {series.weeks[-1]}"
    return (
        f"Weekly chart, {weeks}. Requests: {', '.join(map(str, series.received))}. "
        f"Approvals: {', '.join(map(str, series.approved))}. "
        f"Completions: {', '.join(map(str, series.completed))}. "
        f"Amount influenced: {', '.join(money(a) for a in series.amount_influenced)}."
    )[:2000]


def _body(digest: Digest, settings: Settings, title: str, chart: str | None) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        header(title),
        {"type": "section", "fields": _counts_fields(digest)},
        section(_outcomes(digest)),
    ]
    if chart is not None and digest.series is not None:
        blocks.append(
            {
                "type": "image",
                "slack_file": {"id": f"file:{chart}"},
                "alt_text": _alt_text(digest),
                "title": plain(f"Last {len(digest.series.weeks)} weeks", 2000),
            }
        )
    blocks += [
        divider(),
        section(_references(digest, settings)),
        section(_health(digest, settings)),
        section(_waiting(digest, settings)),
        divider(),
        section(_thanks(digest)),
    ]
    if digest.program is not None:
        blocks += program_sections(digest.program, _span(digest))
    return blocks


def _summary(digest: Digest) -> str:
    c = digest.counts
    return (
        f"{number(c.received)} requests, {number(c.approved)} approved, {number(c.completed)} completed, "
        f"{money(c.amount_influenced)} influenced; {number(digest.waiting_total)} waiting past the target"
    )


def digest_message(digest: Digest, settings: Settings, *, chart: str | None = None) -> Message:
    """The weekly digest for the channel; `chart` names the uploaded image the message shows."""
    period = digest.period
    blocks = _body(digest, settings, f"Reference program · {period.title}", chart)
    blocks.append(
        context(
            f"Weeks run Monday to Sunday in {escape(settings.timezone)}. Fatigue, consents, health and waiting "
            f"requests are as of {when(digest.as_of, settings.tz)}. `/reference stats quarter` shows any period."
        )
    )
    return {"text": f"Reference program digest, {period.label}: {_summary(digest)}", "blocks": blocks}


def stats_message(digest: Digest, settings: Settings) -> Message:
    """`/reference stats`: the digest's numbers for the period asked, for the person who asked."""
    period = digest.period
    title = f"Reference stats · {period.title}" + (" (to date)" if digest.to_date else "")
    blocks = _body(digest, settings, title, None)
    blocks.append(
        context(
            f"Compared with {escape(digest.before.label)}. Times in {escape(settings.timezone)}; "
            f"fatigue, consents, health and waiting requests are as of now. Other periods: {PERIOD_HELP}."
        )
    )
    return {"text": f"Reference stats, {period.label}: {_summary(digest)}", "blocks": blocks}


def unknown_period(problem: str) -> Message:
    text = f":thinking_face: {safe(problem, 300)} Try {PERIOD_HELP}."
    return {"text": text, "blocks": [section(text)]}


# -- /reference mine --------------------------------------------------------------------------------------

MINE_LIMIT = 15


def _next_step(request: ReferenceRequest, due: bool) -> str:
    status = RequestStatus(request.status)
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
        status = RequestStatus(request.status)
        customer = f" → *{safe(request.customer.name, NAME)}*" if request.customer else ""
        blocks.append(
            section(
                f"*#{request.id}* {safe(request.prospect, 150)} · {RefType(request.ref_type).label}{customer}\n"
                f"{_next_step(request, request.id in due)} · requested {when(request.created_at, settings.tz)}"
            )
        )
        if status == RequestStatus.APPROVED:
            blocks.append(
                actions(
                    f"mine:outcome:{request.id}",
                    *[
                        button(
                            o.label,
                            ids.for_item(ids.OUTCOME, f"{o.value}_{request.id}"),
                            f"{request.id}:{o.value}",
                            style="primary" if o == Outcome.HELPED else None,
                        )
                        for o in Outcome
                    ],
                    # Per item (action ids are unique within a message); this one opens the same form.
                    button("Details…", ids.for_item(ids.HOME_OUTCOME_DETAILS, request.id), str(request.id)),
                )
            )
        elif status.is_open:
            blocks.append(
                actions(
                    f"mine:cancel:{request.id}",
                    button(
                        "Cancel request",
                        ids.for_item(ids.CANCEL, request.id),
                        str(request.id),
                        confirm={
                            "title": plain("Cancel this request?", 100),
                            "text": plain(f"Request #{request.id} for {request.prospect} will be withdrawn.", 300),
                            "confirm": plain("Cancel it", 30),
                            "deny": plain("Keep it", 30),
                        },
                    ),
                )
            )
    more = len(requests) - MINE_LIMIT
    blocks.append(
        context(
            (f"{more} older request{'s' if more != 1 else ''} not shown. " if more > 0 else "")
            + "The buttons here do the same as those in your DMs with refbot."
        )
    )
    return {"text": "Your reference requests", "blocks": blocks[:50]}
