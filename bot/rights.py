"""Who may do what, where more than one part of the domain asks the same question."""

from __future__ import annotations

from bot.errors import ManagersOnly, NotAllowed
from bot.settings import Settings


def require_manager(settings: Settings, actor: str, what: str) -> None:
    """Refuse `actor` unless they are a reference manager, naming the managers they can ask instead."""
    if not settings.is_manager(actor):
        raise NotAllowed(ManagersOnly(what, tuple(settings.managers)))
