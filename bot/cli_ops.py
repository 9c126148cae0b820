"""Operating commands: `refbot jobs list|run NAME [--dry-run] [--force]`, `refbot outbox [retry]` and
`refbot digest --dry-run|--post [--week 2026-W47]`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select, update

from bot.settings import Settings, SettingsError, cron_trigger
from models import OutboxMessage
from models.db import Database
from models.enums import OutboxStatus
from models.types import utcnow

OpenDatabase = Callable[[Settings], Database]


def add_parsers(sub: argparse._SubParsersAction, open_db: OpenDatabase) -> None:  # type: ignore[type-arg]
    jobs = sub.add_parser("jobs", help="scheduled jobs: list them, or run one now")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    jobs_sub.add_parser("list", help="each job, its schedule and its next run").set_defaults(
        func=lambda a, s: cmd_jobs_list(a, s)
    )
    run = jobs_sub.add_parser("run", help="run a job now (once per period across replicas, unless --force)")
    run.add_argument("name", help="checkins, reminders, consents, digest, cleanup or crm")
    run.add_argument("--dry-run", action="store_true", help="print what it would send or delete; change nothing")
    run.add_argument("--force", action="store_true", help="run even if this period already ran")
    run.set_defaults(func=lambda a, s: cmd_jobs_run(a, s, open_db))

    outbox = sub.add_parser("outbox", help="messages waiting to go out or failed; `retry` re-queues failed ones")
    outbox.add_argument("action", nargs="?", choices=["show", "retry"], default="show")
    outbox.add_argument("--limit", type=int, default=20, help="rows to list (default 20)")
    outbox.set_defaults(func=lambda a, s: cmd_outbox(a, s, open_db))

    digest = sub.add_parser("digest", help="the weekly digest: print it with its chart, or post it now")
    mode = digest.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="print the digest as text and write the chart to a file")
    mode.add_argument("--post", action="store_true", help="send it to REFBOT_DIGEST_CHANNEL now (once per week)")
    digest.add_argument("--week", help="the ISO week to cover, e.g. 2026-W47 (default: the last full week)")
    digest.add_argument(
        "--chart", type=Path, help="--dry-run: where to write the PNG (default: refbot-digest-WEEK.png)"
    )
    digest.set_defaults(func=lambda a, s: cmd_digest(a, s, open_db))


def cmd_jobs_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.jobs import JOBS

    now = utcnow()
    print(f"{'job':10} {'schedule':22} {'next run (' + settings.timezone + ')':28} what it does")
    for name, job in JOBS.items():
        schedule = job.schedule(settings)
        upcoming = cron_trigger(schedule, settings.timezone).get_next_fire_time(None, now)
        when = upcoming.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S %Z") if upcoming else "never"
        print(f"{name:10} {schedule:22} {when:28} {job.summary}")
    if not settings.run_scheduler:
        print("\nREFBOT_SCHEDULER is off: `serve` and `socket` will not run these on schedule.")
    return 0


def cmd_jobs_run(args: argparse.Namespace, settings: Settings, open_db: OpenDatabase) -> int:
    from bot.jobs import JOBS, run_job

    if args.name not in JOBS:
        print(f"refbot: no job named {args.name!r}; the jobs are {', '.join(JOBS)}.")
        return 1
    db = open_db(settings)
    result = run_job(db, settings, args.name, dry_run=args.dry_run, force=args.force)
    head = "would send" if args.dry_run else "enqueued"
    for line in result.lines:
        print(f"  {line}")
    if result.skipped:
        print(f"{args.name}: {result.skipped}")
    did = [f"{head} {result.messages} message(s)"] if result.messages or not result.removed else []
    if result.removed:
        did.append(f"{'would delete' if args.dry_run else 'deleted'} {sum(result.removed.values())} old row(s)")
    print(f"{args.name} ({result.period}): {', '.join(did)}")
    if not args.dry_run and result.messages:
        keys = _messages(db, result.queued)
        already = _standing(db, keys).get(OutboxStatus.SENT, 0)
        _deliver_now(db, settings)
        print(f"{args.name}: {_where_they_stand(_standing(db, keys), already)}")
    return 0


def _messages(db: Database, keys: list[str]) -> list[str]:
    """The queued keys that are messages to people (not App Home or in-place card refreshes)."""
    from bot.kinds import HOME, REFRESH

    if not keys:
        return []
    with db.reading() as session:
        found = session.scalars(
            select(OutboxMessage.idempotency_key).where(
                OutboxMessage.idempotency_key.in_(keys), OutboxMessage.kind.not_in([REFRESH, HOME])
            )
        ).all()
    return list(found)


def _standing(db: Database, keys: list[str]) -> dict[str, int]:
    """How many of the rows with `keys` are in each outbox status right now."""
    if not keys:
        return {}
    with db.reading() as session:
        rows = session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.idempotency_key.in_(keys))
            .group_by(OutboxMessage.status)
        ).all()
    return {status: count for status, count in rows}


def _where_they_stand(standing: dict[str, int], already_sent: int) -> str:
    """"2 messages queued: 1 already sent by a running refbot, 1 sent now." A server that is running
    delivers within seconds, often before this command can: so say who sent what, not "delivered 0"."""
    total = sum(standing.values())
    sent_now = standing.get(OutboxStatus.SENT, 0) - already_sent
    parts = []
    if already_sent:
        parts.append(f"{already_sent} already sent by a running refbot")
    if sent_now:
        parts.append(f"{sent_now} sent now")
    if standing.get(OutboxStatus.SKIPPED):
        parts.append(f"{standing[OutboxStatus.SKIPPED]} skipped (nothing left to say)")
    left = [
        f"{standing[status]} {words}"
        for status, words in ((OutboxStatus.PENDING, "waiting in the outbox"), (OutboxStatus.FAILED, "failed"))
        if standing.get(status)
    ]
    if left:
        parts.append(", ".join(left) + " (see `refbot outbox`)")
    return f"{total} message{'' if total == 1 else 's'} queued: {', '.join(parts) or 'none left'}."


def _deliver_now(db: Database, settings: Settings) -> None:
    """Send what is due, from this process, so `jobs run` is useful without a server."""
    from bot.app import create_app

    if not settings.slack_bot_token:
        print("No SLACK_BOT_TOKEN here: the messages wait in the outbox for a running refbot to send them.")
        return
    outbox = create_app(settings.with_overrides(run_scheduler=False), db=db).deps.outbox
    while outbox.deliver_due():
        pass


def cmd_digest(args: argparse.Namespace, settings: Settings, open_db: OpenDatabase) -> int:
    from bot import digest
    from bot.notifications import render_digest
    from slackfake.render import to_text

    now = utcnow()
    try:
        period = digest.parse_week(args.week, settings.tz) if args.week else digest.digest_week(now, settings.tz)
    except digest.UnknownPeriod as exc:
        print(f"refbot: {exc}")
        return 1
    if args.post and not settings.digest_channel:
        raise SettingsError(digest.NO_CHANNEL)
    db = open_db(settings)
    if args.dry_run:
        with db.reading() as session:
            _, rendered = render_digest(session, settings, period, now)
        print(to_text({"text": rendered.text, "blocks": rendered.blocks}))
        (filename, png, _title) = rendered.files[digest.CHART]
        path = args.chart or Path(filename)
        try:
            path.write_bytes(png)
        except OSError as exc:
            print(f"refbot: cannot write the chart to {path}: {exc.strerror or exc}")
            return 1
        print(f"\nchart: {path} ({len(png) / 1024:.0f} KB) · nothing was sent")
        if not settings.digest_channel:
            print("REFBOT_DIGEST_CHANNEL is not set: `refbot digest --post` needs it.")
        return 0
    with db.transaction() as session:
        enqueued = digest.enqueue_digest(session, settings, period)
    if not enqueued:
        print(
            f"The digest for {period.label} was already sent to {settings.digest_channel} (or is on its way): "
            "each week's digest goes out once."
        )
        return 0
    print(f"digest for {period.label} ({period.title}) enqueued for {settings.digest_channel}")
    _deliver_now(db, settings)
    return 0


def cmd_outbox(args: argparse.Namespace, settings: Settings, open_db: OpenDatabase) -> int:
    db = open_db(settings)
    if args.action == "retry":
        with db.transaction() as session:
            count = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.FAILED)
                .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=utcnow(), claimed_until=None)
            ).rowcount
        print(f"re-queued {count} failed message(s); a running refbot sends them within seconds")
        return 0
    with db.reading() as session:
        counts = dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]))
            .order_by(OutboxMessage.status, OutboxMessage.id)
            .limit(args.limit)
        ).all()
        summary = ", ".join(f"{counts.get(s.value, 0)} {s.value}" for s in OutboxStatus)
        print(f"outbox: {summary}")
        for row in rows:
            due = row.next_attempt_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S")
            error = f" · {row.last_error}" if row.last_error else ""
            print(
                f"  #{row.id} {row.status:7} {row.kind:26} to {row.recipient:12} "
                f"attempts {row.attempts} · next {due}{error}"
            )
    if counts.get(OutboxStatus.FAILED.value):
        print("`refbot outbox retry` re-queues the failed ones once the cause is fixed.")
    return 0
