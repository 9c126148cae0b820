"""The words for every domain refusal, once: in mrkdwn for a message, in plain text for a modal's field.

Domain errors carry plain data (`bot.errors.Refusal`); this module is the one place that turns them into
sentences. A message gets bold names, mentions and dates every reader sees in their own zone; a modal's
field error (Slack shows it as plain text) gets the same sentence with `@U123` and the date in
REFBOT_TIMEZONE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.errors import (
    CannotUse,
    CheckinAnswered,
    DomainError,
    ManagersOnly,
    NoOwnerToAsk,
    OnlyOwner,
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
    head = f"Request #{state.request_id} for {w.name(state.prospect)}"
    status = RequestStatus(state.status)
    if status == RequestStatus.APPROVED:
        return f"{head} was already {decided('approved', state.decided_by, state.decided_at, w)}."
    if status == RequestStatus.DECLINED:
        return f"{head} was already {decided('declined', state.decided_by, state.decided_at, w)}."
    if status == RequestStatus.CANCELLED:
        return f"{head} was {decided('cancelled', state.decided_by, state.decided_at, w)}."
    if status == RequestStatus.COMPLETED:
        return f"{head} is already completed."
    if status == RequestStatus.AWAITING_CHECKIN:
        return f"{head} is waiting for the account owner to confirm the customer is happy."
    return f"{head} is waiting for a decision."


def _worded(facts: Refusal, w: Words) -> str:
    if isinstance(facts, RequestStands):
        return request_stands(facts, w)
    if isinstance(facts, CannotUse):
        reasons = "\n".join(f"• {w.text(b)}" for b in facts.blockers)
        return (
            f"{w.name(facts.customer)} can't be used for request #{facts.request_id} "
            f"({w.text(facts.prospect)}):\n{reasons}\nNothing was changed; pick another candidate."
        )
    if isinstance(facts, NoOwnerToAsk):
        return f"{w.name(facts.customer)} has no account owner on record to ask."
    if isinstance(facts, OwnerAlreadyAsked):
        return (
            f"{w.who(facts.asked_of)} was already asked about {w.name(facts.customer)} "
            f"{w.at(facts.asked_at)}; the answer will come to you."
        )
    if isinstance(facts, OnlyRequester):
        return f"Only {w.who(facts.requester)}, who made request #{facts.request_id}, can {facts.action}."
    if isinstance(facts, OnlyOwner):
        return (
            f"Only {w.who(facts.owner)}, who owns {w.name(facts.customer)}, "
            "or a reference manager can answer this check-in."
        )
    if isinstance(facts, CheckinAnswered):
        return (
            f"This check-in was already answered: {w.name(Happiness(facts.answer).label)} by "
            f"{w.who(facts.answered_by)} {w.at(facts.answered_at or utcnow())}."
        )
    if isinstance(facts, OutcomeRecorded):
        return (
            f"How request #{facts.request_id} went is already recorded: {w.name(Outcome(facts.outcome).label)} "
            f"by {w.who(facts.outcome_by)}."
        )
    if isinstance(facts, ManagersOnly):
        managers = ", ".join(w.who(m) for m in facts.managers) or "the reference managers"
        return f"Only reference managers can {facts.action}. Ask one of {managers}."
    raise TypeError(f"no words for {type(facts).__name__}")
