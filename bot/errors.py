"""Typed domain errors. Domain code raises them; one error handler turns them into a Slack message.

An error carries either a fixed sentence with no user data in it (`NotFound("This check-in no longer
exists.")`) or a `Refusal`: plain data (names, ids, user ids, times), never Slack markup.
`bot.views.refusals` does all the wording, once, for a message (mrkdwn) or a modal's field (plain text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Refusal:
    """The facts of a refusal, for `bot.views.refusals` to word."""


@dataclass(frozen=True)
class RequestStands(Refusal):
    """A request is not where the click assumed: already decided, completed, or still waiting."""

    request_id: int
    prospect: str
    status: str
    decided_by: str | None
    decided_at: datetime | None


@dataclass(frozen=True)
class CannotUse(Refusal):
    """The chosen customer may not be used for the request now (`assess`'s blockers)."""

    customer: str
    request_id: int
    prospect: str
    blockers: tuple[str, ...]


@dataclass(frozen=True)
class NoOwnerToAsk(Refusal):
    customer: str


@dataclass(frozen=True)
class OwnerAlreadyAsked(Refusal):
    asked_of: str
    customer: str
    asked_at: datetime


@dataclass(frozen=True)
class OnlyRequester(Refusal):
    """Only the person who made the request (or, for outcomes, a manager) may do `action` to it."""

    requester: str
    request_id: int
    action: str  # "cancel it", "report how it went"


@dataclass(frozen=True)
class OnlyOwner(Refusal):
    """Only the account owner (or a reference manager) may answer a check-in about their customer."""

    owner: str | None
    customer: str


@dataclass(frozen=True)
class OnlyOwnerAnswersNow(Refusal):
    """`/reference checkin` answered on the spot: only the account owner can (a manager asks them instead)."""

    owner: str
    customer: str


@dataclass(frozen=True)
class IncidentResolved(Refusal):
    summary: str
    resolved_by: str


@dataclass(frozen=True)
class NoOwnerToAnswer(Refusal):
    customer: str


@dataclass(frozen=True)
class CheckinAnswered(Refusal):
    answer: str
    answered_by: str | None
    answered_at: datetime | None


@dataclass(frozen=True)
class OutcomeRecorded(Refusal):
    request_id: int
    outcome: str
    outcome_by: str | None


@dataclass(frozen=True)
class ManagersOnly(Refusal):
    """Only reference managers may do `action`; `managers` are the people to ask."""

    action: str
    managers: tuple[str, ...]


class DomainError(Exception):
    """A refusal the user should read: a fixed plain sentence (`message`), or the facts of one (`refusal`)."""

    def __init__(self, reason: str | Refusal) -> None:
        self.refusal = reason if isinstance(reason, Refusal) else None
        self.message = reason if isinstance(reason, str) else ""
        super().__init__(self.message or repr(reason))


class NotAllowed(DomainError):
    """The clicker lacks the right (a non-manager approving, someone else's request)."""


class NotFound(DomainError):
    """The thing a button or command names does not exist (any more)."""


class InvalidTransition(DomainError):
    """The request is not in a state that allows this (a second click on a decided request)."""


class Ineligible(DomainError):
    """The chosen customer may not be used now (consent, happiness, fatigue); nothing changed."""


class ValidationFailed(DomainError):
    """Form input that cannot be accepted, per field, for `response_action: errors`."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors
