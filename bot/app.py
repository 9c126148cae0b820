"""`create_app(settings)`: the Bolt app and everything around it, built on demand, never at import."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

import handlers
from bot.deps import Deps
from bot.notifications import build_renderers
from bot.outbox import OutboxWorker
from bot.settings import Settings
from models.db import Database

log = logging.getLogger(__name__)


def make_client(settings: Settings) -> WebClient:
    """The one Web API client: pointed at SLACK_API_URL, retrying rate limits and server errors too.

    slack_sdk retries only connection errors by default; a 429 (honouring Retry-After) or a 5xx from
    Slack is as passing as a dropped connection, so both get a couple of tries before the outbox takes over.
    """
    return WebClient(
        token=settings.slack_bot_token or None,
        base_url=settings.slack_api_url,
        timeout=settings.slack_timeout_seconds,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


@dataclass
class Refbot:
    """A built bot: the Bolt app, its dependencies, and the background outbox worker."""

    bolt: App
    deps: Deps

    def start(self) -> None:
        self.deps.outbox.start()
        self.deps.outbox.kick()  # deliver whatever a previous process left behind

    def stop(self) -> None:
        self.deps.outbox.stop()


def create_app(settings: Settings, *, db: Database | None = None, socket_mode: bool = False) -> Refbot:
    """Build the bot. No network call happens here, and none later except to SLACK_API_URL."""
    db = db or Database(settings.database_url)
    client = make_client(settings)
    outbox = OutboxWorker(db, client, build_renderers(settings), poll_seconds=settings.outbox_poll_seconds)
    bolt = App(
        client=client,
        signing_secret=settings.slack_signing_secret or None,
        request_verification_enabled=not socket_mode,
        token_verification_enabled=False,
        logger=logging.getLogger("refbot.bolt"),
    )
    deps = Deps(settings=settings, db=db, client=client, outbox=outbox)
    handlers.register_all(bolt, deps)
    return Refbot(bolt=bolt, deps=deps)
