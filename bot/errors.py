"""Typed domain errors. Domain code raises them; one error handler turns them into a Slack message."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user should read: the message is addressed to them, in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
