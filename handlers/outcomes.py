"""Listeners for the requester's outcome follow-up: one-click answers, or the details form."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from bot import ids
from bot import requests as rq
from bot import thanks as th
from bot.deps import Deps
from bot.views.notices import FORM_FOR_NO_REQUEST, OUT_OF_DATE_PLAIN
from bot.views.outcomes import outcome_modal
from handlers.forms import one_record, record_and
from handlers.listener import Click, Listen, Submission
from models.enums import Outcome


def register(app: App, deps: Deps) -> None:
    settings = deps.settings
    on = Listen(app, deps)

    @on.change(ids.matching(ids.OUTCOME), reads=record_and(Outcome))
    def one_click(session: Session, click: Click[tuple[int, Outcome]]) -> None:
        th.record_outcome(session, settings, *click.carried, click.user_id)

    @on.opens(ids.OUTCOME_DETAILS, reads=one_record, stale=OUT_OF_DATE_PLAIN)
    def open_details(session: Session, click: Click[int]) -> dict[str, Any]:
        return outcome_modal(rq.outcome_to_report(session, settings, click.carried, click.user_id), rq.STAGES)

    @on.submits(ids.OUTCOME_MODAL, errors_at="feedback")
    def submit_details(session: Session, form: Submission) -> None:
        request_id = form.record("request_id", FORM_FOR_NO_REQUEST)
        outcome, details = rq.parse_outcome(form.texts)
        th.record_outcome(session, settings, request_id, outcome, form.user_id, details)
