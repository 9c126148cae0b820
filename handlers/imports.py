"""Importing a customer list from Slack: `/reference import` or the App Home's *Import a list*, the file
form, the preview DM with *Apply* / *Cancel*, and the applied import's progress in that DM."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import ids
from bot import slack_import as si
from bot.deps import Deps
from bot.errors import ValidationFailed
from bot.importing import ImportFailed
from bot.views.imports import (
    applied_message,
    cancelled_message,
    failed_message,
    import_modal,
    preview_message,
    progress_message,
)
from handlers.commands import Invocation, Subcommand
from handlers.forms import nothing
from handlers.listener import Click, Listen, Submission, open_view

log = logging.getLogger(__name__)
PROGRESS_EVERY = 3.0  # seconds between progress lines in the DM
ALREADY_DECIDED = "This import was already applied or cancelled; run `/reference import` to bring the file in again."


def _open(call: Invocation) -> None:
    open_view(call.client, call.command.get("trigger_id"), import_modal(), call.reply, "the import form")


def subcommands() -> list[Subcommand]:
    return [
        Subcommand("import", "import", "import a customer list (CSV or XLSX) from Slack.", _open, managers_only=True)
    ]


def register(app: App, deps: Deps) -> None:
    settings = deps.settings
    on = Listen(app, deps)

    def preview_to_dm(client: WebClient, user: str, file_id: str) -> None:
        with tempfile.TemporaryDirectory(prefix="refbot-import-") as folder:
            try:
                path = si.download(client, settings, file_id, Path(folder))
                found = si.preview(deps.db, client, path, user)
            except ImportFailed as exc:
                client.chat_postMessage(channel=user, **failed_message("", str(exc)))
                return
            client.chat_postMessage(channel=user, **preview_message(found, file_id))
            report = path.with_name(f"{path.stem}-import-report.csv")
            found.report.write_csv(report)
            dm = client.conversations_open(users=user)["channel"]["id"]
            client.files_upload_v2(channel=dm, file=str(report), filename=report.name, title=f"Report: {path.name}")

    @on.click(ids.IMPORT_OPEN, reads=nothing)
    def open_form(click: Click[tuple[()]]) -> None:
        si.require_manager(settings, click.user_id)
        click.open(import_modal(), "the import form")

    @on.accepts(ids.IMPORT_MODAL, errors_at="file")
    def check_file(form: Submission) -> Callable[[WebClient], None]:
        """Checked before the ack (who, which file); the download and dry run run after it."""
        si.require_manager(settings, form.user_id)
        files = form.values.get("file")
        file_id = si.file_id_of(files[0]) if isinstance(files, list) and files else None
        if file_id is None:
            raise ValidationFailed({"file": "Drop a CSV or XLSX file here."})
        user = form.user_id
        return lambda client: preview_to_dm(client, user, file_id)

    def update(click: Click[str], message: dict[str, Any]) -> None:
        container = click.body.get("container") or {}
        try:
            click.client.chat_update(channel=container["channel_id"], ts=container["message_ts"], **message)
        except (SlackApiError, KeyError):  # the DM is only the view of it: the import goes on regardless
            log.warning("could not update the import DM for %s", click.user_id, exc_info=True)

    @on.click(ids.IMPORT_APPLY, reads=si.file_id_of)
    def apply(click: Click[str]) -> None:
        with deps.db.transaction() as session:
            first = si.decide(session, settings, click.carried, click.user_id)
        if not first:
            click.tell(ALREADY_DECIDED)
            return
        update(click, progress_message("the list", "downloading it again"))
        with tempfile.TemporaryDirectory(prefix="refbot-import-") as folder:
            try:
                path = si.download(click.client, settings, click.carried, Path(folder))
                progress = si.ThrottledProgress(
                    lambda line: update(click, progress_message(path.name, line)), PROGRESS_EVERY, time.monotonic
                )
                report = si.apply(deps.db, click.client, path, click.user_id, progress)
            except ImportFailed as exc:
                update(click, failed_message("", str(exc)))
                return
        update(click, applied_message(path.name, report))
        deps.outbox.kick()

    @on.click(ids.IMPORT_CANCEL, reads=si.file_id_of)
    def cancel(click: Click[str]) -> None:
        with deps.db.transaction() as session:
            first = si.decide(session, settings, click.carried, click.user_id)
        if not first:
            click.tell(ALREADY_DECIDED)
            return
        update(click, cancelled_message())
