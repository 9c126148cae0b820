"""End to end: `/reference find|show|can-use|add`, the Edit form and the type-ahead, through signed requests."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import audit
from models import AuditEntry, CheckIn, Consent, Contact, Customer, Incident, ReferenceRequest, ReferenceUse
from models.db import Database
from models.enums import Happiness
from slackfake import validate_message, validate_view
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, OTHER, OWNER, REP


def blob(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def answer(fake: FakeSlack, user: str, contains: str, after: int = 0) -> dict[str, Any]:
    """The first ephemeral to `user` (from index `after` on) whose text or blocks contain `contains`."""
    return fake.wait_for(
        lambda f: next((e for e in f.ephemerals(user)[after:] if contains in blob(e["blocks"]) + e["text"]), None)
    )


def run(slack: SignedClient, fake: FakeSlack, user: str, text: str, contains: str) -> dict[str, Any]:
    seen = len(fake.ephemerals(user))
    response = slack.command(user, text)
    assert response.status == 200, response.body
    return answer(fake, user, contains, after=seen)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """action_id → value of every button in a message."""
    return {
        e["action_id"]: e.get("value", "")
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "button"
    }


def names_in(message: dict[str, Any]) -> list[str]:
    """The result names of a find page, in order ("*3. Acme Corp*" → "Acme Corp")."""
    out = []
    for block in message["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        if block["type"] == "section" and text.startswith("*") and ". " in text.split("\n")[0]:
            out.append(text.split("\n")[0].split(". ", 1)[1].split("*")[0])
    return out


def count(db: Database, model: Any) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def audit_actions(db: Database, customer_id: int) -> list[str]:
    with db.reading() as session:
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "customer", AuditEntry.entity_id == str(customer_id))
                .order_by(AuditEntry.id)
            )
        )


def seed(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        acme = factories.customer(
            session, "Acme Corp", products=("Payments", "Ledger"), topics=("migration",), consents=("case_study",)
        )
        initech = factories.customer(session, "Initech", industry="Retail", region="NA", products=("Ledger",))
        umbrella = factories.customer(session, "Umbrella Bank", region="APAC", happy_days_ago=45)
        globex = factories.customer(session, "Globex Health", industry="Healthcare", region="EMEA", products=())
        globex.notes = "Loves talking about open banking & APIs"
        return {"acme": acme.id, "initech": initech.id, "umbrella": umbrella.id, "globex": globex.id}


# -- /reference find ------------------------------------------------------------------------------------


def test_find_by_free_text_and_facets(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    found = run(slack, fake, REP, "find fintech", "customers match")
    assert names_in(found) == ["Acme Corp", "Umbrella Bank"]  # the fresher check-in first
    text = blob(found["blocks"])
    assert "happy 5 days ago" in text and "stale: happy 45 days ago" in text
    assert "used 0× in 90 days (limit 2)" in text
    assert "Consents: Case study (no expiry)" in text and "no public-use consent on record" in text
    assert f"customer.request:{ids['acme']}" in buttons(found) and f"customer.profile:{ids['acme']}" in buttons(found)

    found = run(slack, fake, REP, "find industry:fintech region:emea", "customer matches")
    assert names_in(found) == ["Acme Corp"]
    assert "Fits: industry Fintech, region EMEA" in blob(found["blocks"])

    found = run(slack, fake, REP, 'find "open banking"', "customer matches")
    assert names_in(found) == ["Globex Health"]  # found in the notes

    found = run(slack, fake, REP, "find product:ledger", "customers match")
    assert set(names_in(found)) == {"Acme Corp", "Initech"}

    # A type judges every result for it: the usable first, the others with the reason.
    found = run(slack, fake, REP, "find fintech type:case-study", "customers match")
    assert names_in(found) == ["Acme Corp", "Umbrella Bank"]
    text = blob(found["blocks"])
    assert "Can be used for a case study" in text
    assert "Not for a case study: No case study consent on record" in text

    found = run(slack, fake, REP, "find type:case_study", "4 customers match")
    assert names_in(found)[0] == "Acme Corp", "the only one with consent comes first"
    run(slack, fake, REP, "find banana", "No customer matches “banana”")
    run(slack, fake, REP, "find type:banana", "I don't know the reference type")
    run(slack, fake, REP, "find", "What are you looking for?")
    run(slack, fake, REP, "find 100%_", "No customer matches")
    assert fake.violations == []


def test_find_pages_ten_at_a_time(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    with db.transaction() as session:
        for n in range(25):
            factories.customer(session, f"Pager {n:02d}", happy_days_ago=n + 1, contact=None)
    page1 = run(slack, fake, REP, "find pager", "25 customers match")
    assert names_in(page1) == [f"Pager {n:02d}" for n in range(10)]
    assert "showing 1–10" in page1["blocks"][0]["text"]["text"]
    assert "customer.find_page:previous" not in buttons(page1)

    seen = len(fake.ephemerals(REP))
    slack.click(REP, page1, "customer.find_page:next")
    page2 = answer(fake, REP, "showing 11–20", after=seen)
    assert page2["replace_original"] is True
    assert names_in(page2) == [f"Pager {n:02d}" for n in range(10, 20)]

    seen = len(fake.ephemerals(REP))
    slack.click(REP, page2, "customer.find_page:next")
    page3 = answer(fake, REP, "showing 21–25", after=seen)
    assert page3["replace_original"] is True
    assert names_in(page3) == [f"Pager {n:02d}" for n in range(20, 25)]
    assert "customer.find_page:next" not in buttons(page3)

    seen = len(fake.ephemerals(REP))
    slack.click(REP, page3, "customer.find_page:previous")
    back = answer(fake, REP, "showing 11–20", after=seen)
    assert names_in(back) == names_in(page2)
    for page in (page1, page2, page3, back):
        assert len(page["blocks"]) <= 50
        assert validate_message(page) == []

    # The button's value is untrusted: a forged one is refused, not obeyed.
    seen = len(fake.ephemerals(REP))
    slack.block_action(REP, "customer.find_page:next", value='{"q": 5, "o": "x"}', message=page1)
    answer(fake, REP, "That button is out of date", after=seen)
    assert fake.violations == []


def test_hostile_names_and_notes_are_escaped_and_fit(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    hostile = "<!channel> & <@UMANAGER1> <https://evil.example|ok> "
    with db.transaction() as session:
        for n in range(12):
            record = factories.customer(
                session,
                f"{n:02d} " + (hostile * 10)[:195],
                industry=("<!here>" * 20)[:100],
                products=tuple(f"<product {i}> & more" for i in range(60)),
                topics=tuple("x" * 100 for _ in range(30)),
                consents=("case_study", "logo", "quote", "media"),
            )
            record.notes = ("ledger <!channel> " * 600)[:10_000]
            record.guidance = "<!everyone> " * 300
            record.contacts[0].name = "<!here> " * 25
            session.add(Incident(customer_id=record.id, occurred_on=date(2026, 1, 1), severity="high", summary=hostile))
    found = run(slack, fake, REP, "find ledger", "12 customers match")
    profile_ids = [a for a in buttons(found) if a.startswith("customer.profile")]
    assert len(profile_ids) == 10
    slack.click(REP, found, profile_ids[0])
    shown = answer(fake, REP, "Consents for public use")
    for message in (found, shown):
        assert len(message["blocks"]) <= 50
        assert validate_message(message) == []
        text = blob(message)
        assert "<!channel>" not in text and "<!here>" not in text and "<!everyone>" not in text
        assert "<https://evil" not in text and "<@UMANAGER1> <" not in text
    assert "&lt;!channel&gt; &amp;" in blob(found["blocks"])
    # A search as long as a novel is refused politely.
    run(slack, fake, REP, "find " + "x" * 10_000, "Keep the search under 500 characters")
    assert fake.violations == []


def test_request_this_reference_opens_the_prefilled_form(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    found = run(slack, fake, REP, "find acme", "customer matches")
    slack.click(REP, found, f"customer.request:{ids['acme']}")
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    specific = next(b for b in form["blocks"] if b.get("block_id") == "specific_customer")
    assert specific["element"]["initial_option"]["value"] == str(ids["acme"])
    assert specific["element"]["initial_option"]["text"]["text"] == "Acme Corp"
    # And submitting it files a request for that customer.
    response = slack.view_submission(REP, form, {"prospect": "Globex", "ref_type": "call"})
    assert response.status == 200 and not response.body.strip(), response.body
    with db.reading() as session:
        assert session.scalars(select(ReferenceRequest.specific_customer_id)).one() == ids["acme"]
    assert fake.violations == []


# -- /reference show --------------------------------------------------------------------------------------


def _history(db: Database, customer_id: int) -> None:
    with db.transaction() as session:
        acme = session.get(Customer, customer_id)
        old = factories.checkin(session, acme, Happiness.CONCERNS, days_ago=200, nps=6)
        old.note = "Slow <support> tickets"
        session.add(Incident(customer_id=acme.id, occurred_on=date(2026, 3, 2), severity="high", summary="Outage"))
        session.add(
            Incident(customer_id=acme.id, occurred_on=date(2025, 1, 5), severity="low", summary="Typo", resolved=True)
        )
        request = ReferenceRequest(
            requester_id=REP,
            prospect="Hooli",
            ref_type="call",
            status="completed",
            customer_id=acme.id,
            outcome="helped",
            deal_won=True,
            products=[],
            topics=[],
        )
        session.add(request)
        session.flush()
        session.add(ReferenceUse(customer_id=acme.id, request_id=request.id, ref_type="call"))


def test_show_by_fuzzy_name_and_by_domain(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    _history(db, ids["acme"])
    for typed in ("Acme", "acme crop", "acmecorp.example", "https://www.acmecorp.example/about"):
        shown = run(slack, fake, REP, f"show {typed}", "Customer profile")
        assert shown["blocks"][0]["text"]["text"] == "Acme Corp", typed
    text = blob(shown["blocks"])
    assert "Jane Doe, VP Finance · jane@example.com _(primary)_" in text
    assert "*Case study*: approved by Carla (CMO) on 2024-09-30 · no expiry" in text
    assert "Some concerns · NPS 6" in text and "Slow &lt;support&gt; tickets" in text
    assert text.index("*open*") < text.index("resolved") and "Outage" in text
    assert "for *Hooli*" in text and "outcome: Helped (deal won)" in text
    assert "customer.edit" not in buttons(shown), "reps get no Edit button"
    assert f"customer.request:{ids['acme']}" in buttons(shown)

    shown = run(slack, fake, MANAGER, "show acme", "Customer profile")
    assert buttons(shown)["customer.edit"] == str(ids["acme"])
    assert validate_message(shown) == [] and fake.violations == []


def test_show_asks_when_ambiguous_or_unknown(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    with db.transaction() as session:
        corp = factories.customer(session, "Acme Corp")
        bank = factories.customer(session, "Acme Bank")
    asked = run(slack, fake, REP, "show acme", "Did you mean")
    assert "*Acme Corp* (acmecorp.example)" in blob(asked["blocks"]) and "*Acme Bank*" in blob(asked["blocks"])
    assert set(buttons(asked)) == {f"customer.profile:{corp.id}", f"customer.profile:{bank.id}"}
    slack.click(REP, asked, f"customer.profile:{bank.id}")
    shown = answer(fake, REP, "Customer profile")
    assert shown["blocks"][0]["text"]["text"] == "Acme Bank"

    run(slack, fake, REP, "show Zyxwvut", "No customer matches “Zyxwvut”")
    run(slack, fake, REP, "show http://[::1", "No customer matches")
    run(slack, fake, REP, "show", "Which customer?")
    assert fake.violations == []


# -- /reference add and Edit (managers) ----------------------------------------------------------------------


def _open_add(slack: SignedClient, fake: FakeSlack, text: str = "add Globex") -> dict[str, Any]:
    before = len(fake.views(MANAGER))
    assert slack.command(MANAGER, text).status == 200
    return fake.wait_for(lambda f: len(f.views(MANAGER)) > before and f.views(MANAGER)[-1])


def _open_edit(slack: SignedClient, fake: FakeSlack, name: str) -> dict[str, Any]:
    shown = run(slack, fake, MANAGER, f"show {name}", "Customer profile")
    before = len(fake.views(MANAGER))
    slack.click(MANAGER, shown, "customer.edit")
    return fake.wait_for(lambda f: len(f.views(MANAGER)) > before and f.views(MANAGER)[-1])


NEW_CUSTOMER = {
    "domain": "https://www.Globex.com/about",
    "industry": "Energy",
    "region": "EMEA",
    "segment": "Enterprise",
    "products": "Payments, Ledger",
    "topics": "migration; SSO",
    "owner": OWNER,
    "contacts": "Hank Scorpio | CEO | hank@globex.com\nMarge | CFO",
    "consent:case_study:by": "Lisa Simpson (CMO)",
    "consent:case_study:on": date(2024, 9, 30),
    "consent:case_study:until": date(2030, 9, 30),
}


def test_manager_adds_a_customer_then_can_use_says_yes(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    form = _open_add(slack, fake)
    assert validate_view(form) == [] and len(form["blocks"]) <= 100
    assert next(b for b in form["blocks"] if b["block_id"] == "name")["element"]["initial_value"] == "Globex"
    response = slack.view_submission(MANAGER, form, NEW_CUSTOMER)
    body = response.json()
    assert body["response_action"] == "update", body
    assert validate_view(body["view"]) == []
    assert "Globex" in blob(body["view"]) and "Case study consent recorded" in blob(body["view"])
    with db.reading() as session:
        globex = session.scalars(select(Customer).where(Customer.name == "Globex")).one()
        assert (globex.domain, globex.industry, globex.owner_slack_id) == ("globex.com", "Energy", OWNER)
        assert (globex.products, globex.topics) == (["Payments", "Ledger"], ["migration", "SSO"])
        assert [(c.name, c.title, c.email, c.is_primary) for c in globex.contacts] == [
            ("Hank Scorpio", "CEO", "hank@globex.com", True),
            ("Marge", "CFO", "", False),
        ]
        consent = session.scalars(select(Consent).where(Consent.customer_id == globex.id)).one()
        assert (consent.ref_type, consent.approved_by, consent.recorded_by) == (
            "case_study",
            "Lisa Simpson (CMO)",
            MANAGER,
        )
        customer_id = globex.id
    assert audit_actions(db, customer_id) == [
        "customer.created",
        "customer.contacts_changed",
        "customer.consent_recorded",
    ]

    # Never checked in: not yet, and the owner will be asked.
    said = run(slack, fake, REP, "can-use globex.com case study", "Not yet")
    assert f"<@{OWNER}> will be asked" in blob(said["blocks"])
    with db.transaction() as session:
        factories.checkin(session, session.get(Customer, customer_id), Happiness.HAPPY, days_ago=2)
    said = run(slack, fake, REP, "can-use Globex case_study", "Yes:")
    text = blob(said["blocks"])
    assert "*Globex* can be used for a case study" in text
    assert "approved by Lisa Simpson (CMO) on 2024-09-30, until 2030-09-30" in text and f"<@{MANAGER}>" in text
    # A logo has no consent: no, with the reason.
    said = run(slack, fake, REP, "can-use Globex logo", "No:")
    assert "No logo (website/deck) consent on record" in blob(said["blocks"])
    assert fake.violations == []


def test_manager_edits_with_old_and_new_audited(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    _history(db, ids["acme"])
    form = _open_edit(slack, fake, "Acme Corp")
    assert validate_view(form) == []
    values = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    assert values["industry"]["initial_value"] == "Fintech"
    assert values["contacts"]["initial_value"] == "Jane Doe | VP Finance | jane@example.com"
    assert values["consent:case_study:by"]["initial_value"] == "Carla (CMO)"
    assert values["consent:case_study:on"]["initial_date"] == "2024-09-30"
    assert [o["text"]["text"] for o in values["resolve"]["options"]] == ["2026-03-02 · high · Outage"]

    refused = slack.view_submission(MANAGER, form, {"referenceable": "no"}).json()
    assert refused["response_action"] == "errors" and "Say why" in refused["errors"]["reason"]

    incident_id = values["resolve"]["options"][0]["value"]
    response = slack.view_submission(
        MANAGER,
        form,
        {
            "industry": "Retail",
            "referenceable": "no",
            "reason": "Renewal <under> negotiation",
            "contacts": "Bob Roe | CTO | bob@acme.com\nJane Doe | VP Finance | jane@example.com",
            "consent:case_study:by": "",
            "consent:logo:by": "Carla (CMO)",
            "consent:logo:on": date(2025, 1, 1),
            "resolve": [incident_id],
            "incident_on": date(2026, 11, 1),
            "incident_severity": "medium",
            "incident_summary": "Billing bug",
        },
    )
    body = response.json()
    assert body["response_action"] == "update", body
    assert "industry: Fintech → Retail" in blob(body["view"]) and "contact added: Bob Roe" in blob(body["view"])
    with db.reading() as session:
        acme = session.get(Customer, ids["acme"])
        assert (acme.industry, acme.referenceable, acme.not_referenceable_reason) == (
            "Retail",
            False,
            "Renewal <under> negotiation",
        )
        assert [(c.name, c.is_primary) for c in sorted(acme.contacts, key=lambda c: not c.is_primary)] == [
            ("Bob Roe", True),
            ("Jane Doe", False),
        ]
        assert [c.ref_type for c in acme.consents] == ["logo"]
        assert sorted((i.summary, i.resolved) for i in acme.incidents) == [
            ("Billing bug", False),
            ("Outage", True),
            ("Typo", True),
        ]
        updated = session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.updated")).one()
        assert updated.actor == MANAGER
        assert updated.details["changes"] == {
            "industry": ["Fintech", "Retail"],
            "referenceable": [True, False],
            "not_referenceable_reason": ["", "Renewal <under> negotiation"],
        }
        withdrawn = session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.consent_withdrawn")).one()
        assert (withdrawn.details["ref_type"], withdrawn.details["approved_by"]) == ("case_study", "Carla (CMO)")
    assert audit_actions(db, ids["acme"]) == [
        "customer.updated",
        "customer.contacts_changed",
        "customer.consent_withdrawn",
        "customer.consent_recorded",
        "customer.incident_resolved",
        "customer.incident_added",
    ]
    shown = run(slack, fake, MANAGER, "show acme", "Recent changes")
    text = blob(shown["blocks"])
    assert "*no*: Renewal &lt;under&gt; negotiation" in text
    assert f"Incident added by <@{MANAGER}>: medium, “Billing bug” (2026-11-01)" in text
    assert "_…and 1 more_" in text  # six changes, the latest five shown

    # The form is stale now (the customer changed since it was opened): saving again is refused.
    stale = slack.view_submission(MANAGER, form, {"industry": "Energy"}).json()
    assert stale["response_action"] == "errors" and "Someone changed this customer" in stale["errors"]["name"]
    assert fake.violations == []


def test_recent_changes_read_as_sentences(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    """Issue 10 item 10: *Recent changes* prints sentences, never Python dictionaries or lists."""

    def recent_changes() -> list[str]:
        shown = run(slack, fake, MANAGER, "show globex", "Recent changes")
        texts = [b["text"]["text"] for b in shown["blocks"] if b["type"] == "section" and "text" in b]
        text = next(t for t in texts if t.startswith("*Recent changes*"))
        lines = [line.split(" · ", 1)[1] for line in text.splitlines()[1:] if " · " in line]  # after the time
        assert not any(mark in line for line in lines for mark in ("{", "}", "[", "]", "': ", "fields:")), lines
        return lines

    form = _open_add(slack, fake)
    assert slack.view_submission(MANAGER, form, NEW_CUSTOMER).json()["response_action"] == "update"
    added = recent_changes()
    assert added[:2] == [
        f"Case study consent recorded by <@{MANAGER}>: approved by Lisa Simpson (CMO) on 2024-09-30, until 2030-09-30",
        f"Contacts changed by <@{MANAGER}>: added Hank Scorpio and Marge",
    ]
    assert added[2].startswith(
        f"Added by <@{MANAGER}>: industry Energy, region EMEA, segment Enterprise, domain globex.com, "
        f"products Payments and Ledger, topics migration and SSO, owner <@{OWNER}>"
    )

    with db.transaction() as session:
        globex_id = session.scalars(select(Customer.id).where(Customer.name == "Globex")).one()
        conflict = {"field": "industry", "old": "Energy", "new": "Utilities", "line": 4}
        audit.record(
            session, "import", "customer.updated_by_import", "customer", globex_id, file="crm.csv", conflicts=[conflict]
        )
        changes = {
            "industry": ["Utilities", "Payments"],
            "owner_slack_id": [OWNER, None],
            "referenceable": [True, False],
        }
        audit.record(session, MANAGER, "customer.updated", "customer", globex_id, changes=changes)
        incident = {"incident_id": 1, "occurred_on": "2026-11-02", "severity": "high", "summary": "Outage <EU>"}
        audit.record(session, MANAGER, "customer.incident_added", "customer", globex_id, **incident)
    assert recent_changes()[:3] == [
        f"Incident added by <@{MANAGER}>: high, “Outage &lt;EU&gt;” (2026-11-02)",
        f"Industry: Utilities → Payments; owner: <@{OWNER}> → nobody; referenceable: yes → no (by <@{MANAGER}>)",
        "Industry: Energy → Utilities (import of crm.csv, line 4)",
    ]
    assert fake.violations == []


@pytest.mark.parametrize(
    ("values", "block", "message"),
    [
        ({"name": "   "}, "name", "Give the customer's name"),
        ({"domain": "initech.example"}, "domain", "is already Initech"),
        ({"name": "initech"}, "name", "already on the list"),
        ({"domain": "n/a"}, "domain", "Write a domain like acme.com"),
        ({"domain": "http://[::1"}, "domain", "Write a domain like acme.com"),
        (
            {
                "consent:logo:by": "Carla",
                "consent:logo:on": date(2025, 5, 1),
                "consent:logo:until": date(2025, 4, 1),
            },
            "consent:logo:until",
            "expires (2025-04-01) before it was approved (2025-05-01)",
        ),
        ({"consent:quote:by": "Carla"}, "consent:quote:on", "When did they approve it?"),
        ({"consent:media:on": date(2025, 5, 1)}, "consent:media:by", "Who at the customer approved it?"),
        ({"consent:quote:by": "Carla", "consent:quote:on": date(2099, 1, 1)}, "consent:quote:on", "future"),
        ({"contacts": "Jane | VP | not-an-email"}, "contacts", "is not an e-mail address"),
        ({"contacts": " | CTO"}, "contacts", "the contact's name comes first"),
        ({"incident_summary": "Outage"}, "incident_on", "When did it happen?"),
        ({"incident_severity": "high"}, "incident_summary", "Describe the incident"),
        ({"industry": "I" * 101}, "industry", "under 100 characters"),
    ],
)
def test_bad_input_is_answered_in_the_form(
    slack: SignedClient, fake: FakeSlack, db: Database, values: dict[str, Any], block: str, message: str
) -> None:
    seed(db)
    customers, audits = count(db, Customer), count(db, AuditEntry)
    form = _open_add(slack, fake)
    body = slack.view_submission(MANAGER, form, {**NEW_CUSTOMER, "domain": "", **values}).json()
    assert body["response_action"] == "errors", body
    assert message in body["errors"][block], body["errors"]
    assert set(body["errors"]) <= {b["block_id"] for b in form["blocks"] if b["type"] == "input"}
    assert (count(db, Customer), count(db, AuditEntry)) == (customers, audits)


def test_non_managers_cannot_add_or_edit(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    ids = seed(db)
    run(slack, fake, REP, "add Globex", "Only reference managers can use `/reference add`")
    shown = run(slack, fake, REP, "show acme", "Customer profile")
    # A forged Edit click is refused too.
    seen = len(fake.ephemerals(OTHER))
    slack.block_action(OTHER, "customer.edit", value=str(ids["acme"]), message=shown)
    answer(fake, OTHER, "Only reference managers can edit customers", after=seen)
    assert fake.views(REP) == [] and fake.views(OTHER) == []

    # A forged submission of a manager's form: refused at submit time, nothing changed.
    form = _open_edit(slack, fake, "Acme Corp")
    audits = count(db, AuditEntry)
    body = slack.view_submission(REP, form, {"industry": "Hacked"}).json()
    assert body["response_action"] == "errors"
    assert "Only reference managers can add or edit customers" in body["errors"]["name"]
    add_form = _open_add(slack, fake)
    body = slack.view_submission(OTHER, add_form, NEW_CUSTOMER).json()
    assert "Only reference managers" in body["errors"]["name"]
    with db.reading() as session:
        assert session.get(Customer, ids["acme"]).industry == "Fintech"
        assert session.scalar(select(func.count()).select_from(Customer).where(Customer.name == "Globex")) == 0
    assert count(db, AuditEntry) == audits
    # Help shows `add` to managers only.
    assert "/reference add" not in blob(slack.command(REP, "help").json())
    assert "/reference add" in blob(slack.command(MANAGER, "help").json())


# -- /reference can-use --------------------------------------------------------------------------------------


def test_can_use_gives_the_reason_and_its_source(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    with db.transaction() as session:
        factories.customer(session, "Acme Corp", consents=("logo",), consent_expires=date(2026, 9, 30))
        factories.customer(session, "Stale Inc", happy_days_ago=45)
        factories.customer(session, "Grumpy Ltd", answer=Happiness.UNHAPPY, happy_days_ago=3)
    said = run(slack, fake, REP, "can-use acme logo", "No:")
    assert (
        "*No:* Logo (website/deck) consent expired 2026-09-30 (approved by Carla (CMO) on 2024-09-30)"
        in said["blocks"][0]["text"]["text"]
    )
    assert f"recorded by <@{MANAGER}>" in blob(said["blocks"])
    said = run(slack, fake, REP, "can-use Acme Corp reference call", "Yes:")
    assert "used 0× in 90 days (limit 2)" in blob(said["blocks"])
    said = run(slack, fake, REP, "can-use stale inc site visit", "Not yet")
    assert "last check-in 45 days ago (Happy)" in blob(said["blocks"]) and f"<@{OWNER}>" in blob(said["blocks"])
    said = run(slack, fake, REP, "can-use grumpy call", "No:")
    assert "Unhappy at the last check-in" in blob(said["blocks"])

    run(slack, fake, REP, "can-use nobody-here case_study", "No customer matches “nobody-here”")
    run(slack, fake, REP, "can-use acme banana", "I don't know the reference type “banana”")
    run(slack, fake, REP, "can-use acme", "Name a customer and a kind of use")
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.status == "pending")) == 0
    assert fake.violations == []


# -- the request form's type-ahead -----------------------------------------------------------------------------


def test_type_ahead_ranks_by_name_similarity(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    with db.transaction() as session:
        for name in (
            "Pacme Logistics",
            "Big Acme Holdings",
            "Acmeville",
            "Acme Corp",
            "Acme",
            "100%_Real",
            "1000 Real",
        ):
            factories.customer(session, name, contact=None, happy_days_ago=None)
    assert slack.command(REP, "request").status == 200
    form = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])

    def options(typed: str) -> list[str]:
        response = slack.block_suggestion(REP, "request.specific_customer", typed, view=form)
        return [o["text"]["text"].split(" (")[0] for o in response.json()["options"]]

    ranked = options("acme")
    assert ranked[0] == "Acme"
    assert set(ranked[1:3]) == {"Acme Corp", "Acmeville"}
    assert ranked[3:] == ["Big Acme Holdings", "Pacme Logistics"]
    assert options("acme crop")[0] == "Acme Corp"  # a typo still finds it
    assert options("100%_") == ["100%_Real"]  # % and _ are literal
    assert options("%") == ["100%_Real"]
    assert options("zzz") == []
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_help_lists_the_customer_commands(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    text = blob(slack.command(REP, "help").json())
    for usage in ("find &lt;words or facets&gt;", "show &lt;customer&gt;", "can-use &lt;customer&gt; &lt;type&gt;"):
        assert f"/reference {usage}" in text  # escaped: a bare <customer> is a link to Slack, even in code
    assert "Did you mean `/reference can-use`?" in blob(slack.command(REP, "canuse acme logo").json())


def test_find_then_profile_then_edit_days(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    """A stale consent expiry shows as expired in the profile and in find."""
    with db.transaction() as session:
        factories.customer(session, "Acme Corp", consents=("quote",), consent_expires=date.today() - timedelta(days=1))
    found = run(slack, fake, REP, "find acme", "customer matches")
    assert f"Quote (expired {(date.today() - timedelta(days=1)).isoformat()})" in blob(found["blocks"])
    slack.click(REP, found, next(a for a in buttons(found) if a.startswith("customer.profile")))
    shown = answer(fake, REP, "Customer profile")
    assert ":warning: *Quote*" in blob(shown["blocks"]) and "*expired" in blob(shown["blocks"])


def test_edit_keeps_what_the_form_can_only_show_clipped(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    long_notes = "n" * 10_000
    products = tuple(f"Product number {i:03d}" for i in range(80))
    with db.transaction() as session:
        record = factories.customer(session, "Verbose Inc", products=products)
        record.notes = long_notes
    form = _open_edit(slack, fake, "verbose")
    assert validate_view(form) == []
    body = slack.view_submission(MANAGER, form, {"industry": "Energy"}).json()
    assert body["response_action"] == "update", body
    with db.reading() as session:
        saved = session.get(Customer, record.id)
        assert (saved.notes, tuple(saved.products), saved.industry) == (long_notes, products, "Energy")
        updated = session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.updated")).one()
        assert updated.details["changes"] == {"industry": ["Fintech", "Energy"]}
    # Who owns what: `owner:me` finds the customers someone owns.
    found = run(slack, fake, OWNER, "find owner:me", "customer matches")
    assert names_in(found) == ["Verbose Inc"]
    assert names_in(run(slack, fake, REP, "find owner:me verbose", "No customer matches")) == []
