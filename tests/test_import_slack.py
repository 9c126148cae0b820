"""Importing a customer list from Slack, end to end through signed requests against the Slack fake, on SQLite
and (with TEST_DATABASE_URL) PostgreSQL: the file form, the download (with the bot token, from Slack's hosts
only, capped), the dry-run preview DM with its report file, Apply with progress, Cancel, and who may do it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from bot import ids
from bot.settings import Settings
from bot.slack_import import MAX_BYTES, ThrottledProgress, is_slack_host
from models import Customer
from models.db import Database
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests.conftest import MANAGER, REP

LIST = (
    b"Account Name,Website,Industry,Region\n"
    b"Acme Bank,acme.com,Fintech,EMEA\n"
    b"Globex <b> & Co,globex.com,Retail,NA\n"
    b",nameless.com,Retail,NA\n"
)


def customers(db: Database) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(Customer)) or 0


def import_form(slack: SignedClient, fake: FakeSlack, user: str = MANAGER) -> dict[str, Any]:
    assert slack.command(user, "import").status == 200
    return fake.wait_for(lambda f: f.views(user) and f.views(user)[-1])


def dm_with(fake: FakeSlack, words: str, user: str = MANAGER) -> Any:
    return fake.wait_for(lambda f: next((m for m in f.messages(user) if words in m.text), None))


def submit_file(slack: SignedClient, fake: FakeSlack, name: str, data: bytes, **kwargs: Any) -> Any:
    shared = fake.person_uploads(MANAGER, name, data, **kwargs)
    answer = slack.view_submission(MANAGER, import_form(slack, fake), {"file": [shared]})
    assert answer.status == 200 and not answer.body.strip(), answer.body
    return shared


def test_preview_then_apply_imports_the_list_once(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    form = import_form(slack, fake)
    [block] = [b for b in form["blocks"] if b.get("type") == "input"]
    assert block["element"] == {"type": "file_input", "action_id": "file", "filetypes": ["csv", "xlsx"], "max_files": 1}
    shared = submit_file(slack, fake, "q4 list.csv", LIST)

    preview = dm_with(fake, "Import preview")
    shown = json.dumps(preview.blocks, ensure_ascii=False)
    assert "*q4_list.csv*: what an import would do" in shown
    assert "2 new · 0 updated · 0 merged · 0 conflicts · 1 skipped" in shown
    assert "'Account Name'" in shown or "Account Name" in shown  # the columns it used
    assert customers(db) == 0  # a dry run: nothing written
    # The report CSV, uploaded to the manager's DM; the file was fetched with the bot token.
    report = fake.wait_for(lambda f: next((u for u in f.uploads() if u.completed), None))
    assert report.channel_id == fake.dm_channel(MANAGER) and report.data and b"Acme Bank" in report.data
    assert fake.file_downloads == [{"file_id": shared["id"], "token": settings.slack_bot_token}]

    assert slack.click(MANAGER, preview, ids.IMPORT_APPLY).status == 200
    done = dm_with(fake, "Imported")
    assert done.ts == preview.ts  # the same DM, updated in place, its buttons gone
    assert "Imported *q4_list.csv*: 2 new · 0 updated · 0 merged · 0 conflicts · 1 skipped." in done.text
    assert "actions" not in [b["type"] for b in done.blocks]
    with db.reading() as session:
        names = sorted(session.scalars(select(Customer.name)))
    assert names == ["Acme Bank", "Globex <b> & Co"]
    # A second Apply (a double click, an old copy of the DM) does nothing.
    assert slack.click(MANAGER, preview, ids.IMPORT_APPLY).status == 200
    told = fake.wait_for(lambda f: next((e for e in f.ephemerals(MANAGER) if "already applied" in e["text"]), None))
    assert told["text"].startswith("This import was already applied or cancelled")
    assert customers(db) == 2 and len(fake.file_downloads) == 2
    assert fake.violations == []


def test_cancel_writes_nothing_and_apply_after_it_does_nothing(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    submit_file(slack, fake, "list.csv", LIST)
    preview = dm_with(fake, "Import preview")
    assert slack.click(MANAGER, preview, ids.IMPORT_CANCEL).status == 200
    dm_with(fake, "Import cancelled")
    assert slack.click(MANAGER, preview, ids.IMPORT_APPLY).status == 200
    fake.wait_for(lambda f: next((e for e in f.ephemerals(MANAGER) if "already applied" in e["text"]), None))
    assert customers(db) == 0


def test_only_managers_import(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    answer = slack.command(REP, "import")
    assert answer.status == 200
    told = fake.wait_for(lambda f: f.ephemerals(REP) and f.ephemerals(REP)[-1])
    assert told["text"] == "Only reference managers can use `/reference import`."
    shared = fake.person_uploads(REP, "list.csv", LIST)
    forged = slack.view_submission(REP, import_form(slack, fake), {"file": [shared]})
    assert forged.json() == {
        "response_action": "errors",
        "errors": {"file": "Only reference managers can import customer lists."},
    }
    submit_file(slack, fake, "list.csv", LIST)
    preview = dm_with(fake, "Import preview")
    assert slack.click(REP, preview, ids.IMPORT_APPLY).status == 200
    fake.wait_for(lambda f: next((e for e in f.ephemerals(REP) if "Only reference managers" in e["text"]), None))
    # The rep's click claimed nothing: the manager can still apply.
    assert slack.click(MANAGER, preview, ids.IMPORT_APPLY).status == 200
    dm_with(fake, "Imported")
    assert customers(db) == 2


def test_no_file_is_answered_in_the_form(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    answer = slack.view_submission(MANAGER, import_form(slack, fake), {})
    assert answer.json() == {"response_action": "errors", "errors": {"file": "Drop a CSV or XLSX file here."}}


def test_a_file_elsewhere_is_refused_and_never_downloaded(
    slack: SignedClient, fake: FakeSlack, db: Database, caplog: Any
) -> None:
    submit_file(slack, fake, "list.csv", LIST, url_private="https://files.evil.example/list.csv")
    told = dm_with(fake, "nothing was imported")
    assert told.text == (
        ":warning: list.csv does not come from Slack's own file store, so refbot did not download it; "
        "nothing was imported."
    )
    assert fake.file_downloads == [] and customers(db) == 0


def test_what_is_not_a_list_is_one_sentence(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    submit_file(slack, fake, "notes.txt", b"hello")
    first = dm_with(fake, "is not a list")
    assert first.text.startswith(":warning: notes.txt is not a list refbot can import: send a CSV or XLSX file")
    submit_file(slack, fake, "numbers.csv", b"Amount,Quarter\n12,Q1\n")
    fake.wait_for(lambda f: len([m for m in f.messages(MANAGER) if "is not a list" in m.text]) == 2)
    assert customers(db) == 0


def test_a_download_over_10_mb_is_stopped(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    submit_file(slack, fake, "huge.csv", b"Name\n" + b"x" * MAX_BYTES)
    told = dm_with(fake, "over 10 MB")
    assert "huge.csv is over 10 MB" in told.text and customers(db) == 0


def test_only_slacks_own_hosts_get_the_token(settings: Settings) -> None:
    assert is_slack_host("https://files.slack.com/files-pri/T1-F1/list.csv", settings)
    assert is_slack_host("https://acme.slack.com/files-pri/T1-F1/list.csv", settings)
    assert is_slack_host(settings.slack_api_url.replace("/api/", "/files-pri/T-F1/x.csv"), settings)
    for url in (
        "http://files.slack.com/x.csv",
        "https://files.slack.com.evil.example/x.csv",
        "https://evilslack.com/x.csv",
        "https://127.0.0.1:1/x.csv",
        "file:///etc/passwd",
        "",
    ):
        assert not is_slack_host(url, settings), url


def test_progress_is_reported_every_few_seconds_not_every_row() -> None:
    lines: list[str] = []
    now = [0.0]
    progress = ThrottledProgress(lines.append, 3.0, lambda: now[0])
    bar = progress("writing customers", 10_000)
    for step in range(10):
        now[0] = step * 1.0
        bar.update(1000)
    assert lines == [
        "writing customers: 4,000 of 10,000 rows",
        "writing customers: 7,000 of 10,000 rows",
        "writing customers: 10,000 of 10,000 rows",
    ]


def test_the_app_home_offers_import_a_list_to_managers_only(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    from tests.test_home import open_home

    home = open_home(slack, fake, MANAGER, "Import a list")
    assert slack.click(MANAGER, home, ids.IMPORT_OPEN).status == 200
    form = fake.wait_for(lambda f: f.views(MANAGER) and f.views(MANAGER)[-1])
    assert form["callback_id"] == ids.IMPORT_MODAL
    rep_home = open_home(slack, fake, REP, "New reference request")
    assert "Import a list" not in json.dumps(rep_home["blocks"])
    assert slack.block_action(REP, ids.IMPORT_OPEN, value="open").status == 200
    told = fake.wait_for(lambda f: f.ephemerals(REP) and f.ephemerals(REP)[-1])
    assert told["text"] == "Only reference managers can import customer lists." and fake.views(REP) == []
