"""What shadow-market capture says: the private reply to an ask, and the answers to `/reference watch|unwatch`."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot import ids
from bot.matching import Candidate
from bot.shadow import Guess
from bot.views.text import actions, button, context, mention, safe, section, when
from models import WatchedChannel

Message = dict[str, Any]

PRIVACY = (
    "*Privacy:* to spot those asks, refbot reads every message posted here. It stores none of them, logs none "
    "of them, and posts nothing anyone else can see: its reply is visible only to the person who asked."
)


def _channel(name: str) -> str:
    """The channel by the name Slack gave the command, as text: no markup is built from a payload field."""
    return f"#{safe(name, 80)}" if name else "this channel"


def _availability(candidate: Candidate) -> str:
    verdict = candidate.assessment
    if not verdict.eligible:
        return "not available right now"
    if verdict.needs_checkin:
        return "available once the account owner confirms they're happy"
    return "available"


def ask_reply(guess: Guess, candidates: list[Candidate], value: str) -> Message:
    """The ephemeral, threaded answer to a reference ask: one sentence, up to three matches, one button."""
    wanted = [f"*{guess.ref_type.label}*"]
    wanted += [f"*{safe(v, 100)}*" for v in (guess.industry, guess.region) if v]
    blocks: list[dict[str, Any]] = [
        section(
            ":wave: Looks like you're after a customer reference. Make it a tracked request and the reference "
            "team will check the customer is still happy and not over-asked before anyone is put in touch."
        )
    ]
    if candidates:
        lines = []
        for candidate in candidates[:3]:
            customer = candidate.customer
            about = " · ".join(safe(v, 100) for v in (customer.industry, customer.region) if v)
            lines.append(
                f"• *{safe(customer.name, 200)}*"
                + (f" — {about}" if about else "")
                + f" · _{_availability(candidate)}_"
            )
        blocks.append(section(f"Best matches for {' · '.join(wanted)}:\n" + "\n".join(lines)))
    else:
        blocks.append(section(f"No customer on record matches {' · '.join(wanted)} yet; the reference team can help."))
    blocks.append(actions("shadow", button("Turn this into a request", ids.SHADOW_REQUEST, value, style="primary")))
    blocks.append(context("Only you can see this. A reference manager turned on reference-ask replies here."))
    return {"text": "Looks like you're after a customer reference: turn it into a tracked request?", "blocks": blocks}


def watching(channel_name: str, record: WatchedChannel, created: bool, tz: ZoneInfo) -> str:
    if not created:
        return (
            f"Already watching {_channel(channel_name)} (turned on by {mention(record.enabled_by)} "
            f"{when(record.enabled_at, tz)}). Turn it off with `/reference unwatch`."
        )
    return (
        f":eyes: Watching {_channel(channel_name)}: when someone here asks for a customer reference, refbot replies "
        "in the thread, visible only to them, with the best-fitting customers and a button that turns the ask "
        f"into a tracked request.\n{PRIVACY}\nrefbot only hears channels it is a member of: if it isn't one yet, "
        "invite it with `/invite @refbot`. Turn this off any time with `/reference unwatch`."
    )


def unwatched(channel_name: str, was_on: bool) -> str:
    if not was_on:
        return f"refbot isn't watching {_channel(channel_name)}; nothing to turn off."
    return (
        f"Stopped watching {_channel(channel_name)}: refbot no longer replies to reference asks here. Slack still "
        "delivers this channel's messages to refbot while it is a member, and refbot ignores them; remove refbot "
        "from the channel (channel details → Integrations) to stop that too."
    )


NOT_A_PUBLIC_CHANNEL = (
    "Reference-ask replies work in public channels only. Run `/reference watch` in the public channel "
    "you want refbot to watch."
)
