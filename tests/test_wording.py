"""Words people read (issue 10, item 11): grammar, plurals and labels in what refbot says.

Driven through signed requests where a person would see the words in Slack, or through the view functions
with real rows (on SQLite and PostgreSQL) where building the situation by hand is the clearer test.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.importing.rows import PLACEHOLDER_APPROVER
from bot.settings import Settings
from bot.views import checkins as checkin_views
from bot.views import customers as customer_views
from bot.views import followups as followup_views
from bot.views import outcomes as outcome_views
from bot.views import requests as request_views
from models import CheckIn, Customer, ReferenceRequest
from models.db import Database
from models.enums import CheckInPurpose, CheckInStatus, Happiness
from models.types import utcnow
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, OWNER, REP
from tests.test_customers_slack import run
from tests.test_request_flow import blob


def _answered(session: Any, customer: Customer, answer: Happiness, nps: int | None) -> CheckIn:
    checkin = factories.checkin(session, customer, answer, days_ago=0, nps=nps)
    checkin.purpose = CheckInPurpose.APPROVAL.value
    return checkin


@pytest.mark.parametrize(
    ("answer", "nps", "said"),
    [
        (Happiness.HAPPY, 9, f"<@{OWNER}> says *Soylent Pay* is *happy* (NPS 9)."),
        (Happiness.CONCERNS, None, f"<@{OWNER}> says *Soylent Pay* has *some concerns*."),
        (Happiness.CONCERNS, 5, f"<@{OWNER}> says *Soylent Pay* has *some concerns* (NPS 5)."),
        (Happiness.UNHAPPY, 2, f"<@{OWNER}> says *Soylent Pay* is *unhappy* (NPS 2)."),
    ],
)
def test_an_owners_answer_reads_as_a_sentence(
    db: Database, settings: Settings, answer: Happiness, nps: int | None, said: str
) -> None:
    """ "@olivia says *Soylent Pay* is *some concerns*" was not English: each answer gets its own verb."""
    with db.transaction() as session:
        customer = factories.customer(session, "Soylent Pay")
        checkin = _answered(session, customer, answer, nps)
        result = checkin_views.checkin_result(checkin, customer, None, [], settings)
        alert = followup_views.checkin_alert(checkin, settings)
    assert result["blocks"][0]["text"]["text"].endswith(said)
    assert said in alert["blocks"][0]["text"]["text"]


@pytest.mark.parametrize(("waiting", "title"), [(1, "1 customer still waits"), (2, "2 customers still wait")])
def test_the_reminder_agrees_with_its_count(db: Database, settings: Settings, waiting: int, title: str) -> None:
    with db.transaction() as session:
        checkins = []
        for n in range(waiting):
            customer = factories.customer(session, f"Customer {n}")
            checkin = CheckIn(
                customer_id=customer.id,
                purpose=CheckInPurpose.PERIODIC.value,
                status=CheckInStatus.PENDING.value,
                asked_of=OWNER,
                asked_by=MANAGER,
                asked_at=utcnow() - timedelta(days=3),
            )
            session.add(checkin)
            session.flush()
            checkins.append(checkin)
        message = followup_views.checkin_round(checkins, settings, utcnow(), reminder=True)
    assert message["blocks"][0]["text"]["text"] == f"Reminder: {title} for your check-in"


def test_consent_an_import_found_without_an_approver_is_worded(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    """An import records "yes" consent with no approver as a placeholder: shown in words, not "approved by on …"."""
    with db.transaction() as session:
        customer = factories.customer(session, "Acme Corp", consents=("case_study",))
        customer.consents[0].approved_by = PLACEHOLDER_APPROVER
        customer.consents[0].approved_on = None
    said = run(slack, fake, REP, "can-use acme case study", "Yes:")
    assert "approved by someone not named in the imported list" in blob(said["blocks"])
    shown = run(slack, fake, MANAGER, "show acme", "Customer profile")
    assert "*Case study*: approved by someone not named in the imported list" in blob(shown["blocks"])
    assert "approved by on record" not in blob(said["blocks"]) + blob(shown["blocks"])


def _inputs(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view["blocks"] if b["type"] == "input"]


def test_optional_fields_do_not_say_optional_twice(db: Database) -> None:
    """Slack adds "(optional)" to an optional input's label itself; a label that says it too shows it twice."""
    with db.transaction() as session:
        customer = factories.customer(session, "Acme Corp", consents=("logo",))
        request = ReferenceRequest(
            id=7, requester_id=REP, prospect="Globex", ref_type="call", products=[], topics=[], region=""
        )
        checkin = _answered(session, customer, Happiness.HAPPY, None)
        views = [
            customer_views.customer_modal(None, name="Globex"),
            customer_views.customer_modal(customer),
            request_views.request_modal("Globex"),
            request_views.decline_modal(request),
            outcome_views.outcome_modal(request, ("Discovery",)),
            checkin_views.checkin_modal(checkin, customer),
        ]
    labels = [b["label"]["text"] for view in views for b in _inputs(view)]
    assert "Logo (website/deck): expires on" in labels
    assert [label for label in labels if "optional" in label.lower()] == []


def test_a_happy_answer_with_a_low_nps_says_why_it_is_a_no(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    with db.transaction() as session:
        customer = factories.customer(session, "Acme Corp", happy_days_ago=None)
        factories.checkin(session, customer, Happiness.HAPPY, days_ago=2, nps=5)
    day = (utcnow() - timedelta(days=2)).astimezone(settings.tz).date().isoformat()
    said = run(slack, fake, REP, "can-use acme call", "No:")
    assert (
        f"*No:* Happy, but NPS 5 at the last check-in ({day}): an NPS of 6 or less counts as not happy"
        in said["blocks"][0]["text"]["text"]
    )


def test_counts_agree_with_their_nouns(db: Database, settings: Settings) -> None:
    """The other "(s)" and "1 … have" in what managers read."""
    with db.transaction() as session:
        orphan = factories.customer(session, "Orphan Inc", owner=None)
        checkin = _answered(session, orphan, Happiness.HAPPY, None)
        alone = followup_views.ownerless([orphan])["text"]
        two = followup_views.ownerless([orphan, orphan])["text"]
        one_owner = followup_views.escalation({OWNER: [checkin]}, settings)["text"]
    assert alone == "1 customer needs a check-in but has no account owner"
    assert two == "2 customers need a check-in but have no account owner"
    assert one_owner == f"1 account owner has not answered check-ins for {2 * settings.checkin_remind_days}+ days"
