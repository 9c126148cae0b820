"""What refbot says to a command it half understands (issue 10, items 12 and 13).

`/reference can-use` without a type, a mistyped subcommand, a shortcut refbot does not have, and
`refbot jobs run` beside a running server: driven through signed requests and the CLI, on both databases.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select

import bot.jobs
from bot import cli
from bot.outbox import REFRESH
from bot.requests import HOME
from bot.settings import Settings
from handlers.fallback import NO_SUCH_SHORTCUT
from handlers.suggestions import closest_subcommand
from models import OutboxMessage
from models.db import Database
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import BOT_TOKEN, MANAGER, OWNER, REP
from tests.test_customers_slack import run
from tests.test_jobs import text_of, wait_message

# -- item 12: /reference can-use without a type ---------------------------------------------------------------


def test_can_use_without_a_type_tries_the_whole_text_as_a_customer(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    with db.transaction() as session:
        factories.customer(session, "Acme Corp")
        factories.customer(session, "Logo Works")  # a name that ends like a type is still a name first
    for typed, name in (("Acme Corp", "Acme Corp"), ("acmecorp.example", "Acme Corp"), ("Logo Works", "Logo Works")):
        asked = run(slack, fake, REP, f"can-use {typed}", "Which kind of use")
        text = asked["blocks"][0]["text"]["text"]
        assert f"Which kind of use of *{name}* do you mean?" in text
        assert f"`/reference can-use {typed} case_study`" in text and "`site_visit`" in text
        assert "I don't know the reference type" not in text
    # With a type, or with words that are not a customer, nothing changes.
    run(slack, fake, REP, "can-use Acme Corp reference call", "Yes:")
    run(slack, fake, REP, "can-use acme banana", "I don't know the reference type “banana”")
    run(slack, fake, REP, "can-use acme", "Name a customer and a kind of use")
    assert fake.violations == []


# -- item 12: a suggestion only when it is close --------------------------------------------------------------

NAMES = ["request", "mine", "cancel", "find", "show", "checkin", "can-use", "stats", "add", "watch", "unwatch"]


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("reqest", "request"),
        ("requets", "request"),
        ("mnie", "mine"),
        ("stat", "stats"),
        ("canuse", "can-use"),
        ("chekin", "checkin"),
        ("incident", None),
        ("import", None),
        ("x", None),
        ("help-me-please", None),
    ],
)
def test_a_suggestion_only_when_it_is_close(typed: str, suggested: str | None) -> None:
    assert closest_subcommand(typed, NAMES) == suggested


def test_unknown_subcommand_suggests_nothing_far_away(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    unknown = slack.command(REP, "incident Acme outage").json()
    text = unknown["blocks"][0]["text"]["text"]
    assert text == ":thinking_face: I don't know `incident`."
    close = slack.command(REP, "mnie").json()["blocks"][0]["text"]["text"]
    assert close == ":thinking_face: I don't know `mnie`. Did you mean `/reference mine`?"


# -- item 13: a shortcut refbot does not have -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["message_action", "shortcut"])
def test_a_shortcut_refbot_does_not_have_is_named_as_such(
    slack: SignedClient, fake: FakeSlack, db: Database, kind: str
) -> None:
    payload: dict[str, Any] = {
        "type": kind,
        "team": {"id": "T0FAKE"},
        "user": {"id": REP},
        "callback_id": "summarise_thread",
        "trigger_id": fake.issue_trigger(REP),
    }
    if kind == "message_action":
        payload |= {
            "channel": {"id": "C0GENERAL"},
            "message": {"type": "message", "ts": "1700000000.000100", "text": "Can anyone share a fintech reference?"},
            "response_url": fake.response_url(REP, channel="C0GENERAL", ts="1700000000.000100"),
        }
    response = slack._send_payload(payload, {})
    assert response.status == 200 and not response.body.strip()
    if kind == "message_action":  # privately, in the channel of the message
        told = fake.wait_for(lambda f: [e["text"] for e in f.ephemerals(REP) if "shortcut" in e["text"]])
    else:  # a global shortcut has no channel: a DM
        told = fake.wait_for(lambda f: [m.text for m in f.messages(REP) if "shortcut" in m.text])
    assert told == [NO_SUCH_SHORTCUT]
    assert "refbot has no such shortcut" in NO_SUCH_SHORTCUT and "no longer in use" not in NO_SUCH_SHORTCUT


# -- item 13: `refbot jobs run` beside a running server -------------------------------------------------------


def _statuses(db: Database) -> list[str]:
    with db.reading() as session:
        messages = select(OutboxMessage.status).where(OutboxMessage.kind.not_in([HOME, REFRESH]))
        return list(session.scalars(messages))


def _cli_talks_to(fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake.url)
    monkeypatch.setenv("REFBOT_TIMEZONE", settings.timezone)


def test_jobs_run_says_a_running_server_already_sent_what_it_queued(
    slack: SignedClient,
    fake: FakeSlack,
    db: Database,
    settings: Settings,
    cli_env: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with db.transaction() as session:
        factories.customer(session, "Acme Corp", happy_days_ago=None)
    _cli_talks_to(fake, monkeypatch, settings)
    real_run = bot.jobs.run_job

    def server_is_quicker(*args: Any, **kwargs: Any) -> Any:
        result = real_run(*args, **kwargs)
        wait_message(fake, OWNER, "Acme Corp")  # the running server's outbox delivered it first …
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _statuses(db) != ["sent"]:  # … and recorded it
            time.sleep(0.05)
        return result

    monkeypatch.setattr(bot.jobs, "run_job", server_is_quicker)
    assert cli.main(["jobs", "run", "checkins"]) == 0
    out = capsys.readouterr().out
    assert "enqueued 1 message(s)" in out
    assert "delivered 0 message(s)" not in out
    assert "checkins: 1 message queued: 1 already sent by a running refbot." in out
    assert len([m for m in fake.messages(OWNER) if "Acme Corp" in text_of(m)]) == 1


def test_jobs_run_says_what_it_sent_itself(
    fake: FakeSlack,
    db: Database,
    settings: Settings,
    cli_env: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with db.transaction() as session:
        factories.customer(session, "Acme Corp", happy_days_ago=None)
        factories.customer(session, "Orphan Inc", owner=None, happy_days_ago=None)
    _cli_talks_to(fake, monkeypatch, settings)
    monkeypatch.setenv("REFBOT_MANAGERS", MANAGER)
    fake.fail("chat.postMessage", error="channel_not_found")  # the first DM fails for good
    assert cli.main(["jobs", "run", "checkins"]) == 0
    out = capsys.readouterr().out
    assert "checkins: 2 messages queued: 1 sent now, 1 failed (see `refbot outbox`)." in out
    assert sorted(_statuses(db)) == ["failed", "sent"]


def test_jobs_run_without_a_token_says_the_messages_wait(
    cli_env: Database, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with db.transaction() as session:
        factories.customer(session, "Acme Corp", happy_days_ago=None)
    assert cli.main(["jobs", "run", "checkins"]) == 0
    assert "checkins: 1 message queued: 1 waiting in the outbox (see `refbot outbox`)." in capsys.readouterr().out
