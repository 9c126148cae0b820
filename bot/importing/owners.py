"""Account owners given by e-mail become Slack users: `users.lookupByEmail`, once per distinct address.

The lookup needs the `users:read` and `users:read.email` scopes. An owner that cannot be resolved (no
such user, no token, Slack unreachable) keeps its e-mail on the customer and is listed in the report,
so the import itself never fails for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.importing.plan import Source
from bot.importing.progress import ProgressFactory, silent
from bot.importing.report import UnresolvedOwner

NO_TOKEN = "kept as e-mail: SLACK_BOT_TOKEN is not set, so it was not looked up in Slack"
NOT_AN_OWNER = "neither a Slack user ID nor an e-mail address: left unset"


class OwnerDirectory(Protocol):
    def lookup(self, email: str) -> tuple[str | None, str]:
        """(the Slack user ID, "") or (None, why not)."""
        ...


class SlackOwnerDirectory:
    """Looks owners up in the workspace through the bot's Web API client (rate limits waited out)."""

    def __init__(self, client: WebClient, *, sleep: Callable[[float], None] = time.sleep, max_waits: int = 5):
        self._client = client
        self._sleep = sleep
        self._max_waits = max_waits
        self._broken = ""

    def lookup(self, email: str) -> tuple[str | None, str]:
        if self._broken:  # a bad token or a missing scope fails every lookup the same way: ask once
            return None, self._broken
        for _ in range(self._max_waits + 1):
            try:
                response = self._client.users_lookupByEmail(email=email)
            except SlackApiError as exc:
                error = str(exc.response.get("error", "")) if exc.response is not None else ""
                if error == "users_not_found":
                    return None, "kept as e-mail: no Slack user has this address"
                if error == "ratelimited":
                    self._sleep(float(exc.response.headers.get("Retry-After", "1") or 1))
                    continue
                hint = " (the app needs the users:read.email scope)" if error == "missing_scope" else ""
                self._broken = f"kept as e-mail: Slack refused the lookup: {error}{hint}"
                return None, self._broken
            except (SlackClientError, OSError) as exc:
                self._broken = f"kept as e-mail: Slack could not be reached ({type(exc).__name__})"
                return None, self._broken
            user = response.get("user") or {}
            if user.get("deleted"):
                return None, "kept as e-mail: the Slack user with this address is deactivated"
            return str(user["id"]), ""
        return None, "kept as e-mail: Slack kept rate-limiting the lookup"


def resolve_owners(
    sources: list[Source], directory: OwnerDirectory | None, progress: ProgressFactory = silent
) -> list[UnresolvedOwner]:
    """Give rows whose owner is an e-mail a Slack user ID where one exists; list the ones left over."""
    pending = [row for source in sources for row in source.rows if row.owner_email and not row.owner_id]
    emails = sorted({row.owner_email.casefold() for row in pending if row.owner_email})
    found: dict[str, tuple[str | None, str]] = {}
    if directory is None:
        found = {email: (None, NO_TOKEN) for email in emails}
    else:
        bar = progress("looking up owners", len(emails))
        for email in emails:
            found[email] = directory.lookup(email)
            bar.update(1)
        bar.close()
    unresolved: list[UnresolvedOwner] = []
    for source in sources:
        label = source.label
        for row in source.rows:
            if row.owner_problem:
                unresolved.append(UnresolvedOwner(row.name, row.owner_problem, NOT_AN_OWNER, label, row.line))
            if row.owner_email and not row.owner_id:
                user_id, reason = found[row.owner_email.casefold()]
                if user_id:
                    row.owner_id = user_id
                else:
                    unresolved.append(UnresolvedOwner(row.name, row.owner_email, reason, label, row.line))
    return unresolved
