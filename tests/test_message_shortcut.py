"""The message shortcut "Request a reference", end to end through signed requests against the Slack fake.

On SQLite and (with TEST_DATABASE_URL) PostgreSQL: the form opens pre-filled from the message, the request
keeps the message's permalink, the managers' card links to it, and a forged link is never kept.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.message_requests import message_notes, source_link
from bot.requests import LIMITS
from models import ReferenceRequest
from models.db import Database
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, REP

DEALS = "C0DEALS01"


def open_from(slack: SignedClient, fake: FakeSlack, text: str, user: str = REP) -> tuple[dict[str, Any], Any]:
    message = fake.person_posts(DEALS, "UPOSTER01", text)
    response = slack.message_shortcut(user, ids.REQUEST_FROM_MESSAGE, message)
    assert response.status == 200 and not response.body.strip(), response.body
    view = fake.wait_for(lambda f: f.views(user) and f.views(user)[-1])
    return view, message


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b.get("type") == "input"}


def manager_card(fake: FakeSlack) -> Any:
    return fake.wait_for(lambda f: next((m for m in f.messages(MANAGER) if "Request #" in m.text), None))


def test_the_shortcut_opens_the_form_prefilled_and_the_card_links_the_message(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    with db.transaction() as session:
        factories.customer(session, "Acme Bank", industry="Financial Services", region="EMEA")
    text = "need a reference call with a bank in EMEA before Friday, prospect is Globex <@U0BOSS01>"
    view, message = open_from(slack, fake, text)
    fields = inputs(view)
    assert fields["prospect"]["initial_value"] == "Globex"
    assert fields["industry"]["initial_value"] == "Financial Services"  # the list's own label for "bank"
    assert fields["region"]["initial_value"] == "EMEA"
    assert fields["notes"]["initial_value"] == message_notes(text)
    assert fields["notes"]["initial_value"].startswith("From a Slack message: need a reference call")
    permalink = fake.calls("chat.getPermalink")[-1].response["permalink"]
    assert json.loads(view["private_metadata"]) == {"source": permalink}

    submitted = slack.view_submission(REP, view, {})
    assert submitted.status == 200 and not submitted.body.strip(), submitted.body
    with db.reading() as session:
        request = session.scalars(select(ReferenceRequest)).one()
        assert (request.prospect, request.requester_id, request.source_permalink) == ("Globex", REP, permalink)
    card = manager_card(fake)
    assert f"<{permalink}|From this message>" in json.dumps(card.blocks)
    assert permalink.startswith(f"https://acme.slack.com/archives/{DEALS}/p{message.ts.replace('.', '')}")
    assert fake.violations == []


def test_the_shadow_button_and_the_shortcut_open_the_same_form(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    text = "Anyone have a happy customer who could host a site visit for Globex in Germany?"
    view, _ = open_from(slack, fake, text)
    from bot import shadow
    from bot.views.requests import prefilled_modal

    prefill = shadow.Prefill(shadow.guess(text), message_notes(text))
    button = slack.block_action(REP, ids.SHADOW_REQUEST, value=prefill.to_value())
    assert button.status == 200
    other = fake.wait_for(lambda f: len(f.views(REP)) == 2 and f.views(REP)[-1])
    assert [b for b in other["blocks"]] == [b for b in view["blocks"]]
    assert prefilled_modal(prefill)["callback_id"] == view["callback_id"] == ids.REQUEST_MODAL


def test_a_forged_source_link_is_not_kept_nor_shown(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    view, _ = open_from(slack, fake, "need a reference for Initech")
    forged = dict(view, private_metadata=json.dumps({"source": "https://evil.example/archives/C1/p1|x>"}))
    submitted = slack.view_submission(REP, forged, {})
    assert submitted.status == 200, submitted.body
    with db.reading() as session:
        assert session.scalars(select(ReferenceRequest.source_permalink)).one() == ""
    assert "From this message" not in json.dumps(manager_card(fake).blocks)


def test_hostile_long_text_is_clipped_and_escaped_on_the_card(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    text = "For <!channel> & Globex <https://x.example|click> " + "very long ask " * 400
    view, _ = open_from(slack, fake, text)
    notes = inputs(view)["notes"]["initial_value"]
    assert len(notes) <= LIMITS["notes"] and notes.endswith("…")
    assert "<!channel>" not in notes and "click" in notes  # read as a person reads it, not as markup
    assert slack.view_submission(REP, view, {"prospect": "Globex <b> & Co"}).status == 200
    card = json.dumps(manager_card(fake).blocks)
    assert "Globex &lt;b&gt; &amp; Co" in card and "<b>" not in card and "<!channel>" not in card
    assert fake.violations == []


def test_a_message_with_nothing_to_guess_still_opens_a_blank_form(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    view, _ = open_from(slack, fake, "")
    fields = inputs(view)
    assert "initial_value" not in fields["prospect"] and "initial_value" not in fields["notes"]


def test_without_a_permalink_the_form_still_opens(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    fake.fail("chat.getPermalink", error="channel_not_found")
    view, _ = open_from(slack, fake, "reference call for Globex please")
    assert "private_metadata" not in view or json.loads(view.get("private_metadata") or "{}") == {}
    assert inputs(view)["prospect"]["initial_value"] == "Globex"


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("https://acme.slack.com/archives/C0DEALS01/p1700000000123456", True),
        ("https://acme.enterprise.slack.com/archives/C0DEALS01/p1700000000123456?thread_ts=1.2&cid=C0DEALS01", True),
        ("https://acme.slack.com.evil.example/archives/C0DEALS01/p17", False),
        ("http://acme.slack.com/archives/C0DEALS01/p1700000000123456", False),
        ("https://acme.slack.com/archives/C0DEALS01/p1700000000123456|x", False),
        ("javascript:alert(1)", False),
        (12, False),
    ],
)
def test_only_slack_message_links_are_kept(link: object, kept: bool) -> None:
    assert source_link(link) == (link if kept else "")
