"""The HubSpot connector through the real `hubspot-api-client`, against the project's loopback HubSpot.

Every test drives `HubSpotConnector` (bot/crm/hubspot.py) over HTTP to `crmfake.hubspot.HubSpotFake`, which
answers in HubSpot's documented wire format; nothing in the client library is patched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import urllib3
from urllib3.util.retry import Retry

from bot.crm.connector import (
    Activity,
    CrmAccount,
    CrmAuthError,
    CrmContact,
    CrmError,
    CrmOpportunity,
    CrmRateLimited,
    CrmRecordGone,
    CrmUnavailable,
    CrmUser,
    HubSpotConfig,
    Page,
)
from bot.crm.hubspot import HubSpotConnector, activity_token, default_read_retry
from crmfake.hubspot import SEARCH_RESULT_CAP, HubSpotFake

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
IGNORED = datetime(2020, 1, 1, tzinfo=UTC)  # the fake stamps records itself


def quick_retry(total: int = 4) -> Retry:
    """The connector's read retry with the back-off shrunk, so a 5xx storm test takes milliseconds;
    `Retry-After` is still honoured exactly."""
    retry = default_read_retry()
    return retry.new(total=total, status=total, backoff_factor=0.001, backoff_max=0.01)


@pytest.fixture
def hubspot() -> Iterator[HubSpotFake]:
    with HubSpotFake() as fake:
        yield fake


def connect(fake: HubSpotFake, *, token: str | None = None, page_size: int = 100, **kwargs: object) -> HubSpotConnector:
    env = fake.env()
    config = HubSpotConfig(
        api_url=env["HUBSPOT_API_URL"],
        access_token=env["HUBSPOT_ACCESS_TOKEN"] if token is None else token,
        page_size=page_size,
        timeout_seconds=5,
    )
    kwargs.setdefault("read_retry", quick_retry())
    return HubSpotConnector(config, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def connector(hubspot: HubSpotFake) -> Iterator[HubSpotConnector]:
    connector = connect(hubspot)
    yield connector
    connector.close()


def company(
    name: str, *, customer: bool = True, owner: str | None = None, crm_id: str = "", **fields: object
) -> CrmAccount:
    values: dict[str, object] = {
        "domain": f"{name.lower().replace(' ', '')}.example.com",
        "industry": "Software",
        "billing_country": "DE",
        "employees": 250,
        "annual_revenue": Decimal("1250000.50"),
    }
    values.update(fields)
    return CrmAccount(crm_id, name, owner_crm_id=owner, is_customer=customer, modified_at=IGNORED, **values)  # type: ignore[arg-type]


def person(account: str | None, first: str, *, crm_id: str = "") -> CrmContact:
    return CrmContact(crm_id, account, first, "Meyer", "CTO", f"{first.lower()}@example.com", IGNORED)


def deal(
    account: str | None, name: str, *, closed: bool = False, won: bool = False, crm_id: str = "", **fields: object
) -> CrmOpportunity:
    values: dict[str, object] = {"amount": Decimal("42000"), "stage": "Contract Sent", "close_date": date(2026, 12, 24)}
    values.update(fields)
    return CrmOpportunity(
        crm_id,
        name,
        account,
        is_closed=closed,
        is_won=won,
        owner_crm_id=None,
        modified_at=IGNORED,
        **values,  # type: ignore[arg-type]
    )


def read_all(pages: Iterator[Page]) -> tuple[list, list[Page]]:
    collected = list(pages)
    return [r for page in collected for r in page.records], collected


# --- full pass ---------------------------------------------------------------------------------------------


def test_a_full_pass_reads_every_stream_across_pages_with_its_fields(
    hubspot: HubSpotFake, connector: HubSpotConnector
) -> None:
    ann = hubspot.upsert(CrmUser("", "ann@example.com", "Ann Lee", True, IGNORED))
    gone = hubspot.upsert(CrmUser("", "old@example.com", "Old Rep", False, IGNORED))
    accounts = [hubspot.upsert(company(f"Company {n}", customer=n % 2 == 0, owner=ann)) for n in range(250)]
    contacts = [hubspot.upsert(person(accounts[n % 250], f"P{n}")) for n in range(230)]
    loner = hubspot.upsert(person(None, "Nobody"))
    won = hubspot.upsert(deal(accounts[0], "Won deal", closed=True, won=True))
    lost = hubspot.upsert(deal(accounts[1], "Lost deal", closed=True, won=False))
    open_deals = [hubspot.upsert(deal(accounts[n], f"Open {n}")) for n in range(118)]

    users, _ = read_all(connector.users(None))
    assert {(u.crm_id, u.email, u.name, u.active) for u in users} == {
        (ann, "ann@example.com", "Ann Lee", True),
        (gone, "old@example.com", "Old Rep", False),
    }

    read, pages = read_all(connector.accounts(None))
    assert len(pages) == 3 and [len(p.records) for p in pages] == [100, 100, 50]
    assert sorted(a.crm_id for a in read) == sorted(accounts)
    first = next(a for a in read if a.crm_id == accounts[0])
    assert (first.name, first.domain, first.industry, first.billing_country) == (
        "Company 0", "company0.example.com", "Software", "DE",
    )  # fmt: skip
    assert (first.employees, first.annual_revenue, first.owner_crm_id, first.is_customer, first.deleted) == (
        250, Decimal("1250000.50"), ann, True, False,
    )  # fmt: skip
    assert sum(a.is_customer for a in read) == 125
    # Only the last page of a full pass carries a watermark (the list is in id order, not stamp order).
    assert [p.watermark is None for p in pages] == [True, True, False]
    assert pages[-1].watermark is not None and pages[-1].watermark <= max(a.modified_at for a in read)

    people, pages = read_all(connector.contacts(None))
    assert len(pages) == 3
    by_id = {c.crm_id: c for c in people}
    assert set(by_id) == {*contacts, loner}
    assert by_id[contacts[7]].account_crm_id == accounts[7]
    assert (by_id[contacts[7]].first_name, by_id[contacts[7]].last_name, by_id[contacts[7]].title) == (
        "P7",
        "Meyer",
        "CTO",
    )
    assert by_id[contacts[7]].email == "p7@example.com"
    assert by_id[loner].account_crm_id is None

    deals, pages = read_all(connector.opportunities(None))
    assert len(pages) == 2
    by_id = {d.crm_id: d for d in deals}
    assert set(by_id) == {won, lost, *open_deals}
    assert (by_id[won].is_closed, by_id[won].is_won, by_id[won].stage) == (True, True, "Closed Won")
    assert (by_id[lost].is_closed, by_id[lost].is_won, by_id[lost].stage) == (True, False, "Closed Lost")
    opened = by_id[open_deals[3]]
    assert (opened.is_closed, opened.stage, opened.amount, opened.close_date) == (
        False,
        "Contract Sent",
        Decimal("42000"),
        date(2026, 12, 24),
    )
    assert opened.account_crm_id == accounts[3] and opened.name == "Open 3"

    lists = [
        path for method, path in hubspot.requests() if method == "GET" and path.startswith("/crm/v3/objects/contacts?")
    ]
    assert len(lists) == 3 and all("associations=companies" in p for p in lists) and "after=" in lists[1]


def test_owners_are_read_across_their_pages_active_and_archived(
    hubspot: HubSpotFake, connector: HubSpotConnector
) -> None:
    owners = [hubspot.upsert(CrmUser("", f"rep{n}@example.com", f"Rep {n}", n % 30 != 0, IGNORED)) for n in range(650)]
    users, pages = read_all(connector.users(None))
    assert sorted(u.crm_id for u in users) == sorted(owners) and len(pages) == 7
    assert sum(not u.active for u in users) == 22
    marks = [p.watermark for p in pages if p.watermark is not None]  # None while a stamp's owners span pages
    assert marks == sorted(marks) and pages[-1].watermark == max(u.modified_at for u in users)
    owner_lists = [path for _, path in hubspot.requests() if path.startswith("/crm/v3/owners/")]
    assert len(owner_lists) == 3 and any("after=" in path for path in owner_lists)  # 500 a page, then archived
    hubspot.upsert(CrmUser(owners[5], "renamed@example.com", "Rep Five", True, IGNORED))
    changed, _ = read_all(connector.users(pages[-1].watermark))
    assert [(u.crm_id, u.email) for u in changed] == [(owners[5], "renamed@example.com")]


def test_a_custom_stage_keeps_its_label_and_a_custom_customer_filter_is_honoured() -> None:
    with HubSpotFake(customer_property="customer_tier", customer_value="gold") as fake:
        gold = fake.upsert(company("Gold Co"))
        lead = fake.upsert(company("Lead Co", customer=False))
        negotiation = fake.upsert(deal(gold, "Big one", stage="Negotiation"))
        env = fake.env()
        config = HubSpotConfig(
            api_url=env["HUBSPOT_API_URL"], access_token=env["HUBSPOT_ACCESS_TOKEN"],
            customer_property="customer_tier", customer_values=("Gold", "platinum"),
        )  # fmt: skip
        connector = HubSpotConnector(config)
        accounts, _ = read_all(connector.accounts(None))
        assert {a.crm_id: a.is_customer for a in accounts} == {gold: True, lead: False}
        deals, _ = read_all(connector.opportunities(None))
        assert [(d.crm_id, d.stage, d.is_closed) for d in deals] == [(negotiation, "Negotiation", False)]
        connector.close()


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2026-12-23T23:00:00.000Z", date(2026, 12, 24)),  # Dec 24 picked in a UTC+1 portal
        ("2026-12-24T05:00:00.000Z", date(2026, 12, 24)),  # Dec 24 picked in a UTC-5 portal
        ("2026-12-01T15:32:11.412Z", date(2026, 12, 1)),  # the moment HubSpot closed the deal
        ("", None),
    ],
)
def test_a_close_date_is_the_date_the_portal_meant(
    hubspot: HubSpotFake, connector: HubSpotConnector, stored: str, expected: date | None
) -> None:
    opportunity = hubspot.upsert(deal(None, "Deal"))
    hubspot.set_property("deals", opportunity, "closedate", stored or None)
    [read], _ = read_all(connector.opportunities(None))
    assert read.close_date == expected


def test_a_wrong_api_url_says_so(hubspot: HubSpotFake) -> None:
    config = HubSpotConfig(api_url=hubspot.url + "/v1", access_token=hubspot.access_token)
    connector = HubSpotConnector(config, read_retry=quick_retry())
    with pytest.raises(CrmError) as raised:
        list(connector.accounts(None))
    assert (
        raised.value.message
        == "HubSpot answered 404 when refbot tried to list HubSpot companies: check HUBSPOT_API_URL."
    )
    connector.close()


def test_a_record_changed_during_a_full_pass_is_read_again_by_the_next_incremental_run(
    hubspot: HubSpotFake, connector: HubSpotConnector
) -> None:
    ids = [hubspot.upsert(company(f"Company {n}")) for n in range(250)]
    pages = connector.accounts(None)
    next(pages)  # the first 100 are read (and the next 100 fetched ahead)...
    early = hubspot.upsert(company("Company 0 renamed", crm_id=ids[0]))  # ...then one of them changes,
    hubspot.upsert(company("Company 249 renamed", crm_id=ids[249]))  # and a later one, read with its new stamp
    final = list(pages)[-1]
    assert final.watermark is not None
    changed, _ = read_all(connector.accounts(final.watermark))
    assert early in {a.crm_id for a in changed}
    assert next(a for a in changed if a.crm_id == early).name == "Company 0 renamed"


# --- incremental ---------------------------------------------------------------------------------------------


def test_an_incremental_read_brings_what_changed_since_the_watermark_and_what_was_archived(
    hubspot: HubSpotFake, connector: HubSpotConnector
) -> None:
    accounts = [hubspot.upsert(company(f"Company {n}")) for n in range(30)]
    contacts = [hubspot.upsert(person(accounts[n], f"P{n}")) for n in range(30)]
    deals = [hubspot.upsert(deal(accounts[n], f"Deal {n}")) for n in range(30)]
    marks = {
        "accounts": max(a.modified_at for a in read_all(connector.accounts(None))[0]),
        "contacts": max(c.modified_at for c in read_all(connector.contacts(None))[0]),
        "opportunities": max(d.modified_at for d in read_all(connector.opportunities(None))[0]),
    }
    hubspot.upsert(company("Company 3 renamed", crm_id=accounts[3], customer=False))
    hubspot.delete("accounts", accounts[4])
    hubspot.upsert(person(accounts[9], "Moved", crm_id=contacts[2]))
    hubspot.delete("contacts", contacts[5])
    hubspot.upsert(deal(accounts[6], "Deal 6", crm_id=deals[6], closed=True, won=True))
    hubspot.delete("opportunities", deals[7])

    changed, pages = read_all(connector.accounts(marks["accounts"]))
    assert {(a.crm_id, a.deleted, a.is_customer) for a in changed} == {
        (accounts[3], False, False),
        (accounts[4], True, True),
    }
    assert all(p.watermark is not None and p.watermark >= marks["accounts"] for p in pages)
    assert pages[-1].watermark == max(a.modified_at for a in changed)

    changed, _ = read_all(connector.contacts(marks["contacts"]))
    assert {(c.crm_id, c.deleted, c.account_crm_id) for c in changed} == {
        (contacts[2], False, accounts[9]),
        (contacts[5], True, None),
    }

    changed, _ = read_all(connector.opportunities(marks["opportunities"]))
    assert {(d.crm_id, d.deleted, d.is_closed, d.is_won) for d in changed} == {
        (deals[6], False, True, True),
        (deals[7], True, False, False),
    }
    last = max(d.modified_at for d in changed)
    assert read_all(connector.opportunities(last))[0] == []  # nothing since: nothing read

    # A deletion is the newest change: the final watermark covers it, so the next run does not read it again.
    hubspot.delete("opportunities", deals[8])
    changed, pages = read_all(connector.opportunities(last))
    assert [(d.crm_id, d.deleted) for d in changed] == [(deals[8], True)]
    assert read_all(connector.opportunities(pages[-1].watermark))[0] == []

    hubspot.delete("users", hubspot.upsert(CrmUser("", "leaver@example.com", "Lee Ver", True, IGNORED)))
    users, _ = read_all(connector.users(last - timedelta(milliseconds=1)))
    assert [(u.email, u.active) for u in users] == [("leaver@example.com", False)]


def test_more_changes_than_the_10000_search_cap_are_all_read_once(
    hubspot: HubSpotFake, connector: HubSpotConnector
) -> None:
    total = SEARCH_RESULT_CAP + 450
    ids = {hubspot.upsert(company(f"Company {n}")) for n in range(total)}
    read, pages = read_all(connector.accounts(LONG_AGO))
    assert len(read) == total and {a.crm_id for a in read} == ids
    searches = [call for call in hubspot.calls() if call.path.endswith("/search")]
    assert all(call.status == 200 for call in searches) and len(searches) >= total // 200
    stamps = [p.watermark for p in pages]
    assert stamps == sorted(stamps) and stamps[-1] == max(a.modified_at for a in read)


def test_ties_on_one_stamp_larger_than_a_page_are_neither_lost_nor_looped_on(
    hubspot: HubSpotFake, connector: HubSpotConnector
) -> None:
    before = {hubspot.upsert(company(f"Before {n}")) for n in range(7)}
    with hubspot.same_instant():
        tied = {hubspot.upsert(company(f"Tied {n}")) for n in range(450)}
    after = {hubspot.upsert(company(f"After {n}")) for n in range(5)}
    read, pages = read_all(connector.accounts(LONG_AGO))
    assert sorted(a.crm_id for a in read) == sorted(before | tied | after)  # each exactly once
    assert len(hubspot.calls()) < 20
    tie_stamp = next(a.modified_at for a in read if a.crm_id in tied)
    # While the tied block is incomplete, no watermark reaches its stamp (resuming there would lose some).
    seen: set[str] = set()
    for page in pages:
        seen |= {a.crm_id for a in page.records}
        if page.watermark is not None and page.watermark >= tie_stamp:
            assert tied <= seen


def test_resuming_from_any_page_watermark_loses_nothing(hubspot: HubSpotFake, connector: HubSpotConnector) -> None:
    everything = set()
    for batch in range(4):
        with hubspot.same_instant():
            everything |= {hubspot.upsert(company(f"Batch {batch} n{n}")) for n in range(130 + 60 * batch)}
    pages = list(connector.accounts(LONG_AGO))
    got: set[str] = set()
    for page in pages:
        got |= {a.crm_id for a in page.records}
        resumed, _ = read_all(connector.accounts(page.watermark))
        assert got | {a.crm_id for a in resumed} == everything


# --- write-back ------------------------------------------------------------------------------------------------


def test_a_note_is_written_on_the_deal_found_by_its_key_and_updated(
    hubspot: HubSpotFake, connector: HubSpotConnector
) -> None:
    account = hubspot.upsert(company("Globex"))
    opportunity = hubspot.upsert(deal(account, "Globex expansion"))
    other = hubspot.upsert(deal(account, "Other deal"))
    approved = Activity(
        key="crm:request:12:approved",
        opportunity_crm_id=opportunity,
        subject="Customer reference approved: Initech <EU> & Co",
        body="Reference call with Initech.\nApproved by Maria.",
        when=datetime(2026, 12, 1, 14, 2, tzinfo=UTC),
    )
    assert connector.find_activity(approved.key, opportunity) is None
    note = connector.create_activity(approved)
    assert connector.find_activity(approved.key, opportunity) == note
    assert connector.find_activity(approved.key, other) is None  # the key is looked for on that deal only
    assert connector.find_activity("crm:request:13:approved", opportunity) is None
    [written] = hubspot.activities()
    assert written["crm_id"] == note and written["opportunity_crm_id"] == opportunity
    assert written["subject"] == "Customer reference approved: Initech <EU> & Co"
    assert written["body"].startswith("Reference call with Initech.\nApproved by Maria.")
    stored = hubspot.note(note)
    assert "&lt;EU&gt; &amp; Co" in stored["properties"]["hs_note_body"]
    assert activity_token(approved.key) in stored["properties"]["hs_note_body"]
    assert stored["properties"]["hs_timestamp"] == "2026-12-01T14:02:00.000Z"
    assert stored["deals"] == [opportunity]

    outcome = Activity(approved.key, opportunity, "Customer reference: won", "The deal closed won.", approved.when)
    connector.update_activity(note, outcome)
    [rewritten] = hubspot.activities()
    assert rewritten["crm_id"] == note and rewritten["subject"] == "Customer reference: won"
    assert connector.find_activity(approved.key, opportunity) == note


def test_a_note_written_moments_ago_is_found_although_search_has_not_indexed_it(
    hubspot: HubSpotFake, connector: HubSpotConnector
) -> None:
    opportunity = hubspot.upsert(deal(None, "Deal"))
    for n in range(3):  # other notes on the same deal, one of them refbot's own for another request
        connector.create_activity(Activity(f"crm:request:{n}:approved", opportunity, "Earlier", "x", IGNORED))
    hubspot.search_lag_seconds = 60
    activity = Activity("crm:request:9:approved", opportunity, "Reference approved", "x", IGNORED)
    note = connector.create_activity(activity)
    before = len(hubspot.requests())
    assert connector.find_activity(activity.key, opportunity) == note
    asked = [path.split("?")[0] for _, path in hubspot.requests()[before:]]
    assert asked == [
        "/crm/v3/objects/notes/search",  # nothing yet: the index trails the write
        f"/crm/v4/objects/deals/{opportunity}/associations/notes",
        "/crm/v3/objects/notes/batch/read",
    ]
    assert connector.find_activity("crm:request:10:approved", opportunity) is None


def test_writing_to_a_deleted_deal_or_a_deleted_note_is_a_permanent_error(
    hubspot: HubSpotFake, connector: HubSpotConnector
) -> None:
    opportunity = hubspot.upsert(deal(None, "Doomed"))
    activity = Activity("crm:request:1:approved", opportunity, "Reference approved", "x", IGNORED)
    note = connector.create_activity(activity)
    hubspot.delete("opportunities", opportunity)
    with pytest.raises(CrmRecordGone, match=f"deal {opportunity} no longer exists"):
        connector.create_activity(Activity("crm:request:2:approved", opportunity, "s", "b", IGNORED))
    with pytest.raises(CrmRecordGone, match=f"deal {opportunity} no longer exists"):
        connector.find_activity("crm:request:2:approved", opportunity)
    with pytest.raises(CrmRecordGone, match="note 999999 no longer exists"):
        connector.update_activity("999999", activity)
    assert [a["crm_id"] for a in hubspot.activities()] == [note]


def test_write_back_neither_retries_what_may_have_landed_nor_sleeps_on_a_429(
    hubspot: HubSpotFake, connector: HubSpotConnector
) -> None:
    hubspot.retry_after_seconds = 7
    opportunity = hubspot.upsert(deal(None, "Deal"))
    activity = Activity("crm:request:1:approved", opportunity, "Reference approved", "x", IGNORED)
    hubspot.fail_next("server_error")
    with pytest.raises(CrmUnavailable):
        connector.create_activity(activity)
    hubspot.fail_next("rate_limit")
    with pytest.raises(CrmRateLimited) as raised:
        connector.create_activity(activity)
    assert raised.value.retry_after == 7  # for the outbox to wait, not the client inside the outbox's lease
    hubspot.fail_next("rate_limit")
    with pytest.raises(CrmRateLimited):
        connector.find_activity(activity.key, opportunity)
    assert [c.status for c in hubspot.calls() if c.method == "POST"] == [503, 429, 429]
    assert connector.find_activity(activity.key, opportunity) is None
    note = connector.create_activity(activity)
    assert [a["crm_id"] for a in hubspot.activities()] == [note]


# --- check -----------------------------------------------------------------------------------------------------


def test_check_passes_when_every_scope_and_property_is_there(connector: HubSpotConnector) -> None:
    result = connector.check()
    assert result.crm == "hubspot" and result.problems == [] and result.ok


def test_check_names_a_missing_scope_and_a_missing_property(hubspot: HubSpotFake, connector: HubSpotConnector) -> None:
    hubspot.revoke_scope("crm.objects.deals.read")
    hubspot.revoke_scope("crm.schemas.deals.read")
    hubspot.revoke_scope("crm.objects.contacts.write")
    hubspot.drop_property("companies", "lifecyclestage")
    result = connector.check()
    assert not result.ok
    assert "HubSpot companies have no property 'lifecyclestage', which refbot reads." in result.problems
    assert any("crm.objects.deals.read" in p and "deals" in p for p in result.problems)
    assert any("crm.objects.contacts.write" in p and "notes" in p for p in result.problems)
    assert len(result.problems) == 4  # deals: properties and objects; companies property; note writes
    for problem in result.problems:
        assert problem.endswith(".") and problem.count(". ") == 0 and "\n" not in problem


def test_check_with_a_bad_token_says_so_in_one_sentence(hubspot: HubSpotFake) -> None:
    connector = connect(hubspot, token="pat-na1-not-the-right-one")
    result = connector.check()
    assert result.problems == [
        "HubSpot refused the access token: set HUBSPOT_ACCESS_TOKEN to a valid private app token."
    ]
    connector.close()


# --- limits and faults -----------------------------------------------------------------------------------------


def test_a_429_is_waited_out_for_its_retry_after_and_the_read_resumes(
    hubspot: HubSpotFake, connector: HubSpotConnector
) -> None:
    ids = {hubspot.upsert(company(f"Company {n}")) for n in range(150)}
    pages = connector.accounts(None)
    first = next(pages)
    hubspot.fail_next("rate_limit")
    rest = list(pages)
    assert {a.crm_id for p in [first, *rest] for a in p.records} == ids
    lists = [c for c in hubspot.calls() if c.path.startswith("/crm/v3/objects/companies?")]
    assert [c.status for c in lists] == [200, 429, 200]
    assert lists[1].path == lists[2].path  # the same page asked again, not the pass restarted
    assert lists[2].at - lists[1].at >= 0.9  # Retry-After: 1


def test_a_429_that_persists_raises_rate_limited_with_the_retry_after(hubspot: HubSpotFake) -> None:
    hubspot.retry_after_seconds = 0
    connector = connect(hubspot, read_retry=quick_retry(total=3))
    hubspot.upsert(company("Acme"))
    hubspot.fail_next("rate_limit", times=10)
    with pytest.raises(CrmRateLimited) as raised:
        list(connector.accounts(None))
    assert raised.value.retry_after == 0
    assert raised.value.message == (
        "HubSpot's ten secondly rolling limit was reached while refbot tried to list HubSpot companies."
    )
    assert [c.status for c in hubspot.calls()] == [429] * 4
    connector.close()


def test_a_429_for_the_daily_limit_is_not_retried(hubspot: HubSpotFake, connector: HubSpotConnector) -> None:
    hubspot.rate_limit_policy = "DAILY"
    hubspot.fail_next("rate_limit", times=10)
    with pytest.raises(CrmRateLimited) as raised:
        list(connector.contacts(None))
    assert raised.value.message == "HubSpot's daily limit was reached while refbot tried to list HubSpot contacts."
    assert 0 < raised.value.retry_after <= 24 * 3600
    assert [c.status for c in hubspot.calls()] == [429]  # one call, not six more against the daily quota


@pytest.mark.parametrize(
    ("fault", "sentence"),
    [
        ("bad_credentials", "HubSpot refused the access token: set HUBSPOT_ACCESS_TOKEN to a valid private app token."),
        (
            "session_expired",
            "HubSpot says the access token has expired: set HUBSPOT_ACCESS_TOKEN to the private app's new token.",
        ),
    ],
)
def test_a_refused_token_is_one_sentence_and_not_retried(
    hubspot: HubSpotFake, connector: HubSpotConnector, fault: str, sentence: str
) -> None:
    hubspot.fail_next(fault)  # type: ignore[arg-type]
    with pytest.raises(CrmAuthError) as raised:
        list(connector.contacts(None))
    assert str(raised.value) == raised.value.message == sentence
    assert len(hubspot.calls()) == 1


def test_a_wrong_token_is_refused_on_every_stream(hubspot: HubSpotFake) -> None:
    connector = connect(hubspot, token="pat-na1-revoked")
    for stream in ("users", "accounts", "contacts", "opportunities"):
        with pytest.raises(CrmAuthError):
            list(getattr(connector, stream)(LONG_AGO))
    connector.close()


def test_brief_5xx_are_retried_and_a_storm_raises_unavailable(
    hubspot: HubSpotFake, connector: HubSpotConnector
) -> None:
    hubspot.upsert(company("Acme"))
    hubspot.fail_next("server_error", times=2)
    assert len(read_all(connector.accounts(LONG_AGO))[0]) == 1
    hubspot.fail_next("server_error", times=50)
    with pytest.raises(CrmUnavailable) as raised:
        list(connector.accounts(LONG_AGO))
    assert raised.value.message == "HubSpot kept failing (503) while refbot tried to list archived HubSpot companies."


def test_hubspot_out_of_reach_is_unavailable(hubspot: HubSpotFake) -> None:
    connector = connect(hubspot, read_retry=quick_retry(total=1))
    hubspot.stop()
    with pytest.raises(CrmUnavailable, match="HubSpot could not be reached to list HubSpot companies"):
        list(connector.accounts(None))
    connector.close()


def test_no_secret_in_any_message_or_log(hubspot: HubSpotFake, caplog: pytest.LogCaptureFixture) -> None:
    token = hubspot.access_token
    connector = connect(hubspot)
    impostor = connect(hubspot, token=token + "x")
    # The client's Configuration turns urllib3's and its own loggers down to WARNING: turn them all up.
    for name in ("", "urllib3", "hubspot", "bot"):
        caplog.set_level(logging.DEBUG, logger=name)
    opportunity = hubspot.upsert(deal(hubspot.upsert(company("Acme")), "Deal"))
    messages: list[str] = [repr(connector._config)]
    read_all(connector.opportunities(None))
    connector.create_activity(Activity("crm:request:1:approved", opportunity, "s", "b", IGNORED))
    for fault in ("rate_limit", "server_error", "bad_credentials", "session_expired"):
        hubspot.retry_after_seconds = 0
        hubspot.fail_next(fault, times=20)  # type: ignore[arg-type]
        with pytest.raises(CrmError) as raised:
            list(connector.accounts(LONG_AGO))
        messages += [str(raised.value), repr(raised.value), raised.value.message]
        hubspot.clear_faults()
    hubspot.revoke_scope("crm.objects.companies.read")
    messages += connector.check().problems
    messages += impostor.check().problems
    assert messages and not any(token in m for m in messages)
    assert "pat-na1" not in caplog.text and token not in caplog.text
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # the client's own logging was captured
    assert any(r.name == "bot.crm.hubspot" for r in caplog.records)
    connector.close()
    impostor.close()


# --- the fake itself speaks HubSpot's documented shapes ----------------------------------------------------------


def test_the_fake_answers_in_hubspots_documented_shapes(hubspot: HubSpotFake) -> None:
    auth = {"Authorization": f"Bearer {hubspot.access_token}", "Content-Type": "application/json"}

    def call(
        method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict, dict]:
        answer = urllib3.request(
            method,
            hubspot.url + path,
            body=None if body is None else json.dumps(body),
            headers=auth if headers is None else headers,
            retries=False,  # urllib3 would otherwise retry a 429 that carries Retry-After
        )
        return answer.status, json.loads(answer.data or b"{}"), dict(answer.headers)

    account = hubspot.upsert(company("Acme"))
    hubspot.upsert(company("Initech"))
    contact = hubspot.upsert(person(account, "Ann"))

    status, body, headers = call("GET", "/crm/v3/objects/companies?limit=1&properties=name,domain")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    [first] = body["results"]
    assert set(first) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert set(first["properties"]) == {"hs_object_id", "createdate", "hs_lastmodifieddate", "name", "domain"}
    assert first["createdAt"].endswith("Z") and body["paging"]["next"]["after"]
    assert "after=" in body["paging"]["next"]["link"]

    status, body, _ = call("GET", f"/crm/v3/objects/contacts/{contact}?associations=companies")
    assert body["associations"]["companies"]["results"] == [
        {"id": account, "type": "contact_to_company"},
        {"id": account, "type": "contact_to_company_unlabeled"},
    ]

    status, body, _ = call("POST", "/crm/v4/associations/contacts/companies/batch/read", {"inputs": [{"id": contact}]})
    assert status == 200 and body["status"] == "COMPLETE"
    assert body["results"][0]["from"] == {"id": contact}
    assert body["results"][0]["to"][0]["toObjectId"] == int(account)
    assert {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"} in body["results"][0]["to"][0][
        "associationTypes"
    ]

    search = {"filterGroups": [{"filters": [{"propertyName": "name", "operator": "EQ", "value": "acme"}]}], "limit": 5}
    status, body, _ = call("POST", "/crm/v3/objects/companies/search", search)
    assert status == 200 and body["total"] == 1 and body["results"][0]["id"] == account
    status, body, _ = call("POST", "/crm/v3/objects/companies/search", {**search, "after": str(SEARCH_RESULT_CAP)})
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    status, body, _ = call("POST", "/crm/v3/objects/companies/search", {**search, "limit": 201})
    assert status == 400

    status, body, _ = call("GET", "/crm/v3/objects/companies", headers={"Authorization": "Bearer nope"})
    assert status == 401 and body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION"
    assert set(body) >= {"status", "message", "correlationId", "category"}

    hubspot.revoke_scope("crm.objects.owners.read")
    status, body, _ = call("GET", "/crm/v3/owners/")
    assert status == 403 and body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.owners.read"]

    status, body, _ = call("GET", "/crm/v3/objects/deals/123")
    assert status == 404 and body["category"] == "OBJECT_NOT_FOUND"

    hubspot.fail_next("rate_limit")
    status, body, headers = call("GET", "/crm/v3/objects/companies")
    assert status == 429 and headers["Retry-After"] == "1"
    assert headers["X-HubSpot-RateLimit-Max"] and headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert body["errorType"] == "RATE_LIMIT" and body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert set(body) >= {"status", "message", "correlationId", "requestId"}
    assert hubspot.requests()[-1] == ("GET", "/crm/v3/objects/companies")
