"""App Home: published when a person opens the tab; a section shown in full; the outcome form from it.

The publish on `app_home_opened` is direct, right after Bolt's automatic ack: the person is looking at the
tab now, so it is built fresh and sent at once rather than queued behind DMs in the outbox. Refreshes
after a change go through the outbox (`bot.requests.refresh_homes`: exactly once per change, paced,
retried). A direct publish that fails for a passing reason (rate limit, Slack unavailable) is handed to
the outbox, which retries with backoff; so is finishing a Home whose queue was not fully ranked in time.
The Home's other buttons (Approve, Decline, Cancel, check-in answers, outcomes) are the DMs' own actions.
"""

from __future__ import annotations

import logging
from http.client import HTTPException
from typing import Any
from urllib.error import URLError

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot import home, ids
from bot import requests as rq
from bot.deps import Deps
from bot.views.home import home_view
from bot.views.notices import OUT_OF_DATE_HOME
from bot.views.outcomes import outcome_modal
from handlers.errors import reported
from handlers.forms import one_record
from handlers.listener import Click, Listen
from models.types import utcnow

log = logging.getLogger(__name__)


def _passing(exc: Exception) -> bool:
    """A failure worth retrying later (rate limit, Slack's 5xx, the network), not a bad view."""
    if isinstance(exc, SlackApiError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, URLError | TimeoutError | ConnectionError | HTTPException | OSError)


def register(app: App, deps: Deps) -> None:
    settings = deps.settings
    on = Listen(app, deps)

    def publish(client: WebClient, user: str, expand: str | None = None) -> None:
        with deps.db.reading() as session:
            since = home.last_home_row(session, user)
        if since is None:  # first visit: on record before publishing, so a change right after refreshes it
            with deps.db.transaction() as session:
                home.remember_home(session, user)
                since = home.last_home_row(session, user)
        now = utcnow()
        with deps.db.reading() as session:
            built = home.build_home(session, settings, user, now, expand=expand, allow_stale=not expand)
            view = home_view(built, settings, now)
        published = True
        try:
            client.views_publish(user_id=user, view=view)
        except (SlackApiError, URLError, TimeoutError, ConnectionError, HTTPException, OSError) as exc:
            if expand or not _passing(exc):
                raise
            log.warning("home for %s not published (%r); the outbox will retry", user, exc)
            published = False
        with deps.db.reading() as session:
            again = not published or (built.incomplete and not expand) or home.overtaken(session, user, since)
        if again:
            with deps.db.transaction() as session:
                rq.refresh_homes(session, [user])
            deps.outbox.kick()

    @app.event("app_home_opened")
    def opened(event: dict[str, Any], client: WebClient) -> None:
        user = event.get("user")
        if event.get("tab") != "home" or not user:
            return  # the Messages tab: nothing to publish
        with reported({"user": {"id": user}}, client, None):
            publish(client, user)

    @on.click(ids.matching(ids.HOME_EXPAND), reads=home.section_named)
    def expand(click: Click[str]) -> None:
        publish(click.client, click.user_id, click.carried or None)

    @on.opens(ids.matching(ids.HOME_OUTCOME_DETAILS), reads=one_record, stale=OUT_OF_DATE_HOME)
    def outcome_details(session: Session, click: Click[int]) -> dict[str, Any]:
        """The outcome form, opened from the Home (its submission is the DM form's own listener)."""
        request = rq.outcome_to_report(session, settings, click.carried, click.user_id, only_approved=True)
        return outcome_modal(request, rq.STAGES)
