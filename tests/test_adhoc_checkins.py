"""`/reference checkin <customer>` end to end through signed requests against the Slack fake, on SQLite and
(with TEST_DATABASE_URL) PostgreSQL: who may run it, the owner's card and the manager's result, the owner
answering in a form, and the answer counting like any check-in (it blocks or unblocks use)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot import ids
from bot.customers import can_use
from bot.eligibility import Assessment
from bot.settings import Settings
from models import AuditEntry, CheckIn, Customer
from models.db import Database
from models.enums import CheckInStatus, Happiness, RefType
from models.types import utcnow
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, OWNER, REP


def reply(slack: SignedClient, fake: FakeSlack, user: str, text: str) -> str:
    before = len(fake.ephemerals(user))
    response = slack.command(user, text)
    assert response.status == 200, response.body
    return str(fake.wait_for(lambda f: len(f.ephemerals(user)) > before and f.ephemerals(user)[-1])["text"])


def seed(db: Database, **kwargs: Any) -> int:
    with db.transaction() as session:
        return factories.customer(session, "Acme <Bank> & Co", **kwargs).id


def checkins(db: Database, customer_id: int) -> list[CheckIn]:
    with db.reading() as session:
        return list(session.scalars(select(CheckIn).where(CheckIn.customer_id == customer_id).order_by(CheckIn.id)))


def verdict(db: Database, settings: Settings, customer_id: int) -> Assessment:
    with db.reading() as session:
        return can_use(session, settings, customer_id, RefType.CALL, utcnow()).assessment


def usable(db: Database, settings: Settings, customer_id: int) -> bool:
    return verdict(db, settings, customer_id).eligible


def card_for(fake: FakeSlack, user: str) -> Any:
    return fake.wait_for(lambda f: next((m for m in f.messages(user) if "still happy" in m.text), None))


def test_a_manager_asks_the_owner_who_answers_on_the_usual_card(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    customer_id = seed(db, happy_days_ago=5)
    assert usable(db, settings, customer_id)
    said = reply(slack, fake, MANAGER, "checkin Acme <Bank> & Co")
    assert (
        said == f":wave: Asked <@{OWNER}> whether *Acme &lt;Bank&gt; &amp; Co* is still happy; "
        "their answer comes to you in a DM."
    )
    card = card_for(fake, OWNER)
    assert f"<@{MANAGER}> asks: is *Acme &lt;Bank&gt; &amp; Co* still happy?" in json.dumps(card.blocks)
    # A second run while the owner has not answered sends no second question.
    again = reply(slack, fake, MANAGER, "checkin acme")
    assert "was already asked" in again and "no second question was sent" in again
    assert [c.status for c in checkins(db, customer_id)] == ["answered", "pending"]

    assert slack.click(OWNER, card, ids.for_item(ids.CHECKIN_ANSWER, "unhappy")).status == 200
    result = fake.wait_for(lambda f: next((m for m in f.messages(MANAGER) if "Unhappy" in m.text), None))
    assert f"<@{OWNER}> says *Acme &lt;Bank&gt; &amp; Co* is *unhappy*" in json.dumps(result.blocks)
    # It counts like any check-in: the customer is blocked now, and the answer is in its history.
    assert not usable(db, settings, customer_id)
    with db.reading() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None and customer.last_checkin_answer == Happiness.UNHAPPY.value
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(customer_id))).all()
    assert {"checkin.asked", "checkin.answered"} <= set(actions)
    assert fake.violations == []


def test_the_owner_answers_at_once_in_a_form_and_it_unblocks_use(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    customer_id = seed(db, happy_days_ago=200)  # stale: needs a check-in before any use
    assert verdict(db, settings, customer_id).needs_checkin  # stale: it waits for the owner's word
    response = slack.command(OWNER, "checkin Acme <Bank> & Co")
    assert response.status == 200
    view = fake.wait_for(lambda f: f.views(OWNER) and f.views(OWNER)[-1])
    assert view["callback_id"] == ids.CHECKIN_NOW_MODAL
    assert "Is *Acme &lt;Bank&gt; &amp; Co* still happy?" in json.dumps(view["blocks"])
    assert fake.messages(OWNER) == []  # nobody else to ask: no card

    forged_nps = {"text": {"type": "plain_text", "text": "11"}, "value": "11"}
    bad = slack.view_submission(OWNER, view, {"answer": "happy", "nps": forged_nps})
    assert bad.json() == {"response_action": "errors", "errors": {"nps": "NPS is a score from 0 to 10."}}
    done = slack.view_submission(OWNER, view, {"answer": "happy", "nps": "9", "note": "<!here> all good & more"})
    assert done.status == 200 and not done.body.strip(), done.body
    [old, new] = checkins(db, customer_id)
    assert (new.status, new.answer, new.nps, new.answered_by, new.asked_by) == ("answered", "happy", 9, OWNER, OWNER)
    assert new.note == "<!here> all good & more"  # stored as typed, escaped wherever it is shown
    after = verdict(db, settings, customer_id)
    assert after.eligible and not after.needs_checkin  # usable at once now
    assert fake.violations == []


def test_the_owners_answer_answers_the_check_in_already_waiting(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    customer_id = seed(db)
    reply(slack, fake, MANAGER, "checkin acme")
    card_for(fake, OWNER)
    slack.command(OWNER, "checkin acme")
    view = fake.wait_for(lambda f: f.views(OWNER) and f.views(OWNER)[-1])
    assert slack.view_submission(OWNER, view, {"answer": "concerns"}).status == 200
    statuses = [(c.status, c.answer) for c in checkins(db, customer_id)]
    assert statuses == [("answered", "happy"), ("answered", "concerns")]  # one question, one answer
    # The owner's card no longer offers the buttons, and the asking manager hears the answer.
    fake.wait_for(lambda f: "Answered *Some concerns*" in json.dumps(card_for(f, OWNER).blocks))
    fake.wait_for(lambda f: next((m for m in f.messages(MANAGER) if "Some concerns" in m.text), None))


def test_only_managers_and_the_owner_may_ask_or_answer(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    customer_id = seed(db)
    refused = reply(slack, fake, REP, "checkin acme")
    assert refused == (
        f"Only a reference manager or <@{OWNER}>, who owns it, can ask for a check-in on *Acme &lt;Bank&gt; &amp; Co*."
    )
    slack.command(OWNER, "checkin acme")
    view = fake.wait_for(lambda f: f.views(OWNER) and f.views(OWNER)[-1])
    # The form submitted by someone else (a forged or shared view) is refused in the form, nothing recorded.
    forged = slack.view_submission(REP, view, {"answer": "unhappy"})
    assert forged.json()["response_action"] == "errors"
    assert forged.json()["errors"]["note"] == f"Only @{OWNER}, who owns Acme <Bank> & Co, can answer for it here."
    assert [c.status for c in checkins(db, customer_id)] == ["answered"]
    assert fake.messages(OWNER) == []


def test_unknown_ambiguous_and_ownerless_customers_are_one_sentence(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    assert reply(slack, fake, MANAGER, "checkin").startswith("Which customer?")
    with db.transaction() as session:
        factories.customer(session, "Ownerless Inc", owner=None)
    said = reply(slack, fake, MANAGER, "checkin Ownerless Inc")
    assert said == "*Ownerless Inc* has no account owner to ask; give it one with Edit on its profile."
    with db.reading() as session:
        assert session.scalars(select(CheckIn).where(CheckIn.status == CheckInStatus.PENDING)).all() == []
