"""Listeners for the owner's thank-you DM: *Thanked* (with an optional note) and *Not now*.

Written the one way (`handlers/listener.py`); `bot.thanks` re-reads the ask and checks the clicker owns it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from bot import ids
from bot import thanks as th
from bot.deps import Deps
from bot.views.notices import OUT_OF_DATE_PLAIN
from bot.views.thanks import thanked_modal
from handlers.forms import one_record
from handlers.listener import Click, Listen, Submission

FORM_FOR_NO_THANKS = "This form no longer matches a thank-you reminder."


def register(app: App, deps: Deps) -> None:
    on = Listen(app, deps)

    @on.opens(ids.THANKED, reads=one_record, stale=OUT_OF_DATE_PLAIN)
    def open_thanked(session: Session, click: Click[int]) -> dict[str, Any]:
        return thanked_modal(th.thanks_to_answer(session, click.carried, click.user_id))

    @on.submits(ids.THANKED_MODAL, errors_at="note")
    def submit_thanked(session: Session, form: Submission) -> None:
        th.thanked(session, form.record("thanks_id", FORM_FOR_NO_THANKS), form.text("note"), form.user_id)

    @on.change(ids.THANKS_NOT_NOW, reads=one_record, stale=OUT_OF_DATE_PLAIN)
    def not_now(session: Session, click: Click[int]) -> None:
        th.not_now(session, click.carried, click.user_id)
