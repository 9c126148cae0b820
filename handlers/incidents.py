"""Listeners for incidents on a customer's profile: *Record incident* and *Resolve incident…* and their forms."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from bot import ids
from bot import incidents as inc
from bot.deps import Deps
from bot.errors import InvalidTransition
from bot.views.incidents import no_open_incidents, record_modal, resolve_modal
from bot.views.notices import FORM_FOR_NO_CUSTOMER, OUT_OF_DATE_PROFILE
from handlers.forms import one_record
from handlers.listener import Click, Listen, Submission
from models.types import utcnow


def register(app: App, deps: Deps) -> None:
    settings = deps.settings
    on = Listen(app, deps)

    def today() -> date:
        return utcnow().astimezone(settings.tz).date()

    @on.opens(ids.INCIDENT_RECORD, reads=one_record, stale=OUT_OF_DATE_PROFILE)
    def open_record(session: Session, click: Click[int]) -> dict[str, Any]:
        return record_modal(inc.customer_for_incidents(session, settings, click.carried, click.user_id), today())

    @on.submits(ids.INCIDENT_RECORD_MODAL, errors_at="summary")
    def submit_record(session: Session, form: Submission) -> None:
        customer_id = form.record("customer_id", FORM_FOR_NO_CUSTOMER)
        inc.record(session, settings, customer_id, form.user_id, inc.parse_form(form.texts, today()), utcnow())

    @on.opens(ids.INCIDENT_RESOLVE, reads=one_record, stale=OUT_OF_DATE_PROFILE)
    def open_resolve(session: Session, click: Click[int]) -> dict[str, Any]:
        customer = inc.customer_for_incidents(session, settings, click.carried, click.user_id)
        if not inc.open_ones(customer):
            raise InvalidTransition(no_open_incidents(customer))
        return resolve_modal(customer)

    @on.submits(ids.INCIDENT_RESOLVE_MODAL, errors_at="resolve")
    def submit_resolve(session: Session, form: Submission) -> None:
        customer_id = form.record("customer_id", FORM_FOR_NO_CUSTOMER)
        picked = inc.chosen_ids(form.values.get("resolve"))
        inc.resolve(session, settings, customer_id, picked, form.user_id, utcnow())
