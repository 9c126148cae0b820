"""What refbot says about the CRM connection in Slack: a sync that stopped, told once to each manager."""

from __future__ import annotations

from typing import Any

from bot.views.text import context, safe, section


def sync_error(crm_label: str, stream: str, error: str) -> dict[str, Any]:
    """The managers' DM when a sync stops; sent once per error, however many runs it keeps failing."""
    text = f"The {safe(crm_label, 40)} sync stopped while reading {safe(stream, 40)}: {safe(error, 2000)}"
    return {
        "text": text,
        "blocks": [
            section(f":warning: {text}"),
            context(
                "Customers stay as they were until it is fixed. `refbot crm status` shows the last run of each "
                "object; you will not be told again about this error."
            ),
        ],
    }
