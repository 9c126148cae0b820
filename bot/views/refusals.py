"""The words for every domain refusal, once: in mrkdwn for a message, in plain text for a modal's field.

Domain errors carry plain data (`bot.errors.Refusal`); this module is the one place that turns them into
sentences. A message gets bold names, mentions and dates every reader sees in their own zone; a modal's
field error (Slack shows it as plain text) gets the same sentence with `@U123` and the date in
REFBOT_TIMEZONE.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import (
    CannotUse,
    CheckinAnswered,
    DomainError,
    IncidentResolved,
    ManagersOnly,
    NoOwnerToAnswer,
    NoOwnerToAsk,
    OnlyOwner,
    OnlyOwnerAnswersNow,
    OnlyRequester,
    OutcomeRecorded,
    OwnerAlreadyAsked,
    Refusal,
    RequestStands,
)
from bot.views.text import clip, mention, safe, when
from models.enums import Happiness, Outcome, RequestStatus
from models.types import utcnow


@dataclass(frozen=True)
class Words:
    """How names, people and times are written: mrkdwn (`markup`) or plain text."""

    tz: ZoneInfo
    markup: bool = True

    def name(self, text: str) -> str:
        return f"*{safe(text, 300)}*" if self.markup else clip(text, 300)

    def text(self, text: str, limit: int = 1000) -> str:
        return safe(text, limit) if self.markup else clip(text, limit)

    def who(self, user_id: str | None) -> str:
        if self.markup:
            return mention(user_id)
        return f"@{user_id}" if user_id else "nobody"

    def at(self, moment: datetime) -> str:
        if self.markup:
            return when(moment, self.tz)
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M %Z")


def refusal(error: DomainError, tz: ZoneInfo = UTC, *, markup: bool = True) -> str:
    """What to tell the person refused (`markup`: for a message; otherwise for a modal's field)."""
    if error.refusal is None:
        return error.message
    return _worded(error.refusal, Words(tz, markup))


def decided(verb: str, decided_by: str | None, decided_at: datetime | None, w: Words) -> str:
    """ "approved by @x · 14:02": how a decision is told, on a refused click and on the card alike."""
    at = f" · {w.at(decided_at)}" if decided_at else ""
    return f"{verb} by {w.who(decided_by)}{at}"


def request_stands(state: RequestStands, w: Words) -> str:
    """Where a request stands, in one sentence (what a refused second click is told)."""
    by = partial(decided, decided_by=state.decided_by, decided_at=state.decided_at, w=w)
    where = {
        RequestStatus.APPROVED: f"was already {by('approved')}",
        RequestStatus.DECLINED: f"was already {by('declined')}",
        RequestStatus.CANCELLED: f"was {by('cancelled')}",
        RequestStatus.COMPLETED: "is already completed",
        RequestStatus.AWAITING_CHECKIN: "is waiting for the account owner to confirm the customer is happy",
    }.get(RequestStatus(state.status), "is waiting for a decision")
    return f"Request #{state.request_id} for {w.name(state.prospect)} {where}."


# One sentence per refusal; each {field} is filled from the refusal's facts, written the way its kind is.
SENTENCES: dict[type[Refusal], str] = {
    NoOwnerToAsk: "{customer} has no account owner on record to ask.",
    OwnerAlreadyAsked: "{asked_of} was already asked about {customer} {asked_at}; the answer will come to you.",
    OnlyRequester: "Only {requester}, who made request #{request_id}, can {action}.",
    OnlyOwner: "Only {owner}, who owns {customer}, or a reference manager can answer this check-in.",
    OnlyOwnerAnswersNow: "Only {owner}, who owns {customer}, can answer for it here.",
    IncidentResolved: "“{summary}” was already resolved by {resolved_by}.",
    NoOwnerToAnswer: "{customer} has no account owner now; nobody can answer for it here.",
    CheckinAnswered: "This check-in was already answered: {answer} by {answered_by} {answered_at}.",
    OutcomeRecorded: "How request #{request_id} went is already recorded: {outcome} by {outcome_by}.",
}
PEOPLE = frozenset({"asked_of", "requester", "owner", "answered_by", "outcome_by", "resolved_by"})
TIMES = frozenset({"asked_at", "answered_at"})
LABELS: dict[str, type[Happiness] | type[Outcome]] = {"answer": Happiness, "outcome": Outcome}


def _field(key: str, value: Any, w: Words) -> str:
    if key in PEOPLE:
        return w.who(value)
    if key in TIMES:
        return w.at(value or utcnow())
    if key in LABELS:
        return w.name(LABELS[key](value).label)
    if key == "customer":
        return w.name(value)
    return w.text(str(value))


def _worded(facts: Refusal, w: Words) -> str:
    if isinstance(facts, RequestStands):
        return request_stands(facts, w)
    if isinstance(facts, CannotUse):
        reasons = "\n".join(f"• {w.text(b)}" for b in facts.blockers)
        return (
            f"{w.name(facts.customer)} can't be used for request #{facts.request_id} "
            f"({w.text(facts.prospect)}):\n{reasons}\nNothing was changed; pick another candidate."
        )
    if isinstance(facts, ManagersOnly):
        managers = ", ".join(w.who(m) for m in facts.managers) or "the reference managers"
        return f"Only reference managers can {facts.action}. Ask one of {managers}."
    sentence = SENTENCES.get(type(facts))
    if sentence is None:
        raise TypeError(f"no words for {type(facts).__name__}")
    return sentence.format(**{f.name: _field(f.name, getattr(facts, f.name), w) for f in fields(facts)})
