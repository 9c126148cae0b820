"""Scheduled jobs that keep the program alive by itself: check-ins, reminders, follow-ups, consent expiry,
and the cleanup of ledgers that would otherwise grow forever.

Each job is a plain function of (session, settings, now) that decides what is due and records it in the
outbox under keys that name the period (`checkin-round:U123:2026-11-23:0`), so running it twice, on two
replicas, or again after a crash, sends nothing twice. `run_job` claims the job's period in `job_runs`
inside the same transaction as the job's writes: a second replica waits on the unique key and then sees
the period taken; a replica that dies mid-run rolls back, and the next one does the work. The scheduler
(`bot.scheduler`) only decides *when*.

`cleanup` differs in one way: it sends nothing and only deletes rows nothing reads any more, so it may work
through a backlog in many short transactions after the one that claims its period.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from bot import digest, home_record, kinds
from bot.outbox import ENQUEUED_KEYS, enqueue
from bot.settings import Settings
from bot.views.text import plural
from models import CheckIn, Consent, Customer, InboundDelivery, JobRun, OutboxMessage, ReferenceRequest
from models.db import Database
from models.enums import CheckInPurpose, CheckInStatus, OutboxStatus, RequestStatus
from models.types import utcnow

log = logging.getLogger(__name__)

# A grouped DM lists at most this many customers (each takes two blocks; Slack allows 50 per message).
ROUND_SIZE = 20
SYSTEM = "refbot"


@dataclass
class JobResult:
    """What a run did (or, dry, would do): one line per message, for `refbot jobs run` and the logs."""

    job: str
    period: str
    lines: list[str] = field(default_factory=list)
    messages: int = 0
    skipped: str = ""
    # Housekeeping (`cleanup`): rows deleted (dry: that would be) per kind, and where a run that stopped at a
    # batch limit goes on: `run_job` calls the job again, in a transaction of its own, until this is empty.
    removed: dict[str, int] = field(default_factory=dict)
    resume: str = ""
    # The outbox keys the run queued (not in a dry run): where each stands is what `refbot jobs run` reports.
    queued: list[str] = field(default_factory=list)

    def note(self, line: str, messages: int = 1) -> None:
        self.lines.append(line)
        self.messages += messages


JobFunction = Callable[[Session, Settings, datetime, bool, JobResult], None]
# A job that works in many transactions of its own (the CRM sync: one per page) after its claim commits.
LongJobFunction = Callable[[Database, Settings, datetime, bool, JobResult, str], None]


@dataclass(frozen=True)
class Job:
    name: str
    summary: str
    run: JobFunction | None
    schedule: Callable[[Settings], str]
    period: Callable[[Settings, datetime], str]
    long_run: LongJobFunction | None = None


def _local(now: datetime, settings: Settings) -> datetime:
    return now.astimezone(settings.tz)


def _day_period(settings: Settings, now: datetime) -> str:
    return _local(now, settings).date().isoformat()


def _hour_period(settings: Settings, now: datetime) -> str:
    return _local(now, settings).strftime("%Y-%m-%dT%H")


def _quarter_hour_period(settings: Settings, now: datetime) -> str:
    local = _local(now, settings)
    return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M")


def _digest_period(settings: Settings, now: datetime) -> str:
    """The ISO week the digest covers (the last full week), e.g. `2026-W47`."""
    return digest.digest_week(now, settings.tz).label


def _refresh_homes(session: Session, dry_run: bool, people: Iterable[str | None]) -> None:
    """Re-publish, after this run commits, the App Homes that show what it changed or just told them about,
    so a DM and the tab never disagree (only for people who have opened their Home: `home_record.refresh_homes`)."""
    if not dry_run:
        home_record.refresh_homes(session, people)


# -- 1. periodic happiness check-ins -------------------------------------------------------------------


def run_checkins(session: Session, settings: Settings, now: datetime, dry_run: bool, result: JobResult) -> None:
    """Ask every stale, referenceable customer's owner: one grouped DM per owner, never one per customer."""
    stale_before = now - timedelta(days=settings.checkin_max_age_days)
    pending = select(CheckIn.customer_id).where(CheckIn.status == CheckInStatus.PENDING)
    stale = session.execute(
        select(Customer.id, Customer.name, Customer.owner_slack_id)
        .where(
            Customer.referenceable.is_(True),
            or_(Customer.last_checkin_at.is_(None), Customer.last_checkin_at < stale_before),
            Customer.id.not_in(pending),
        )
        .order_by(Customer.owner_slack_id, Customer.name)
    ).all()
    by_owner: dict[str, list[tuple[int, str]]] = defaultdict(list)
    ownerless: list[tuple[int, str]] = []
    for customer_id, name, owner in stale:
        (by_owner[owner] if owner else ownerless).append((customer_id, name))
    period = result.period
    for owner, customers in by_owner.items():
        for part, start in enumerate(range(0, len(customers), ROUND_SIZE)):
            chunk = customers[start : start + ROUND_SIZE]
            subject = f"checkin-round:{owner}:{period}:{part}"
            result.note(f"DM to {owner}: is {', '.join(name for _, name in chunk)} still happy?")
            if dry_run:
                continue
            for customer_id, _ in chunk:
                session.add(
                    CheckIn(
                        customer_id=customer_id,
                        purpose=CheckInPurpose.PERIODIC.value,
                        status=CheckInStatus.PENDING.value,
                        asked_of=owner,
                        asked_by=SYSTEM,
                        asked_at=now,
                        round_subject=subject,
                    )
                )
            enqueue(session, key=subject, kind=kinds.CHECKIN_ROUND, recipient=owner, subject=subject)
    # The owners' Homes list the check-ins waiting for them; the managers' the check-ins awaiting answers.
    if by_owner:
        _refresh_homes(session, dry_run, [*by_owner, *settings.managers])
    if ownerless:
        year, number, _ = _local(now, settings).isocalendar()
        week = f"{year}-W{number:02d}"  # reported once a week until they get an owner, not every run
        names = ", ".join(name for _, name in ownerless[:10]) + (" …" if len(ownerless) > 10 else "")
        for manager in settings.managers:
            stale = f"{plural(len(ownerless), 'stale customer')} {'has' if len(ownerless) == 1 else 'have'}"
            result.note(f"DM to {manager}: {stale} no account owner ({names})")
            if not dry_run:
                enqueue(
                    session,
                    key=f"ownerless:{manager}:{week}",
                    kind=kinds.OWNERLESS,
                    recipient=manager,
                    subject=f"ownerless:{week}",
                    params={"customer_ids": [cid for cid, _ in ownerless]},
                )
    if not stale:
        result.skipped = "every referenceable customer has a fresh check-in or one waiting"


# -- 2. reminders: unanswered check-ins, waiting approvals, outcome follow-ups ----------------------------


def run_reminders(session: Session, settings: Settings, now: datetime, dry_run: bool, result: JobResult) -> None:
    _remind_owners(session, settings, now, dry_run, result)
    _escalate_owners(session, settings, now, dry_run, result)
    _remind_approvals(session, settings, now, dry_run, result)
    _follow_up_outcomes(session, settings, now, dry_run, result)


def _unanswered(session: Session, older_than: datetime, stamp: object) -> list[CheckIn]:
    return list(
        session.scalars(
            select(CheckIn)
            .where(CheckIn.status == CheckInStatus.PENDING, CheckIn.asked_at <= older_than, stamp.is_(None))  # type: ignore[attr-defined]
            .order_by(CheckIn.asked_of, CheckIn.id)
        )
    )


def _asked_in(checkin: CheckIn) -> str:
    """The subject of the message that asked this check-in (a grouped round, or its own card)."""
    return checkin.round_subject or f"checkin:{checkin.id}"


def _remind_owners(session: Session, settings: Settings, now: datetime, dry_run: bool, result: JobResult) -> None:
    """One reminder after REFBOT_CHECKIN_REMIND_DAYS for each message still waiting on its owner.

    The reminder shares the subject of the message it reminds about, so an answer given in either one
    updates both in place: no stale button is left in the conversation.
    """
    due = _unanswered(session, now - timedelta(days=settings.checkin_remind_days), CheckIn.reminded_at)
    by_message: dict[tuple[str, str], list[CheckIn]] = defaultdict(list)
    for checkin in due:
        by_message[(checkin.asked_of, _asked_in(checkin))].append(checkin)
    for (owner, subject), checkins in by_message.items():
        result.note(f"Reminder to {owner}: {plural(len(checkins), 'check-in')} unanswered")
        if dry_run:
            continue
        for checkin in checkins:
            checkin.reminded_at = now
        enqueue(
            session,
            key=f"reminder:{subject}",
            kind=kinds.CHECKIN_REMINDER,
            recipient=owner,
            subject=subject,
            params={"checkin_ids": [c.id for c in checkins]},
        )
    if by_message:  # the managers' list of check-ins awaiting answers marks them "reminded"
        _refresh_homes(session, dry_run, settings.managers)


def _escalate_owners(session: Session, settings: Settings, now: datetime, dry_run: bool, result: JobResult) -> None:
    """After twice the reminder delay, the managers hear which owners are not answering."""
    due = _unanswered(session, now - timedelta(days=2 * settings.checkin_remind_days), CheckIn.escalated_at)
    if not due:
        return
    owners = sorted({c.asked_of for c in due})
    for manager in settings.managers:
        result.note(f"DM to {manager}: owners not answering check-ins: {', '.join(owners)}")
        if not dry_run:
            enqueue(
                session,
                key=f"checkin-escalation:{manager}:{result.period}",
                kind=kinds.CHECKIN_ESCALATION,
                recipient=manager,
                subject=f"checkin-escalation:{result.period}",
                params={"checkin_ids": [c.id for c in due]},
            )
    if not dry_run:
        for checkin in due:
            checkin.escalated_at = now
    # From the same moment the managers' at-risk list counts these customers as silent.
    _refresh_homes(session, dry_run, settings.managers)


def _remind_approvals(session: Session, settings: Settings, now: datetime, dry_run: bool, result: JobResult) -> None:
    """A request waiting past the approval SLA is re-surfaced to the managers once per SLA period."""
    sla = timedelta(hours=settings.approval_sla_hours)
    waiting = session.scalars(
        select(ReferenceRequest)
        .where(
            ReferenceRequest.status.in_([RequestStatus.SUBMITTED, RequestStatus.AWAITING_CHECKIN]),
            ReferenceRequest.created_at <= now - sla,
        )
        .order_by(ReferenceRequest.created_at)
    ).all()
    for request in waiting:
        periods = int((now - request.created_at) / sla)
        for manager in settings.managers:
            key = f"request:{request.id}:sla:{periods}:{manager}"
            if session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)):
                continue
            result.note(
                f"Reminder to {manager}: request #{request.id} has waited {periods * settings.approval_sla_hours}+ h"
            )
            if not dry_run:
                enqueue(session, key=key, kind=kinds.SLA_REMINDER, recipient=manager, subject=f"request:{request.id}")


def outcome_due_at(request: ReferenceRequest, settings: Settings) -> datetime | None:
    """When to ask how it went: the end of the needed-by day, else N days after approval."""
    if request.needed_by is not None:
        end_of_day = datetime.combine(request.needed_by + timedelta(days=1), time.min, tzinfo=settings.tz)
        return end_of_day.astimezone(UTC)
    if request.decided_at is not None:
        return request.decided_at + timedelta(days=settings.outcome_followup_days)
    return None


def _follow_up_outcomes(session: Session, settings: Settings, now: datetime, dry_run: bool, result: JobResult) -> None:
    approved = session.scalars(
        select(ReferenceRequest).where(ReferenceRequest.status == RequestStatus.APPROVED).order_by(ReferenceRequest.id)
    ).all()
    reps_asked: list[str] = []  # their Home now puts the request first, under "how did it go?"
    for request in approved:
        due = outcome_due_at(request, settings)
        if due is None or now < due:
            continue
        ask_key = f"request:{request.id}:outcome-ask"
        asked = session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == ask_key)).first()
        if asked is None:
            result.note(f"DM to {request.requester_id}: how did the reference for request #{request.id} go?")
            if not dry_run:
                enqueue(
                    session,
                    key=ask_key,
                    kind=kinds.OUTCOME_ASK,
                    recipient=request.requester_id,
                    subject=f"request:{request.id}",
                )
            reps_asked.append(request.requester_id)
            continue
        if now - asked.created_at >= timedelta(days=settings.outcome_remind_days):
            remind_key = f"request:{request.id}:outcome-reminder"
            if session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == remind_key)):
                continue
            result.note(f"Reminder to {request.requester_id}: outcome of request #{request.id}")
            if not dry_run:
                enqueue(
                    session,
                    key=remind_key,
                    kind=kinds.OUTCOME_REMINDER,
                    recipient=request.requester_id,
                    subject=f"request:{request.id}",
                )
    _refresh_homes(session, dry_run, reps_asked)


# -- 3. consent expiry ------------------------------------------------------------------------------------


def run_consents(session: Session, settings: Settings, now: datetime, dry_run: bool, result: JobResult) -> None:
    """Thirty days (REFBOT_CONSENT_NOTICE_DAYS) before a public-use consent expires, tell owner and managers once."""
    today = _local(now, settings).date()
    horizon = today + timedelta(days=settings.consent_notice_days)
    expiring = session.scalars(
        select(Consent)
        .where(
            Consent.expires_on.is_not(None),
            Consent.expires_on >= today,
            Consent.expires_on <= horizon,
            or_(Consent.expiry_notice_for.is_(None), Consent.expiry_notice_for != Consent.expires_on),
        )
        .order_by(Consent.expires_on)
    ).all()
    for consent in expiring:
        customer = consent.customer
        recipients = list(dict.fromkeys([*(r for r in [customer.owner_slack_id] if r), *settings.managers]))
        for recipient in recipients:
            result.note(f"DM to {recipient}: {customer.name}'s {consent.ref_type} consent expires {consent.expires_on}")
            if not dry_run:
                enqueue(
                    session,
                    key=f"consent:{consent.id}:expiry:{consent.expires_on}:{recipient}",
                    kind=kinds.CONSENT_EXPIRING,
                    recipient=recipient,
                    subject=f"consent:{consent.id}",
                )
        if not dry_run:
            consent.expiry_notice_for = consent.expires_on
    if expiring:  # the managers' Homes list consents running out from the same day on
        _refresh_homes(session, dry_run, settings.managers)


# -- 4. housekeeping: ledgers that would otherwise grow forever -------------------------------------------

# Slack retries an unacknowledged delivery three times within about five minutes, and a trigger_id is dead
# after 30 minutes: a delivery recorded a day ago can never come again, so its record may go. A day rather
# than an hour leaves a wide margin for a stalled replica or a skewed clock, and costs only a day of rows.
DELIVERIES_KEPT = timedelta(hours=24)
# A delivered App Home refresh is read by nothing once it is out, except a person's newest one (it is how
# `refresh_homes` knows they have a Home); older delivered ones go after a day. Pending and failed rows stay.
HOME_REFRESHES_KEPT = timedelta(hours=24)
# A delivered card refresh (`chat.update` of cards already out) is read by nothing once it has gone: its key
# is new for every change, so deleting it cannot let anything be sent twice. Failed ones stay for `refbot outbox`.
CARD_REFRESHES_KEPT = timedelta(hours=24)
# Rows per DELETE, each in a transaction of its own: a backlog (the first run on a busy workspace) is worked
# through in short transactions, so PostgreSQL never holds one open for minutes and SQLite writers interleave.
CLEANUP_BATCH = 5000


@dataclass(frozen=True)
class Sweep:
    """One kind of row that nothing reads once it is `kept` old: `stale(cutoff)` selects their keys."""

    what: str
    kept: timedelta
    key: InstrumentedAttribute[Any]
    stale: Callable[[datetime], Select[Any]]


def _stale_deliveries(cutoff: datetime) -> Select[Any]:
    return (
        select(InboundDelivery.key)
        .where(InboundDelivery.received_at < cutoff)
        .order_by(InboundDelivery.received_at)  # ix_inbound_deliveries_received_at
    )


def _stale_home_refreshes(cutoff: datetime) -> Select[Any]:
    newer = aliased(OutboxMessage)
    return (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.kind == kinds.HOME,
            OutboxMessage.status.in_([OutboxStatus.SENT.value, OutboxStatus.SKIPPED.value]),
            OutboxMessage.created_at < cutoff,
            exists().where(
                newer.subject == OutboxMessage.subject, newer.kind == kinds.HOME, newer.id > OutboxMessage.id
            ),
        )
        .order_by(OutboxMessage.id)
    )


def _stale_card_refreshes(cutoff: datetime) -> Select[Any]:
    return (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.kind == kinds.REFRESH,
            OutboxMessage.status.in_([OutboxStatus.SENT.value, OutboxStatus.SKIPPED.value]),
            OutboxMessage.created_at < cutoff,
        )
        .order_by(OutboxMessage.id)
    )


SWEEPS: dict[str, Sweep] = {
    "inbound deliveries": Sweep("Slack deliveries received", DELIVERIES_KEPT, InboundDelivery.key, _stale_deliveries),
    "home refreshes": Sweep(
        "App Home refreshes delivered", HOME_REFRESHES_KEPT, OutboxMessage.id, _stale_home_refreshes
    ),
    "card refreshes": Sweep("card updates delivered", CARD_REFRESHES_KEPT, OutboxMessage.id, _stale_card_refreshes),
}


def run_digest(session: Session, settings: Settings, now: datetime, dry_run: bool, result: JobResult) -> None:
    """The scheduled job: the week just ended, once per channel and week (the key, not the run, decides)."""
    period = digest.digest_week(now, settings.tz)
    if not settings.digest_channel:
        result.skipped = digest.NO_CHANNEL
        return
    key = digest.digest_key(settings.digest_channel, period)
    if dry_run:
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None:
            result.skipped = f"the digest for {period.label} was already sent to {settings.digest_channel}"
        else:
            result.note(f"Digest for {period.label} ({period.title}) to {settings.digest_channel}")
        return
    if digest.enqueue_digest(session, settings, period):
        result.note(f"Digest for {period.label} ({period.title}) to {settings.digest_channel}")
    else:
        result.skipped = f"the digest for {period.label} was already sent to {settings.digest_channel}"


def run_cleanup(session: Session, settings: Settings, now: datetime, dry_run: bool, result: JobResult) -> None:
    """Delete rows that only ever grow and that nothing reads any more (see SWEEPS), a batch at a time.

    `inbound_deliveries` gains a row per click, command and event; the outbox a `home` row per change for
    every manager (and each person concerned) who has opened the App Home, and a `refresh` row per change
    to a request or check-in. All are only needed for a while.
    """
    names = list(SWEEPS)
    start = names.index(result.resume) if result.resume else 0
    result.resume = ""
    for name in names[start:]:
        sweep = SWEEPS[name]
        cutoff = now - sweep.kept
        before = f"before {_local(cutoff, settings):%Y-%m-%d %H:%M %Z}"
        if dry_run:
            found = int(session.scalar(select(func.count()).select_from(sweep.stale(cutoff).subquery())) or 0)
            result.removed[name] = found
            result.note(f"would delete {found} {name} ({sweep.what} {before})", messages=0)
            continue
        batch = sweep.stale(cutoff).limit(CLEANUP_BATCH)
        deleted = session.execute(
            delete(sweep.key.class_).where(sweep.key.in_(batch)), execution_options={"synchronize_session": False}
        ).rowcount
        total = result.removed[name] = result.removed.get(name, 0) + deleted
        if deleted >= CLEANUP_BATCH:
            result.resume = name  # more to go: the next batch in a transaction of its own
            return
        result.note(f"deleted {total} {name} ({sweep.what} {before})", messages=0)
    if not any(result.removed.values()):
        result.skipped = "nothing old enough to delete"


# -- 5. the CRM sync ----------------------------------------------------------------------------------------


def run_crm(db: Database, settings: Settings, now: datetime, dry_run: bool, result: JobResult, worker: str) -> None:
    """Bring the CRM's changes in (a full pass when REFBOT_SCHEDULE_CRM_FULL has fired since the last one).

    It claims its period like every job, then syncs a page per transaction (bot.crm.sync), under the sync's
    own lease, so a sync running long is never run twice at once by the next period on another replica.
    """
    from bot.crm.runner import full_pass_due, sync_now

    if not settings.crm_name:
        result.skipped = "no CRM is connected (README: 'Connect your CRM')"
        return
    report = sync_now(db, settings, full=full_pass_due(db, settings, now), dry_run=dry_run, worker=worker)
    result.lines.extend(report.lines())
    result.messages += report.told
    if report.busy:
        result.skipped = report.busy
    elif report.error:
        result.skipped = f"stopped: {report.error}"


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "checkins",
            "ask owners whether their stale customers are still happy (one DM per owner)",
            run_checkins,
            lambda s: s.schedule_checkins,
            _day_period,
        ),
        Job(
            "reminders",
            "remind unanswered owners, escalate to managers, re-surface late approvals, ask for outcomes",
            run_reminders,
            lambda s: s.schedule_reminders,
            _hour_period,
        ),
        Job(
            "consents",
            "warn owners and managers of public-use consents expiring soon",
            run_consents,
            lambda s: s.schedule_consents,
            _day_period,
        ),
        Job(
            "digest",
            "post last week's digest to REFBOT_DIGEST_CHANNEL (once per ISO week)",
            run_digest,
            lambda s: s.schedule_digest,
            _digest_period,
        ),
        Job(
            "cleanup",
            "delete Slack delivery records and delivered App Home refreshes older than a day",
            run_cleanup,
            lambda s: s.schedule_cleanup,
            _day_period,
        ),
        Job(
            "crm",
            "bring customers, owners, contacts and opportunities in from the CRM (a full pass nightly)",
            None,
            lambda s: s.schedule_crm,
            _quarter_hour_period,
            long_run=run_crm,
        ),
    )
}


def _claim(session: Session, job: str, period: str, worker: str, now: datetime) -> bool:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(JobRun)
        .values(
            job=job, period=period, status="running", claimed_by=worker, claimed_until=now, started_at=now, summary={}
        )
        .on_conflict_do_nothing()
        .returning(JobRun.id)
    )
    return session.execute(stmt).first() is not None


def run_job(
    db: Database,
    settings: Settings,
    name: str,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    period: str | None = None,
    worker: str = "cli",
    force: bool = False,
) -> JobResult:
    """Run one job for its current period, once across all replicas (unless `force` or `dry_run`)."""
    job = JOBS[name]
    now = now or utcnow()
    result = JobResult(job=name, period=period or job.period(settings, now))
    if dry_run and job.run is not None:
        with db.reading() as session:
            job.run(session, settings, now, True, result)
        return result
    if force and not dry_run:
        # A forced run is a period of its own, for its claim *and* its messages' keys: reusing the period's
        # keys would make its DMs no-ops (the earlier run's rows hold them) while its check-ins are recorded.
        # Kept short: the period ends up in outbox subjects (60 characters).
        result.period = f"{result.period}#{now:%H%M%S%f}"
    if job.long_run is not None:
        return _run_long(db, settings, job, result, now, dry_run, worker)
    with db.transaction() as session:
        if not _claim(session, name, result.period, worker, now):
            result.skipped = f"already run for {result.period} (by another replica or an earlier run)"
            return result
        assert job.run is not None
        job.run(session, settings, now, False, result)
        _record(session, name, result)
        result.queued += session.info.get(ENQUEUED_KEYS, [])
    while result.resume:  # stopped at a batch limit: go on, each batch in a short transaction of its own
        with db.transaction() as session:
            job.run(session, settings, now, False, result)
            _record(session, name, result)
    log.info(
        "job %s for %s: %s message(s)%s%s",
        name,
        result.period,
        result.messages,
        f", {sum(result.removed.values())} row(s) deleted" if result.removed else "",
        f" ({result.skipped})" if result.skipped else "",
    )
    return result


def _run_long(
    db: Database, settings: Settings, job: Job, result: JobResult, now: datetime, dry_run: bool, worker: str
) -> JobResult:
    """Claim the period in a short transaction of its own, then let the job work in its own transactions."""
    assert job.long_run is not None
    if dry_run:
        job.long_run(db, settings, now, True, result, worker)
        return result
    with db.transaction() as session:
        if not _claim(session, job.name, result.period, worker, now):
            result.skipped = f"already run for {result.period} (by another replica or an earlier run)"
            return result
    try:
        job.long_run(db, settings, now, False, result, worker)
    finally:
        with db.transaction() as session:
            _record(session, job.name, result)
    log.info(
        "job %s for %s: %s%s",
        job.name,
        result.period,
        f"{result.messages} message(s)",
        f" ({result.skipped})" if result.skipped else "",
    )
    return result


def _record(session: Session, name: str, result: JobResult) -> None:
    """What the run did, on its claim; `running` until its last batch (a run cut short says so)."""
    run = session.scalars(select(JobRun).where(and_(JobRun.job == name, JobRun.period == result.period))).one()
    run.status = "running" if result.resume else "done"
    run.finished_at = None if result.resume else utcnow()
    summary: dict[str, Any] = {"messages": result.messages, "lines": result.lines[:50]}
    if result.removed:
        summary["removed"] = dict(result.removed)
    run.summary = summary
