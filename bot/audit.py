"""The audit trail (SPEC rule 8): one call per decision or edit, in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import AuditEntry


def record(session: Session, actor: str, action: str, entity: str, entity_id: object, **details: Any) -> None:
    session.add(AuditEntry(actor=actor, action=action, entity=entity, entity_id=str(entity_id), details=details))
