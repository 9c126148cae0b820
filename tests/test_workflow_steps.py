"""Workflow Builder custom steps end to end: signed `function_executed` events against the running server, the
Slack fake recording how each run completed, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.workflows import CONSENT_STEP, REQUEST_STEP
from models import ReferenceRequest
from models.db import Database
from models.enums import Happiness
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, REP


def run(slack: SignedClient, fake: FakeSlack, step: str, inputs: dict[str, Any]) -> dict[str, Any]:
    response, execution = slack.function_executed(step, inputs)
    assert response.status == 200, response.body
    return fake.wait_for(lambda f: (r := f.function_result(execution))["state"] != "running" and r)


def requests(db: Database) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(ReferenceRequest)) or 0


def test_request_step_starts_a_tracked_request_and_outputs_its_number(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    needed = (date.today() + timedelta(days=20)).isoformat()
    inputs = {"requester": REP, "prospect": "Globex <b>", "kind": "Case study", "needed_by": needed, "notes": "from WB"}
    result = run(slack, fake, REQUEST_STEP, inputs)
    assert result["state"] == "completed"
    number = result["outputs"]["request_number"]
    with db.reading() as session:
        request = session.get(ReferenceRequest, number)
        assert request is not None
        assert (request.requester_id, request.prospect, request.ref_type, request.notes) == (
            REP,
            "Globex <b>",
            "case_study",
            "from WB",
        )
        assert request.needed_by is not None and request.needed_by.isoformat() == needed
    # Like a request from the form: the rep's receipt and every manager's card, escaped.
    card = fake.wait_for(lambda f: next((m for m in f.messages(MANAGER) if f"#{number}" in m.text), None))
    assert "Globex &lt;b&gt;" in card.text
    # The run was completed with its own token, not the bot token.
    call = next(c for c in fake.calls("functions.completeSuccess"))
    assert call.token is not None and call.token.startswith("xwfp-")
    assert fake.violations == []


@pytest.mark.parametrize(
    ("inputs", "says"),
    [
        ({"requester": REP, "prospect": ""}, "Name the prospect company"),
        ({"requester": "not-a-user", "prospect": "Globex"}, "Pick the person who needs the reference."),
        ({"requester": REP, "prospect": "Globex", "kind": "interpretive dance"}, "is not a kind of reference"),
    ],
)
def test_a_bad_request_input_fails_the_step_with_a_sentence(
    slack: SignedClient, fake: FakeSlack, db: Database, inputs: dict[str, Any], says: str
) -> None:
    result = run(slack, fake, REQUEST_STEP, inputs)
    assert result["state"] == "errored" and says in result["error"], result
    assert requests(db) == 0


def test_consent_step_says_allowed_and_why(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    with db.transaction() as session:
        factories.customer(session, "Acme Bank", consents=("case_study",))
        factories.customer(session, "Sour Inc", answer=Happiness.UNHAPPY, consents=("case_study",))
    yes = run(slack, fake, CONSENT_STEP, {"customer": "acmebank.example", "kind": "case_study"})
    assert yes["outputs"]["allowed"] is True
    assert yes["outputs"]["reason"] == "Yes: Carla (CMO) approved Acme Bank for case study with no expiry."
    none = run(slack, fake, CONSENT_STEP, {"customer": "Acme Bank", "kind": "logo"})
    assert none["outputs"]["allowed"] is False and none["outputs"]["reason"].startswith("No: ")
    sour = run(slack, fake, CONSENT_STEP, {"customer": "Sour Inc", "kind": "case study"})
    assert sour["outputs"]["allowed"] is False and "unhappy" in sour["outputs"]["reason"].lower()


def test_consent_step_fails_for_no_such_customer_or_kind(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    missing = run(slack, fake, CONSENT_STEP, {"customer": "Nobody Ltd", "kind": "logo"})
    assert missing["state"] == "errored" and missing["error"]
    kind = run(slack, fake, CONSENT_STEP, {"customer": "Nobody Ltd", "kind": ""})
    assert kind == {
        "state": "errored",
        "callback_id": CONSENT_STEP,
        "error": "Say which kind of use, e.g. case_study or logo.",
    }


def test_a_redelivered_event_runs_the_step_once(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    execution, token = fake.start_function(REQUEST_STEP)
    event = {
        "type": "function_executed",
        "function": {"callback_id": REQUEST_STEP, "id": "Fn1", "type": "app", "app_id": "A0FAKE"},
        "inputs": {"requester": REP, "prospect": "Initech"},
        "function_execution_id": execution,
        "workflow_execution_id": "Wx1",
        "bot_access_token": token,
    }
    assert slack.event(event, event_id="Ev0STEP1").status == 200
    fake.wait_for(lambda f: f.function_result(execution)["state"] == "completed")
    assert slack.event(event, event_id="Ev0STEP1", retry_num=1).status == 200
    time.sleep(0.3)
    assert requests(db) == 1
