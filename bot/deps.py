"""What every listener needs, built once by `create_app` and handed to each `register(app, deps)`."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot.outbox import OutboxWorker
from bot.settings import Settings
from bot.shadow_model import AskClassifier
from models.db import Database


@dataclass(frozen=True)
class Deps:
    settings: Settings
    db: Database
    client: WebClient
    outbox: OutboxWorker
    asks: AskClassifier  # shadow-market capture's classifier, loaded once (bot/shadow_model.py)
