"""Thin Bolt listeners: parse the payload → call one domain function → render → ack/respond.

Buttons and forms are written the one way, with `handlers.listener.Listen` (see its docstring).
"""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from handlers import (
    assets,
    checkins,
    commands,
    crm,
    customers,
    errors,
    fallback,
    home,
    middleware,
    nominations,
    outcomes,
    requests,
    stats,
    suggestions,
    thanks,
    watch,
)


def register_all(app: App, deps: Deps) -> None:
    middleware.register(app, deps)
    errors.register(app, deps)
    subcommands = requests.subcommands() + customers.subcommands() + stats.subcommands() + watch.subcommands()
    subcommands += crm.subcommands()
    subcommands += assets.subcommands() + nominations.subcommands()
    commands.register(app, deps, subcommands)
    requests.register(app, deps)
    checkins.register(app, deps)
    outcomes.register(app, deps)
    customers.register(app, deps)
    assets.register(app, deps)
    nominations.register(app, deps)
    thanks.register(app, deps)
    suggestions.register(app, deps)
    home.register(app, deps)
    watch.register(app, deps)
    crm.register(app, deps)
    fallback.register(app, deps)  # last: answers whatever no listener above claimed
