"""`/reference stats [period]`: the weekly digest's numbers for a week or a quarter, ephemerally.

Open to everyone, like the digest channel: the figures are program-level, and the customer health it
lists is what `/reference show` already tells anyone. Acked first (Bolt's `/reference` dispatcher does),
then computed and answered through the response URL, so a big database never times the command out.
"""

from __future__ import annotations

from bot.digest import UnknownPeriod, parse_period, stats
from bot.views.digest import stats_message, unknown_period
from handlers.commands import Invocation, Subcommand
from models.types import utcnow


def _stats(call: Invocation) -> None:
    settings = call.deps.settings
    now = utcnow()
    try:
        period = parse_period(call.rest, now, settings.tz)
    except UnknownPeriod as exc:
        call.reply(**unknown_period(str(exc)))
        return
    with call.deps.db.reading() as session:
        message = stats_message(stats(session, settings, period, now), settings)
    call.reply(**message)


def subcommands() -> list[Subcommand]:
    return [
        Subcommand(
            "stats",
            "stats [this-week|last-week|quarter|YYYY-Qn]",
            "the program's numbers for a period: requests, outcomes, health, who is waiting.",
            _stats,
        )
    ]
