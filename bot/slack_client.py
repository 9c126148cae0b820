"""The one way refbot builds its Slack Web API client (kept apart from `bot.app`, so that code which only
needs a client, like the CRM's owner lookup, does not depend on the whole wiring)."""

from __future__ import annotations

from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.observability import InstrumentedWebClient
from bot.settings import Settings


def make_client(settings: Settings, *, for_outbox: bool = False) -> InstrumentedWebClient:
    """A Web API client pointed at SLACK_API_URL that retries rate limits and server errors too.

    slack_sdk retries only connection errors by default; a 429 (honouring Retry-After) or a 5xx from
    Slack is as passing as a dropped connection, so interactive calls get a couple of tries. The outbox's
    client never sleeps on a 429 inside a delivery: it hands the row back with Retry-After as its next
    attempt, so no sleep can outlast the row's lease and let another worker send it as well.
    """
    handlers: list[RetryHandler] = [
        ConnectionErrorRetryHandler(max_retry_count=1 if for_outbox else 2),
        ServerErrorRetryHandler(max_retry_count=1 if for_outbox else 2),
    ]
    if not for_outbox:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return InstrumentedWebClient(
        token=settings.slack_bot_token or None,
        base_url=settings.slack_api_url,
        timeout=settings.slack_timeout_seconds,
        retry_handlers=handlers,
    )
