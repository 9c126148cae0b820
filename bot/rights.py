"""Who may do what, where more than one part of the domain asks the same question."""

from __future__ import annotations

from bot.errors import NotAllowed
from bot.settings import Settings
from bot.views.text import mention


def require_manager(settings: Settings, actor: str, what: str) -> None:
    """Refuse `actor` unless they are a reference manager, naming the managers they can ask instead."""
    if not settings.is_manager(actor):
        managers = ", ".join(mention(m) for m in settings.managers) or "the reference managers"
        raise NotAllowed(f"Only reference managers can {what}. Ask one of {managers}.")
