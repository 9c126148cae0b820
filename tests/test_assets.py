"""End to end: the content library through signed requests against the Slack fake, on every database.

A manager adds an asset (command or the profile's *Add asset*), anyone finds it with `/reference assets`,
each result says whether it may be used now (the eligibility module's verdict) and *I'm using this*
records a use that the profile counts.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.settings import Settings
from models import Asset, AssetUse, AuditEntry, Customer
from models.db import Database
from models.enums import Happiness
from slackfake import validate_message, validate_view
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, OTHER, OWNER, REP


def blob(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def run(slack: SignedClient, fake: FakeSlack, user: str, text: str, contains: str) -> dict[str, Any]:
    seen = len(fake.ephemerals(user))
    assert slack.command(user, text).status == 200
    return fake.wait_for(
        lambda f: next((e for e in f.ephemerals(user)[seen:] if contains in blob(e["blocks"]) + e["text"]), None)
    )


def buttons(message: dict[str, Any]) -> dict[str, str]:
    return {
        e["action_id"]: e.get("value", "")
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "button"
    }


def count(db: Database, model: Any) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def seed(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        acme = factories.customer(
            session, "Acme Corp", products=("Payments",), topics=("onboarding",), consents=("case_study", "quote")
        )
        # Unhappy at the last check-in: its content waits for the owner.
        contoso = factories.customer(session, "Contoso", answer=Happiness.UNHAPPY, consents=("case_study",))
        initech = factories.customer(session, "Initech", industry="Retail", consents=())
        ids = {"acme": acme.id, "contoso": contoso.id, "initech": initech.id}
        today = factories.now().date()
        for key, customer, kind, consent, title in (
            ("acme_story", acme, "case_study", "case_study", "Acme cuts payment onboarding to a day"),
            ("acme_logo", acme, "logo", "logo", "Acme logo"),
            ("contoso_story", contoso, "case_study", "case_study", "Contoso payments story"),
            ("initech_story", initech, "case_study", "case_study", "Initech retail payments"),
        ):
            asset = Asset(
                customer=customer, kind=kind, consent_type=consent, title=title, title_key=title.lower(),
                link="https://example.com/" + key, published_on=today - timedelta(days=30), industry=customer.industry,
                products=list(customer.products), topics=list(customer.topics), added_by=MANAGER,
            )  # fmt: skip
            session.add(asset)
            session.flush()
            ids[key] = asset.id
        return ids


def result_section(message: dict[str, Any], title: str) -> str:
    texts = [b.get("text", {}).get("text", "") for b in message["blocks"] if b["type"] == "section"]
    return next(t for t in texts if title in t)


# -- finding content ------------------------------------------------------------------------------------------


def test_search_ranks_by_facets_and_says_whether_each_may_be_used_now(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    ids = seed(db)
    found = run(slack, fake, REP, "assets kind:case_study industry:Fintech product:Payments", "assets match")
    assert validate_message(found) == []
    text = blob(found["blocks"])
    assert "Acme cuts payment onboarding" in text and "Contoso payments story" in text
    assert "Initech" not in text  # Retail: the industry facet rules it out
    usable = result_section(found, "Acme cuts payment onboarding")
    assert "May be used now (case study consent)" in usable
    blocked = result_section(found, "Contoso payments story")
    assert "Not now: Unhappy at the last check-in" in blocked and f"<@{OWNER}>" in blocked
    # Only the usable asset offers I'm using this.
    offered = buttons(found)
    assert f"asset.use:{ids['acme_story']}" in offered and f"asset.use:{ids['contoso_story']}" not in offered

    # A logo without logo consent says so, and who to ask: a manager.
    found = run(slack, fake, REP, "assets customer:acme kind:logo", "asset matches")
    logo = result_section(found, "Acme logo")
    assert "No logo (website/deck) consent on record" in logo and f"<@{MANAGER}>" in logo
    assert f"asset.use:{ids['acme_logo']}" not in buttons(found)

    # Free words rank like customer search: a name hit first.
    found = run(slack, fake, REP, "assets payments", "assets match")
    assert "Initech retail payments" in blob(found["blocks"])

    assert "I don't know the kind of content" in run(slack, fake, REP, "assets kind:podcast", "kind of content")["text"]
    assert "What content are you looking for" in run(slack, fake, REP, "assets", "What content")["text"]
    assert "No content matches" in run(slack, fake, REP, "assets zebra", "No content")["text"]


def test_an_expired_asset_or_lapsed_consent_may_not_be_used(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    with db.transaction() as session:
        session.get(Asset, ids["acme_story"]).expires_on = factories.now().date() - timedelta(days=1)
        acme = session.get(Customer, ids["acme"])
        next(c for c in acme.consents if c.ref_type == "quote").expires_on = date(2025, 1, 1)
        session.add(
            Asset(
                customer=acme,
                kind="quote",
                consent_type="quote",
                title="Acme CFO quote",
                title_key="acme cfo quote",
                link="https://example.com/q",
                industry="Fintech",
                products=[],
                topics=[],
                added_by=MANAGER,
            )  # fmt: skip
        )
    found = run(slack, fake, REP, "assets customer:acme", "assets match")
    assert "The asset expired" in result_section(found, "Acme cuts payment onboarding")
    assert "Quote consent expired 2025-01-01" in result_section(found, "Acme CFO quote")
    assert not any(action.startswith("asset.use:") for action in buttons(found))


# -- I'm using this --------------------------------------------------------------------------------------------


def test_im_using_this_records_a_use_once_and_the_profile_counts_it(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    ids = seed(db)
    found = run(slack, fake, REP, "assets customer:acme kind:case_study", "asset matches")
    slack.click(REP, found, f"asset.use:{ids['acme_story']}")
    form = fake.wait_for(lambda f: f.views(REP)[-1] if f.views(REP) else None)
    assert validate_view(form) == [] and "Acme cuts payment onboarding" in blob(form)

    missing = slack.view_submission(REP, form, {"prospect": " "}).json()
    assert missing["response_action"] == "errors" and "Fill this in" in missing["errors"]["prospect"]
    long = slack.view_submission(REP, form, {"prospect": "G" * 151}).json()
    assert long["response_action"] == "errors" and "under 150 characters" in long["errors"]["prospect"]

    body = slack.view_submission(REP, form, {"prospect": "Globex <script>", "opportunity": "OPP-42"}).json()
    assert body["response_action"] == "update" and validate_view(body["view"]) == [], body
    assert "Globex &lt;script&gt;" in blob(body["view"])
    # Slack retries the same submission: still one use.
    assert slack.view_submission(REP, form, {"prospect": "Globex <script>"}).json()["response_action"] == "update"
    with db.reading() as session:
        use = session.scalars(select(AssetUse)).one()
        assert (use.asset_id, use.used_by, use.prospect, use.opportunity) == (
            ids["acme_story"], REP, "Globex <script>", "OPP-42",
        )  # fmt: skip

    found = run(slack, fake, REP, "assets customer:acme kind:case_study", "asset matches")
    assert "used 1 time" in blob(found["blocks"])
    profile = run(slack, fake, REP, "show Acme Corp", "Customer profile")
    assert validate_message(profile) == [] and len(profile["blocks"]) <= 50
    content = result_section(profile, "*Content*")
    assert "Acme cuts payment onboarding to a day" in content and "used 1 time" in content
    assert "asset.add" not in buttons(profile)  # not a manager


def test_a_forged_use_of_an_asset_that_may_not_be_used_is_refused(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    ids = seed(db)
    seen = len(fake.ephemerals(REP))
    slack.block_action(REP, f"asset.use:{ids['contoso_story']}", value=str(ids["contoso_story"]))
    refusal = fake.wait_for(
        lambda f: next((e for e in f.ephemerals(REP)[seen:] if "may not be used" in e["text"]), None)
    )
    assert "Contoso payments story" in refusal["text"] and fake.views(REP) == []
    # A form opened while the consent held, submitted after it lapsed: refused in the form, nothing recorded.
    found = run(slack, fake, REP, "assets customer:acme kind:case_study", "asset matches")
    slack.click(REP, found, f"asset.use:{ids['acme_story']}")
    form = fake.wait_for(lambda f: f.views(REP)[-1] if f.views(REP) else None)
    with db.transaction() as session:
        acme = session.get(Customer, ids["acme"])
        acme.consents = [c for c in acme.consents if c.ref_type != "case_study"]
    body = slack.view_submission(REP, form, {"prospect": "Globex"}).json()
    assert body["response_action"] == "errors" and "No case study consent on record" in body["errors"]["prospect"]
    assert count(db, AssetUse) == 0
    # An asset id that is not there.
    seen = len(fake.ephemerals(REP))
    slack.block_action(REP, "asset.use:99999", value="99999")
    fake.wait_for(
        lambda f: next((e for e in f.ephemerals(REP)[seen:] if "no longer in the library" in e["text"]), None)
    )


# -- adding content ------------------------------------------------------------------------------------------


NEW_ASSET = {
    "kind": "quote",
    "title": "“Settlement in hours” & more",
    "link": "https://acme.example/quote",
    "customer": "Acme Corp",
    "expires_on": date(2031, 1, 1),
}


def test_manager_adds_an_asset_from_the_profile_with_the_customers_tags(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings
) -> None:
    ids = seed(db)
    profile = run(slack, fake, MANAGER, "show Acme Corp", "Customer profile")
    slack.click(MANAGER, profile, "asset.add")
    form = fake.wait_for(lambda f: f.views(MANAGER)[-1] if f.views(MANAGER) else None)
    assert validate_view(form) == []
    customer_field = next(b for b in form["blocks"] if b["block_id"] == "customer")
    assert customer_field["element"]["initial_value"] == "Acme Corp"

    bad = slack.view_submission(
        MANAGER, form, {**NEW_ASSET, "link": "acme quote", "customer": "Nobody Such", "expires_on": date(2001, 1, 1)}
    ).json()
    assert bad["response_action"] == "errors"
    assert "https://" in bad["errors"]["link"] and "No customer matches" in bad["errors"]["customer"]
    assert "cannot expire before" in bad["errors"]["expires_on"]
    assert count(db, Asset) == 4

    body = slack.view_submission(MANAGER, form, NEW_ASSET).json()
    assert body["response_action"] == "update" and validate_view(body["view"]) == []
    assert "&amp; more" in blob(body["view"]) and "quote consent" in blob(body["view"])
    with db.reading() as session:
        asset = session.scalars(select(Asset).where(Asset.kind == "quote")).one()
        assert (asset.customer_id, asset.consent_type, asset.expires_on) == (ids["acme"], "quote", date(2031, 1, 1))
        assert (asset.industry, asset.products, asset.topics) == ("Fintech", ["Payments"], ["onboarding"])
        assert asset.published_on == factories.now().astimezone(settings.tz).date()
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "asset.added")).one()
        assert (audit.actor, audit.entity, audit.entity_id) == (MANAGER, "customer", str(ids["acme"]))

    found = run(slack, fake, REP, "assets kind:quote settlement", "asset matches")
    assert "May be used now (quote consent)" in blob(found["blocks"])
    profile = run(slack, fake, MANAGER, "show Acme Corp", "Customer profile")
    assert "Settlement in hours" in result_section(profile, "*Content*")


def test_only_managers_add_assets(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    refused = run(slack, fake, REP, "asset add Acme", "managers")
    assert "reference managers" in refused["text"] and fake.views(REP) == []
    # A forged Add asset click and a forged submission of a manager's form: refused, nothing stored.
    seen = len(fake.ephemerals(OTHER))
    slack.block_action(OTHER, "asset.add", value=str(ids["acme"]))
    fake.wait_for(
        lambda f: next((e for e in f.ephemerals(OTHER)[seen:] if "Only reference managers" in e["text"]), None)
    )
    assert slack.command(MANAGER, "asset add Acme").status == 200
    form = fake.wait_for(lambda f: f.views(MANAGER)[-1] if f.views(MANAGER) else None)
    assert next(b for b in form["blocks"] if b["block_id"] == "customer")["element"]["initial_value"] == "Acme"
    body = slack.view_submission(REP, form, NEW_ASSET).json()
    assert body["response_action"] == "errors" and "Only reference managers" in body["errors"]["title"]
    assert count(db, Asset) == 4
    assert "/reference asset add" not in blob(slack.command(REP, "help").json())


# -- a request for content ---------------------------------------------------------------------------------


def test_a_content_request_shows_the_manager_matching_assets_beside_customers(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    seed(db)
    assert slack.command(REP, "request Globex").status == 200
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    values = {"ref_type": "case_study", "industry": "Fintech", "products": "Payments"}
    assert slack.view_submission(REP, form, values).status == 200
    card = fake.wait_for(lambda f: next((m for m in f.messages(MANAGER) if "Request #" in m.text), None))
    assert validate_message({"blocks": card.blocks, "text": card.text}) == []
    text = blob(card.blocks)
    assert "Content ready to send" in text and "Best candidates" in text
    content = next(
        b["text"]["text"] for b in card.blocks if "Content ready to send" in b.get("text", {}).get("text", "")
    )
    # The usable case study first, fitted to the request; the unhappy customer's with its reason; not the logo.
    assert content.index("Acme cuts payment onboarding") < content.index("Contoso payments story")
    assert "fits industry Fintech, product Payments (100% fit)" in content
    assert "Not now: Unhappy" in content and "Acme logo" not in content

    # A call request gets no content.
    assert slack.command(REP, "request Initrode").status == 200
    form = fake.wait_for(lambda f: f.views(REP) and len(f.views(REP)) > 1 and f.views(REP)[-1])
    assert slack.view_submission(REP, form, {"ref_type": "call", "industry": "Fintech"}).status == 200
    card = fake.wait_for(lambda f: next((m for m in f.messages(MANAGER) if "Initrode" in m.text), None))
    assert "Content ready to send" not in blob(card.blocks)
