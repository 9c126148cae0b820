"""End to end: nominations through signed requests against the Slack fake, on every database.

Anyone nominates (command, profile button, or the offer after a promoter's check-in); managers see it in a
DM and their App Home and accept (the customer becomes a reference, audited on its profile) or decline with a
reason (the nominator is told). A blocked customer's card says so; every click is checked again.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from models import AuditEntry, CheckIn, Customer, Nomination, OutboxMessage
from models.db import Database
from models.enums import CheckInPurpose, CheckInStatus, Happiness
from slackfake import validate_message, validate_view
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, MANAGER_2, OTHER, OWNER, REP

FORM = {
    "why": "Loves the product & <says so> loudly",
    "contact_name": "Hannah Weber",
    "contact_title": "Head of Payments",
    "contact_email": "hannah@vandelay.example",
    "kinds": ["call", "case_study"],
}


def blob(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def ephemeral(fake: FakeSlack, user: str, contains: str, after: int = 0) -> dict[str, Any]:
    return fake.wait_for(
        lambda f: next((e for e in f.ephemerals(user)[after:] if contains in blob(e["blocks"]) + e["text"]), None)
    )


def dm(fake: FakeSlack, user: str, contains: str) -> Any:
    return fake.wait_for(lambda f: next((m for m in f.messages(user) if contains in blob(m.blocks) + m.text), None))


def seed(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        vandelay = factories.customer(session, "Vandelay Imports", referenceable=False, contact=None)
        vandelay.not_referenceable_reason = "never asked"
        contoso = factories.customer(session, "Contoso", referenceable=False, answer=Happiness.UNHAPPY)
        acme = factories.customer(session, "Acme Corp")
        return {"vandelay": vandelay.id, "contoso": contoso.id, "acme": acme.id}


def open_nomination(slack: SignedClient, fake: FakeSlack, user: str, text: str) -> dict[str, Any]:
    views = len(fake.views(user))
    assert slack.command(user, text).status == 200
    return fake.wait_for(lambda f: len(f.views(user)) > views and f.views(user)[-1])


def test_nominate_then_accept_makes_a_reference_with_the_contact(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    ids = seed(db)
    form = open_nomination(slack, fake, REP, "nominate Vandelay Imports")
    assert validate_view(form) == [] and "Nominate *Vandelay Imports*" in blob(form)

    bad = slack.view_submission(REP, form, {"why": "", "contact_name": "H", "contact_email": "nope", "kinds": []})
    errors = bad.json()["errors"]
    assert "Fill this in" in errors["why"] and "e-mail address" in errors["contact_email"]
    assert "at least one kind" in errors["kinds"]

    body = slack.view_submission(REP, form, FORM).json()
    assert body["response_action"] == "update" and validate_view(body["view"]) == []
    assert slack.view_submission(REP, form, FORM).json()["response_action"] == "update"  # a retry: still one
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Nomination)) == 1

    card = dm(fake, MANAGER, "nominated")
    assert validate_message({"blocks": card.blocks, "text": card.text}) == []
    text = blob(card.blocks)
    assert "Loves the product &amp; &lt;says so&gt; loudly" in text and "Reference call, Case study" in text
    assert "Hannah Weber, Head of Payments" in text and "Not a reference now: never asked" in text
    dm(fake, MANAGER_2, "nominated")
    # The managers' App Home lists it with the same buttons.
    slack.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"})
    home = fake.wait_for(lambda f: f.home(MANAGER) if "Nominations waiting" in blob(f.home(MANAGER)) else None)
    assert validate_view(home) == [] and "Vandelay Imports" in blob(home)

    # Nominating again while it waits is refused, in words.
    seen = len(fake.ephemerals(OTHER))
    slack.command(OTHER, "nominate Vandelay Imports")
    assert "already nominated by" in ephemeral(fake, OTHER, "already nominated", after=seen)["text"]

    # Only a manager may accept: a forged click from the rep changes nothing.
    nomination_id = next(
        e["value"] for b in card.blocks if b["type"] == "actions" for e in b["elements"] if "accept" in e["action_id"]
    )
    seen = len(fake.ephemerals(REP))
    slack.click(REP, card, f"nomination.accept:{nomination_id}")
    ephemeral(fake, REP, "Only reference managers can accept or decline nominations", after=seen)

    slack.click(MANAGER, card, f"nomination.accept:{nomination_id}")
    news = dm(fake, REP, "accepted your nomination")
    assert "Vandelay Imports" in news.text + blob(news.blocks) and "Hannah Weber" in blob(news.blocks)
    fake.wait_for(lambda f: "Accepted by" in blob(f.message(card.channel, card.ts).blocks))
    with db.reading() as session:
        vandelay = session.get(Customer, ids["vandelay"])
        assert vandelay.referenceable and vandelay.not_referenceable_reason == ""
        assert [(c.name, c.email, c.is_primary) for c in vandelay.contacts] == [
            ("Hannah Weber", "hannah@vandelay.example", True)
        ]
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(ids["vandelay"]))).all()
        assert "nomination.received" in actions and "nomination.accepted" in actions
    # The other manager's card was updated in place; a click from an old copy of it is refused: one effect.
    fake.wait_for(lambda f: "Accepted by" in blob(dm(f, MANAGER_2, "nominated").blocks))
    seen = len(fake.ephemerals(MANAGER_2))
    slack.block_action(MANAGER_2, f"nomination.accept:{nomination_id}", value=nomination_id)
    ephemeral(fake, MANAGER_2, "already accepted", after=seen)
    profile_seen = len(fake.ephemerals(REP))
    slack.command(REP, "show Vandelay Imports")
    profile = ephemeral(fake, REP, "Customer profile", after=profile_seen)
    assert "Became a reference" in blob(profile["blocks"]) and "reference call and case study" in blob(
        profile["blocks"]
    )


def test_decline_needs_a_reason_and_tells_the_nominator(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    # From the profile's Nominate button.
    seen = len(fake.ephemerals(REP))
    slack.command(REP, "show Contoso")
    profile = ephemeral(fake, REP, "Customer profile", after=seen)
    slack.click(REP, profile, f"nomination.open:{ids['contoso']}")
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    assert "Contoso is blocked now" in blob(form) and "Unhappy" in blob(form)
    assert slack.view_submission(REP, form, FORM).json()["response_action"] == "update"
    card = dm(fake, MANAGER, "nominated")
    assert "Contoso is blocked now" in blob(card.blocks) and "accepting it does not lift that" in blob(card.blocks)

    nomination_id = next(
        e["value"] for b in card.blocks if b["type"] == "actions" for e in b["elements"] if "decline" in e["action_id"]
    )
    slack.click(MANAGER, card, f"nomination.decline:{nomination_id}")
    decline = fake.wait_for(lambda f: f.views(MANAGER) and f.views(MANAGER)[-1])
    assert validate_view(decline) == []
    empty = slack.view_submission(MANAGER, decline, {"reason": "  "}).json()
    assert empty["response_action"] == "errors" and "Say why" in empty["errors"]["reason"]
    assert slack.view_submission(MANAGER, decline, {"reason": "Open escalation <first>"}).status == 200
    news = dm(fake, REP, "declined your nomination")
    assert "Open escalation &lt;first&gt;" in blob(news.blocks)
    with db.reading() as session:
        assert not session.get(Customer, ids["contoso"]).referenceable
        assert session.scalars(select(Nomination.status)).one() == "declined"
    assert "already a reference" in blob(
        (slack.command(REP, "nominate Acme Corp"), ephemeral(fake, REP, "already a reference"))[1]
    )


def _pending_checkin(db: Database, customer_id: int) -> int:
    with db.transaction() as session:
        checkin = CheckIn(
            customer_id=customer_id,
            purpose=CheckInPurpose.PERIODIC.value,
            status=CheckInStatus.PENDING.value,
            asked_of=OWNER,
            asked_by=MANAGER,
        )
        session.add(checkin)
        session.flush()
        return checkin.id


def test_a_promoters_checkin_offers_a_nomination_once_a_quarter(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    ids = seed(db)
    for nps, offered in ((8, 0), (10, 1), (9, 1)):  # a 9–10 offers it; the second promoter answer does not again
        checkin_id = _pending_checkin(db, ids["vandelay"])
        opened = len(fake.views(OWNER))
        slack.block_action(OWNER, "checkin.answer_with_note", value=str(checkin_id))
        form = fake.wait_for(lambda f, n=opened: len(f.views(OWNER)) > n and f.views(OWNER)[-1])
        assert slack.view_submission(OWNER, form, {"answer": "happy", "nps": str(nps)}).status == 200
        with db.reading() as session:
            kinds = session.scalars(select(OutboxMessage.kind).where(OutboxMessage.kind == "nomination.offer")).all()
            assert len(kinds) == offered, nps
    offer = dm(fake, OWNER, "Nominate it as a reference?")
    assert validate_message({"blocks": offer.blocks, "text": offer.text}) == [] and "NPS 10" in offer.text + blob(
        offer.blocks
    )
    slack.click(OWNER, offer, f"nomination.open:{ids['vandelay']}")
    form = fake.wait_for(lambda f: "Nominate *Vandelay Imports*" in blob(f.views(OWNER)[-1]) and f.views(OWNER)[-1])
    assert slack.view_submission(OWNER, form, FORM).json()["response_action"] == "update"
    dm(fake, MANAGER, "nominated")
