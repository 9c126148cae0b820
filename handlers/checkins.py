"""Listeners for account owners' answers: one-click buttons, or the form with NPS and a note."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from bot import ids
from bot import nominations as nom
from bot import requests as rq
from bot.deps import Deps
from bot.views.checkins import checkin_modal
from bot.views.notices import FORM_FOR_NO_CHECKIN, OUT_OF_DATE_CHECKIN
from handlers.forms import one_record, record_and
from handlers.listener import Click, Listen, Submission
from models.enums import Happiness


def register(app: App, deps: Deps) -> None:
    settings = deps.settings
    on = Listen(app, deps)

    @on.change(ids.matching(ids.CHECKIN_ANSWER), reads=record_and(Happiness), stale=OUT_OF_DATE_CHECKIN)
    def answer(session: Session, click: Click[tuple[int, Happiness]]) -> None:
        nom.answer_checkin(session, settings, *click.carried, click.user_id)

    @on.opens(ids.matching(ids.CHECKIN_WITH_NOTE), reads=one_record, stale=OUT_OF_DATE_CHECKIN)
    def open_form(session: Session, click: Click[int]) -> dict[str, Any]:
        return checkin_modal(*rq.checkin_to_answer(session, settings, click.carried, click.user_id))

    @on.submits(ids.CHECKIN_MODAL, errors_at="note")
    def submit_form(session: Session, form: Submission) -> None:
        checkin_id = form.record("checkin_id", FORM_FOR_NO_CHECKIN)
        said = rq.parse_checkin_answer(form.texts)
        nom.answer_checkin(session, settings, checkin_id, said.happiness, form.user_id, nps=said.nps, note=said.note)
