"""Thin Bolt listeners: parse the payload → call one domain function → render → ack/respond."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from handlers import checkins, commands, customers, errors, middleware, outcomes, requests, suggestions


def register_all(app: App, deps: Deps) -> None:
    middleware.register(app, deps)
    errors.register(app, deps)
    commands.register(app, deps, requests.subcommands() + customers.subcommands())
    requests.register(app, deps)
    checkins.register(app, deps)
    outcomes.register(app, deps)
    customers.register(app, deps)
    suggestions.register(app, deps)
