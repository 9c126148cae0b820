"""A request started from a Slack message (the "Request a reference" message shortcut).

What the message suggests is guessed with the shadow-market capture's own guessing (`bot.shadow.guess`,
aligned to the customer list's labels), so a message reads the same whether refbot spotted it in a watched
channel or a rep picked the shortcut on it; both open the same form (`bot.views.requests.prefilled_modal`).

The message's permalink travels in the form's private_metadata, which a client can forge: it is kept on the
request only when it is a Slack archive link (`source_link`), so a manager's "from this message" never
points anywhere else.
"""

from __future__ import annotations

import re
from dataclasses import replace

from sqlalchemy.orm import Session

from bot import shadow
from bot.requests import LIMITS

PERMALINK_LIMIT = 500  # reference_requests.source_permalink
_SLACK_ARCHIVE_LINK = re.compile(
    r"^https://[a-z0-9][a-z0-9-]{0,62}(?:\.enterprise)?\.slack\.com/archives/[A-Z0-9]{2,30}/p[0-9]{6,20}"
    r"(?:\?[A-Za-z0-9_.=&%-]{0,200})?$"
)
NOTES_LEAD = "From a Slack message: "


def source_link(value: object) -> str:
    """`value` when it is a Slack message permalink, "" for anything else (a forged or mangled link)."""
    if not isinstance(value, str) or len(value) > PERMALINK_LIMIT:
        return ""
    return value if _SLACK_ARCHIVE_LINK.match(value) else ""


def message_notes(text: str) -> str:
    """The message as the form's notes: readable text, clipped so the form's notes limit holds."""
    body = " ".join(shadow.readable(text).split())
    room = LIMITS["notes"] - len(NOTES_LEAD)
    body = body if len(body) <= room else body[: room - 1] + "…"
    return f"{NOTES_LEAD}{body}" if body else ""


def prefill_from_message(session: Session, text: str) -> shadow.Prefill:
    """What the form opens with for this message: the guessed prospect, kind, industry and region, and the
    message as notes. The rep edits any of it before sending."""
    found = shadow.guess(text)
    industries, regions = shadow.known_labels(session)
    found = replace(
        found,
        industry=shadow.align(found.industry, industries, shadow.INDUSTRIES),
        region=shadow.align(found.region, regions, shadow.REGIONS),
    )
    return shadow.Prefill(found, message_notes(text))
