"""Listeners for the customer list: `/reference find|show|can-use|add`, paging, Profile, Request, Edit, Save.

Thin, like every handler: parse the payload → one call into `bot.customers` → render with
`bot.views.customers` → reply. Post-ack work runs inside `reported(...)`; the form is validated and
saved before its ack, so bad input is answered in the form.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import customers as cu
from bot import ids
from bot.deps import Deps
from bot.errors import NotFound, ValidationFailed
from bot.views.customers import (
    can_use_choices,
    can_use_message,
    can_use_which_type,
    customer_modal,
    did_you_mean,
    find_results,
    profile,
    read_page_value,
    saved_view,
)
from bot.views.requests import request_modal
from bot.views.text import escape
from handlers.commands import Invocation, Subcommand
from handlers.errors import as_plain, reported, user_message
from handlers.forms import ids_from, metadata
from models.types import utcnow

FIND_USAGE = (
    "What are you looking for? For example `/reference find payments emea`, or with facets: "
    '`/reference find industry:fintech region:emea type:case_study topic:"open banking"`.'
)


def _value(body: dict[str, Any]) -> Any:
    return ((body.get("actions") or [{}])[0] or {}).get("value")


def form_state(view: dict[str, Any]) -> dict[str, Any]:
    """`{block_id: value}` for every input: text, a chosen option's value, a date, a user, or a list of values."""
    out: dict[str, Any] = {}
    for block_id, elements in ((view.get("state") or {}).get("values") or {}).items():
        for state in (elements or {}).values():
            if not isinstance(state, dict):
                continue
            if "selected_options" in state:
                chosen = state.get("selected_options") or []
                out[block_id] = [str(o.get("value")) for o in chosen if isinstance(o, dict)]
            elif state.get("selected_option"):
                out[block_id] = str((state["selected_option"] or {}).get("value") or "")
            elif "selected_date" in state:
                out[block_id] = state.get("selected_date")
            elif "selected_user" in state:
                out[block_id] = state.get("selected_user")
            else:
                value = state.get("value")
                out[block_id] = value if value is None else str(value)
    return out


def _open(client: WebClient, trigger_id: str, view: dict[str, Any], reply: Any) -> None:
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        reply(
            ":warning: Slack could not open the form "
            f"(`{escape(exc.response.get('error', 'error'))}`). Please try again."
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
                record = cu.load_profile(session, settings, found.customer.id, now)
                message = profile(record, settings, now, is_manager=call.is_manager)
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
        _open(call.client, call.command["trigger_id"], customer_modal(None, name=call.rest[:200]), call.reply)

    return [
        Subcommand("find", "find <words or facets>", "search customers (facets: industry: region: type: …).", find),
        Subcommand("show", "show <customer>", "a customer's profile: consents, check-ins, incidents, uses.", show),
        Subcommand("can-use", "can-use <customer> <type>", "may this customer be used for that, and why.", can_use),
        Subcommand("add", "add [name]", "add a customer to the list (managers).", add, managers_only=True),
    ]


def register(app: App, deps: Deps) -> None:
    settings = deps.settings

    @app.action(ids.matching(ids.CUSTOMER_FIND_PAGE))
    def turn_page(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            found = read_page_value(_value(body))
            if found is None:
                raise NotFound("That button is out of date; run `/reference find` again.")
            query = cu.parse_query(found[0], actor=body["user"]["id"])
            now = utcnow()
            with deps.db.reading() as session:
                page = cu.search(session, settings, query, found[1], now)
                message = find_results(page, settings, now)
            respond(replace_original=True, **message)

    @app.action(ids.matching(ids.CUSTOMER_REQUEST))
    def request_this(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            found = ids_from(_value(body), 1)
            if found is None:
                raise NotFound("That button is out of date; search again with `/reference find`.")
            with deps.db.reading() as session:
                view = request_modal(prospect="", specific=cu.get_customer(session, found[0]))
            client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(ids.matching(ids.CUSTOMER_PROFILE))
    def show_profile(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            found = ids_from(_value(body), 1)
            if found is None:
                raise NotFound("That button is out of date; use `/reference show <customer>`.")
            user, now = body["user"]["id"], utcnow()
            with deps.db.reading() as session:
                record = cu.load_profile(session, settings, found[0], now)
                message = profile(record, settings, now, is_manager=settings.is_manager(user))
            respond(response_type="ephemeral", replace_original=False, **message)

    @app.action(ids.CUSTOMER_EDIT)
    def open_edit(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        with reported(body, client, respond):
            found = ids_from(_value(body), 1)
            if found is None:
                raise NotFound("That button is out of date; use `/reference show <customer>`.")
            with deps.db.reading() as session:
                customer = cu.load_for_edit(session, settings, body["user"]["id"], found[0])
                view = customer_modal(customer, fingerprint=cu.fingerprint(customer))
            client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(ids.CUSTOMER_MODAL)
    def save(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Saved before the ack, so a refusal or bad input is answered in the form and nothing is lost."""
        meta = metadata(view)
        customer_id, expected = meta.get("customer_id"), meta.get("fingerprint")
        try:
            if customer_id is not None and (not isinstance(customer_id, int) or isinstance(customer_id, bool)):
                raise NotFound("This form no longer matches a customer; open it again from the profile.")
            with deps.db.transaction() as session:
                saved = cu.save_customer(
                    session,
                    settings,
                    body["user"]["id"],
                    customer_id,
                    form_state(view),
                    utcnow(),
                    expected if isinstance(expected, str) else None,
                )
        except ValidationFailed as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except Exception as exc:  # a refusal or a failure: keep the manager's input in the open form
            ack(response_action="errors", errors={"name": as_plain(user_message(exc))})
            return
        ack(response_action="update", view=saved_view(saved))
