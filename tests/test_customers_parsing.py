"""The customer list's parsers on their own, without Slack or a database: what a person types becomes
a query, a type or a draft, and every bad input is a refusal against its own field.

The end-to-end behaviour (find, show, can-use, the add/edit form through signed requests) is in
tests/test_customers_slack.py; these pin the parsing rules beside it.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.customers.form import LIMITS, consent_block, contacts_text, list_text, parse_customer_form
from bot.customers.profile import parse_can_use
from bot.customers.query import MAX_QUERY, SearchQuery, clean_text, parse_query, parse_ref_type
from bot.errors import ValidationFailed
from bot.views.text import clip
from models import Consent, Contact, Customer
from models.enums import RefType

TODAY = date(2026, 11, 24)


# -- the search parser ----------------------------------------------------------------------------------


def test_words_and_facets_are_told_apart() -> None:
    query = parse_query('payments "Open  Banking" industry:fintech region:"north america" type:case_study')
    assert query.words == ("payments", "open banking")
    assert query.industry == ("fintech",) and query.region == ("north america",)
    assert query.ref_type == RefType.CASE_STUDY
    assert query.criteria == {"industry": ("fintech",), "region": ("north america",)}
    assert not query.is_empty


def test_facet_names_have_their_plurals_and_repeat_without_duplicates() -> None:
    query = parse_query("product:sso products:SSO topic:migration topics:migration segment:enterprise")
    assert query.products == ("sso", "SSO") and query.topics == ("migration",) and query.segment == ("enterprise",)


def test_an_unknown_key_is_a_plain_word_and_an_empty_facet_is_ignored() -> None:
    query = parse_query("colour:blue industry: acme")
    assert query.words == ("colour:blue", "acme") and query.criteria == {}


def test_typographic_quotes_and_control_characters_are_made_plain() -> None:
    assert clean_text("“open\tbanking”\x00 now") == '"open banking" now'
    assert parse_query("“open banking”").words == ("open banking",)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("case_study", RefType.CASE_STUDY),
        ("Case study", RefType.CASE_STUDY),
        ("case-study", RefType.CASE_STUDY),
        ("casestudy", RefType.CASE_STUDY),
        ("case stdy", RefType.CASE_STUDY),  # a near miss is forgiven…
        ("pr", RefType.PRESS_RELEASE),
        ("phone", RefType.CALL),
        ("", None),
        ("banana", None),
    ],
)
def test_reference_types_are_read_however_they_are_written(written: str, expected: RefType | None) -> None:
    assert parse_ref_type(written) == expected


def test_a_near_miss_type_is_not_guessed_when_fuzzy_is_off() -> None:
    assert parse_ref_type("case stdy", fuzzy=False) is None


def test_an_unknown_type_facet_is_refused_with_the_types_listed() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_query("type:banana")
    assert set(refused.value.errors) == {"query"}
    assert "banana" in refused.value.errors["query"] and "`case_study`" in refused.value.errors["query"]


def test_owner_is_me_a_mention_or_a_user_id_and_nothing_else() -> None:
    assert parse_query("owner:me", actor="U0REP").owner == "U0REP"
    assert parse_query("owner:<@U0OWNER1|olga>").owner == "U0OWNER1"
    assert parse_query("owner:u0owner1").owner == "U0OWNER1"
    with pytest.raises(ValidationFailed):
        parse_query("owner:olga")


def test_a_query_too_long_is_refused_and_an_empty_one_is_empty() -> None:
    with pytest.raises(ValidationFailed):
        parse_query("x" * (MAX_QUERY + 1))
    assert parse_query("   ").is_empty and parse_query("").words == ()
    assert SearchQuery(text="", owner="U1").is_empty is False


def test_can_use_takes_the_type_from_the_last_words() -> None:
    assert parse_can_use("acme corp case study") == ("acme corp", RefType.CASE_STUDY)
    assert parse_can_use('"globex" press_release') == ("globex", RefType.PRESS_RELEASE)
    with pytest.raises(ValidationFailed):
        parse_can_use("acme")
    with pytest.raises(ValidationFailed):
        parse_can_use("acme banana")


# -- the add/edit form parser ---------------------------------------------------------------------------


def form(**values: object) -> dict[str, object]:
    return {"name": "Acme Corp", **values}


def test_a_complete_form_becomes_a_draft() -> None:
    on, until = consent_block(RefType.CASE_STUDY, "on"), consent_block(RefType.CASE_STUDY, "until")
    draft = parse_customer_form(
        form(
            domain="https://www.Acme.com/about",
            industry=" Fintech ",
            products="Payments, SSO; payments\nAPI",
            owner="U0OWNER1",
            referenceable="yes",
            contacts="Ada Lovelace | CTO | ada@acme.com\nBob | bob@acme.com",
            **{consent_block(RefType.CASE_STUDY, "by"): "Ada Lovelace", on: "2026-01-02", until: "2027-01-02"},
            incident_summary="Outage",
            incident_on="2026-11-01",
            incident_severity="high",
            resolve=["3", "x", "4"],
        ),
        TODAY,
    )
    assert draft.errors == {}
    assert draft.fields["name"] == "Acme Corp" and draft.fields["domain"] == "acme.com"
    assert draft.fields["industry"] == "Fintech" and draft.fields["owner_slack_id"] == "U0OWNER1"
    assert draft.fields["products"] == ["Payments", "SSO", "payments", "API"]
    assert draft.fields["referenceable"] is True and draft.fields["not_referenceable_reason"] == ""
    assert [(c.name, c.title, c.email) for c in draft.contacts or []] == [
        ("Ada Lovelace", "CTO", "ada@acme.com"),
        ("Bob", "", "bob@acme.com"),
    ]
    consent = draft.consents[RefType.CASE_STUDY]
    assert consent is not None and (consent.approved_on, consent.expires_on) == (date(2026, 1, 2), date(2027, 1, 2))
    assert draft.new_incident is not None and draft.new_incident.severity == "high"
    assert draft.resolve == {3, 4}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"domain": "not a domain"}, "domain"),
        ({"owner": "olga"}, "owner"),
        ({"referenceable": "maybe"}, "referenceable"),
        ({"referenceable": "no"}, "reason"),
        ({"contacts": "a | b | c | d"}, "contacts"),
        ({"contacts": " | cto"}, "contacts"),
        ({"contacts": "Ada | ada@"}, "contacts"),
        ({"products": "x" * 101}, "products"),
        ({"incident_summary": "Outage"}, "incident_on"),
        ({"incident_summary": "Outage", "incident_on": "2026-11-01"}, "incident_severity"),
        ({"incident_summary": "Outage", "incident_on": "2030-01-01", "incident_severity": "low"}, "incident_on"),
        ({"incident_severity": "low"}, "incident_summary"),
        ({consent_block(RefType.LOGO, "on"): "2026-01-01"}, consent_block(RefType.LOGO, "by")),
        (
            {consent_block(RefType.LOGO, "by"): "Ada", consent_block(RefType.LOGO, "on"): "2030-01-01"},
            "consent:logo:on",
        ),
        (
            {
                consent_block(RefType.LOGO, "by"): "Ada",
                consent_block(RefType.LOGO, "on"): "2026-02-01",
                consent_block(RefType.LOGO, "until"): "2026-01-01",
            },
            "consent:logo:until",
        ),
        ({consent_block(RefType.LOGO, "on"): "yesterday"}, "consent:logo:on"),
    ],
)
def test_each_problem_is_reported_against_its_own_field(values: dict[str, object], field: str) -> None:
    errors = parse_customer_form({"name": "Acme Corp", **values}, TODAY).errors
    assert field in errors, errors


def test_not_referenceable_keeps_its_reason_and_input_of_the_wrong_shape_reads_as_empty() -> None:
    draft = parse_customer_form(form(referenceable="no", reason="Legal said no", industry=["x"]), TODAY)
    assert draft.errors == {}
    assert draft.fields["referenceable"] is False and draft.fields["not_referenceable_reason"] == "Legal said no"
    assert draft.fields["industry"] == ""


def test_an_edit_keeps_what_the_form_could_only_show_clipped_and_what_it_left_as_shown() -> None:
    long_notes = "n" * (LIMITS["notes"] + 50)
    long_topics = [f"topic {i:03d}" for i in range(200)]  # more than the form's 1,000 characters
    current = Customer(name="Acme Corp", notes=long_notes, topics=long_topics, products=["SSO"])
    current.contacts = [Contact(name="Ada", title="CTO", email="ada@acme.com", is_primary=True)]
    current.consents = [Consent(ref_type=RefType.LOGO.value, approved_by="Ada", approved_on=date(2026, 1, 1))]
    shown = {
        "name": "Acme Corp",
        "notes": clip(long_notes, LIMITS["notes"]),
        "topics": clip(list_text(long_topics), LIMITS["topics"]),
        "products": "SSO, API",
        "contacts": contacts_text(current),
        consent_block(RefType.LOGO, "until"): "2027-01-01",  # the approver's name cleared, the dates kept
    }
    typed = parse_customer_form(shown, TODAY)
    # On its own the form says less than the customer holds, and half a consent:
    assert typed.fields["topics"] != long_topics and typed.fields["notes"] != long_notes
    assert set(typed.errors) == {consent_block(RefType.LOGO, "by")}
    edit = typed.as_edit_of(current)
    assert edit.errors == {}
    assert edit.fields["notes"] == long_notes and edit.fields["topics"] == long_topics
    assert edit.fields["products"] == ["SSO", "API"]  # what was changed is taken as typed
    assert edit.contacts is None  # left as shown: unchanged
    assert typed.as_edit_of(None) is typed  # a new customer has nothing to keep
