"""Workflow Builder custom steps: *Request a customer reference* and *Check reference consent*."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from bot import workflows as wf
from bot.deps import Deps
from handlers.listener import Listen
from models.types import utcnow


def register(app: App, deps: Deps) -> None:
    settings = deps.settings
    on = Listen(app, deps)

    @on.step(wf.REQUEST_STEP)
    def request_reference(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"request_number": wf.request_reference(session, settings, inputs, utcnow()).id}

    @on.step(wf.CONSENT_STEP)
    def check_consent(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
        answer = wf.check_consent(session, settings, inputs, utcnow())
        return {"allowed": answer.allowed, "reason": answer.reason}
