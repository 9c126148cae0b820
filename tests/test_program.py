"""The digest's and `/reference stats`'s content, recruiting and thanks sections; consent notices name assets."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bot.jobs import run_job
from bot.outbox import OutboxWorker
from bot.settings import Settings
from models import Asset, AssetUse, Nomination, ReferenceRequest, Thanks
from models.db import Database
from models.enums import Happiness, RequestStatus
from slackfake import validate_message
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, OWNER, REP


def blob(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def asset(session: Any, customer: Any, title: str, created_days_ago: int = 200) -> Asset:
    record = Asset(
        customer=customer, kind="case_study", consent_type="case_study", title=title, title_key=title.lower(),
        link="https://example.com/" + title.split()[0].lower(), industry="Fintech", products=[], topics=[],
        added_by=MANAGER, created_at=factories.now() - timedelta(days=created_days_ago),
    )  # fmt: skip
    session.add(record)
    session.flush()
    return record


def seed(db: Database) -> None:
    now = factories.now()
    with db.transaction() as session:
        lapsing = factories.customer(
            session, "Acme Corp", consents=("case_study",), consent_expires=(now + timedelta(days=10)).date()
        )
        story = asset(session, lapsing, "Acme story & more")
        for _ in range(3):
            session.add(
                AssetUse(asset_id=story.id, used_by=REP, prospect="Globex", used_at=now - timedelta(seconds=30))
            )
        other = factories.customer(session, "Initech", consents=("case_study",))
        asset(session, other, "Initech forgotten story")
        soured = factories.customer(session, "Umbrella", answer=Happiness.UNHAPPY, happy_days_ago=0)
        session.add(
            Nomination(
                customer_id=soured.id,
                nominated_by=REP,
                why="x",
                contact_name="Ann",
                kinds=["call"],
                status="accepted",
                decided_by=MANAGER,
                decided_at=now - timedelta(seconds=30),
            )  # fmt: skip
        )
        session.add(Nomination(customer_id=other.id, nominated_by=REP, why="y", contact_name="Bo", kinds=["call"]))
        request = ReferenceRequest(
            requester_id=REP, prospect="Globex", ref_type="call", status=RequestStatus.COMPLETED.value,
            customer_id=other.id, opportunity_amount=Decimal("1"), outcome="helped",
        )  # fmt: skip
        session.add(request)
        session.flush()
        session.add(Thanks(request_id=request.id, customer_id=other.id, owner=OWNER, asked_at=now - timedelta(days=15)))


def test_stats_show_content_recruiting_and_thanks(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    seed(db)
    seen = len(fake.ephemerals(REP))
    slack.command(REP, "stats this-week")
    message = fake.wait_for(
        lambda f: next((e for e in f.ephemerals(REP)[seen:] if "Content" in blob(e["blocks"])), None)
    )
    assert validate_message(message) == []
    text = blob(message["blocks"])
    assert "3 uses in week " in text and ": Acme story &amp; more (Acme Corp, 3×)" in text
    assert "Not used in 90 days: Initech forgotten story" in text
    assert "Consent lapsing soon: Acme story &amp; more (Acme Corp, case study consent until" in text
    assert "2 received, 1 accepted, 0 declined" in text and "pool 3 references (+1 against the previous period)" in text
    assert "Became unhappy: Umbrella" in text
    assert "Not thanked yet* after 14 days: Initech (Globex)" in text


def test_a_lapsing_consent_notice_names_the_assets_that_depend_on_it(
    db: Database, settings: Settings, fake: FakeSlack, worker: OutboxWorker
) -> None:
    now = factories.now()
    with db.transaction() as session:
        acme = factories.customer(
            session, "Acme Corp", consents=("case_study",), consent_expires=(now + timedelta(days=30)).date()
        )
        asset(session, acme, "Acme <story>")
    run_job(db, settings, "consents", now=now)
    while worker.deliver_due():
        pass
    told = fake.wait_for(lambda f: next((m for m in f.messages(OWNER) if "consent expires" in m.text), None))
    assert "Content that depends on it: “Acme &lt;story&gt;”" in blob(told.blocks)
