"""Listeners for the content library: `/reference asset add|assets`, *Add asset*, *I'm using this*.

Written the one way (`handlers/listener.py`): the ids a listener reads, one call into `bot.assets`, and
what it shows with `bot.views.assets`. Forms are validated and saved before their ack, so bad input is
answered in the form; the domain re-reads the asset and judges it again on every click.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from sqlalchemy.orm import Session

from bot import assets as lib
from bot import ids
from bot.deps import Deps
from bot.views.assets import (
    ASSETS_USAGE,
    asset_added_view,
    asset_modal,
    asset_results,
    use_modal,
    use_recorded_view,
)
from bot.views.notices import OUT_OF_DATE_PLAIN, OUT_OF_DATE_PROFILE
from handlers.commands import Invocation, Subcommand
from handlers.forms import one_record
from handlers.listener import Click, Listen, Submission, open_view
from models.types import utcnow

ASSET_USAGE = "Add content with `/reference asset add [customer]`; find it with `/reference assets <words or facets>`."
FORM_FOR_NO_ASSET = "This form no longer matches an asset; search again with `/reference assets`."


def subcommands() -> list[Subcommand]:
    def asset(call: Invocation) -> None:
        verb, _, rest = call.rest.partition(" ")
        if verb.lower() != "add":
            call.reply(ASSET_USAGE)
            return
        view = asset_modal(None, typed=rest.strip()[:200])
        open_view(call.client, call.command.get("trigger_id"), view, call.reply, "the asset form")

    def find(call: Invocation) -> None:
        query = lib.parse_asset_query(call.rest, actor=call.user_id)
        if query.is_empty:
            call.reply(ASSETS_USAGE)
            return
        settings = call.deps.settings
        with call.deps.db.reading() as session:
            message = asset_results(lib.search_assets(session, settings, query, utcnow()), settings)
        call.reply(**message)

    return [
        Subcommand(
            "asset",
            "asset add [customer]",
            "add a case study, quote, logo … to the library (managers).",
            asset,
            managers_only=True,
        ),
        Subcommand(
            "assets",
            "assets <words or facets>",
            "find content (kind: industry: product: customer: …) and whether it may be used now.",
            find,
        ),
    ]


def register(app: App, deps: Deps) -> None:
    settings = deps.settings
    on = Listen(app, deps)

    @on.opens(ids.ASSET_ADD, reads=one_record, stale=OUT_OF_DATE_PROFILE)
    def open_add(session: Session, click: Click[int]) -> dict[str, Any]:
        return asset_modal(lib.customer_for_form(session, settings, click.user_id, click.carried))

    @on.submits(ids.ASSET_MODAL, errors_at="title")
    def add(session: Session, form: Submission) -> dict[str, Any]:
        today = utcnow().astimezone(settings.tz).date()
        added = lib.add_asset(session, settings, form.user_id, form.texts, today)
        return {"response_action": "update", "view": asset_added_view(added)}

    @on.opens(ids.matching(ids.ASSET_USE), reads=one_record, stale=OUT_OF_DATE_PLAIN)
    def open_use(session: Session, click: Click[int]) -> dict[str, Any]:
        return use_modal(lib.asset_to_use(session, settings, click.carried, utcnow()))

    @on.submits(ids.ASSET_USE_MODAL, errors_at="prospect")
    def use(session: Session, form: Submission) -> dict[str, Any]:
        asset_id = form.record("asset_id", FORM_FOR_NO_ASSET)
        draft = lib.parse_use_form(form.texts)
        recorded = lib.record_use(
            session, settings, form.user_id, asset_id, draft, str(form.view.get("id") or ""), utcnow()
        )
        return {"response_action": "update", "view": use_recorded_view(recorded)}
