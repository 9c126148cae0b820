"""Thin Bolt listeners: parse the payload → call one domain function → render → ack/respond.

Buttons and forms are written the one way, with `handlers.listener.Listen` (see its docstring).
"""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from handlers import (
    adhoc_checkins,
    assets,
    checkins,
    commands,
    crm,
    customers,
    errors,
    fallback,
    home,
    imports,
    incidents,
    middleware,
    nominations,
    outcomes,
    requests,
    shortcuts,
    stats,
    suggestions,
    thanks,
    watch,
    workflows,
)


def register_all(app: App, deps: Deps) -> None:
    middleware.register(app, deps)
    errors.register(app, deps)
    subcommands = requests.subcommands() + customers.subcommands() + stats.subcommands() + watch.subcommands()
    subcommands += crm.subcommands()
    subcommands += adhoc_checkins.subcommands() + imports.subcommands()
    subcommands += assets.subcommands() + nominations.subcommands()
    commands.register(app, deps, subcommands)
    requests.register(app, deps)
    shortcuts.register(app, deps)
    checkins.register(app, deps)
    adhoc_checkins.register(app, deps)
    outcomes.register(app, deps)
    customers.register(app, deps)
    incidents.register(app, deps)
    imports.register(app, deps)
    assets.register(app, deps)
    nominations.register(app, deps)
    thanks.register(app, deps)
    suggestions.register(app, deps)
    home.register(app, deps)
    watch.register(app, deps)
    crm.register(app, deps)
    workflows.register(app, deps)
    fallback.register(app, deps)  # last: answers whatever no listener above claimed
