"""Account owners become Slack users: e-mails looked up (`users.lookupByEmail`), IDs checked (`users.info`).

A CSM column of `U0NOTREAL1` must not become an owner whose check-ins reach nobody, so every owner ID a
list gives is checked once per run: an ID Slack does not know, or a deactivated user, is reported and the
customer is left without an owner (the check-in round then lists it to the managers as one). The lookups
need the `users:read` and `users:read.email` scopes.

Nothing is lost to Slack being away: when a lookup cannot be answered (no token, Slack unreachable or
refusing) an e-mail owner is kept as its e-mail and an ID is kept as it is, both listed in the report, and
the next import asks again. Definite answers are remembered by the directory for `ttl` seconds, so a
long-lived directory (a sync that runs every few minutes) does not ask about the same owner every run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.importing.plan import Source
from bot.importing.progress import ProgressFactory, silent
from bot.importing.report import UnresolvedOwner

NO_TOKEN = "kept as e-mail: SLACK_BOT_TOKEN is not set, so it was not looked up in Slack"
ID_NO_TOKEN = "kept unchecked: SLACK_BOT_TOKEN is not set, so it was not checked in Slack"
NOT_AN_OWNER = "neither a Slack user ID nor an e-mail address: left unset"
UNKNOWN_ID = "no Slack user has this ID: left without an owner"
DEACTIVATED_ID = "this Slack user is deactivated: left without an owner"
BOT_ID = "this Slack user is an app, not a person: left without an owner"
# How long a broken connection or token is believed before Slack is asked again (a long-lived directory).
_BROKEN_SECONDS = 60.0


class OwnerDirectory(Protocol):
    def lookup(self, email: str) -> tuple[str | None, str]:
        """(the Slack user ID, "") or (None, why not)."""
        ...

    def check(self, user_id: str) -> tuple[bool | None, str]:
        """(True, "") for a person who can own a customer; (False, why not) for an ID that cannot own one;
        (None, why not) when Slack could not say (the ID is kept and checked again next time)."""
        ...


class SlackOwnerDirectory:
    """Looks owners up in the workspace through the bot's Web API client (rate limits waited out)."""

    def __init__(
        self,
        client: WebClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_waits: int = 5,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._client = client
        self._sleep = sleep
        self._max_waits = max_waits
        self._ttl = ttl
        self._clock = clock
        self._broken = ""
        self._broken_until = 0.0
        self._emails: dict[str, tuple[float, tuple[str | None, str]]] = {}
        self._ids: dict[str, tuple[float, tuple[bool | None, str]]] = {}

    def _remembered(self, cache: dict[str, tuple[float, Any]], key: str) -> Any:
        found = cache.get(key)
        return found[1] if found is not None and found[0] > self._clock() else None

    def _is_broken(self) -> bool:
        """A bad token or a missing scope fails every lookup the same way: ask once, not once per owner."""
        return bool(self._broken) and self._clock() < self._broken_until

    def _break(self, reason: str) -> str:
        self._broken, self._broken_until = reason, self._clock() + _BROKEN_SECONDS
        return reason

    def _call(self, method: Callable[..., Any], **args: str) -> tuple[dict[str, Any] | None, str, str]:
        """(the response, "", "") or (None, Slack's error code, "") or (None, "", why Slack could not answer)."""
        for _ in range(self._max_waits + 1):
            try:
                return dict(method(**args).data), "", ""
            except SlackApiError as exc:
                error = str(exc.response.get("error", "")) if exc.response is not None else ""
                if error == "ratelimited" or (exc.response is not None and exc.response.status_code == 429):
                    self._sleep(float(exc.response.headers.get("Retry-After", "1") or 1))
                    continue
                return None, error or f"HTTP {exc.response.status_code}", ""
            except (SlackClientError, OSError) as exc:
                return None, "", f"Slack could not be reached ({type(exc).__name__})"
        return None, "", "Slack kept rate-limiting the lookup"

    def lookup(self, email: str) -> tuple[str | None, str]:
        key = email.casefold()
        remembered = self._remembered(self._emails, key)
        if remembered is not None:
            return remembered
        if self._is_broken():
            return None, f"kept as e-mail: {self._broken}"
        response, error, unreachable = self._call(self._client.users_lookupByEmail, email=email)
        if unreachable:
            return None, f"kept as e-mail: {self._break(unreachable)}"
        if error == "users_not_found":
            answer: tuple[str | None, str] = (None, "kept as e-mail: no Slack user has this address")
        elif error:
            hint = " (the app needs the users:read.email scope)" if error == "missing_scope" else ""
            return None, f"kept as e-mail: {self._break(f'Slack refused the lookup: {error}{hint}')}"
        else:
            user = (response or {}).get("user") or {}
            if user.get("deleted"):
                answer = (None, "kept as e-mail: the Slack user with this address is deactivated")
            else:
                answer = (str(user["id"]), "")
        self._emails[key] = (self._clock() + self._ttl, answer)
        return answer

    def check(self, user_id: str) -> tuple[bool | None, str]:
        remembered = self._remembered(self._ids, user_id)
        if remembered is not None:
            return remembered
        if self._is_broken():
            return None, f"kept unchecked: {self._broken}"
        response, error, unreachable = self._call(self._client.users_info, user=user_id)
        if unreachable:
            return None, f"kept unchecked: {self._break(unreachable)}"
        if error in ("user_not_found", "user_not_visible"):
            answer: tuple[bool | None, str] = (False, UNKNOWN_ID)
        elif error:  # a bad token, a missing scope, Slack failing: not an answer about this person
            hint = " (the app needs the users:read scope)" if error == "missing_scope" else ""
            return None, f"kept unchecked: {self._break(f'Slack refused the check: {error}{hint}')}"
        else:
            user = (response or {}).get("user") or {}
            if user.get("deleted"):
                answer = (False, DEACTIVATED_ID)
            elif user.get("is_bot") or user_id == "USLACKBOT":
                answer = (False, BOT_ID)
            else:
                answer = (True, "")
        self._ids[user_id] = (self._clock() + self._ttl, answer)
        return answer


def resolve_owners(
    sources: list[Source], directory: OwnerDirectory | None, progress: ProgressFactory = silent
) -> list[UnresolvedOwner]:
    """Check the owner IDs rows give, give rows whose owner is an e-mail a Slack user ID where one exists,
    and list every owner left refused, unchecked or unresolved (the report's "owners" section)."""
    rows = [row for source in sources for row in source.rows]
    ids = sorted({row.owner_id for row in rows if row.owner_id})
    bar = progress("looking up owners", None)
    checked = {user_id: _ask(directory, "check", user_id, ID_NO_TOKEN, bar) for user_id in ids}
    notes: dict[int, tuple[str, str]] = {}  # id(row) → (owner as written, why it is listed)
    for row in rows:
        if row.owner_id:
            usable, reason = checked[row.owner_id]
            if usable is not True:
                notes[id(row)] = (row.owner_id, reason)
            if usable is False:
                row.owner_refused, row.owner_id = row.owner_id, None
    emails = sorted({row.owner_email.casefold() for row in rows if row.owner_email and not row.owner_id})
    found = {email: _ask(directory, "lookup", email, NO_TOKEN, bar) for email in emails}
    bar.close()
    unresolved: list[UnresolvedOwner] = []
    for source in sources:
        for row in source.rows:
            listed = []
            if row.owner_problem:
                listed.append((row.owner_problem, NOT_AN_OWNER))
            if id(row) in notes:
                listed.append(notes[id(row)])
            if row.owner_email and not row.owner_id:
                user_id, reason = found[row.owner_email.casefold()]
                if user_id:
                    row.owner_id = user_id
                else:
                    listed.append((row.owner_email, reason))
            unresolved += [UnresolvedOwner(row.name, owner, why, source.label, row.line) for owner, why in listed]
    return unresolved


def _ask(directory: OwnerDirectory | None, question: str, value: str, no_token: str, bar: Any) -> Any:
    """One lookup or check, or the no-token answer when refbot has no Slack to ask."""
    if directory is None:
        return (None, no_token)
    answer = directory.check(value) if question == "check" else directory.lookup(value)
    bar.update(1)
    return answer
