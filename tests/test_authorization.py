"""The authorization matrix: every action × every role, through signed requests, on SQLite and PostgreSQL.

Roles: a reference manager, the account owner of the customer involved, the rep who made the request, and
someone else. For each (action, role) the test sends exactly what Slack would send if that person clicked
the button, ran the command or submitted the form (whether or not refbot ever showed it to them: a
forwarded message, an old DM, or a forged request must not matter), then:

- allowed: the effect is there (the state moved, the form opened, the row exists), and no refusal came;
- not allowed: the database is exactly as before (every table; the outbox by its idempotency keys) and
  the person got a refusal: an ephemeral message for a click or a command, an inline error for a form.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import customers as cu
from bot import ids
from bot import requests as rq
from bot.requests import STAGES
from bot.settings import Settings
from bot.views.checkins import checkin_modal
from bot.views.customers import customer_modal
from bot.views.outcomes import outcome_modal
from bot.views.requests import decline_modal
from models import (
    Base,
    CheckIn,
    Consent,
    Customer,
    InboundDelivery,
    OutboxMessage,
    ReferenceRequest,
    WatchedChannel,
)
from models.db import Database
from models.enums import CheckInPurpose, CheckInStatus, RefType, RequestStatus
from slackfake.client import Response, SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, OTHER, OWNER, REP
from tests.test_request_flow import blob

ROLES = {"manager": MANAGER, "owner": OWNER, "requester": REP, "other": OTHER}
WATCHED = "C0SALES"
REFUSED = "Only "  # every refusal names who may do it: "Only reference managers can …", "Only <@U…>, who …"


@dataclass(frozen=True)
class Scene:
    """What every action needs, made through the domain as the flow would have made it."""

    fresh: int  # Acme: happy last week, owned by OWNER
    stale: int  # Initech: last checked 45 days ago, owned by OWNER
    submitted: int  # REP's request waiting for a decision
    awaiting: int  # REP's request approved with Initech, waiting for OWNER's check-in
    checkin: int  # that check-in
    approved: int  # REP's request approved with Acme, waiting for the outcome


def build_scene(db: Database, settings: Settings) -> Scene:
    draft = rq.RequestDraft(prospect="Globex", ref_type=RefType.CALL, industry="Fintech")
    with db.transaction() as session:
        fresh = factories.customer(session, "Acme Corp").id
        stale = factories.customer(session, "Initech", happy_days_ago=45).id
        submitted = rq.submit(session, settings, REP, draft).id
        awaiting = rq.submit(session, settings, REP, draft).id
        rq.approve(session, settings, awaiting, stale, MANAGER)
        approved = rq.submit(session, settings, REP, draft).id
        rq.approve(session, settings, approved, fresh, MANAGER)
        checkin = session.scalars(select(CheckIn.id).where(CheckIn.request_id == awaiting)).one()
    with db.transaction() as session:
        assert session.get(ReferenceRequest, awaiting).status == RequestStatus.AWAITING_CHECKIN
        assert session.get(ReferenceRequest, approved).status == RequestStatus.APPROVED
        if _module_present("handlers.watch"):
            from bot import shadow

            shadow.watch(session, WATCHED, MANAGER)
    return Scene(fresh, stale, submitted, awaiting, checkin, approved)


@dataclass(frozen=True)
class Ctx:
    slack: SignedClient
    fake: FakeSlack
    db: Database
    scene: Scene


# -- what each action sends -------------------------------------------------------------------------------


def click(action_id: str | Callable[[Scene], str], value: Callable[[Scene], str]) -> Callable[[Ctx, str], Response]:
    def send(ctx: Ctx, user: str) -> Response:
        name = action_id(ctx.scene) if callable(action_id) else action_id
        return ctx.slack.block_action(user, name, value=value(ctx.scene))

    return send


def command(text: Callable[[Scene], str], channel: str = "C0GENERAL") -> Callable[[Ctx, str], Response]:
    return lambda ctx, user: ctx.slack.command(user, text(ctx.scene), channel_id=channel)


def submit(view: Callable[[Ctx], dict[str, Any]], values: dict[str, Any]) -> Callable[[Ctx, str], Response]:
    return lambda ctx, user: ctx.slack.view_submission(user, view(ctx), values)


def _decline_form(ctx: Ctx) -> dict[str, Any]:
    with ctx.db.reading() as session:
        return decline_modal(session.get(ReferenceRequest, ctx.scene.submitted))


def _checkin_form(ctx: Ctx) -> dict[str, Any]:
    with ctx.db.reading() as session:
        checkin = session.get(CheckIn, ctx.scene.checkin)
        return checkin_modal(checkin, checkin.customer)


def _outcome_form(ctx: Ctx) -> dict[str, Any]:
    with ctx.db.reading() as session:
        return outcome_modal(session.get(ReferenceRequest, ctx.scene.approved), STAGES)


def _edit_form(ctx: Ctx) -> dict[str, Any]:
    with ctx.db.reading() as session:
        customer = cu.get_customer(session, ctx.scene.fresh)
        return customer_modal(customer, fingerprint=cu.fingerprint(customer))


# -- what each allowed action must have done --------------------------------------------------------------


def status_is(which: str, status: RequestStatus) -> Callable[[Ctx, str], bool]:
    def check(ctx: Ctx, user: str) -> bool:
        with ctx.db.reading() as session:
            return session.get(ReferenceRequest, getattr(ctx.scene, which)).status == status

    return check


def view_opened(callback_id: str) -> Callable[[Ctx, str], bool]:
    return lambda ctx, user: any(v.get("callback_id") == callback_id for v in ctx.fake.views(user))


def _owner_asked(ctx: Ctx, user: str) -> bool:
    with ctx.db.reading() as session:
        return (
            session.scalars(
                select(CheckIn).where(
                    CheckIn.customer_id == ctx.scene.fresh,
                    CheckIn.status == CheckInStatus.PENDING,
                    CheckIn.purpose == CheckInPurpose.ASK_OWNER,
                    CheckIn.asked_by == user,
                )
            ).first()
            is not None
        )


def _checkin_answered(ctx: Ctx, user: str) -> bool:
    with ctx.db.reading() as session:
        checkin = session.get(CheckIn, ctx.scene.checkin)
        request = session.get(ReferenceRequest, ctx.scene.awaiting)
        return checkin.status == CheckInStatus.ANSWERED and checkin.answered_by == user and request.status == "approved"


def _customer_added(ctx: Ctx, user: str) -> bool:
    with ctx.db.reading() as session:
        return session.scalars(select(Customer).where(Customer.name == "Globex Bank")).first() is not None


def _customer_edited(ctx: Ctx, user: str) -> bool:
    with ctx.db.reading() as session:
        return session.get(Customer, ctx.scene.fresh).industry == "Banking"


def _consent_recorded(ctx: Ctx, user: str) -> bool:
    with ctx.db.reading() as session:
        consent = session.scalars(
            select(Consent).where(Consent.customer_id == ctx.scene.fresh, Consent.ref_type == "case_study")
        ).first()
        return consent is not None and consent.approved_by == "Carla Diaz (CMO)" and consent.recorded_by == user


def _watching(on: bool) -> Callable[[Ctx, str], bool]:
    def check(ctx: Ctx, user: str) -> bool:
        with ctx.db.reading() as session:
            return (session.get(WatchedChannel, WATCHED) is not None) == on

    return check


# -- the matrix ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    name: str
    allowed: frozenset[str]
    send: Callable[[Ctx, str], Response]
    done: Callable[[Ctx, str], bool]
    form: bool = False  # refused inline (response_action: errors) rather than by an ephemeral
    needs: str | None = None  # the module that provides it, for features that land separately


MANAGER_ONLY = frozenset({"manager"})
OWNER_OR_MANAGER = frozenset({"owner", "manager"})
REQUESTER_OR_MANAGER = frozenset({"requester", "manager"})
CONSENT_DAY = date.today() - timedelta(days=3)

ACTIONS = [
    Action(
        "approve",
        MANAGER_ONLY,
        click(ids.for_item(ids.APPROVE, 1), lambda s: f"{s.submitted}:{s.fresh}"),
        status_is("submitted", RequestStatus.APPROVED),
    ),
    Action(
        "decline (button)",
        MANAGER_ONLY,
        click(ids.DECLINE, lambda s: str(s.submitted)),
        view_opened(ids.DECLINE_MODAL),
    ),
    Action(
        "decline (form)",
        MANAGER_ONLY,
        submit(_decline_form, {"reason": "Too early for a reference"}),
        status_is("submitted", RequestStatus.DECLINED),
        form=True,
    ),
    Action(
        "cancel (button)",
        frozenset({"requester"}),
        click(ids.CANCEL, lambda s: str(s.submitted)),
        status_is("submitted", RequestStatus.CANCELLED),
    ),
    Action(
        "cancel (command)",
        frozenset({"requester"}),
        command(lambda s: f"cancel {s.submitted}"),
        status_is("submitted", RequestStatus.CANCELLED),
    ),
    Action(
        "ask owner",
        MANAGER_ONLY,
        click(ids.for_item(ids.ASK_OWNER, 1), lambda s: f"{s.submitted}:{s.fresh}"),
        _owner_asked,
    ),
    Action(
        "check-in answer (button)",
        OWNER_OR_MANAGER,
        click(ids.for_item(ids.CHECKIN_ANSWER, "happy"), lambda s: f"{s.checkin}:happy"),
        _checkin_answered,
    ),
    Action(
        "check-in answer (open form)",
        OWNER_OR_MANAGER,
        click(ids.CHECKIN_WITH_NOTE, lambda s: str(s.checkin)),
        view_opened(ids.CHECKIN_MODAL),
    ),
    Action(
        "check-in answer (form)",
        OWNER_OR_MANAGER,
        submit(_checkin_form, {"answer": "happy", "nps": "9", "note": "Renewed last month"}),
        _checkin_answered,
        form=True,
    ),
    Action(
        "outcome (button)",
        REQUESTER_OR_MANAGER,
        click(ids.for_item(ids.OUTCOME, "helped"), lambda s: f"{s.approved}:helped"),
        status_is("approved", RequestStatus.COMPLETED),
    ),
    Action(
        "outcome (open form)",
        REQUESTER_OR_MANAGER,
        click(ids.OUTCOME_DETAILS, lambda s: str(s.approved)),
        view_opened(ids.OUTCOME_MODAL),
    ),
    Action(
        "outcome (open form from the App Home)",
        REQUESTER_OR_MANAGER,
        click(lambda s: ids.for_item(ids.HOME_OUTCOME_DETAILS, s.approved), lambda s: str(s.approved)),
        view_opened(ids.OUTCOME_MODAL),
        needs="handlers.home",
    ),
    Action(
        "outcome (form)",
        REQUESTER_OR_MANAGER,
        submit(_outcome_form, {"outcome": "helped", "deal_won": "won", "amount_influenced": "120000"}),
        status_is("approved", RequestStatus.COMPLETED),
        form=True,
    ),
    Action(
        "add customer (command)",
        MANAGER_ONLY,
        command(lambda s: "add Globex Bank"),
        view_opened(ids.CUSTOMER_MODAL),
        needs="handlers.customers",
    ),
    Action(
        "add customer (form)",
        MANAGER_ONLY,
        submit(lambda ctx: customer_modal(None, name="Globex Bank"), {"domain": "globexbank.com"}),
        _customer_added,
        form=True,
        needs="handlers.customers",
    ),
    Action(
        "edit customer (button)",
        MANAGER_ONLY,
        click(ids.CUSTOMER_EDIT, lambda s: str(s.fresh)),
        view_opened(ids.CUSTOMER_MODAL),
        needs="handlers.customers",
    ),
    Action(
        "edit customer (form)",
        MANAGER_ONLY,
        submit(_edit_form, {"industry": "Banking"}),
        _customer_edited,
        form=True,
        needs="handlers.customers",
    ),
    Action(
        "consent (form)",
        MANAGER_ONLY,
        submit(_edit_form, {"consent:case_study:by": "Carla Diaz (CMO)", "consent:case_study:on": CONSENT_DAY}),
        _consent_recorded,
        form=True,
        needs="handlers.customers",
    ),
    Action(
        "watch",
        MANAGER_ONLY,
        command(lambda s: "watch", channel="C0DEALS"),
        lambda ctx, user: _channel_watched(ctx, "C0DEALS"),
        needs="handlers.watch",
    ),
    Action(
        "unwatch",
        MANAGER_ONLY,
        command(lambda s: "unwatch", channel=WATCHED),
        _watching(False),
        needs="handlers.watch",
    ),
]


def _channel_watched(ctx: Ctx, channel: str) -> bool:
    with ctx.db.reading() as session:
        return session.get(WatchedChannel, channel) is not None


def _module_present(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def snapshot(db: Database) -> dict[str, Any]:
    """Every row of every table, except what a request leaves whatever it is (the delivery log) and what the
    outbox worker changes as it sends (a row's status): the outbox is compared by its idempotency keys."""
    tables: dict[str, Any] = {}
    with db.reading() as session:
        for table in Base.metadata.sorted_tables:
            if table is InboundDelivery.__table__:
                continue
            if table is OutboxMessage.__table__:
                tables[table.name] = sorted(session.scalars(select(OutboxMessage.idempotency_key)).all())
                continue
            tables[table.name] = sorted((tuple(row) for row in session.execute(select(table)).all()), key=repr)
    return tables


def _wait(predicate: Callable[[], Any], what: str, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _refusals(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    return [e for e in fake.ephemerals(user) if REFUSED in blob(e)]


CASES = [pytest.param(action, role, id=f"{action.name}-{role}") for action in ACTIONS for role in ROLES]


@pytest.mark.parametrize(("action", "role"), CASES)
def test_authorization_matrix(
    slack: SignedClient, fake: FakeSlack, db: Database, settings: Settings, action: Action, role: str
) -> None:
    if action.needs and not _module_present(action.needs):
        pytest.skip(f"{action.needs} is not in this tree yet: {action.name} lands with it")
    scene = build_scene(db, settings)
    ctx = Ctx(slack, fake, db, scene)
    user = ROLES[role]
    before = snapshot(db)

    response = action.send(ctx, user)
    assert response.status == 200, response.body
    answer = response.json() if action.form else None

    if role in action.allowed:
        _wait(lambda: action.done(ctx, user), f"{action.name} by the {role} to take effect")
        if action.form:
            assert not answer or answer.get("response_action") != "errors", answer
        assert _refusals(fake, user) == [], f"{action.name} by the {role} was allowed but also refused"
        return

    if action.form:
        assert answer and answer.get("response_action") == "errors", answer
        assert any(REFUSED in message for message in answer["errors"].values()), answer
    else:
        _wait(lambda: _refusals(fake, user), f"the {role} to be told they may not {action.name}")
        assert not any(v.get("callback_id") for v in fake.views(user)), "a form opened for someone refused"
    assert not action.done(ctx, user)
    assert snapshot(db) == before, f"{action.name} by the {role} changed the database"


def test_every_action_has_someone_allowed_and_someone_refused() -> None:
    """A row allowing everyone (or no one) would test nothing about rights."""
    for action in ACTIONS:
        assert action.allowed and action.allowed < set(ROLES), action.name
    names = {a.name.split(" (")[0] for a in ACTIONS}
    expected = {"approve", "decline", "cancel", "ask owner", "check-in answer", "outcome", "add customer"}
    assert expected | {"edit customer", "consent", "watch", "unwatch"} <= names
