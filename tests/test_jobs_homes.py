"""Scheduled jobs refresh the App Homes that show what they change: the owners asked in a check-in round
and the managers, the managers when check-ins are reminded or escalated or consents run out, the rep asked
how a reference went. Only people who have opened their Home get one (`bot.home_record.refresh_homes`), in the
job's own transaction; a dry run or a period already run refreshes nobody. SQLite and, with
TEST_DATABASE_URL, PostgreSQL; the clock is frozen, the outbox delivered by hand to the Slack fake.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot import home_record, kinds
from bot.outbox import OutboxWorker
from bot.settings import Settings
from models import OutboxMessage
from models.db import Database
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, MANAGER_2, OTHER, OWNER, REP
from tests.test_jobs import OWNER_B, WINTER_TUESDAY_9, approved_request, blob, customers, deliver, run, utc


@pytest.fixture
def clock() -> Iterator[Any]:
    with freeze_time(WINTER_TUESDAY_9) as frozen:
        yield frozen


def homes_opened(db: Database, *users: str) -> None:
    with db.transaction() as session:
        for user in users:
            home_record.remember_home(session, user)


def refreshes(db: Database) -> list[str]:
    """Whose Home refresh is waiting to go out, sorted."""
    with db.reading() as session:
        return sorted(
            session.scalars(
                select(OutboxMessage.recipient).where(
                    OutboxMessage.kind == kinds.HOME, OutboxMessage.status == "pending"
                )
            )
        )


def home_text(fake: FakeSlack, user: str) -> str:
    view = fake.home(user)
    assert view is not None, f"no Home published for {user}"
    return blob(view)


def test_checkin_round_refreshes_the_owners_asked_and_the_managers(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    customers(db, "Acme Corp", happy_days_ago=None)
    customers(db, "Initech", owner=OWNER_B, happy_days_ago=None)  # OWNER_B never opened the Home
    customers(db, "Fresh Co", owner=OTHER, happy_days_ago=2)  # OTHER's customer is not asked about
    homes_opened(db, OWNER, OTHER, MANAGER)

    assert run(db, settings, "checkins", clock, WINTER_TUESDAY_9, dry_run=True).messages == 2
    assert refreshes(db) == []

    assert run(db, settings, "checkins", clock, WINTER_TUESDAY_9).messages == 2
    assert refreshes(db) == [MANAGER, OWNER]
    deliver(worker)
    assert refreshes(db) == []
    assert "Is *Acme Corp* still happy?" in home_text(fake, OWNER)
    assert "*Acme Corp* · asked <@UOWNER001>" in home_text(fake, MANAGER)
    assert fake.home(OTHER) is fake.home(OWNER_B) is fake.home(MANAGER_2) is None

    assert "already run" in run(db, settings, "checkins", clock, WINTER_TUESDAY_9 + timedelta(minutes=5)).skipped
    assert refreshes(db) == []
    assert fake.violations == []


def test_reminders_and_escalations_refresh_the_managers(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    customers(db, "Acme Corp", happy_days_ago=None)
    run(db, settings, "checkins", clock, WINTER_TUESDAY_9)
    homes_opened(db, OWNER, MANAGER)
    deliver(worker)

    assert run(db, settings, "reminders", clock, WINTER_TUESDAY_9 + timedelta(days=3)).messages == 1
    assert refreshes(db) == [MANAGER], "only the managers' Home shows that a check-in was reminded"
    deliver(worker)
    assert "periodic check-in · reminded" in home_text(fake, MANAGER)

    assert run(db, settings, "reminders", clock, WINTER_TUESDAY_9 + timedelta(days=3, hours=1)).messages == 0
    assert refreshes(db) == []

    escalated = run(db, settings, "reminders", clock, WINTER_TUESDAY_9 + timedelta(days=6))
    assert escalated.messages == 2  # to each manager
    assert refreshes(db) == [MANAGER]
    deliver(worker)
    assert "*Acme Corp* · stale (never checked in) · check-in unanswered for 6 days" in home_text(fake, MANAGER)
    assert fake.violations == []


def test_asking_for_an_outcome_refreshes_the_reps_home(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    request_id, _ = approved_request(db, settings)
    homes_opened(db, REP, OTHER)
    deliver(worker)

    assert run(db, settings, "reminders", clock, WINTER_TUESDAY_9 + timedelta(days=14)).messages == 1
    assert refreshes(db) == [REP]
    deliver(worker)
    assert f"#{request_id}" in home_text(fake, REP) and "*How did it go?*" in home_text(fake, REP)

    # The reminder three days later changes nothing on the Home.
    assert run(db, settings, "reminders", clock, WINTER_TUESDAY_9 + timedelta(days=17)).messages == 1
    assert refreshes(db) == []


def test_consent_notices_refresh_the_managers(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker, clock: Any
) -> None:
    now = utc(2026, 6, 10, 6, 0)
    with db.transaction() as session:
        factories.customer(session, "Soon Corp", consents=("case_study",), consent_expires=date(2026, 7, 10))
    homes_opened(db, OWNER, MANAGER, MANAGER_2)

    assert run(db, settings, "consents", clock, now, dry_run=True).messages == 3
    assert refreshes(db) == []
    assert run(db, settings, "consents", clock, now).messages == 3
    assert refreshes(db) == [MANAGER, MANAGER_2], "the owner's Home lists no consents"
    deliver(worker)
    assert "Soon Corp" in home_text(fake, MANAGER_2)

    assert run(db, settings, "consents", clock, now + timedelta(days=1)).messages == 0
    assert refreshes(db) == []
