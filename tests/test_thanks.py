"""End to end: after a reference helped (or its deal was won), the owner is asked once to thank the customer."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from models import AuditEntry, OutboxMessage, ReferenceRequest, Thanks
from models.db import Database
from models.enums import RequestStatus
from slackfake import validate_message, validate_view
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, OTHER, OWNER, REP


def blob(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def approved(db: Database, prospect: str = "Globex") -> int:
    with db.transaction() as session:
        acme = factories.customer(session, f"Acme {prospect}", contact="Hannah Weber")
        request = ReferenceRequest(
            requester_id=REP, prospect=prospect, ref_type="call", status=RequestStatus.APPROVED.value,
            customer_id=acme.id, contact_id=acme.contacts[0].id, decided_by=MANAGER,
            decided_at=factories.now() - timedelta(days=3), opportunity_amount=Decimal("120000"),
        )  # fmt: skip
        session.add(request)
        session.flush()
        return request.id


def dm(fake: FakeSlack, user: str, contains: str) -> Any:
    return fake.wait_for(lambda f: next((m for m in f.messages(user) if contains in blob(m.blocks) + m.text), None))


def test_helped_asks_the_owner_once_and_thanks_reach_the_profile(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    request_id = approved(db)
    assert slack.block_action(REP, "outcome.record:helped", value=f"{request_id}:helped").status == 200
    ask = dm(fake, OWNER, "thank Hannah?")
    assert validate_message({"blocks": ask.blocks, "text": ask.text}) == []
    assert "Acme Globex's Hannah Weber helped with Globex (120,000): thank Hannah?" in ask.text
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Thanks)) == 1
        assert (
            session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "thanks.ask"))
            == 1
        )

    # Only the owner answers it.
    seen = len(fake.ephemerals(OTHER))
    slack.click(OTHER, ask, "thanks.not_now")
    fake.wait_for(lambda f: any("Only the account owner" in e["text"] for e in f.ephemerals(OTHER)[seen:]))

    slack.click(OWNER, ask, "thanks.not_now")
    fake.wait_for(lambda f: "Not now, you said" in blob(f.message(ask.channel, ask.ts).blocks))
    ask = fake.message(ask.channel, ask.ts)
    slack.click(OWNER, ask, "thanks.thanked")
    form = fake.wait_for(lambda f: f.views(OWNER) and f.views(OWNER)[-1])
    assert validate_view(form) == []
    too_long = slack.view_submission(OWNER, form, {"note": "x" * 501}).json()
    assert too_long["response_action"] == "errors" and "under 500" in too_long["errors"]["note"]
    assert slack.view_submission(OWNER, form, {"note": "Sent a <b>bottle</b> & a card"}).status == 200
    done = fake.wait_for(
        lambda f: (
            f.message(ask.channel, ask.ts)
            if "You thanked them" in blob(f.message(ask.channel, ask.ts).blocks)
            else None
        )
    )
    assert "Sent a &lt;b&gt;bottle&lt;/b&gt; &amp; a card" in blob(done.blocks)
    assert not [b for b in done.blocks if b["type"] == "actions"]  # no stale button left
    with db.reading() as session:
        thanks = session.scalars(select(Thanks)).one()
        assert (thanks.status, thanks.note) == ("thanked", "Sent a <b>bottle</b> & a card")
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.action == "thanks.given")).one()
    seen = len(fake.ephemerals(REP))
    slack.command(REP, "show Acme Globex")
    profile = fake.wait_for(
        lambda f: next((e for e in f.ephemerals(REP)[seen:] if "Customer profile" in e["text"]), None)
    )
    assert "Thanked by" in blob(profile["blocks"]) and "bottle" in blob(profile["blocks"])


def test_a_won_deal_says_helped_win_and_a_neutral_outcome_asks_nothing(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    won = approved(db, "Initech")
    slack.block_action(REP, "outcome.details", value=str(won))
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    assert slack.view_submission(REP, form, {"outcome": "neutral", "deal_won": "won"}).status == 200
    ask = dm(fake, OWNER, "thank Hannah?")
    assert "Hannah Weber helped win Initech (120,000)" in ask.text

    neutral = approved(db, "Umbrella")
    assert slack.block_action(REP, "outcome.record:neutral", value=f"{neutral}:neutral").status == 200

    def completed(_: FakeSlack) -> bool:
        with db.reading() as session:
            return session.get(ReferenceRequest, neutral).status == RequestStatus.COMPLETED.value

    fake.wait_for(completed)
    with db.reading() as session:
        assert session.scalars(select(Thanks.request_id)).all() == [won]
