"""End to end: signed Slack requests → a running refbot server → the Slack fake, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.settings import Settings
from models import AuditEntry, CheckIn, OutboxMessage, ReferenceRequest, ReferenceUse
from models.db import Database
from models.enums import Happiness, RequestStatus
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, MANAGER_2, OTHER, OWNER, REP


def blob(value: Any) -> str:
    """JSON text of a message, for substring assertions (non-ASCII kept as typed)."""
    return json.dumps(value, ensure_ascii=False)


def seed(db: Database, **overrides: Any) -> dict[str, int]:
    """Three customers for a fintech/EMEA/Payments request; Acme fits best."""
    with db.transaction() as session:
        acme = factories.customer(session, "Acme Corp", **overrides)
        initech = factories.customer(session, "Initech", industry="Retail", region="NA", products=("Ledger",))
        umbrella = factories.customer(session, "Umbrella Bank", region="APAC")
        return {"acme": acme.id, "initech": initech.id, "umbrella": umbrella.id}


def open_form(slack: SignedClient, fake: FakeSlack, text: str = "request Globex", user: str = REP) -> dict[str, Any]:
    response = slack.command(user, text)
    assert response.status == 200, response.body
    return fake.wait_for(lambda f: f.views(user) and f.views(user)[-1])


def submit(slack: SignedClient, view: dict[str, Any], user: str = REP, **values: Any) -> Any:
    form = {"ref_type": "call", "industry": "Fintech", "region": "EMEA", "products": "Payments"}
    form.update(values)
    return slack.view_submission(user, view, form)


def request_submitted(slack: SignedClient, fake: FakeSlack, **values: Any) -> int:
    view = open_form(slack, fake)
    response = submit(slack, view, **values)
    assert response.status == 200 and not response.body.strip(), response.body
    card = wait_card(fake, MANAGER)
    return int(card.text.split("#")[1].split(":")[0])


def wait_card(fake: FakeSlack, user: str, contains: str = "", index: int = 0) -> Any:
    """The `index`-th message in `user`'s DM once it contains `contains` (cards are updated in place)."""

    def ready(f: FakeSlack) -> Any:
        messages = f.messages(user)
        if len(messages) > index and contains in blob(messages[index].blocks) + messages[index].text:
            return messages[index]
        return None

    return fake.wait_for(ready)


def status_of(db: Database, request_id: int) -> str:
    with db.reading() as session:
        return session.get(ReferenceRequest, request_id).status


def settle(refbot_db: Database, timeout: float = 5.0) -> None:
    """Wait until the outbox has nothing left to send."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with refbot_db.reading() as session:
            pending = session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
            )
        if not pending:
            return
        time.sleep(0.05)
    raise AssertionError("outbox did not drain")


# -- 2: the intake modal -------------------------------------------------------------------------------


def test_request_command_opens_prefilled_modal(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    view = open_form(slack, fake, "request Globex Corp")
    prospect = next(b for b in view["blocks"] if b.get("block_id") == "prospect")
    assert prospect["element"]["initial_value"] == "Globex Corp"
    types = next(b for b in view["blocks"] if b.get("block_id") == "ref_type")["element"]["option_groups"]
    assert [g["label"]["text"].split()[0] for g in types] == ["Sales", "Marketing"]
    assert sum(len(g["options"]) for g in types) == 9
    assert fake.violations == []


def test_request_alone_opens_empty_modal(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    view = open_form(slack, fake, "request")
    prospect = next(b for b in view["blocks"] if b.get("block_id") == "prospect")
    assert "initial_value" not in prospect["element"]


def test_submit_dms_rep_and_every_manager(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    seed(db)
    request_id = request_submitted(slack, fake)
    receipt = wait_card(fake, REP)
    assert receipt.text == f"Request #{request_id} for Globex sent to the reference team"
    for manager in (MANAGER, MANAGER_2):
        card = wait_card(fake, manager, "Acme Corp")
        text = blob(card.blocks)
        assert text.index("Acme Corp") < text.index("Umbrella Bank") < text.index("Initech")
        assert "industry Fintech" in text and "region EMEA" in text
        buttons = {e["action_id"].split(":")[0] for b in card.blocks if b["type"] == "actions" for e in b["elements"]}
        assert {"request.approve", "request.ask_owner", "request.decline"} <= buttons
    with db.reading() as session:
        request = session.get(ReferenceRequest, request_id)
        assert (request.prospect, request.ref_type, request.requester_id) == ("Globex", "call", REP)
        assert request.status == RequestStatus.SUBMITTED
    assert fake.violations == []


def test_one_ranking_serves_every_managers_card(
    slack: SignedClient, fake: FakeSlack, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.notifications

    rankings: list[int] = []
    rank = bot.notifications.rank_candidates

    def counted(session: Any, settings: Any, request: ReferenceRequest, now: Any) -> Any:
        rankings.append(request.id)
        return rank(session, settings, request, now)

    monkeypatch.setattr(bot.notifications, "rank_candidates", counted)
    seed(db)
    request_id = request_submitted(slack, fake)
    cards = [blob(wait_card(fake, manager, "Acme Corp").blocks) for manager in (MANAGER, MANAGER_2)]
    assert cards[0] == cards[1]
    assert rankings == [request_id]  # the outbox renders both cards in one reading, ranked once


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"prospect": "   "}, "prospect", "Name the prospect"),
        ({"needed_by": date.today() - timedelta(days=2)}, "needed_by", "passed"),
        ({"opportunity_amount": "-5"}, "opportunity_amount", "negative"),
        ({"notes": "x" * 2001}, "notes", "under 2000"),
        ({"prospect": "P" * 151}, "prospect", "under 150"),
    ],
)
def test_bad_input_answered_inside_modal(
    slack: SignedClient, fake: FakeSlack, db: Database, values: dict[str, Any], field: str, message: str
) -> None:
    view = open_form(slack, fake, "request Globex")
    response = submit(slack, view, **values)
    body = response.json()
    assert body["response_action"] == "errors"
    assert message in body["errors"][field]
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ReferenceRequest)) == 0


def test_specific_customer_type_ahead(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    view = open_form(slack, fake)
    response = slack.block_suggestion(REP, "request.specific_customer", "acme", view=view)
    options = response.json()["options"]
    assert options[0]["value"] == str(ids["acme"])
    assert options[0]["text"]["text"].startswith("Acme Corp")
    assert slack.block_suggestion(REP, "request.specific_customer", "100%_", view=view).json()["options"] == []


# -- 4/5: approval rules -------------------------------------------------------------------------------


def test_fresh_happy_customer_is_approved_at_once(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    request_id = request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "Acme Corp")
    slack.click(MANAGER, card, f"request.approve:{ids['acme']}", value=f"{request_id}:{ids['acme']}")
    approved = wait_card(fake, REP, "is approved", index=1)
    assert "Acme Corp" in approved.text
    text = blob(approved.blocks)
    assert "Jane Doe" in text and "Guidance" in text
    # Both managers' cards are updated in place: the decision, no buttons left.
    for manager in (MANAGER, MANAGER_2):
        card = wait_card(fake, manager, "Approved by")
        assert not [b for b in card.blocks if b["type"] == "actions"]
        assert f"<@{MANAGER}>" in blob(card.blocks)
    receipt = wait_card(fake, REP, "Approved by")
    assert not [b for b in receipt.blocks if b["type"] == "actions"]
    assert status_of(db, request_id) == RequestStatus.APPROVED
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ReferenceUse)) == 1
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions == ["request.submitted", "request.approved"]
    assert fake.violations == []


def test_stale_checkin_waits_for_owner_then_happy_approves(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db, happy_days_ago=45)
    request_id = request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "Acme Corp")
    assert "Last check-in 45 days ago" in blob(card.blocks)
    slack.click(MANAGER, card, f"request.approve:{ids['acme']}", value=f"{request_id}:{ids['acme']}")

    question = wait_card(fake, OWNER, "still happy")
    assert "Before *Acme Corp* is used as a reference for *Globex*: is *Acme Corp* still happy?" in blob(
        question.blocks
    )
    assert status_of(db, request_id) == RequestStatus.AWAITING_CHECKIN
    wait_card(fake, MANAGER, "it is approved as soon as")

    slack.click(OWNER, question, "checkin.answer:happy")
    wait_card(fake, REP, "is approved", index=1)
    answered = wait_card(fake, OWNER, "Answered")
    assert not [b for b in answered.blocks if b["type"] == "actions"]
    assert status_of(db, request_id) == RequestStatus.APPROVED
    with db.reading() as session:
        request = session.get(ReferenceRequest, request_id)
        assert request.decided_by == MANAGER and request.customer_id == ids["acme"]
    assert fake.violations == []


def _checkin_id(db: Database) -> int:
    with db.reading() as session:
        return session.scalars(select(CheckIn.id).where(CheckIn.status == "pending")).one()


@pytest.mark.parametrize("answer", [Happiness.CONCERNS, Happiness.UNHAPPY])
def test_concerns_or_unhappy_return_request_to_queue(
    slack: SignedClient, fake: FakeSlack, db: Database, answer: Happiness
) -> None:
    ids = seed(db, happy_days_ago=None)
    request_id = request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "Never checked in")
    slack.click(MANAGER, card, f"request.approve:{ids['acme']}", value=f"{request_id}:{ids['acme']}")
    question = wait_card(fake, OWNER, "still happy")
    # The owner answers through the form, with an NPS and a note.
    slack.click(OWNER, question, "checkin.answer_with_note", value=str(_checkin_id(db)))
    form = fake.wait_for(lambda f: f.views(OWNER) and f.views(OWNER)[-1])
    response = slack.view_submission(OWNER, form, {"answer": answer.value, "nps": "4", "note": "Outage last week"})
    assert response.status == 200 and not response.body.strip()

    told = wait_card(fake, MANAGER, "back in your queue", index=1)
    assert "Outage last week" in blob(told.blocks)
    assert status_of(db, request_id) == RequestStatus.SUBMITTED
    # The card is re-rendered in place: buttons are back, Acme is now blocked by the answer.
    card = wait_card(fake, MANAGER, f"{answer.label}, NPS 4 at the last check-in")
    approve_values = [
        e["value"]
        for b in card.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith("request.approve")
    ]
    assert f"{request_id}:{ids['acme']}" not in approve_values
    with db.reading() as session:
        history = session.scalars(select(CheckIn).where(CheckIn.customer_id == ids["acme"])).all()
        assert [(c.answer, c.nps, c.note) for c in history if c.request_id] == [(answer.value, 4, "Outage last week")]
    # And a forged Approve for Acme is refused: unhappy blocks.
    slack.click(MANAGER, card, "request.decline")  # opens the decline form; unrelated to Acme
    forged = slack.block_action(MANAGER, "request.approve", value=f"{request_id}:{ids['acme']}", message=card)
    assert forged.status == 200
    refusal = fake.wait_for(lambda f: [e for e in f.ephemerals(MANAGER) if "can't be used" in blob(e)])
    assert answer.label in blob(refusal)
    assert status_of(db, request_id) == RequestStatus.SUBMITTED


def test_consent_missing_for_case_study_blocks(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    request_id = request_submitted(slack, fake, ref_type="case_study")
    card = wait_card(fake, MANAGER, "No case study consent on record")
    slack.block_action(MANAGER, "request.approve", value=f"{request_id}:{ids['acme']}", message=card)
    refusal = fake.wait_for(lambda f: [e for e in f.ephemerals(MANAGER) if "consent" in blob(e)])
    assert "No case study consent on record" in blob(refusal)
    assert status_of(db, request_id) == RequestStatus.SUBMITTED


def test_consent_on_record_allows_case_study(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db, consents=("case_study",))
    request_id = request_submitted(slack, fake, ref_type="case_study")
    card = wait_card(fake, MANAGER, "Acme Corp")
    slack.click(MANAGER, card, f"request.approve:{ids['acme']}", value=f"{request_id}:{ids['acme']}")
    wait_card(fake, REP, "is approved", index=1)


def test_over_fatigue_limit_blocks(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    with db.transaction() as session:
        acme = session.get(factories.Customer, ids["acme"])
        factories.use(session, acme, days_ago=10)
        factories.use(session, acme, days_ago=60)
    request_id = request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "limit 2")
    text = blob(card.blocks)
    assert text.index("Umbrella Bank") < text.index("Acme Corp"), "over-limit customers rank last"
    slack.block_action(MANAGER, "request.approve", value=f"{request_id}:{ids['acme']}", message=card)
    refusal = fake.wait_for(lambda f: [e for e in f.ephemerals(MANAGER) if "can't be used" in blob(e)])
    assert "Used 2× in the last 90 days" in blob(refusal)
    assert status_of(db, request_id) == RequestStatus.SUBMITTED


def test_tired_primary_contact_gives_way_to_a_rested_one(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    """Issue 10 item 7: the per-contact limit takes effect on its own, and the rested contact is approvable."""
    ids = seed(db)
    with db.transaction() as session:
        acme = session.get(factories.Customer, ids["acme"])
        jane = acme.primary_contact
        bob = factories.backup_contact(session, acme)
        factories.use(session, acme, days_ago=120, contact=jane)  # outside the customer's 90 days
        factories.use(session, acme, days_ago=10, contact=jane)
        bob_id = bob.id
    request_id = request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "Bob Backup")
    acme_block = next(b for b in card.blocks if b["type"] == "section" and "Acme Corp" in blob(b) and "1." in blob(b))
    assert "Jane Doe was used 2× in the last 180 days (limit 2); Bob Backup is offered instead" in blob(acme_block)
    assert ":no_entry:" not in blob(acme_block)
    assert "used 1× in 90 days (limit 2)" in blob(card.blocks)
    slack.click(MANAGER, card, f"request.approve:{ids['acme']}", value=f"{request_id}:{ids['acme']}")
    approved = wait_card(fake, REP, "is approved", index=1)
    assert "*Contact:* Bob Backup" in blob(approved.blocks)
    assert status_of(db, request_id) == RequestStatus.APPROVED
    with db.reading() as session:
        use = session.scalars(select(ReferenceUse).where(ReferenceUse.request_id == request_id)).one()
        assert use.contact_id == bob_id


def test_customer_over_its_own_limit_offers_no_contact_instead(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    """The customer limit counts every use of the customer, whoever the contact was: no contradictory card."""
    ids = seed(db)
    with db.transaction() as session:
        acme = session.get(factories.Customer, ids["acme"])
        factories.backup_contact(session, acme)
        factories.use(session, acme, days_ago=10, contact=acme.primary_contact)
        factories.use(session, acme, days_ago=20, contact=acme.primary_contact)
    request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "limit 2")
    text = blob(card.blocks)
    assert "Used 2× in the last 90 days (limit 2)" in text
    assert "offered instead" not in text
    assert f"request.approve:{ids['acme']}" not in text


def test_card_says_which_good_fits_are_left_out_resting(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    """Issue 10 item 9: a full card says how many good fits (fit ≥ 50%) it left out for fatigue, and until when."""
    with db.transaction() as session:
        northwind = factories.customer(session, "Northwind Payments")
        factories.use(session, northwind, days_ago=10)
        factories.use(session, northwind, days_ago=60)
        contoso = factories.customer(session, "Contoso")  # the customer is rested, its only person is not
        factories.use(session, contoso, days_ago=100, contact=contoso.primary_contact)
        factories.use(session, contoso, days_ago=120, contact=contoso.primary_contact)
        sleepy = factories.customer(session, "Sleepy Retail", industry="Retail", products=("Ledger",))
        factories.use(session, sleepy, days_ago=5)
        factories.use(session, sleepy, days_ago=6)  # resting, but a poor fit: not worth a word
        factories.customer(session, "Disputed Fintech", referenceable=False)  # a good fit, but not resting
        for n in range(settings.candidates_shown):
            factories.customer(session, f"Retailer {n}", industry="Retail", products=("Ledger",))
    request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "Retailer 0")
    text = blob(card.blocks)
    assert "Northwind Payments" not in text.split("resting")[0], "the resting fits are not among the candidates"
    now = datetime.now(UTC)

    def free_on(days_ago: int, window: int) -> str:
        return (now - timedelta(days=days_ago) + timedelta(days=window)).astimezone(settings.tz).date().isoformat()

    assert (
        ":zzz: 2 more fit well but are resting: "
        f"*Northwind Payments* (used 2× in 90 days, free again on {free_on(60, 90)}), "
        f"*Contoso* (every contact used 2× in 180 days, free again on {free_on(120, 180)})"
    ) in text
    assert "Sleepy Retail" not in text and "Disputed Fintech" not in text
    assert fake.violations == []


def test_decline_with_reason(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    seed(db)
    request_id = request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "Acme Corp")
    slack.click(MANAGER, card, "request.decline")
    form = fake.wait_for(lambda f: f.views(MANAGER) and f.views(MANAGER)[-1])
    empty = slack.view_submission(MANAGER, form, {"reason": "  "}).json()
    assert empty["response_action"] == "errors" and "reason" in empty["errors"]
    assert slack.view_submission(MANAGER, form, {"reason": "Deal is too early for a reference"}).status == 200
    notice = wait_card(fake, REP, "declined", index=1)
    assert "Deal is too early for a reference" in blob(notice.blocks)
    wait_card(fake, MANAGER_2, "Declined by")
    assert status_of(db, request_id) == RequestStatus.DECLINED


def test_rep_cancels_own_pending_request_and_nobody_else_can(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    seed(db)
    request_id = request_submitted(slack, fake)
    receipt = wait_card(fake, REP)
    slack.block_action(OTHER, "request.cancel", value=str(request_id), message=receipt)
    fake.wait_for(lambda f: [e for e in f.ephemerals(OTHER) if "can cancel it" in blob(e)])
    assert status_of(db, request_id) == RequestStatus.SUBMITTED
    slack.click(REP, receipt, "request.cancel")
    wait_card(fake, MANAGER, "Cancelled by")
    receipt = wait_card(fake, REP, "Cancelled by")
    assert not [b for b in receipt.blocks if b["type"] == "actions"]
    assert status_of(db, request_id) == RequestStatus.CANCELLED


def test_cancel_from_the_command(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    seed(db)
    request_id = request_submitted(slack, fake)
    response = slack.command(REP, f"cancel {request_id}")
    assert response.status == 200
    fake.wait_for(lambda f: [e for e in f.ephemerals(REP) if "is cancelled" in blob(e)])
    assert status_of(db, request_id) == RequestStatus.CANCELLED


# -- security and idempotency ---------------------------------------------------------------------------


def test_non_manager_cannot_approve_or_decline(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    request_id = request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "Acme Corp")
    for user in (REP, OWNER, OTHER):
        slack.block_action(user, "request.approve", value=f"{request_id}:{ids['acme']}", message=card)
        slack.block_action(user, "request.decline", value=str(request_id), message=card)
    fake.wait_for(lambda f: len([e for e in f.ephemerals() if "Only reference managers" in blob(e)]) >= 6)
    assert status_of(db, request_id) == RequestStatus.SUBMITTED
    assert fake.views(OTHER) == []


def test_only_owner_or_manager_answers_checkin(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db, happy_days_ago=None)
    request_id = request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "Acme Corp")
    slack.click(MANAGER, card, f"request.approve:{ids['acme']}", value=f"{request_id}:{ids['acme']}")
    question = wait_card(fake, OWNER, "still happy")
    checkin_id = _checkin_id(db)
    slack.block_action(OTHER, "checkin.answer", value=f"{checkin_id}:happy", message=question)
    slack.block_action(REP, "checkin.answer", value=f"{checkin_id}:happy", message=question)
    fake.wait_for(lambda f: len([e for e in f.ephemerals() if "can answer this check-in" in blob(e)]) == 2)
    assert status_of(db, request_id) == RequestStatus.AWAITING_CHECKIN


def test_double_click_has_one_effect(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    request_id = request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "Acme Corp")
    value = f"{request_id}:{ids['acme']}"
    first = slack.block_action(MANAGER, "request.approve", value=value, message=card)
    second = slack.block_action(MANAGER_2, "request.approve", value=value, message=card)
    assert first.status == second.status == 200
    wait_card(fake, REP, "is approved", index=1)
    fake.wait_for(lambda f: [e for e in f.ephemerals() if "already approved" in blob(e)])
    settle(db)
    assert len([m for m in fake.messages(REP) if "is approved" in m.text]) == 1
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ReferenceUse)) == 1


def test_slack_retry_of_the_same_delivery_is_ignored(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    request_id = request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "Acme Corp")
    value = f"{request_id}:{ids['acme']}"
    first = slack.block_action(MANAGER, "request.approve", value=value, message=card, trigger_id="1337.42.abc")
    retry = slack.block_action(
        MANAGER, "request.approve", value=value, message=card, trigger_id="1337.42.abc", retry_num=1
    )
    assert first.status == retry.status == 200
    wait_card(fake, REP, "is approved", index=1)
    settle(db)
    # No "already approved" complaint either: the retry was recognised and dropped.
    assert not [e for e in fake.ephemerals() if "already" in blob(e)]
    assert len([m for m in fake.messages(REP) if "is approved" in m.text]) == 1


def test_bad_signature_and_old_timestamp_rejected(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    assert slack.command(REP, "help", signature="v0=" + "0" * 64).status == 401
    assert slack.command(REP, "help", timestamp=int(time.time()) - 6 * 60).status == 401
    assert slack.command(REP, "help", timestamp=int(time.time()) + 6 * 60).status == 401
    assert slack.command(REP, "help").status == 200
    assert fake.calls("views.open") == []


def test_user_text_is_escaped_everywhere(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db, happy_days_ago=None)
    hostile = "<!channel> Globex & <@UMANAGER1> <https://evil.example|ok>"
    view = open_form(slack, fake, "request")
    assert submit(slack, view, prospect=hostile, notes="<!here> call me").status == 200
    card = wait_card(fake, MANAGER, "Acme Corp")
    request_id = int(card.text.split("#")[1].split(":")[0])
    slack.click(MANAGER, card, f"request.approve:{ids['acme']}", value=f"{request_id}:{ids['acme']}")
    question = wait_card(fake, OWNER, "still happy")
    slack.click(OWNER, question, "checkin.answer:happy")
    wait_card(fake, REP, "is approved", index=1)
    settle(db)
    posted = [c for c in fake.calls() if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral")]
    assert posted
    for call in posted:
        text = blob({k: call.args.get(k) for k in ("text", "blocks")})
        assert "<!channel>" not in text and "<!here>" not in text and "<https://evil" not in text
        assert "<@UMANAGER1> <" not in text
    assert "&lt;!channel&gt; Globex &amp;" in blob(fake.messages(MANAGER)[0].blocks)


# -- 6: help ----------------------------------------------------------------------------------------------


def test_help_and_unknown_subcommand(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    help_text = blob(slack.command(REP, "help").json())
    assert "/reference request" in help_text and "/reference cancel" in help_text
    assert "/reference request" in blob(slack.command(REP, "").json())
    unknown = blob(slack.command(REP, "reqest Globex").json())
    assert "I don't know `reqest`" in unknown and "Did you mean `/reference request`?" in unknown


def test_mine_lists_own_requests(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    seed(db)
    request_id = request_submitted(slack, fake)
    slack.command(REP, "mine")
    answer = fake.wait_for(lambda f: [e for e in f.ephemerals(REP) if f"#{request_id}" in blob(e)])
    assert "Globex" in blob(answer)
    slack.command(OTHER, "mine")
    fake.wait_for(lambda f: [e for e in f.ephemerals(OTHER) if "no reference requests" in blob(e)])


def test_healthz(server: Any) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{server.url}/healthz") as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"ok": True, "database": True}


def test_ask_owner_before_deciding(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db, happy_days_ago=45)
    request_id = request_submitted(slack, fake)
    card = wait_card(fake, MANAGER, "Acme Corp")
    slack.click(MANAGER, card, f"request.ask_owner:{ids['acme']}")
    question = wait_card(fake, OWNER, "still happy")
    assert f"<@{MANAGER}> is considering *Acme Corp*" in blob(question.blocks)
    # Asked once: the button is gone from the card and a second ask is refused.
    card = wait_card(fake, MANAGER, "owner asked")
    assert f"request.ask_owner:{ids['acme']}" not in blob(card.blocks)
    slack.block_action(MANAGER_2, "request.ask_owner", value=f"{request_id}:{ids['acme']}", message=card)
    fake.wait_for(lambda f: [e for e in f.ephemerals(MANAGER_2) if "was already asked" in blob(e)])

    slack.click(OWNER, question, "checkin.answer:happy")
    result = wait_card(fake, MANAGER, "says *Acme Corp* is *happy*", index=1)
    assert result.channel == fake.dm_channel(MANAGER)
    # The request still waits for a decision, and Acme is now fresh: approving it is immediate.
    assert status_of(db, request_id) == RequestStatus.SUBMITTED
    card = wait_card(fake, MANAGER, "Happy today")
    slack.click(MANAGER, card, f"request.approve:{ids['acme']}")
    wait_card(fake, REP, "is approved", index=1)
    assert fake.violations == []


def test_command_failures_are_told_not_dropped(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    started = time.monotonic()
    assert slack.command(REP, "cancel 999").status == 200
    assert time.monotonic() - started < 2.5, "the ack must not wait for Bolt's 3-second timeout"
    fake.wait_for(lambda f: [e for e in f.ephemerals(REP) if "Request #999 does not exist" in blob(e)])
    slack.command(REP, "cancel twelve")
    fake.wait_for(lambda f: [e for e in f.ephemerals(REP) if "For example `/reference cancel 12`" in blob(e)])
