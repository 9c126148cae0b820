"""Listeners for the customer list: `/reference find|show|can-use|add`, paging, Profile, Request, Edit, Save.

Thin, like every handler: parse the payload → one call into `bot.customers` → render with
`bot.views.customers` → reply, written the one way (`handlers/listener.py`): the form is validated and saved
before its ack, so bad input is answered in the form.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from bot import assets, ids
from bot import customers as cu
from bot.deps import Deps
from bot.errors import NotFound
from bot.incidents import may_record
from bot.views.assets import profile_with_library
from bot.views.customers import (
    can_use_choices,
    can_use_message,
    can_use_which_type,
    customer_modal,
    did_you_mean,
    find_results,
    read_page_value,
    saved_view,
)
from bot.views.notices import OUT_OF_DATE_FIND, OUT_OF_DATE_PROFILE, OUT_OF_DATE_SEARCH
from bot.views.requests import request_modal
from handlers.commands import Invocation, Subcommand
from handlers.forms import one_record
from handlers.listener import Click, Listen, Submission, open_view
from models.types import utcnow

FIND_USAGE = (
    "What are you looking for? For example `/reference find payments emea`, or with facets: "
    '`/reference find industry:fintech region:emea type:case_study topic:"open banking"`.'
)


def subcommands() -> list[Subcommand]:
    def find(call: Invocation) -> None:
        query = cu.parse_query(call.rest, actor=call.user_id)
        if query.is_empty:
            call.reply(FIND_USAGE)
            return
        settings, now = call.deps.settings, utcnow()
        with call.deps.db.reading() as session:
            page = cu.search(session, settings, query, 0, now)
            message = find_results(page, settings, now)
        call.reply(**message)

    def show(call: Invocation) -> None:
        if not call.rest:
            call.reply("Which customer? For example `/reference show acme.com` or `/reference show Acme`.")
            return
        settings, now = call.deps.settings, utcnow()
        with call.deps.db.reading() as session:
            found = cu.lookup(session, call.rest)
            if found.customer is None:
                message = did_you_mean(call.rest, found.choices)
            else:
                record = assets.load_profile(session, settings, found.customer.id, now)
                incidents = may_record(settings, record.profile.customer, call.user_id)
                message = profile_with_library(
                    record, settings, now, is_manager=call.is_manager, may_record_incidents=incidents
                )
        call.reply(**message)

    def can_use(call: Invocation) -> None:
        settings, now = call.deps.settings, utcnow()
        with call.deps.db.reading() as session:
            typed, ref_type = cu.parse_can_use(call.rest, session)
            found = cu.lookup(session, typed)
            if found.customer is None:
                message = can_use_choices(typed, found.choices, ref_type)
            elif ref_type is None:
                message = can_use_which_type(typed, found.customer)
            else:
                message = can_use_message(
                    cu.can_use(session, settings, found.customer.id, ref_type, now), settings, now
                )
        call.reply(**message)

    def add(call: Invocation) -> None:
        open_view(call.client, call.command.get("trigger_id"), customer_modal(None, name=call.rest[:200]), call.reply)

    return [
        Subcommand("find", "find <words or facets>", "search customers (facets: industry: region: type: …).", find),
        Subcommand("show", "show <customer>", "a customer's profile: consents, check-ins, incidents, uses.", show),
        Subcommand("can-use", "can-use <customer> <type>", "may this customer be used for that, and why.", can_use),
        Subcommand("add", "add [name]", "add a customer to the list (managers).", add, managers_only=True),
    ]


def register(app: App, deps: Deps) -> None:
    settings = deps.settings
    on = Listen(app, deps)

    @on.shows(ids.matching(ids.CUSTOMER_FIND_PAGE), reads=read_page_value, stale=OUT_OF_DATE_FIND, replace=True)
    def turn_page(session: Session, click: Click[tuple[str, int]]) -> dict[str, Any]:
        typed, offset = click.carried
        now = utcnow()
        page = cu.search(session, settings, cu.parse_query(typed, actor=click.user_id), offset, now)
        return find_results(page, settings, now)

    @on.opens(ids.matching(ids.CUSTOMER_REQUEST), reads=one_record, stale=OUT_OF_DATE_SEARCH)
    def request_this(session: Session, click: Click[int]) -> dict[str, Any]:
        return request_modal(prospect="", specific=cu.get_customer(session, click.carried))

    @on.shows(ids.matching(ids.CUSTOMER_PROFILE), reads=one_record, stale=OUT_OF_DATE_PROFILE)
    def show_profile(session: Session, click: Click[int]) -> dict[str, Any]:
        now = utcnow()
        record = assets.load_profile(session, settings, click.carried, now)
        incidents = may_record(settings, record.profile.customer, click.user_id)
        return profile_with_library(
            record, settings, now, is_manager=settings.is_manager(click.user_id), may_record_incidents=incidents
        )

    @on.opens(ids.CUSTOMER_EDIT, reads=one_record, stale=OUT_OF_DATE_PROFILE)
    def open_edit(session: Session, click: Click[int]) -> dict[str, Any]:
        customer = cu.load_for_edit(session, settings, click.user_id, click.carried)
        return customer_modal(customer, fingerprint=cu.fingerprint(customer))

    @on.submits(ids.CUSTOMER_MODAL, errors_at="name")
    def save(session: Session, form: Submission) -> dict[str, Any]:
        """Saved before the ack, so a refusal or bad input is answered in the form and nothing is lost."""
        customer_id, expected = form.meta.get("customer_id"), form.meta.get("fingerprint")
        if customer_id is not None and (not isinstance(customer_id, int) or isinstance(customer_id, bool)):
            raise NotFound("This form no longer matches a customer; open it again from the profile.")
        fingerprint = expected if isinstance(expected, str) else None
        now = utcnow()
        draft = cu.parse_customer_form(form.values, now.astimezone(settings.tz).date())
        saved = cu.save_customer(session, settings, form.user_id, customer_id, draft, now, fingerprint)
        return {"response_action": "update", "view": saved_view(saved)}
