"""Incidents from a customer's profile, end to end through signed requests against the Slack fake, on SQLite
and (with TEST_DATABASE_URL) PostgreSQL: who may record and resolve, the managers' DM, a high-severity open
incident blocking use on every card that ranks the customer, escaping and double submissions."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.customers import can_use
from bot.settings import Settings
from models import AuditEntry, Incident
from models.db import Database
from models.enums import RefType
from models.types import utcnow
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, MANAGER_2, OWNER, REP

HOSTILE = "<!channel> SEPA payouts late & <https://evil.example|refunds> failing"


def seed(db: Database) -> int:
    with db.transaction() as session:
        return factories.customer(session, "Acme Bank", industry="Fintech", region="EMEA").id


def profile_of(slack: SignedClient, fake: FakeSlack, user: str) -> dict[str, Any]:
    before = len(fake.ephemerals(user))
    assert slack.command(user, "show Acme Bank").status == 200
    return fake.wait_for(lambda f: len(f.ephemerals(user)) > before and f.ephemerals(user)[-1])


def button_ids(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def open_form(slack: SignedClient, fake: FakeSlack, user: str, action_id: str) -> dict[str, Any]:
    before = len(fake.views(user))
    assert slack.click(user, profile_of(slack, fake, user), action_id).status == 200
    return fake.wait_for(lambda f: len(f.views(user)) > before and f.views(user)[-1])


def record(slack: SignedClient, fake: FakeSlack, user: str, **values: Any) -> Any:
    view = open_form(slack, fake, user, ids.INCIDENT_RECORD)
    return slack.view_submission(user, view, {"severity": "high", "summary": HOSTILE, **values})


def usable(db: Database, settings: Settings, customer_id: int) -> tuple[bool, list[str]]:
    with db.reading() as session:
        verdict = can_use(session, settings, customer_id, RefType.CALL, utcnow()).assessment
        return verdict.eligible, verdict.blockers


def test_the_owner_records_a_high_incident_it_blocks_use_and_the_managers_hear_of_it(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    customer_id = seed(db)
    assert {ids.INCIDENT_RECORD} <= set(button_ids(profile_of(slack, fake, OWNER)))
    view = open_form(slack, fake, OWNER, ids.INCIDENT_RECORD)
    opened = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}["opened_on"]
    today = utcnow().astimezone(settings.tz).date()
    assert opened["initial_date"] == today.isoformat()
    done = slack.view_submission(
        OWNER, view, {"severity": "high", "summary": HOSTILE, "opened_on": today - timedelta(3)}
    )
    assert done.status == 200 and not done.body.strip(), done.body
    with db.reading() as session:
        incident = session.scalars(select(Incident)).one()
        assert (incident.severity, incident.resolved, incident.recorded_by) == ("high", False, OWNER)
        assert incident.occurred_on == today - timedelta(3) and incident.summary == HOSTILE

    for manager in (MANAGER, MANAGER_2):
        notice = fake.wait_for(lambda f, m=manager: next((x for x in f.messages(m) if "Incident" in x.text), None))
        shown = json.dumps(notice.blocks)
        assert f"<@{OWNER}> recorded a *high*-severity incident at *Acme Bank*" in shown
        assert "&lt;!channel&gt; SEPA payouts late &amp; &lt;https://evil.example|refunds&gt;" in shown
        assert "<!channel>" not in shown and "It blocks this customer as a reference" in shown

    eligible, blockers = usable(db, settings, customer_id)
    since = (today - timedelta(3)).isoformat()
    assert not eligible and blockers == [f"Open high-severity incident since {since}: {HOSTILE}"]
    # Every card that ranks the customer says so: the managers' card for a new request…
    slack.command(REP, "request Globex")
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    assert slack.view_submission(REP, form, {"industry": "Fintech"}).status == 200
    card = fake.wait_for(lambda f: next((m for m in f.messages(MANAGER) if "Request #" in m.text), None))
    blocked = f":no_entry: Open high-severity incident since {since}: &lt;!channel&gt; SEPA payouts late"
    assert blocked in json.dumps(card.blocks)
    assert ids.for_item(ids.APPROVE, customer_id) not in json.dumps(card.blocks)  # no Approve for it
    # …and the profile and can-use.
    assert blocked in json.dumps(profile_of(slack, fake, REP)["blocks"])
    assert fake.violations == []


def test_resolving_lifts_the_block_and_a_second_resolve_does_nothing(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    customer_id = seed(db)
    assert record(slack, fake, MANAGER, severity="critical").status == 200
    assert not usable(db, settings, customer_id)[0]
    view = open_form(slack, fake, MANAGER, ids.INCIDENT_RESOLVE)
    [option] = next(b for b in view["blocks"] if b.get("block_id") == "resolve")["element"]["options"]
    done = slack.view_submission(OWNER, view, {"resolve": [option["value"]]})
    assert done.status == 200 and not done.body.strip(), done.body
    assert usable(db, settings, customer_id) == (True, [])
    with db.reading() as session:
        incident = session.scalars(select(Incident)).one()
        assert (incident.resolved, incident.resolved_by) == (True, OWNER) and incident.resolved_at is not None
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["customer.incident_added", "customer.incident_resolved"]
    again = slack.view_submission(MANAGER, view, {"resolve": [option["value"]]})
    assert again.json()["response_action"] == "errors"
    assert again.json()["errors"]["resolve"].endswith(f"was already resolved by @{OWNER}.")
    # With nothing open, the profile offers no Resolve, and a stale Resolve button says why.
    assert ids.INCIDENT_RESOLVE not in button_ids(profile_of(slack, fake, MANAGER))
    stale = slack.block_action(MANAGER, ids.INCIDENT_RESOLVE, value=str(customer_id))
    assert stale.status == 200
    told = fake.wait_for(lambda f: next((e for e in f.ephemerals(MANAGER) if "no open incident" in e["text"]), None))
    assert told["text"] == "*Acme Bank* has no open incident to resolve."


def test_cards_already_sent_say_so_and_lose_the_approve_button(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    customer_id = seed(db)
    slack.command(REP, "request Globex")
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    assert slack.view_submission(REP, form, {"industry": "Fintech"}).status == 200
    card = fake.wait_for(lambda f: next((m for m in f.messages(MANAGER) if "Request #" in m.text), None))
    approve = ids.for_item(ids.APPROVE, customer_id)
    assert approve in json.dumps(card.blocks)
    assert record(slack, fake, OWNER).status == 200
    fake.wait_for(lambda f: approve not in json.dumps(f.message(card.channel, card.ts).blocks))  # type: ignore[union-attr]
    assert "Open high-severity incident" in json.dumps(fake.message(card.channel, card.ts).blocks)  # type: ignore[union-attr]
    view = open_form(slack, fake, MANAGER, ids.INCIDENT_RESOLVE)
    [option] = next(b for b in view["blocks"] if b.get("block_id") == "resolve")["element"]["options"]
    assert slack.view_submission(MANAGER, view, {"resolve": [option["value"]]}).status == 200
    fake.wait_for(lambda f: approve in json.dumps(f.message(card.channel, card.ts).blocks))  # type: ignore[union-attr]


def test_a_low_severity_incident_is_a_warning_not_a_block(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    customer_id = seed(db)
    assert record(slack, fake, OWNER, severity="medium", summary="Slow support tickets").status == 200
    assert usable(db, settings, customer_id) == (True, [])
    notice = fake.wait_for(lambda f: next((x for x in f.messages(MANAGER) if "Incident" in x.text), None))
    assert "blocks this customer" not in json.dumps(notice.blocks)


def test_only_managers_and_the_owner_record_or_resolve(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    customer_id = seed(db)
    assert ids.INCIDENT_RECORD not in button_ids(profile_of(slack, fake, REP))
    # A forged click and a forged submission are both refused; nothing is recorded and nobody is told.
    assert slack.block_action(REP, ids.INCIDENT_RECORD, value=str(customer_id)).status == 200
    refusal = fake.wait_for(
        lambda f: next((e for e in f.ephemerals(REP) if "Only a reference manager" in e["text"]), None)
    )
    assert refusal["text"] == (
        f"Only a reference manager or <@{OWNER}>, who owns it, can record or resolve incidents for *Acme Bank*."
    )
    view = open_form(slack, fake, OWNER, ids.INCIDENT_RECORD)
    forged = slack.view_submission(REP, view, {"severity": "high", "summary": "made up"})
    assert (
        forged.json()["response_action"] == "errors"
        and "Only a reference manager" in forged.json()["errors"]["summary"]
    )
    with db.reading() as session:
        assert session.scalars(select(Incident)).all() == []
    assert not any("Incident" in m.text for m in fake.messages(MANAGER))


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({"summary": "   "}, "summary", "Say in a line what happened."),
        ({"summary": "x" * 1001}, "summary", "Keep this under 1000 characters (it has 1001)."),
        ({"opened_on": date.today() + timedelta(days=3)}, "opened_on", "The incident can't start in the future."),
    ],
)
def test_bad_input_is_answered_in_the_form(
    slack: SignedClient, fake: FakeSlack, db: Database, values: dict[str, Any], field: str, says: str
) -> None:
    seed(db)
    answer = record(slack, fake, MANAGER, **values)
    assert answer.json() == {"response_action": "errors", "errors": {field: says}}
