"""The Salesforce connector, through the real simple-salesforce, against the project's TLS Salesforce fake."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from bot.crm.connector import (
    Activity,
    CrmAccount,
    CrmAuthError,
    CrmContact,
    CrmError,
    CrmOpportunity,
    CrmPermissionError,
    CrmRateLimited,
    CrmRecordGone,
    CrmUnavailable,
    CrmUser,
    Page,
    SalesforceConfig,
)
from bot.crm.salesforce import RetryPolicy, SalesforceConnector
from crmfake.salesforce import SalesforceFake

NOW = datetime(2026, 12, 1, tzinfo=UTC)  # ignored by the fake, which stamps records itself
POLICY = RetryPolicy(rate_limit_pauses=(0.5, 1.0, 2.0), rate_limited_retry_after=600.0, server_error_pauses=(0.1, 0.2))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceFake]:
    salesforce = SalesforceFake().start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", salesforce.env()["REQUESTS_CA_BUNDLE"])
    yield salesforce
    salesforce.stop()


class Sleeps(list[float]):
    """Stands in for time.sleep: records each pause instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def connect(fake: SalesforceFake, sleeps: Sleeps | None = None, **overrides: object) -> SalesforceConnector:
    env = fake.env()
    settings: dict[str, object] = {
        "login_url": env["SALESFORCE_LOGIN_URL"],
        "client_id": env["SALESFORCE_CLIENT_ID"],
        "client_secret": env["SALESFORCE_CLIENT_SECRET"],
        **overrides,
    }
    config = SalesforceConfig(**settings)  # type: ignore[arg-type]
    return SalesforceConnector(config, retry=POLICY, sleep=sleeps if sleeps is not None else Sleeps())


def owner(fake: SalesforceFake, email: str = "ann@example.com", name: str = "Ann Lee") -> str:
    return fake.upsert(CrmUser("", email, name, True, NOW))


def account(fake: SalesforceFake, name: str, owner_id: str | None = None, **changes: object) -> str:
    values: dict[str, object] = dict(
        crm_id="", name=name, domain=f"{name.lower().replace(' ', '')}.com", industry="Software",
        billing_country="Germany", employees=250, annual_revenue=Decimal("12500000.00"), owner_crm_id=owner_id,
        is_customer=True, modified_at=NOW,
    )  # fmt: skip
    values.update(changes)
    return fake.upsert(CrmAccount(**values))  # type: ignore[arg-type]


def contact(fake: SalesforceFake, account_id: str | None, last: str, **changes: object) -> str:
    values: dict[str, object] = dict(
        crm_id="", account_crm_id=account_id, first_name="Kim", last_name=last, title="CTO",
        email=f"{last.lower()}@example.com", modified_at=NOW,
    )  # fmt: skip
    values.update(changes)
    return fake.upsert(CrmContact(**values))  # type: ignore[arg-type]


def opportunity(
    fake: SalesforceFake, name: str, account_id: str | None, owner_id: str | None, **changes: object
) -> str:
    values: dict[str, object] = dict(
        crm_id="", name=name, account_crm_id=account_id, amount=Decimal("48000.00"), stage="Negotiation",
        close_date=date(2027, 1, 31), is_closed=False, is_won=False, owner_crm_id=owner_id, modified_at=NOW,
    )  # fmt: skip
    values.update(changes)
    return fake.upsert(CrmOpportunity(**values))  # type: ignore[arg-type]


def records(pages: list[Page]) -> list:  # type: ignore[type-arg]
    return [record for page in pages for record in page.records]


def token_requests(fake: SalesforceFake) -> int:
    return sum(1 for method, path in fake.requests() if path == "/services/oauth2/token")


# ---- reads ---------------------------------------------------------------------------------------


def test_a_full_read_of_every_stream_pages_through_the_query_locator(fake: SalesforceFake) -> None:
    ann = owner(fake)
    bob = owner(fake, "bob@example.com", "Bob Stone")
    accounts = [account(fake, f"Acme {i}", ann, is_customer=i % 3 != 0) for i in range(450)]
    contacts = [contact(fake, accounts[i % 450], f"Person{i}") for i in range(430)]
    opportunities = [opportunity(fake, f"Deal {i}", accounts[i], bob) for i in range(410)]
    won = opportunity(fake, "Big win", accounts[1], bob, stage="Closed Won", is_closed=True, is_won=True)
    connector = connect(fake, page_size=200)

    account_pages = list(connector.accounts(None))
    contact_pages = list(connector.contacts(None))
    opportunity_pages = list(connector.opportunities(None))
    user_pages = list(connector.users(None))

    assert [len(p.records) for p in account_pages] == [200, 200, 50]
    assert [len(p.records) for p in contact_pages] == [200, 200, 30]
    assert [len(p.records) for p in opportunity_pages] == [200, 200, 11]
    assert [r.crm_id for r in records(account_pages)] == accounts  # SystemModstamp order, none lost or doubled
    assert [r.crm_id for r in records(contact_pages)] == contacts
    assert [r.crm_id for r in records(opportunity_pages)] == [*opportunities, won]
    assert {u.crm_id: (u.email, u.name, u.active) for u in records(user_pages)} == {
        ann: ("ann@example.com", "Ann Lee", True),
        bob: ("bob@example.com", "Bob Stone", True),
    }
    first = records(account_pages)[0]
    assert (first.name, first.domain, first.industry, first.billing_country) == (
        "Acme 0", "acme0.com", "Software", "Germany",
    )  # fmt: skip
    assert (first.employees, first.annual_revenue, first.owner_crm_id) == (250, Decimal("12500000.00"), ann)
    assert [a.is_customer for a in records(account_pages)[:4]] == [False, True, True, False]
    assert not any(a.deleted for a in records(account_pages))
    person = records(contact_pages)[7]
    assert (person.account_crm_id, person.first_name, person.last_name, person.title, person.email) == (
        accounts[7], "Kim", "Person7", "CTO", "person7@example.com",
    )  # fmt: skip
    deal, big = records(opportunity_pages)[0], records(opportunity_pages)[-1]
    assert (deal.name, deal.account_crm_id, deal.amount, deal.stage, deal.close_date) == (
        "Deal 0", accounts[0], Decimal("48000.00"), "Negotiation", date(2027, 1, 31),
    )  # fmt: skip
    assert (deal.is_closed, deal.is_won, deal.owner_crm_id) == (False, False, bob)
    assert (big.stage, big.is_closed, big.is_won) == ("Closed Won", True, True)
    # Watermarks only move forward and end at the newest record read.
    marks = [p.watermark for p in account_pages]
    assert marks == sorted(marks) and marks[-1] == max(a.modified_at for a in records(account_pages))
    # A full pass asks `query` (live records only) and follows nextRecordsUrl, asking 200 a batch.
    account_calls = [path for method, path in fake.requests() if "FROM+Account" in path or "/query/01g" in path]
    assert account_calls[0].startswith("/services/data/v60.0/query/?q=SELECT+Id")
    assert [path.rsplit("-", 1)[1] for path in account_calls[1:3]] == ["200", "400"]


def test_an_incremental_read_brings_only_changes_since_the_watermark_deletions_included(fake: SalesforceFake) -> None:
    ann = owner(fake)
    kept, changed, removed = (account(fake, name, ann) for name in ("Kept", "Changed", "Removed"))
    gone_contact = contact(fake, kept, "Leaving")
    contact(fake, kept, "Staying")
    closing = opportunity(fake, "Closing", kept, ann)
    connector = connect(fake)
    marks = {
        "accounts": list(connector.accounts(None))[-1].watermark,
        "contacts": list(connector.contacts(None))[-1].watermark,
        "opportunities": list(connector.opportunities(None))[-1].watermark,
        "users": list(connector.users(None))[-1].watermark,
    }

    account(fake, "Changed", ann, crm_id=changed, is_customer=False)
    fake.delete("accounts", removed)
    fake.delete("contacts", gone_contact)
    opportunity(fake, "Closing", kept, ann, crm_id=closing, stage="Closed Lost", is_closed=True, is_won=False)
    newcomer = account(fake, "Newcomer", ann)
    fake.delete("users", ann)  # Salesforce cannot delete a user: it is deactivated

    accounts = records(list(connector.accounts(marks["accounts"])))
    assert [(a.crm_id, a.is_customer, a.deleted) for a in accounts] == [
        (changed, False, False), (removed, True, True), (newcomer, True, False),
    ]  # fmt: skip
    assert [(c.crm_id, c.deleted) for c in records(list(connector.contacts(marks["contacts"])))] == [
        (gone_contact, True)
    ]
    [lost] = records(list(connector.opportunities(marks["opportunities"])))
    assert (lost.crm_id, lost.stage, lost.is_closed, lost.is_won) == (closing, "Closed Lost", True, False)
    [deactivated] = records(list(connector.users(marks["users"])))
    assert (deactivated.crm_id, deactivated.active) == (ann, False)
    # Incremental reads go through queryAll (the recycle bin), except User, which has no IsDeleted.
    paths = [path for method, path in fake.requests() if "SystemModstamp+%3E" in path or "SystemModstamp%20%3E" in path]
    assert sum("/queryAll/?" in path for path in paths) == 3 and sum("/query/?" in path for path in paths) == 1
    # Nothing changed since: nothing to read.
    assert list(connector.accounts(max(a.modified_at for a in accounts))) == []


def test_records_sharing_one_stamp_across_a_page_boundary_are_neither_lost_nor_read_forever(
    fake: SalesforceFake,
) -> None:
    before = [account(fake, f"Before {i}") for i in range(150)]
    with fake.same_stamp():  # a bulk update: 300 records, one SystemModstamp, spanning pages 1–3
        tied = [account(fake, f"Tied {i}") for i in range(300)]
    after = [account(fake, f"After {i}") for i in range(10)]
    connector = connect(fake, page_size=200)

    pages = list(connector.accounts(None))

    assert [len(p.records) for p in pages] == [200, 200, 60]
    assert [a.crm_id for a in records(pages)] == before + tied + after
    stamp_of = {a.crm_id: a.modified_at for a in records(pages)}
    # Page 1 ends inside the tied group: its watermark stays below the group, and so does page 2's.
    assert pages[0].watermark == stamp_of[before[-1]]
    assert pages[1].watermark == stamp_of[before[-1]]
    assert pages[2].watermark == stamp_of[after[-1]]
    # A run killed after page 1 resumes from its watermark and misses none of the tied records.
    resumed = records(list(connector.accounts(pages[0].watermark)))
    assert set(a.crm_id for a in records(pages[:1])) | set(a.crm_id for a in resumed) == set(before + tied + after)
    assert [a.crm_id for a in resumed] == tied + after


def test_a_whole_read_made_of_one_stamp_keeps_the_starting_watermark_until_it_ends(fake: SalesforceFake) -> None:
    with fake.same_stamp():
        tied = [account(fake, f"Tied {i}") for i in range(450)]
    pages = list(connect(fake, page_size=200).accounts(None))
    assert [p.watermark for p in pages[:-1]] == [None, None]
    assert pages[-1].watermark == records(pages)[0].modified_at
    assert [a.crm_id for a in records(pages)] == tied


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups=st.lists(st.integers(min_value=1, max_value=420), min_size=1, max_size=4))
def test_a_run_resumed_from_any_page_loses_nothing_and_rereads_only_its_last_stamp(
    groups: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Groups of records sharing a stamp, of any size, against 200-record pages: whichever page a run was
    killed after, resuming from that page's watermark reads every record not yet read, and of those
    already read only ones at the stamps the watermark stayed below."""
    fake = SalesforceFake().start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.env()["REQUESTS_CA_BUNDLE"])
    try:
        seeded: list[str] = []
        for number, size in enumerate(groups):
            with fake.same_stamp():
                seeded.extend(account(fake, f"G{number} A{i}") for i in range(size))
        connector = connect(fake, page_size=200)
        pages = list(connector.accounts(None))
        assert [a.crm_id for a in records(pages)] == seeded
        for killed_after in range(len(pages)):
            done = records(pages[: killed_after + 1])
            mark = pages[killed_after].watermark
            resumed = records(list(connector.accounts(mark)))
            assert {a.crm_id for a in done} | {a.crm_id for a in resumed} == set(seeded)
            assert all(mark is None or a.modified_at > mark for a in resumed)
            reread = {a.crm_id for a in done} & {a.crm_id for a in resumed}
            assert {a.modified_at for a in done if a.crm_id in reread} <= {done[-1].modified_at}
    finally:
        fake.stop()


def test_an_expired_query_locator_is_asked_again_from_the_watermark(fake: SalesforceFake) -> None:
    accounts = [account(fake, f"Acme {i}") for i in range(650)]
    reading = connect(fake, page_size=200).accounts(None)
    first = next(reading)  # batches 1 and 2 read (one ahead)
    fake.expire_query_locators()  # the sync took a long break
    rest = list(reading)
    read = [a.crm_id for a in records([first, *rest])]
    assert read == accounts  # batch 2 comes again from a new query since page 1: nothing lost, nothing twice
    assert sum(1 for method, path in fake.requests() if "/query/?q=" in path) == 2


def test_a_configured_customer_field_decides_is_customer(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = SalesforceFake(customer_field="Customer_Status__c", customer_value="Active").start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.env()["REQUESTS_CA_BUNDLE"])
    try:
        yes = account(fake, "Yes", is_customer=True)
        no = account(fake, "No", is_customer=False)
        connector = connect(fake, customer_field="Customer_Status__c", customer_values=("Active", "Renewing"))
        verdicts = {a.crm_id: a.is_customer for a in records(list(connector.accounts(None)))}
        assert verdicts == {yes: True, no: False}
        assert "Customer_Status__c" in fake.record("Account", yes)
    finally:
        fake.stop()


def test_a_field_the_integration_user_cannot_read_is_one_sentence_naming_object_and_field(
    fake: SalesforceFake,
) -> None:
    account(fake, "Acme")
    fake.hide_field("Account", "Industry")
    with pytest.raises(CrmPermissionError) as refused:
        list(connect(fake).accounts(None))
    assert "Account.Industry" in refused.value.message
    assert "\n" not in refused.value.message and refused.value.message.endswith(".")


# ---- write-back ----------------------------------------------------------------------------------


def activity(opportunity_id: str, key: str = "crm:request:12:approved", **changes: object) -> Activity:
    values: dict[str, object] = dict(
        key=key, opportunity_crm_id=opportunity_id, subject="Reference: Globex (case study)",
        body="Reference customer: Globex\nType: case study\nApproved by: Maria Manager",
        when=datetime(2026, 12, 1, 15, 30, tzinfo=UTC),
    )  # fmt: skip
    values.update(changes)
    return Activity(**values)  # type: ignore[arg-type]


def test_an_activity_is_a_completed_task_found_by_its_key_and_rewritten_in_place(fake: SalesforceFake) -> None:
    ann = owner(fake)
    deal = opportunity(fake, "Deal", account(fake, "Acme", ann), ann)
    other = opportunity(fake, "Other", account(fake, "Initech", ann), ann)
    connector = connect(fake)

    assert connector.find_activity("crm:request:12:approved", deal) is None
    task_id = connector.create_activity(activity(deal))

    [written] = fake.activities()
    assert written["crm_id"] == task_id and written["opportunity_crm_id"] == deal
    assert written["subject"].startswith("Reference: Globex (case study)")
    assert written["body"] == "Reference customer: Globex\nType: case study\nApproved by: Maria Manager"
    task = fake.record("Task", task_id)
    assert (task["Status"], task["ActivityDate"], task["WhatId"]) == ("Completed", "2026-12-01", deal)
    assert connector.find_activity("crm:request:12:approved", deal) == task_id
    assert connector.find_activity("crm:request:12:approved", other) is None
    assert connector.find_activity("crm:request:12:outcome", deal) is None
    assert connector.find_activity("crm:request:1", deal) is None  # a prefix of the key is not the key

    connector.update_activity(task_id, activity(deal, body="Outcome: won, 48,000 EUR"))

    [rewritten] = fake.activities()
    assert rewritten["crm_id"] == task_id and rewritten["body"] == "Outcome: won, 48,000 EUR"
    assert connector.find_activity("crm:request:12:approved", deal) == task_id


def test_a_key_with_like_wildcards_only_finds_itself(fake: SalesforceFake) -> None:
    ann = owner(fake)
    deal = opportunity(fake, "Deal", account(fake, "Acme", ann), ann)
    connector = connect(fake)
    task_id = connector.create_activity(activity(deal, key="crm:100%_sure"))
    assert connector.find_activity("crm:100%_sure", deal) == task_id
    assert connector.find_activity("crm:100%%sure", deal) is None
    assert connector.find_activity("crm:100x_sure", deal) is None


def test_a_long_subject_is_clipped_so_the_key_survives(fake: SalesforceFake) -> None:
    ann = owner(fake)
    deal = opportunity(fake, "Deal", account(fake, "Acme", ann), ann)
    connector = connect(fake)
    task_id = connector.create_activity(activity(deal, subject="Reference " * 40))
    assert len(fake.record("Task", task_id)["Subject"]) <= 255
    assert connector.find_activity("crm:request:12:approved", deal) == task_id


def test_writing_to_a_deleted_opportunity_or_a_deleted_task_is_record_gone(fake: SalesforceFake) -> None:
    ann = owner(fake)
    deal = opportunity(fake, "Deal", account(fake, "Acme", ann), ann)
    connector = connect(fake)
    fake.delete("opportunities", deal)
    with pytest.raises(CrmRecordGone):
        connector.create_activity(activity(deal))
    with pytest.raises(CrmRecordGone):
        connector.update_activity("00T5g000000NOPEAAA", activity(deal))
    assert fake.activities() == []


def test_updating_a_task_deleted_with_its_opportunity_is_record_gone(fake: SalesforceFake) -> None:
    ann = owner(fake)
    deal = opportunity(fake, "Deal", account(fake, "Acme", ann), ann)
    connector = connect(fake)
    task_id = connector.create_activity(activity(deal))
    fake.delete("opportunities", deal)  # Salesforce deletes the opportunity's activities with it
    with pytest.raises(CrmRecordGone):
        connector.update_activity(task_id, activity(deal, body="Outcome: won"))
    assert connector.find_activity("crm:request:12:approved", deal) is None


def test_a_create_retried_after_a_5xx_lands_once(fake: SalesforceFake) -> None:
    ann = owner(fake)
    deal = opportunity(fake, "Deal", account(fake, "Acme", ann), ann)
    connector = connect(fake)
    connector.find_activity("warm-up", deal)  # logged in
    fake.fail_next("server_error", times=1)
    task_id = connector.create_activity(activity(deal))
    assert [a["crm_id"] for a in fake.activities()] == [task_id]


def test_writing_without_task_permissions_is_a_permission_error(fake: SalesforceFake) -> None:
    ann = owner(fake)
    deal = opportunity(fake, "Deal", account(fake, "Acme", ann), ann)
    fake.forbid_writes("Task")
    with pytest.raises(CrmPermissionError) as refused:
        connect(fake).create_activity(activity(deal))
    assert "INSUFFICIENT_ACCESS_OR_READONLY" in refused.value.message


# ---- check ---------------------------------------------------------------------------------------


def test_check_passes_on_a_well_set_up_org(fake: SalesforceFake) -> None:
    result = connect(fake).check()
    assert result.ok and result.problems == [] and result.crm == "salesforce"
    described = {path.split("/")[-2] for method, path in fake.requests() if path.endswith("/describe")}
    assert described == {"User", "Account", "Contact", "Opportunity", "Task"}


def test_check_names_each_missing_object_and_field_in_one_sentence(fake: SalesforceFake) -> None:
    fake.hide_field("Account", "Industry")
    fake.hide_field("Contact", "Title")
    fake.hide_object("Opportunity")
    fake.forbid_writes("Task")

    result = connect(fake).check()

    assert not result.ok
    assert result.problems == [
        "Salesforce: the integration user cannot read Account.Industry (give it field-level Read access on "
        "Account.Industry).",
        "Salesforce: the integration user cannot read Contact.Title (give it field-level Read access on "
        "Contact.Title).",
        "Salesforce: the integration user cannot see the Opportunity object (give it Read on Opportunity).",
        "Salesforce: the integration user cannot create Tasks (give it Create on Task).",
        "Salesforce: the integration user cannot edit Tasks (give it Edit on Task).",
    ]


def test_check_says_when_no_account_would_count_as_a_customer(fake: SalesforceFake) -> None:
    result = connect(fake, customer_values=("Client", "Active client")).check()
    [problem] = result.problems
    assert problem.startswith("Salesforce: no Account.Type value is 'Client' or 'Active client' (it has 'Prospect', ")
    assert "'Customer - Direct'" in problem
    assert problem.endswith("set SALESFORCE_CUSTOMER_VALUES to the values that mark one.")
    assert connect(fake, customer_values=("customer - direct",)).check().ok


def test_check_with_bad_credentials_is_that_one_sentence(fake: SalesforceFake) -> None:
    result = connect(fake, client_secret="wrong").check()
    assert len(result.problems) == 1
    assert "SALESFORCE_CLIENT_SECRET" in result.problems[0]


# ---- faults --------------------------------------------------------------------------------------


def test_request_limit_exceeded_backs_off_and_resumes_the_same_read(fake: SalesforceFake) -> None:
    accounts = [account(fake, f"Acme {i}") for i in range(450)]
    sleeps = Sleeps()
    reading = connect(fake, sleeps, page_size=200).accounts(None)

    first = next(reading)  # batches 1 and 2 read (one ahead)
    fake.fail_next("rate_limit", times=2)
    rest = list(reading)

    assert [a.crm_id for a in records([first, *rest])] == accounts
    assert sleeps == [0.5, 1.0]
    more = [path for method, path in fake.requests() if "/query/01g" in path]
    assert [path.rsplit("-", 1)[1] for path in more] == ["200", "400", "400", "400"]  # batch 3 asked three times


def test_a_request_limit_that_persists_is_crm_rate_limited(fake: SalesforceFake) -> None:
    account(fake, "Acme")
    sleeps = Sleeps()
    fake.fail_next("rate_limit", times=10)
    with pytest.raises(CrmRateLimited) as limited:
        list(connect(fake, sleeps).accounts(None))
    assert limited.value.retry_after == 600.0
    assert "REQUEST_LIMIT_EXCEEDED" in limited.value.message
    assert sleeps == [0.5, 1.0, 2.0]


def test_an_expired_session_logs_in_again_once(fake: SalesforceFake) -> None:
    accounts = [account(fake, f"Acme {i}") for i in range(450)]
    reading = connect(fake, page_size=200).accounts(None)
    first = next(reading)  # batches 1 and 2 read (one ahead)
    assert token_requests(fake) == 1

    fake.fail_next("session_expired")
    rest = list(reading)

    assert [a.crm_id for a in records([first, *rest])] == accounts
    assert token_requests(fake) == 2


def test_a_session_that_expires_again_after_the_new_log_in_is_an_auth_error(fake: SalesforceFake) -> None:
    account(fake, "Acme")
    connector = connect(fake)
    list(connector.accounts(None))
    fake.fail_next("session_expired", times=5)
    with pytest.raises(CrmAuthError) as refused:
        list(connector.accounts(None))
    assert token_requests(fake) == 2  # the first log-in and exactly one more
    assert "\n" not in refused.value.message


def test_bad_credentials_are_one_sentence_without_the_secret(fake: SalesforceFake) -> None:
    with pytest.raises(CrmAuthError) as refused:
        list(connect(fake, client_secret="not-the-secret-123").accounts(None))
    message = refused.value.message
    assert "invalid_client" in message and "SALESFORCE_CLIENT_SECRET" in message
    assert "not-the-secret-123" not in message and "\n" not in message
    assert message.endswith(".") and message.count(". ") == 0


def test_an_unknown_client_id_says_so(fake: SalesforceFake) -> None:
    with pytest.raises(CrmAuthError) as refused:
        list(connect(fake, client_id="3MVGnobody").users(None))
    assert "SALESFORCE_CLIENT_ID" in refused.value.message


def test_the_generic_login_domain_is_named_as_the_thing_to_change(fake: SalesforceFake) -> None:
    fake.generic_login_domain = True  # as login.salesforce.com answers the client-credentials flow
    with pytest.raises(CrmAuthError) as refused:
        list(connect(fake).users(None))
    assert "SALESFORCE_LOGIN_URL" in refused.value.message and "My Domain" in refused.value.message


def test_credentials_revoked_while_logged_in_end_the_run_with_an_auth_error(fake: SalesforceFake) -> None:
    account(fake, "Acme")
    connector = connect(fake)
    list(connector.accounts(None))
    fake.fail_next("bad_credentials", times=3)
    with pytest.raises(CrmAuthError):
        list(connector.accounts(None))


def test_a_brief_5xx_is_retried_and_a_storm_is_crm_unavailable(fake: SalesforceFake) -> None:
    accounts = [account(fake, f"Acme {i}") for i in range(3)]
    sleeps = Sleeps()
    connector = connect(fake, sleeps)
    fake.fail_next("server_error", times=2)
    assert [a.crm_id for a in records(list(connector.accounts(None)))] == accounts
    assert sleeps == [0.1, 0.2]

    sleeps.clear()
    fake.fail_next("server_error", times=50)
    with pytest.raises(CrmUnavailable) as unavailable:
        list(connector.accounts(None))
    assert "HTTP 503 SERVER_UNAVAILABLE" in unavailable.value.message
    assert sleeps == [0.1, 0.2]


def test_a_token_endpoint_in_maintenance_is_retried_then_crm_unavailable(fake: SalesforceFake) -> None:
    account(fake, "Acme")
    sleeps = Sleeps()
    fake.fail_next("server_error", times=2)  # not logged in yet: the token endpoint answers an HTML 503
    assert len(records(list(connect(fake, sleeps).accounts(None)))) == 1
    assert sleeps == [0.1, 0.2] and token_requests(fake) == 3

    fake.fail_next("server_error", times=3)
    with pytest.raises(CrmUnavailable) as unavailable:
        list(connect(fake, Sleeps()).accounts(None))
    assert "HTTP 503" in unavailable.value.message and "\n" not in unavailable.value.message


def test_nothing_listening_is_crm_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = SalesforceConfig(login_url=f"https://127.0.0.1:{port}", client_id="id", client_secret="secret")
    with pytest.raises(CrmUnavailable):
        list(SalesforceConnector(config, retry=POLICY, sleep=Sleeps()).users(None))


def test_tls_is_verified_against_the_test_ca(fake: SalesforceFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(CrmUnavailable) as refused:
        list(connect(fake).users(None))
    assert "SSLError" in refused.value.message


def test_no_secret_or_token_appears_in_any_message_or_log(
    fake: SalesforceFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ann = owner(fake)
    deal = opportunity(fake, "Deal", account(fake, "Acme", ann), ann)
    sleeps = Sleeps()
    connector = connect(fake, sleeps)
    messages: list[str] = [repr(connector.config)]
    # Each fault exactly as often as the connector asks before it gives up, so none is left for the next step.
    for fault, times in (("rate_limit", 4), ("session_expired", 2), ("server_error", 3), ("bad_credentials", 1)):
        fake.fail_next(fault, times)  # type: ignore[arg-type]
        try:
            list(connector.opportunities(None))
        except CrmError as error:
            messages.append(error.message)
            messages.append(repr(error.__cause__ or error.__context__))
    connector.create_activity(activity(deal))
    messages.extend(connect(fake, client_secret="wrong-secret").check().problems)

    assert len(messages) == 1 + 4 * 2 + 1
    secrets = [fake.client_secret, "wrong-secret", *fake.issued_tokens()]
    assert len(secrets) >= 4
    for secret in secrets:
        assert secret not in caplog.text
        assert all(secret not in message for message in messages)


# ---- the fake speaks Salesforce's SOQL errors (as simple-salesforce sees them) ---------------------


def test_the_fake_answers_bad_soql_the_way_salesforce_does(fake: SalesforceFake) -> None:
    connector = connect(fake)
    list(connector.users(None))  # logged in
    sf: Salesforce = connector._sf  # type: ignore[assignment]
    for soql, code, words in (
        ("SELECT Id, Colour FROM Account", "INVALID_FIELD", "No such column 'Colour' on entity 'Account'"),
        ("SELECT Id FROM Task WHERE Description = 'x'", "INVALID_FIELD", "can not be filtered"),
        ("SELECT Id FROM Widget", "INVALID_TYPE", "sObject type 'Widget' is not supported"),
        ("SELECT Id FROM Account WHERE SystemModstamp > '2026-01-01'", "INVALID_FIELD", "must be of type dateTime"),
        ("SELECT Id Account", "MALFORMED_QUERY", "expecting 'FROM'"),
    ):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.query(soql)
        [error] = refused.value.content
        assert error["errorCode"] == code and words in error["message"]


def test_the_fake_evaluates_where_order_by_and_limit(fake: SalesforceFake) -> None:
    ann = owner(fake)
    for name, employees in (("Beta", 10), ("alpha", 500), ("Gamma", None), ("O'Hare", 42)):
        account(fake, name, ann, employees=employees)
    connector = connect(fake)
    list(connector.users(None))
    sf: Salesforce = connector._sf  # type: ignore[assignment]

    def names(soql: str) -> list[str]:
        return [r["Name"] for r in sf.query(soql)["records"]]

    assert names("SELECT Name FROM Account ORDER BY Name") == ["alpha", "Beta", "Gamma", "O'Hare"]
    assert names("select name from account where NumberOfEmployees >= 42 order by NumberOfEmployees desc") == [
        "alpha", "O'Hare",
    ]  # fmt: skip
    assert names("SELECT Name FROM Account WHERE NumberOfEmployees = null") == ["Gamma"]
    assert names("SELECT Name FROM Account WHERE Name = 'o\\'hare' OR (Name LIKE 'b%' AND NOT Name = 'x')") == [
        "Beta", "O'Hare",
    ]  # fmt: skip
    assert names("SELECT Name FROM Account WHERE Name IN ('Beta', 'Gamma') ORDER BY Name DESC LIMIT 1") == ["Gamma"]
    [record] = sf.query("SELECT Id, Name FROM Account WHERE Name = 'Beta'")["records"]
    assert record["attributes"]["type"] == "Account"
    assert record["attributes"]["url"] == f"/services/data/v60.0/sobjects/Account/{record['Id']}"


def test_the_fake_can_serve_from_a_process_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from crmfake.process import FakeProcess

    with FakeProcess("crmfake.salesforce:SalesforceFake") as crm:
        crm.call("bench.salesforce_read_bench:seed", 30, 60, 45)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", crm.env["REQUESTS_CA_BUNDLE"])
        config = SalesforceConfig(
            login_url=crm.env["SALESFORCE_LOGIN_URL"],
            client_id=crm.env["SALESFORCE_CLIENT_ID"],
            client_secret=crm.env["SALESFORCE_CLIENT_SECRET"],
        )
        connector = SalesforceConnector(config, retry=POLICY, sleep=Sleeps())
        assert len(records(list(connector.contacts(None)))) == 60
        watermark = list(connector.accounts(None))[-1].watermark
        crm.call("bench.salesforce_read_bench:change", 9)
        assert len(records(list(connector.accounts(watermark)))) == 3
        with pytest.raises(RuntimeError, match="failed in the fake's process"):
            crm.call("bench.salesforce_read_bench:change", "nine")
        connector.close()
