"""What refbot says about the CRM connection in Slack: a sync that stopped, told once to each manager."""

from __future__ import annotations

from typing import Any

from bot.views.text import escape


def sync_error(crm_label: str, stream: str, error: str) -> dict[str, Any]:
    """The managers' DM when a sync stops; sent once per error, however many runs it keeps failing."""
    text = f"The {crm_label} sync stopped while reading {stream}: {escape(error)}"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {text}"}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Customers stay as they were until it is fixed. `refbot crm status` shows the "
                        "last run of each object; you will not be told again about this error.",
                    }
                ],
            },
        ],
    }
