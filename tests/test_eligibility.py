"""The domain rules (SPEC section 3) and the request state machine (section 4), called directly.

No Slack here: `assess`, `rank_candidates` and the `bot.requests` transitions are driven in
`db.transaction()` sessions, on SQLite and PostgreSQL, with freezegun where a rule depends on time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import requests as rq
from bot.eligibility import Assessment, assess, load_context
from bot.errors import DomainError, Ineligible, InvalidTransition, NotAllowed, ValidationFailed
from bot.matching import fit, rank_candidates
from bot.settings import Settings
from models import AuditEntry, CheckIn, Customer, OutboxMessage, ReferenceRequest, ReferenceUse
from models.db import Database
from models.enums import MARKETING_TYPES, SALES_TYPES, CheckInStatus, Happiness, RefType, RequestStatus
from models.types import utcnow
from tests import factories
from tests.conftest import MANAGER, MANAGER_2, OTHER, OWNER, REP

# A fixed instant for every time-dependent test: 10:00 UTC is 12:00 in Europe/Berlin (the settings' zone).
NOON = "2026-06-15T10:00:00+00:00"


# -- helpers --------------------------------------------------------------------------------------------


def judge(
    db: Database, settings: Settings, customer_id: int, ref_type: RefType, *, exclude: int | None = None
) -> Assessment:
    """The verdict on one customer right now, exactly as `approve()` computes it."""
    with db.transaction() as session:
        customer = rq.load_customer(session, customer_id)
        now = utcnow()
        context = load_context(session, settings, [customer_id], now, exclude_request=exclude)
        return assess(customer, ref_type, settings, now, context)


def make(db: Database, name: str = "Acme Corp", **kwargs: Any) -> int:
    with db.transaction() as session:
        return factories.customer(session, name, **kwargs).id


def today(settings: Settings) -> date:
    """What the intake handler passes to parse_draft: today in REFBOT_TIMEZONE."""
    return utcnow().astimezone(settings.tz).date()


def new_request(db: Database, settings: Settings, requester: str = REP, **form: str) -> int:
    raw: dict[str, str | None] = {
        "prospect": "Globex",
        "ref_type": "call",
        "industry": "Fintech",
        "region": "EMEA",
        "products": "Payments",
    }
    raw.update(form)
    with db.transaction() as session:
        return rq.submit(session, settings, requester, rq.parse_draft(raw, today(settings))).id


def status_of(db: Database, request_id: int) -> RequestStatus:
    with db.reading() as session:
        return RequestStatus(session.get(ReferenceRequest, request_id).status)


def outbox_rows(db: Database, **where: Any) -> list[OutboxMessage]:
    with db.reading() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for attr, value in where.items():
            query = query.where(getattr(OutboxMessage, attr) == value)
        return list(session.scalars(query))


def pending_checkins(db: Database, request_id: int) -> list[CheckIn]:
    with db.reading() as session:
        return list(
            session.scalars(
                select(CheckIn).where(CheckIn.request_id == request_id, CheckIn.status == CheckInStatus.PENDING)
            )
        )


def add_checkin(db: Database, customer_id: int, answer: Happiness, days_ago: int, note: str = "") -> None:
    with db.transaction() as session:
        item = factories.checkin(session, session.get(Customer, customer_id), answer, days_ago=days_ago)
        item.note = note


def add_use(db: Database, customer_id: int, days_ago: int, *, counted: bool = True) -> None:
    with db.transaction() as session:
        factories.use(session, session.get(Customer, customer_id), days_ago=days_ago).counted = counted


def snapshot(db: Database, request_id: int) -> dict[str, object]:
    """Everything a refused transition must leave exactly as it was."""
    with db.reading() as session:
        request = session.get(ReferenceRequest, request_id)
        checkins = session.execute(
            select(CheckIn.id, CheckIn.status, CheckIn.answer, CheckIn.version).order_by(CheckIn.id)
        ).all()
        return {
            "status": request.status,
            "version": request.version,
            "customer_id": request.customer_id,
            "decided_by": request.decided_by,
            "decided_at": request.decided_at,
            "decline_reason": request.decline_reason,
            "checkins": [tuple(c) for c in checkins],
            "outbox": session.scalar(select(func.count()).select_from(OutboxMessage)),
            "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
            "uses": session.scalar(select(func.count()).select_from(ReferenceUse)),
        }


# -- rule 2: consent for public use ---------------------------------------------------------------------


@pytest.mark.parametrize("ref_type", list(RefType))
def test_public_types_need_consent_private_types_do_not(db: Database, settings: Settings, ref_type: RefType) -> None:
    customer_id = make(db)
    add_checkin(db, customer_id, Happiness.HAPPY, days_ago=120)  # long tenure: only consent can stand in the way
    verdict = judge(db, settings, customer_id, ref_type)
    if ref_type in MARKETING_TYPES:
        assert verdict.blockers == [f"No {ref_type.label.lower()} consent on record"]
        assert not verdict.eligible
    else:
        assert ref_type in SALES_TYPES
        assert verdict.blockers == []
        assert verdict.eligible


@pytest.mark.parametrize("ref_type", list(MARKETING_TYPES))
def test_consent_on_record_allows_public_use(db: Database, settings: Settings, ref_type: RefType) -> None:
    customer_id = make(db, consents=(ref_type.value,))
    add_checkin(db, customer_id, Happiness.HAPPY, days_ago=120)
    assert judge(db, settings, customer_id, ref_type).blockers == []
    # Consent for one type is not consent for another.
    other = next(t for t in MARKETING_TYPES if t != ref_type)
    assert f"No {other.label.lower()} consent on record" in judge(db, settings, customer_id, other).blockers


def test_expired_consent_names_expiry_approver_and_approval_date(db: Database, settings: Settings) -> None:
    with freeze_time("2026-10-01T08:00:00+00:00"):
        customer_id = make(db, consents=("case_study",), consent_expires=date(2026, 9, 30))
        verdict = judge(db, settings, customer_id, RefType.CASE_STUDY)
    assert verdict.blockers == ["Case study consent expired 2026-09-30 (approved by Carla (CMO) on 2024-09-30)"]


def test_consent_valid_until_a_future_date_and_on_its_last_day(db: Database, settings: Settings) -> None:
    with freeze_time("2026-09-01T08:00:00+00:00") as clock:
        customer_id = make(db, consents=("case_study",), consent_expires=date(2026, 9, 30))
        assert judge(db, settings, customer_id, RefType.CASE_STUDY).blockers == []
        clock.move_to("2026-09-30T12:00:00+00:00")  # the expiry day itself is still covered
        assert judge(db, settings, customer_id, RefType.CASE_STUDY).blockers == []
        # 22:30 UTC on the 30th is 00:30 on 1 October in Berlin: expired in the program's own time zone.
        clock.move_to("2026-09-30T22:30:00+00:00")
        assert judge(db, settings, customer_id, RefType.CASE_STUDY).blockers == [
            "Case study consent expired 2026-09-30 (approved by Carla (CMO) on 2024-09-30)"
        ]


# -- rule 3: check before every use --------------------------------------------------------------------


def test_checkin_exactly_max_age_old_is_fresh_one_day_more_is_stale(db: Database, settings: Settings) -> None:
    assert settings.checkin_max_age_days == 30
    with freeze_time("2026-03-01T09:00:00+00:00") as clock:
        customer_id = make(db, happy_days_ago=0)
        clock.tick(timedelta(days=30))
        fresh = judge(db, settings, customer_id, RefType.CALL)
        assert (fresh.needs_checkin, fresh.blockers, fresh.warnings) == (False, [], [])
        clock.tick(timedelta(seconds=1))
        just_over = judge(db, settings, customer_id, RefType.CALL)
        assert just_over.needs_checkin
        assert just_over.warnings == ["Last check-in 30 days ago (Happy): the owner will be asked first"]
        clock.tick(timedelta(days=1))
        stale = judge(db, settings, customer_id, RefType.CALL)
    assert stale.needs_checkin and stale.eligible
    assert stale.warnings == ["Last check-in 31 days ago (Happy): the owner will be asked first"]


@pytest.mark.parametrize("answer", [Happiness.CONCERNS, Happiness.UNHAPPY])
def test_recent_unhappy_or_concerns_blocks(db: Database, settings: Settings, answer: Happiness) -> None:
    with freeze_time(NOON):
        customer_id = make(db, happy_days_ago=40)
        add_checkin(db, customer_id, answer, days_ago=10, note="Migration pains")
        verdict = judge(db, settings, customer_id, RefType.CALL)
    assert verdict.blockers == [f"{answer.label} at the last check-in (2026-06-05): “Migration pains”"]
    assert not verdict.needs_checkin and not verdict.eligible


def test_old_unhappy_answer_only_needs_a_new_checkin(db: Database, settings: Settings) -> None:
    with freeze_time(NOON):
        customer_id = make(db, happy_days_ago=45, answer=Happiness.UNHAPPY)
        verdict = judge(db, settings, customer_id, RefType.CALL)
    assert verdict.blockers == []
    assert verdict.needs_checkin and verdict.eligible
    assert verdict.warnings == ["Last check-in 45 days ago (Unhappy): the owner will be asked first"]


def test_never_checked_in_needs_checkin(db: Database, settings: Settings) -> None:
    verdict = judge(db, settings, make(db, happy_days_ago=None), RefType.CALL)
    assert verdict.needs_checkin and verdict.eligible and verdict.last_checkin is None
    assert verdict.warnings == ["Never checked in: the owner will be asked first"]


def test_needs_checkin_without_owner_is_blocked_but_fresh_without_owner_is_not(
    db: Database, settings: Settings
) -> None:
    never = judge(db, settings, make(db, "Nobody Owns", owner=None, happy_days_ago=None), RefType.CALL)
    assert never.blockers == ["No account owner on record to confirm the customer is happy"]
    stale = judge(db, settings, make(db, "Stale Inc", owner=None, happy_days_ago=40), RefType.CALL)
    assert stale.blockers == ["No account owner on record to confirm the customer is happy"]
    fresh = judge(db, settings, make(db, "Fresh Inc", owner=None, happy_days_ago=3), RefType.CALL)
    assert fresh.blockers == [] and not fresh.needs_checkin


# -- rule 4: continuously happy for analyst and media -----------------------------------------------------


@pytest.mark.parametrize("ref_type", [RefType.ANALYST, RefType.MEDIA])
def test_tenure_continuously_happy(db: Database, settings: Settings, ref_type: RefType) -> None:
    with freeze_time(NOON):
        steady = make(db, "Steady", happy_days_ago=100, consents=(ref_type.value,))
        add_checkin(db, steady, Happiness.HAPPY, days_ago=10)
        broken = make(db, "Broken", happy_days_ago=100, consents=(ref_type.value,))
        add_checkin(db, broken, Happiness.CONCERNS, days_ago=50)
        add_checkin(db, broken, Happiness.HAPPY, days_ago=10)
        edge = make(db, "Edge", happy_days_ago=90, consents=(ref_type.value,))
        add_checkin(db, edge, Happiness.HAPPY, days_ago=2)
        short = make(db, "Short", happy_days_ago=89, consents=(ref_type.value,))
        add_checkin(db, short, Happiness.HAPPY, days_ago=2)
        never = make(db, "Never", happy_days_ago=None, consents=(ref_type.value,))
        verdicts = {
            name: judge(db, settings, cid, ref_type)
            for name, cid in [
                ("steady", steady),
                ("broken", broken),
                ("edge", edge),
                ("short", short),
                ("never", never),
            ]
        }
    label = ref_type.label
    assert verdicts["steady"].blockers == []
    assert verdicts["broken"].blockers == [f"{label} needs 90 days continuously happy; happy for 10"]
    assert verdicts["edge"].blockers == []
    assert verdicts["short"].blockers == [f"{label} needs 90 days continuously happy; happy for 89"]
    assert verdicts["never"].blockers == [f"{label} needs 90 days of happy check-ins; none on record"]


def test_tenure_does_not_apply_to_other_public_types(db: Database, settings: Settings) -> None:
    customer_id = make(db, happy_days_ago=5, consents=("case_study", "analyst"))
    assert judge(db, settings, customer_id, RefType.CASE_STUDY).blockers == []
    assert judge(db, settings, customer_id, RefType.ANALYST).blockers != []


# -- rule 5: fatigue -------------------------------------------------------------------------------------


def test_fatigue_rolling_window_moves_with_time(db: Database, settings: Settings) -> None:
    assert (settings.fatigue_limit, settings.fatigue_window_days) == (2, 90)
    with freeze_time(NOON) as clock:
        customer_id = make(db)
        add_use(db, customer_id, days_ago=89)
        add_use(db, customer_id, days_ago=10)
        blocked = judge(db, settings, customer_id, RefType.CALL)
        assert blocked.uses_in_window == 2
        assert blocked.blockers == ["Used 2× in the last 90 days (limit 2)"]
        clock.tick(timedelta(days=1))  # the older use is now exactly 90 days old: still inside the window
        assert judge(db, settings, customer_id, RefType.CALL).uses_in_window == 2
        clock.tick(timedelta(days=1))  # 91 days: it no longer counts
        rested = judge(db, settings, customer_id, RefType.CALL)
    assert rested.uses_in_window == 1
    assert rested.blockers == [] and rested.eligible


def test_contact_fatigue_has_its_own_limit_and_window(db: Database, settings: Settings) -> None:
    """Issue 10 item 7: per-contact fatigue is configured apart from the customer's, and judged on its own."""
    assert (settings.contact_fatigue_limit, settings.contact_fatigue_window_days) == (2, 180)
    settings = settings.with_overrides(contact_fatigue_limit=1, contact_fatigue_window_days=30, fatigue_limit=3)
    with freeze_time(NOON) as clock:
        with db.transaction() as session:
            record = factories.customer(session, "Acme Corp")
            jane = record.primary_contact
            bob_id = factories.backup_contact(session, record).id
            factories.use(session, record, days_ago=60, contact=jane)  # outside the contact's 30 days
            factories.use(session, record, days_ago=10, contact=jane)
            customer_id = record.id
        tired = judge(db, settings, customer_id, RefType.CALL)
        assert tired.uses_in_window == 2 and tired.blockers == []
        assert tired.contact is not None and tired.contact.id == bob_id
        assert "Jane Doe was used 1× in the last 30 days (limit 1); Bob Backup is offered instead" in tired.warnings
        clock.tick(timedelta(days=21))  # the 10-day-old use leaves the contact window: Jane is rested again
        rested = judge(db, settings, customer_id, RefType.CALL)
    assert rested.contact is not None and rested.contact.name == "Jane Doe"
    assert not any("offered instead" in w for w in rested.warnings)


def test_every_contact_tired_blocks_with_the_contact_limit(db: Database, settings: Settings) -> None:
    with freeze_time(NOON):
        with db.transaction() as session:
            record = factories.customer(session, "Acme Corp")
            factories.use(session, record, days_ago=120, contact=record.primary_contact)
            factories.use(session, record, days_ago=10, contact=record.primary_contact)
            customer_id = record.id
        verdict = judge(db, settings, customer_id, RefType.CALL)
    assert verdict.uses_in_window == 1  # the customer as a whole is rested; its only person is not
    assert verdict.blockers == ["Every contact was used 2× or more in the last 180 days (limit 2 per contact)"]


def test_the_customer_limit_counts_uses_through_every_contact(db: Database, settings: Settings) -> None:
    with freeze_time(NOON):
        with db.transaction() as session:
            record = factories.customer(session, "Acme Corp")
            bob = factories.backup_contact(session, record)
            factories.customer(session, "Spare")  # another customer's uses never count here
            factories.use(session, record, days_ago=30, contact=record.primary_contact)
            factories.use(session, record, days_ago=5, contact=bob)
            customer_id = record.id
        verdict = judge(db, settings.with_overrides(contact_fatigue_limit=5), customer_id, RefType.CALL)
    assert verdict.uses_in_window == 2
    assert verdict.blockers == ["Used 2× in the last 90 days (limit 2)"]
    assert not any("offered instead" in w for w in verdict.warnings)


def test_uses_not_counted_do_not_count(db: Database, settings: Settings) -> None:
    with freeze_time(NOON):
        customer_id = make(db)
        add_use(db, customer_id, days_ago=20)
        add_use(db, customer_id, days_ago=5, counted=False)  # the reference did not happen
        verdict = judge(db, settings, customer_id, RefType.CALL)
        twenty_days_ago = utcnow() - timedelta(days=20)
    assert verdict.uses_in_window == 1 and verdict.blockers == []
    assert verdict.last_used_at == twenty_days_ago


def test_customer_held_by_another_request_waiting_for_checkin(db: Database, settings: Settings) -> None:
    customer_id = make(db, happy_days_ago=45)
    first = new_request(db, settings)
    second = new_request(db, settings, prospect="Initrode")
    with db.transaction() as session:
        rq.approve(session, settings, first, customer_id, MANAGER)
    assert status_of(db, first) == RequestStatus.AWAITING_CHECKIN
    assert judge(db, settings, customer_id, RefType.CALL, exclude=second).blockers == [
        f"Already on request #{first}, waiting for its check-in"
    ]
    # The request that holds it is not blocked by itself.
    assert judge(db, settings, customer_id, RefType.CALL, exclude=first).blockers == []
    with db.transaction() as session, pytest.raises(Ineligible, match=f"Already on request #{first}"):
        rq.approve(session, settings, second, customer_id, MANAGER)
    assert status_of(db, second) == RequestStatus.SUBMITTED


def test_not_referenceable_blocks_with_reason(db: Database, settings: Settings) -> None:
    with db.transaction() as session:
        disputed = factories.customer(session, "Disputed", referenceable=False)
        disputed.not_referenceable_reason = "Contract dispute until Q3"
        silent = factories.customer(session, "Silent", referenceable=False)
        ids = (disputed.id, silent.id)
    assert judge(db, settings, ids[0], RefType.CALL).blockers == ["Marked not referenceable: Contract dispute until Q3"]
    assert judge(db, settings, ids[1], RefType.CALL).blockers == ["Marked not referenceable"]


# -- rule 6: matching --------------------------------------------------------------------------------------


def ranked(db: Database, settings: Settings, request_id: int) -> list[str]:
    with db.transaction() as session:
        request = rq.load_request(session, request_id)
        return [c.customer.name for c in rank_candidates(session, settings, request, utcnow(), limit=20)]


def seed_ranking(db: Database) -> None:
    with freeze_time(NOON), db.transaction() as session:
        factories.customer(session, "Alpha", happy_days_ago=3)
        factories.customer(session, "Bravo", happy_days_ago=1)  # fresher than Alpha
        charlie = factories.customer(session, "Charlie", happy_days_ago=8)
        delta = factories.customer(session, "Delta", happy_days_ago=8)
        factories.customer(session, "Echo", happy_days_ago=8)  # never used: the longest rest
        factories.use(session, charlie, days_ago=60)
        factories.use(session, delta, days_ago=10)
        factories.customer(session, "Foxtrot", region="APAC", happy_days_ago=1)  # eligible, weaker fit
        factories.customer(session, "Golf", region="APAC", happy_days_ago=2, answer=Happiness.UNHAPPY)
        hotel = factories.customer(session, "Hotel", happy_days_ago=1)  # best fit and fresh, but over-used
        factories.use(session, hotel, days_ago=5)
        factories.use(session, hotel, days_ago=30)
        factories.customer(session, "India", industry="Retail", products=("Ledger",), happy_days_ago=1)  # weak fit


def test_ranking_order(db: Database, settings: Settings) -> None:
    seed_ranking(db)
    with freeze_time(NOON):
        request_id = new_request(db, settings)
        names = ranked(db, settings, request_id)
    assert names == ["Bravo", "Alpha", "Echo", "Charlie", "Delta", "Foxtrot", "India", "Golf", "Hotel"]


def test_ranking_scores_reasons_and_verdicts(db: Database, settings: Settings) -> None:
    seed_ranking(db)
    with freeze_time(NOON):
        request_id = new_request(db, settings)
        with db.transaction() as session:
            request = rq.load_request(session, request_id)
            candidates = {c.customer.name: c for c in rank_candidates(session, settings, request, utcnow(), limit=20)}
    assert candidates["Bravo"].score == 100.0
    assert candidates["Bravo"].fits == ["industry Fintech", "region EMEA", "product Payments"]
    assert candidates["Foxtrot"].score == round(100 * 55 / 75, 1)
    assert candidates["India"].score == round(100 * 20 / 75, 1) and candidates["India"].assessment.eligible
    assert candidates["Golf"].assessment.blockers == ["Unhappy at the last check-in (2026-06-13)"]
    assert candidates["Hotel"].assessment.blockers == ["Used 2× in the last 90 days (limit 2)"]
    assert not any(c.pinned for c in candidates.values())


@pytest.mark.parametrize("referenceable", [True, False])
def test_pinned_customer_comes_first(db: Database, settings: Settings, referenceable: bool) -> None:
    seed_ranking(db)
    with db.transaction() as session:
        india = session.scalars(select(Customer).where(Customer.name == "India")).one()
        india.referenceable = referenceable
        india_id = india.id
    with freeze_time(NOON):
        request_id = new_request(db, settings, specific_customer=str(india_id))
        with db.transaction() as session:
            request = rq.load_request(session, request_id)
            candidates = rank_candidates(session, settings, request, utcnow(), limit=20)
    assert [c.customer.name for c in candidates[:3]] == ["India", "Bravo", "Alpha"]
    assert candidates[0].pinned and candidates[0].score == round(100 * 20 / 75, 1)
    assert candidates[0].assessment.eligible is referenceable
    assert sum(c.pinned for c in candidates) == 1


def test_rank_limit_defaults_to_candidates_shown(db: Database, settings: Settings) -> None:
    seed_ranking(db)
    with freeze_time(NOON):
        request_id = new_request(db, settings)
        with db.transaction() as session:
            request = rq.load_request(session, request_id)
            shown = rank_candidates(session, settings, request, utcnow())
    assert [c.customer.name for c in shown] == ["Bravo", "Alpha", "Echo", "Charlie", "Delta"]
    assert len(shown) == settings.candidates_shown


@pytest.mark.parametrize(
    ("wanted", "have", "matches"),
    [
        ("Fin-tech", "Fintech", True),
        ("fintech", "FinTech", True),
        ("Health care", "Healthcare", True),
        ("Retail", "Fintech", False),
        ("", "Fintech", False),
    ],
)
def test_fuzzy_industry_match(wanted: str, have: str, matches: bool) -> None:
    customer = Customer(name="X", name_key="x", industry=have, region="", segment="", products=[], topics=[])
    request = ReferenceRequest(
        requester_id=REP, prospect="P", ref_type="call", industry=wanted, region="", segment="", products=[], topics=[]
    )
    score, reasons = fit(request, customer)
    if not wanted:
        assert (score, reasons) == (0.0, [])
    elif matches:
        assert (score, reasons) == (100.0, [f"industry {have}"])
    else:
        assert (score, reasons) == (0.0, [])


def test_fuzzy_criteria_rank_the_variant_spelling(db: Database, settings: Settings) -> None:
    with db.transaction() as session:
        factories.customer(session, "Acme Corp", industry="Fintech", products=("Payments", "Ledger"))
        factories.customer(session, "Initech", industry="Retail", products=("Payments",))
    request_id = new_request(db, settings, industry="Fin-tech", region="", products="payments; ledger")
    with db.transaction() as session:
        request = rq.load_request(session, request_id)
        candidates = rank_candidates(session, settings, request, utcnow())
    assert [c.customer.name for c in candidates] == ["Acme Corp", "Initech"]
    assert candidates[0].score == 100.0
    assert candidates[0].fits == ["industry Fintech", "products payments, ledger"]
    assert candidates[1].score == round(100 * 12.5 / 55, 1)


# -- section 4: the state machine ------------------------------------------------------------------------


def assert_refused(
    db: Database,
    request_id: int,
    error: type[DomainError],
    action: Callable[[Session], object],
    match: str | None = None,
) -> DomainError:
    """`action` raises `error`, and even if the caller commits afterwards nothing has changed."""
    before = snapshot(db, request_id)
    with db.transaction() as session, pytest.raises(error, match=match) as raised:
        action(session)  # the transaction commits: anything written before the refusal would stay
    assert type(raised.value) is error
    assert snapshot(db, request_id) == before
    return raised.value


def approved_request(db: Database, settings: Settings) -> tuple[int, int]:
    customer_id = make(db)
    request_id = new_request(db, settings)
    with db.transaction() as session:
        rq.approve(session, settings, request_id, customer_id, MANAGER)
    return request_id, customer_id


def test_approve_declined_request_is_refused(db: Database, settings: Settings) -> None:
    customer_id = make(db)
    request_id = new_request(db, settings)
    with db.transaction() as session:
        rq.decline(session, settings, request_id, "Too early", MANAGER)
    assert_refused(
        db,
        request_id,
        InvalidTransition,
        lambda s: rq.approve(s, settings, request_id, customer_id, MANAGER_2),
        match="already declined by <@UMANAGER1>",
    )


def test_approve_cancelled_request_is_refused(db: Database, settings: Settings) -> None:
    customer_id = make(db)
    request_id = new_request(db, settings)
    with db.transaction() as session:
        rq.cancel(session, settings, request_id, REP)
    assert_refused(
        db,
        request_id,
        InvalidTransition,
        lambda s: rq.approve(s, settings, request_id, customer_id, MANAGER),
        match="was cancelled by <@UREP00001>",
    )


def test_second_approve_is_refused(db: Database, settings: Settings) -> None:
    request_id, customer_id = approved_request(db, settings)
    other_id = make(db, "Initech")
    for candidate in (customer_id, other_id):
        assert_refused(
            db,
            request_id,
            InvalidTransition,
            lambda s, c=candidate: rq.approve(s, settings, request_id, c, MANAGER_2),
            match="already approved by <@UMANAGER1>",
        )


def test_decline_approved_request_is_refused(db: Database, settings: Settings) -> None:
    request_id, _ = approved_request(db, settings)
    assert_refused(
        db, request_id, InvalidTransition, lambda s: rq.decline(s, settings, request_id, "Changed my mind", MANAGER)
    )


def test_cancel_someone_elses_request_is_refused(db: Database, settings: Settings) -> None:
    request_id = new_request(db, settings)
    for actor in (OTHER, MANAGER):
        assert_refused(
            db, request_id, NotAllowed, lambda s, a=actor: rq.cancel(s, settings, request_id, a), match="can cancel it"
        )
    approved_id, _ = approved_request(db, settings)
    assert_refused(db, approved_id, InvalidTransition, lambda s: rq.cancel(s, settings, approved_id, REP))


def test_non_manager_cannot_approve_decline_or_ask(db: Database, settings: Settings) -> None:
    customer_id = make(db)
    request_id = new_request(db, settings)
    for action in (
        lambda s: rq.approve(s, settings, request_id, customer_id, REP),
        lambda s: rq.decline(s, settings, request_id, "No", OWNER),
        lambda s: rq.ask_owner(s, settings, request_id, customer_id, OTHER),
    ):
        assert_refused(db, request_id, NotAllowed, action, match="Only reference managers")


def test_ineligible_approval_changes_nothing(db: Database, settings: Settings) -> None:
    customer_id = make(db, happy_days_ago=3, answer=Happiness.UNHAPPY)
    request_id = new_request(db, settings)
    error = assert_refused(
        db, request_id, Ineligible, lambda s: rq.approve(s, settings, request_id, customer_id, MANAGER)
    )
    assert "Unhappy at the last check-in" in error.message and "Nothing was changed" in error.message


def awaiting(db: Database, settings: Settings, **customer: Any) -> tuple[int, int, int]:
    """A request held for its owner's check-in: (request id, customer id, check-in id)."""
    customer_id = make(db, **{"happy_days_ago": 45, **customer})
    request_id = new_request(db, settings)
    with db.transaction() as session:
        rq.approve(session, settings, request_id, customer_id, MANAGER)
    (checkin,) = pending_checkins(db, request_id)
    return request_id, customer_id, checkin.id


def test_answering_a_checkin_twice_is_refused(db: Database, settings: Settings) -> None:
    request_id, _, checkin_id = awaiting(db, settings)
    with db.transaction() as session:
        rq.answer_checkin(session, settings, checkin_id, Happiness.HAPPY, OWNER)
    assert status_of(db, request_id) == RequestStatus.APPROVED
    for actor in (OWNER, MANAGER):
        assert_refused(
            db,
            request_id,
            InvalidTransition,
            lambda s, a=actor: rq.answer_checkin(s, settings, checkin_id, Happiness.UNHAPPY, a),
            match="already answered: \\*Happy\\* by <@UOWNER001>",
        )


def test_answering_a_cancelled_checkin_is_refused(db: Database, settings: Settings) -> None:
    request_id, _, checkin_id = awaiting(db, settings)
    with db.transaction() as session:
        rq.cancel(session, settings, request_id, REP)
    assert_refused(
        db,
        request_id,
        InvalidTransition,
        lambda s: rq.answer_checkin(s, settings, checkin_id, Happiness.HAPPY, OWNER),
        match="no longer needed",
    )


def test_only_owner_or_manager_may_answer(db: Database, settings: Settings) -> None:
    request_id, _, checkin_id = awaiting(db, settings)
    for actor in (REP, OTHER):
        assert_refused(
            db,
            request_id,
            NotAllowed,
            lambda s, a=actor: rq.answer_checkin(s, settings, checkin_id, Happiness.HAPPY, a),
        )


def test_approve_with_stale_checkin_waits_for_the_owner(db: Database, settings: Settings) -> None:
    with freeze_time(NOON):
        request_id, customer_id, checkin_id = awaiting(db, settings)
    with db.reading() as session:
        request = session.get(ReferenceRequest, request_id)
        assert (request.status, request.customer_id, request.decided_by) == (
            RequestStatus.AWAITING_CHECKIN,
            customer_id,
            None,
        )
        checkins = session.scalars(select(CheckIn).where(CheckIn.request_id == request_id)).all()
        assert [(c.id, c.status, c.purpose, c.asked_of, c.asked_by) for c in checkins] == [
            (checkin_id, "pending", "approval", OWNER, MANAGER)
        ]
        assert session.scalar(select(func.count()).select_from(ReferenceUse)) == 0
    cards = outbox_rows(db, kind=rq.CHECKIN_CARD)
    assert [(r.recipient, r.subject, r.status) for r in cards] == [(OWNER, f"checkin:{checkin_id}", "pending")]
    assert outbox_rows(db, kind=rq.APPROVED_NOTICE) == []


def test_happy_answer_approves_and_records_the_use(db: Database, settings: Settings) -> None:
    request_id, customer_id, checkin_id = awaiting(db, settings)
    with db.transaction() as session:
        rq.answer_checkin(session, settings, checkin_id, Happiness.HAPPY, OWNER, nps=9, note="Loves us")
    with db.reading() as session:
        request = session.get(ReferenceRequest, request_id)
        assert (request.status, request.customer_id, request.decided_by) == ("approved", customer_id, MANAGER)
        assert request.contact_id is not None
        uses = session.scalars(select(ReferenceUse)).all()
        assert [(u.customer_id, u.request_id, u.ref_type, u.counted) for u in uses] == [
            (customer_id, request_id, "call", True)
        ]
        checkin = session.get(CheckIn, checkin_id)
        assert (checkin.status, checkin.answer, checkin.nps, checkin.note) == ("answered", "happy", 9, "Loves us")
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["request.submitted", "request.awaiting_checkin", "checkin.answered", "request.approved"]
    notices = outbox_rows(db, kind=rq.APPROVED_NOTICE)
    assert [(r.recipient, r.subject) for r in notices] == [(REP, f"request:{request_id}")]
    assert [r.recipient for r in outbox_rows(db, kind=rq.CHECKIN_RESULT)] == [MANAGER]


@pytest.mark.parametrize("answer", [Happiness.CONCERNS, Happiness.UNHAPPY])
def test_unhappy_answer_returns_request_to_queue(db: Database, settings: Settings, answer: Happiness) -> None:
    request_id, customer_id, checkin_id = awaiting(db, settings)
    with db.transaction() as session:
        rq.answer_checkin(session, settings, checkin_id, answer, OWNER)
    with db.reading() as session:
        request = session.get(ReferenceRequest, request_id)
        assert (request.status, request.customer_id) == ("submitted", None)
        assert session.scalar(select(func.count()).select_from(ReferenceUse)) == 0
    assert outbox_rows(db, kind=rq.APPROVED_NOTICE) == []
    assert f"{answer.label} at the last check-in" in judge(db, settings, customer_id, RefType.CALL).blockers[0]


def test_happy_answer_after_fatigue_reached_returns_to_queue(db: Database, settings: Settings) -> None:
    request_id, customer_id, checkin_id = awaiting(db, settings)
    add_use(db, customer_id, days_ago=20)
    add_use(db, customer_id, days_ago=1)  # used twice elsewhere while the owner was being asked
    with db.transaction() as session:
        rq.answer_checkin(session, settings, checkin_id, Happiness.HAPPY, OWNER)
    with db.reading() as session:
        request = session.get(ReferenceRequest, request_id)
        assert (request.status, request.customer_id, request.decided_by) == ("submitted", None, None)
        assert session.scalar(select(func.count()).where(ReferenceUse.request_id == request_id)) == 0
        last_action = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc())).first()
    assert last_action == "request.returned"
    assert outbox_rows(db, kind=rq.APPROVED_NOTICE) == []


@pytest.mark.parametrize("close", ["decline", "cancel"])
def test_closing_a_request_closes_its_pending_checkin(db: Database, settings: Settings, close: str) -> None:
    request_id, _, checkin_id = awaiting(db, settings)
    with db.transaction() as session:
        if close == "decline":
            rq.decline(session, settings, request_id, "Prospect went quiet", MANAGER)
        else:
            rq.cancel(session, settings, request_id, REP)
    assert status_of(db, request_id) == (RequestStatus.DECLINED if close == "decline" else RequestStatus.CANCELLED)
    assert pending_checkins(db, request_id) == []
    with db.reading() as session:
        assert session.get(CheckIn, checkin_id).status == CheckInStatus.CANCELLED
    refreshes = outbox_rows(db, kind="refresh", subject=f"checkin:{checkin_id}")
    assert len(refreshes) == 1 and refreshes[0].params == {"kinds": [rq.CHECKIN_CARD]}
    assert len(outbox_rows(db, kind=rq.DECLINED_NOTICE)) == (1 if close == "decline" else 0)


def test_ask_owner_then_answer_keeps_request_waiting_for_a_decision(db: Database, settings: Settings) -> None:
    customer_id = make(db, happy_days_ago=45)
    request_id = new_request(db, settings)
    with db.transaction() as session:
        checkin_id = rq.ask_owner(session, settings, request_id, customer_id, MANAGER).id
    assert_refused(
        db,
        request_id,
        InvalidTransition,
        lambda s: rq.ask_owner(s, settings, request_id, customer_id, MANAGER_2),
        match="was already asked",
    )
    with db.transaction() as session:
        rq.answer_checkin(session, settings, checkin_id, Happiness.HAPPY, OWNER)
    assert status_of(db, request_id) == RequestStatus.SUBMITTED
    assert [r.recipient for r in outbox_rows(db, kind=rq.CHECKIN_RESULT)] == [MANAGER]
    verdict = judge(db, settings, customer_id, RefType.CALL, exclude=request_id)
    assert not verdict.needs_checkin and verdict.blockers == []
    with db.transaction() as session:
        rq.approve(session, settings, request_id, customer_id, MANAGER)
    assert status_of(db, request_id) == RequestStatus.APPROVED


# -- parse_draft ----------------------------------------------------------------------------------------


def draft(day: date, **raw: str | None) -> rq.RequestDraft:
    form: dict[str, str | None] = {"prospect": "Globex", "ref_type": "call"}
    form.update(raw)
    return rq.parse_draft(form, day)


def refused(day: date, **raw: str | None) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as raised:
        draft(day, **raw)
    return raised.value.errors


def test_needed_by_is_judged_in_the_program_time_zone(settings: Settings) -> None:
    # 23:30 UTC on 9 March is already 00:30 on 10 March in Berlin.
    with freeze_time("2026-03-09T23:30:00+00:00"):
        local_today = today(settings)
    assert local_today == date(2026, 3, 10)
    errors = refused(local_today, needed_by="2026-03-09")
    assert errors == {"needed_by": "That date has passed; pick 2026-03-10 or later."}
    assert draft(local_today, needed_by="2026-03-10").needed_by == date(2026, 3, 10)
    with freeze_time("2026-03-09T22:30:00+00:00"):  # 23:30 in Berlin: still the 9th there
        assert draft(today(settings), needed_by="2026-03-09").needed_by == date(2026, 3, 9)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1,200.50", Decimal("1200.50")), (" 120000 ", Decimal("120000.00")), ("0", Decimal("0.00")), ("", None)],
)
def test_amount_accepted(raw: str, expected: Decimal | None) -> None:
    assert draft(date(2026, 1, 1), opportunity_amount=raw).opportunity_amount == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("-1", "The amount cannot be negative."),
        ("abc", "Enter the amount as a number, e.g. 120000."),
        ("NaN", "Enter the amount as a number, e.g. 120000."),
        ("Infinity", "Enter the amount as a number, e.g. 120000."),
        ("1000000000000", "That amount is too large to be real."),
    ],
)
def test_amount_refused(raw: str, message: str) -> None:
    assert refused(date(2026, 1, 1), opportunity_amount=raw) == {"opportunity_amount": message}


@pytest.mark.parametrize("raw", ["1e400", "1e26", "1E+13"])
def test_huge_exponent_amount_is_a_field_error(raw: str) -> None:
    assert refused(date(2026, 1, 1), opportunity_amount=raw) == {
        "opportunity_amount": "That amount is too large to be real."
    }


def test_overlong_fields_are_reported_per_field() -> None:
    errors = refused(
        date(2026, 1, 1),
        prospect="P" * 151,
        notes="n" * 2001,
        products="x" * 301,
        industry="i" * 101,
        ref_type="billboard",
        specific_customer="acme",
    )
    assert errors == {
        "prospect": "Keep this under 150 characters (it has 151).",
        "industry": "Keep this under 100 characters (it has 101).",
        "products": "Keep this under 300 characters (it has 301).",
        "notes": "Keep this under 2000 characters (it has 2001).",
        "ref_type": "Choose the kind of reference you need.",
        "specific_customer": "Pick a customer from the list.",
    }
    at_limit = draft(date(2026, 1, 1), prospect="P" * 150, notes="n" * 2000)
    assert len(at_limit.prospect) == 150 and len(at_limit.notes) == 2000


def test_products_and_topics_split_and_deduplicated() -> None:
    parsed = draft(
        date(2026, 1, 1),
        products="Payments, Ledger;Payments\nCards ;; ,\n Ledger",
        topics="SSO\nSOC 2; SSO",
        prospect="  Globex  ",
    )
    assert parsed.products == ("Payments", "Ledger", "Cards")
    assert parsed.topics == ("SSO", "SOC 2")
    assert parsed.prospect == "Globex"
    assert parsed.ref_type is RefType.CALL


def test_missing_prospect_and_type() -> None:
    assert refused(date(2026, 1, 1), prospect="   ", ref_type=None) == {
        "prospect": "Name the prospect company this reference is for.",
        "ref_type": "Choose the kind of reference you need.",
    }
