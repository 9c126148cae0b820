"""How each outbox kind is rendered at delivery time, from the database as it is then.

Rendering late means a card never shows a state that has already moved on: a manager card delivered
after another manager approved shows the approval, not buttons.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import chart, digest, home_record, kinds, nominations
from bot import home as home_data
from bot.assets import content_for_request
from bot.crm.mapping import crm_label
from bot.digest import Digest, Period
from bot.eligibility import assess, load_context, rested_on
from bot.matching import Candidate, rank_candidates
from bot.outbox import RENDER_CACHE, Rendered, Renderer
from bot.program import assets_depending_on
from bot.settings import Settings
from bot.views import checkins as checkin_views
from bot.views import crm as crm_views
from bot.views import followups as followup_views
from bot.views import home as home_views
from bot.views import incidents as incident_views
from bot.views import nominations as nomination_views
from bot.views import requests as request_views
from bot.views import thanks as thanks_views
from bot.views.assets import content_blocks
from bot.views.digest import digest_message
from models import CheckIn, Consent, Customer, Incident, Nomination, OutboxMessage, ReferenceRequest, Thanks
from models.enums import CheckInStatus, RefType, RequestStatus
from models.types import utcnow


def _subject_id(row: OutboxMessage) -> int:
    return int(row.subject.split(":", 1)[1])


def _request(session: Session, row: OutboxMessage) -> ReferenceRequest | None:
    return session.get(ReferenceRequest, _subject_id(row))


def _checkin(session: Session, row: OutboxMessage) -> CheckIn | None:
    return session.get(CheckIn, _subject_id(row))


def render_digest(session: Session, settings: Settings, period: Period, now: datetime) -> tuple[Digest, Rendered]:
    """The digest as a message with its chart (uploaded by the outbox, shown in the message)."""
    week = digest.compute(session, settings, period, now)
    assert week.series is not None
    png = chart.render_chart(week.series, f"Last {digest.SERIES_WEEKS} weeks to {period.label}")
    message = digest_message(week, settings, chart=digest.CHART)
    files = {
        digest.CHART: (
            f"refbot-digest-{period.label}.png",
            png,
            f"Reference program, {digest.SERIES_WEEKS} weeks to {period.label}",
        )
    }
    return week, Rendered(text=message["text"], blocks=message["blocks"], files=files)


def build_renderers(settings: Settings, homes: home_data.HomeMemory) -> dict[str, Renderer]:
    """The renderer for every kind of message the domain enqueues (`homes`: the app's Home memory)."""

    def manager_card(session: Session, row: OutboxMessage) -> Rendered | None:
        request = _request(session, row)
        if request is None:
            return None
        # Every manager gets the same card, and the outbox renders a request's cards in one reading: the
        # ranking behind them (tens of ms on a large list) is done once, not once per manager.
        shared = session.info.get(RENDER_CACHE)
        key = ("manager_card", request.id, request.version)
        if shared is not None and key in shared:
            return shared[key]
        card = _manager_card(session, request)
        if shared is not None:
            shared[key] = card
        return card

    def _manager_card(session: Session, request: ReferenceRequest) -> Rendered:
        now = utcnow()
        candidates: list[Candidate] = []
        resting: list[tuple[Candidate, date | None]] = []
        pending: dict[int, CheckIn] = {}
        waiting_on = None
        content: list[dict[str, Any]] = []
        if request.status == RequestStatus.SUBMITTED:
            ranking = rank_candidates(session, settings, request, now)
            candidates = ranking
            free_on = rested_on(session, settings, [c.assessment for c in ranking.resting], now)
            resting = [(c, free_on.get(c.customer.id)) for c in ranking.resting]
            home_data.remember_ranking(homes, session, request, candidates)  # the Home's Approve button reuses it
            asked = session.scalars(
                select(CheckIn).where(
                    CheckIn.customer_id.in_([c.customer.id for c in candidates]),
                    CheckIn.status == CheckInStatus.PENDING,
                )
            ).all()
            pending = {c.customer_id: c for c in asked}
            content = content_blocks(content_for_request(session, settings, request, now), settings)
        elif request.status == RequestStatus.AWAITING_CHECKIN:
            waiting_on = session.scalars(
                select(CheckIn)
                .where(CheckIn.request_id == request.id, CheckIn.status == CheckInStatus.PENDING)
                .order_by(CheckIn.id.desc())
            ).first()
        card = request_views.manager_card(
            request, candidates, pending, waiting_on, settings, now, resting=resting, content=content
        )
        return Rendered(**card)

    def receipt(session: Session, row: OutboxMessage) -> Rendered | None:
        request = _request(session, row)
        return Rendered(**request_views.receipt(request, settings)) if request else None

    def approved(session: Session, row: OutboxMessage) -> Rendered | None:
        request = _request(session, row)
        if request is None or request.customer is None:
            return None
        return Rendered(**request_views.approved_notice(request, request.customer, request.contact, settings))

    def declined(session: Session, row: OutboxMessage) -> Rendered | None:
        request = _request(session, row)
        return Rendered(**request_views.declined_notice(request, settings)) if request else None

    def checkin_card(session: Session, row: OutboxMessage) -> Rendered | None:
        checkin = _checkin(session, row)
        if checkin is None:
            return None
        return Rendered(**checkin_views.checkin_card(checkin, checkin.customer, checkin.request, settings))

    def checkin_result(session: Session, row: OutboxMessage) -> Rendered | None:
        checkin = _checkin(session, row)
        if checkin is None or checkin.answer is None:
            return None
        request = checkin.request
        blockers: list[str] = []
        if request is not None and request.status == RequestStatus.SUBMITTED:
            now = utcnow()
            context = load_context(session, settings, [checkin.customer_id], now, exclude_request=request.id)
            blockers = assess(checkin.customer, RefType(request.ref_type), settings, now, context).blockers
        return Rendered(**checkin_views.checkin_result(checkin, checkin.customer, request, blockers, settings))

    def checkin_round(session: Session, row: OutboxMessage) -> Rendered | None:
        checkins = session.scalars(
            select(CheckIn).where(CheckIn.round_subject == row.subject).order_by(CheckIn.id)
        ).all()
        if row.kind == kinds.CHECKIN_REMINDER:
            wanted = set(row.params.get("checkin_ids", []))
            checkins = [c for c in session.scalars(select(CheckIn).where(CheckIn.id.in_(wanted))).all()]
            if row.status == "pending" and not any(c.status == CheckInStatus.PENDING for c in checkins):
                return None  # answered before the reminder went out: nothing to remind of
        if not checkins:
            return None
        return Rendered(
            **followup_views.checkin_round(
                sorted(checkins, key=lambda c: c.id), settings, utcnow(), reminder=row.kind == kinds.CHECKIN_REMINDER
            )
        )

    def escalation(session: Session, row: OutboxMessage) -> Rendered | None:
        checkins = session.scalars(
            select(CheckIn)
            .where(CheckIn.id.in_(row.params.get("checkin_ids", [])), CheckIn.status == CheckInStatus.PENDING)
            .order_by(CheckIn.asked_of, CheckIn.id)
        ).all()
        if not checkins:
            return None
        by_owner: dict[str, list[CheckIn]] = {}
        for checkin in checkins:
            by_owner.setdefault(checkin.asked_of, []).append(checkin)
        return Rendered(**followup_views.escalation(by_owner, settings))

    def ownerless(session: Session, row: OutboxMessage) -> Rendered | None:
        customers = session.scalars(
            select(Customer).where(
                Customer.id.in_(row.params.get("customer_ids", [])), Customer.owner_slack_id.is_(None)
            )
        ).all()
        return Rendered(**followup_views.ownerless(list(customers))) if customers else None

    def checkin_alert(session: Session, row: OutboxMessage) -> Rendered | None:
        checkin = _checkin(session, row)
        return Rendered(**followup_views.checkin_alert(checkin, settings)) if checkin and checkin.answer else None

    def sla_reminder(session: Session, row: OutboxMessage) -> Rendered | None:
        request = _request(session, row)
        if request is None or not request.status.is_open:
            return None  # decided meanwhile
        return Rendered(**followup_views.sla_reminder(request, settings, utcnow()))

    def outcome_ask(session: Session, row: OutboxMessage) -> Rendered | None:
        request = _request(session, row)
        if request is None:
            return None
        if row.status == "pending" and request.outcome is not None and row.kind == kinds.OUTCOME_REMINDER:
            return None
        return Rendered(**followup_views.outcome_ask(request, settings, reminder=row.kind == kinds.OUTCOME_REMINDER))

    def negative(session: Session, row: OutboxMessage) -> Rendered | None:
        request = _request(session, row)
        return Rendered(**followup_views.negative_feedback(request, settings)) if request else None

    def consent_expiring(session: Session, row: OutboxMessage) -> Rendered | None:
        consent = session.get(Consent, _subject_id(row))
        if consent is None or consent.expires_on is None:
            return None
        today = utcnow().astimezone(settings.tz).date()
        assets = assets_depending_on(session, consent)
        return Rendered(**followup_views.consent_expiring(consent, today, assets))

    def weekly_digest(session: Session, row: OutboxMessage) -> Rendered | None:
        period = digest.parse_week(str(row.params.get("week", "")), settings.tz)
        return render_digest(session, settings, period, utcnow())[1]

    def crm_error(session: Session, row: OutboxMessage) -> Rendered | None:
        params = row.params
        return Rendered(**crm_views.sync_error(crm_label(params["crm"]), params["stream"], params["error"]))

    def incident_recorded(session: Session, row: OutboxMessage) -> Rendered | None:
        incident = session.get(Incident, _subject_id(row))
        return Rendered(**incident_views.recorded_notice(incident, settings)) if incident else None

    def home(session: Session, row: OutboxMessage) -> Rendered | None:
        if home_record.superseded(session, row):
            return None  # a newer refresh for the same person is waiting: it publishes the latest state
        now = utcnow()
        built = home_data.build_home(
            session, settings, row.recipient, now, memory=homes, rank_budget=home_data.BACKGROUND_BUDGET
        )
        return Rendered(view=home_views.home_view(built, settings, now))

    def nomination(session: Session, row: OutboxMessage) -> Rendered | None:
        found = session.get(Nomination, _subject_id(row))
        if found is None:
            return None
        if row.kind == kinds.NOMINATION_DECIDED:
            return Rendered(**nomination_views.decided_notice(found))
        nominee = nominations.nominee(session, settings, found.customer_id, utcnow())
        return Rendered(**nomination_views.nomination_card(found, nominee, settings))

    def nomination_offer(session: Session, row: OutboxMessage) -> Rendered | None:
        customer = session.get(Customer, int((row.params or {}).get("customer_id") or 0))
        if customer is None or customer.referenceable:
            return None  # a reference by now: nothing to offer
        return Rendered(**nomination_views.offer_message(customer, int((row.params or {}).get("nps") or 0)))

    def thanks_ask(session: Session, row: OutboxMessage) -> Rendered | None:
        found = session.get(Thanks, _subject_id(row))
        return Rendered(**thanks_views.thanks_ask(found)) if found is not None else None

    return {
        kinds.CRM_ERROR: crm_error,
        kinds.THANKS_ASK: thanks_ask,
        kinds.NOMINATION_CARD: nomination,
        kinds.NOMINATION_DECIDED: nomination,
        kinds.NOMINATION_OFFER: nomination_offer,
        kinds.DIGEST: weekly_digest,
        kinds.CHECKIN_ROUND: checkin_round,
        kinds.CHECKIN_REMINDER: checkin_round,
        kinds.CHECKIN_ESCALATION: escalation,
        kinds.OWNERLESS: ownerless,
        kinds.SLA_REMINDER: sla_reminder,
        kinds.CONSENT_EXPIRING: consent_expiring,
        kinds.CHECKIN_ALERT: checkin_alert,
        kinds.OUTCOME_ASK: outcome_ask,
        kinds.OUTCOME_REMINDER: outcome_ask,
        kinds.NEGATIVE_FEEDBACK: negative,
        kinds.MANAGER_CARD: manager_card,
        kinds.RECEIPT: receipt,
        kinds.APPROVED_NOTICE: approved,
        kinds.DECLINED_NOTICE: declined,
        kinds.CHECKIN_CARD: checkin_card,
        kinds.CHECKIN_RESULT: checkin_result,
        kinds.HOME: home,
        kinds.INCIDENT_RECORDED: incident_recorded,
    }
