"""The `cleanup` job (`bot.jobs.run_cleanup`): Slack delivery records and delivered App Home and card refreshes are
deleted once nothing can read them, in batches of their own transactions, once per day; on SQLite and, with
TEST_DATABASE_URL, PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import event, func, select

from bot import cli, home_record, jobs, kinds
from bot.jobs import DELIVERIES_KEPT, JOBS, run_job
from bot.outbox import remember_delivery
from bot.settings import Settings
from models import InboundDelivery, JobRun, OutboxMessage
from models.db import Database
from models.enums import OutboxStatus
from tests.conftest import MANAGER, MANAGER_2, REP

# 03:30 in Berlin on a winter Tuesday (the default schedule's fire time) is 02:30 UTC.
NOW = datetime(2026, 2, 10, 2, 30, tzinfo=UTC)


def deliveries(db: Database, *ages: timedelta) -> None:
    """One recorded delivery per age, keyed by it (`age:<seconds>`), received that long before NOW."""
    with db.transaction() as session:
        for age in ages:
            session.add(InboundDelivery(key=f"age:{int(age.total_seconds())}", received_at=NOW - age))


def kept_deliveries(db: Database) -> list[str]:
    with db.reading() as session:
        return list(session.scalars(select(InboundDelivery.key).order_by(InboundDelivery.received_at.desc())))


def outbox_row(
    db: Database, key: str, *, kind: str = kinds.HOME, user: str = MANAGER, status: str = "sent", age: timedelta
) -> None:
    at = NOW - age
    with db.transaction() as session:
        session.add(
            OutboxMessage(
                idempotency_key=key,
                kind=kind,
                recipient=user,
                subject=home_record.home_subject(user) if kind == kinds.HOME else "request:1",
                params={},
                status=status,
                attempts=1,
                next_attempt_at=at,
                last_error="",
                created_at=at,
                sent_at=at if status in ("sent", "skipped") else None,
            )
        )


def outbox_keys(db: Database) -> list[str]:
    with db.reading() as session:
        return list(session.scalars(select(OutboxMessage.idempotency_key).order_by(OutboxMessage.id)))


def job_runs(db: Database) -> list[tuple[str, str, str, dict[str, Any]]]:
    with db.reading() as session:
        return [(r.job, r.period, r.status, r.summary) for r in session.scalars(select(JobRun).order_by(JobRun.id))]


def test_old_deliveries_go_and_a_days_worth_stays(db: Database, settings: Settings) -> None:
    day = DELIVERIES_KEPT
    deliveries(db, timedelta(days=40), day + timedelta(seconds=1), day, timedelta(minutes=5))

    result = run_job(db, settings, "cleanup", now=NOW)

    # Exactly a day old stays (a retry of it is still recognised); anything older is gone.
    assert kept_deliveries(db) == ["age:300", f"age:{int(day.total_seconds())}"]
    assert result.removed == {"inbound deliveries": 2, "home refreshes": 0, "card refreshes": 0}
    assert result.lines[0] == "deleted 2 inbound deliveries (Slack deliveries received before 2026-02-09 03:30 CET)"
    assert result.messages == 0 and result.skipped == ""
    with db.transaction() as session:  # the kept record still drops a Slack retry
        assert remember_delivery(session, "age:300") is False


def test_runs_once_per_day_and_again_the_next(db: Database, settings: Settings) -> None:
    deliveries(db, timedelta(days=2))
    assert run_job(db, settings, "cleanup", now=NOW).removed["inbound deliveries"] == 1

    deliveries(db, timedelta(days=3))
    again = run_job(db, settings, "cleanup", now=NOW + timedelta(hours=5))
    assert "already run for 2026-02-10" in again.skipped and again.removed == {}
    assert kept_deliveries(db) == ["age:259200"]
    assert job_runs(db) == [
        (
            "cleanup",
            "2026-02-10",
            "done",
            {
                "messages": 0,
                "lines": [
                    "deleted 1 inbound deliveries (Slack deliveries received before 2026-02-09 03:30 CET)",
                    "deleted 0 home refreshes (App Home refreshes delivered before 2026-02-09 03:30 CET)",
                    "deleted 0 card refreshes (card updates delivered before 2026-02-09 03:30 CET)",
                ],
                "removed": {"inbound deliveries": 1, "home refreshes": 0, "card refreshes": 0},
            },
        )
    ]

    next_day = run_job(db, settings, "cleanup", now=NOW + timedelta(days=1))
    assert next_day.removed["inbound deliveries"] == 1 and kept_deliveries(db) == []
    quiet = run_job(db, settings, "cleanup", now=NOW + timedelta(days=2))
    assert quiet.skipped == "nothing old enough to delete"


def test_a_backlog_goes_in_batches_each_in_its_own_transaction(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "CLEANUP_BATCH", 3)
    deliveries(db, *(timedelta(days=2, minutes=n) for n in range(10)), timedelta(hours=1))
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _conn: commits.append(1))

    result = run_job(db, settings, "cleanup", now=NOW)

    assert result.removed == {"inbound deliveries": 10, "home refreshes": 0, "card refreshes": 0}
    assert kept_deliveries(db) == ["age:3600"]
    # The claim with the first 3, then 3, then 3, then the last one and the (empty) home refreshes.
    assert len(commits) == 4
    assert [(job, status) for job, _, status, _ in job_runs(db)] == [("cleanup", "done")]


def test_a_run_cut_short_says_so_and_the_next_day_finishes(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "CLEANUP_BATCH", 3)
    deliveries(db, *(timedelta(days=2, minutes=n) for n in range(7)))
    calls: list[int] = []

    def dies_on_the_second_batch(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("the database went away")
        jobs.run_cleanup(*args)

    monkeypatch.setitem(JOBS, "cleanup", replace(JOBS["cleanup"], run=dies_on_the_second_batch))
    with pytest.raises(ConnectionError):
        run_job(db, settings, "cleanup", now=NOW)
    assert len(kept_deliveries(db)) == 4, "the first batch was committed with the claim"
    assert [(job, status) for job, _, status, _ in job_runs(db)] == [("cleanup", "running")]

    monkeypatch.undo()
    monkeypatch.setattr(jobs, "CLEANUP_BATCH", 3)
    assert run_job(db, settings, "cleanup", now=NOW + timedelta(days=1)).removed["inbound deliveries"] == 4
    assert kept_deliveries(db) == []


def test_delivered_home_refreshes_go_but_each_persons_newest_stays(db: Database, settings: Settings) -> None:
    old, recent = timedelta(days=2), timedelta(hours=1)
    outbox_row(db, f"home:{MANAGER}:opened", age=timedelta(days=30))
    outbox_row(db, f"home:{MANAGER}:a", age=old)
    outbox_row(db, f"home:{MANAGER}:b", status="skipped", age=old)  # superseded by a newer one
    outbox_row(db, f"home:{MANAGER}:c", status="failed", age=old)  # `refbot outbox` shows it; `retry` re-queues
    outbox_row(db, f"home:{MANAGER}:d", status="pending", age=old)  # still to go out
    outbox_row(db, f"home:{MANAGER}:e", age=recent)
    outbox_row(db, f"home:{REP}:opened", user=REP, age=timedelta(days=30))  # the rep's only row: their Home on record
    outbox_row(db, f"home:{MANAGER_2}:a", user=MANAGER_2, age=old)
    outbox_row(db, f"home:{MANAGER_2}:b", user=MANAGER_2, age=old)  # newest of MANAGER_2's, however old
    outbox_row(db, "request:1:card", kind=kinds.MANAGER_CARD, age=timedelta(days=30))  # cards are kept for updates

    result = run_job(db, settings, "cleanup", now=NOW)

    assert result.removed == {"inbound deliveries": 0, "home refreshes": 4, "card refreshes": 0}
    assert outbox_keys(db) == [
        f"home:{MANAGER}:c",
        f"home:{MANAGER}:d",
        f"home:{MANAGER}:e",
        f"home:{REP}:opened",
        f"home:{MANAGER_2}:b",
        "request:1:card",
    ]
    # Everyone who had a Home still has one on record: the next change refreshes all three.
    with db.transaction() as session:
        home_record.refresh_homes(session, [MANAGER, MANAGER_2, REP])
    with db.reading() as session:
        refreshed = session.scalars(
            select(OutboxMessage.recipient).where(
                OutboxMessage.kind == kinds.HOME, OutboxMessage.status == OutboxStatus.PENDING
            )
        ).all()
    assert sorted(refreshed) == sorted([MANAGER, MANAGER, MANAGER_2, REP])  # MANAGER's old pending `d`, too


def test_delivered_card_refreshes_go_after_a_day(db: Database, settings: Settings) -> None:
    old, recent = timedelta(days=2), timedelta(hours=1)
    outbox_row(db, "request:1:refresh:a", kind=kinds.REFRESH, age=old)
    outbox_row(db, "request:1:refresh:b", kind=kinds.REFRESH, status="skipped", age=old)
    outbox_row(db, "request:1:refresh:c", kind=kinds.REFRESH, status="failed", age=old)  # shown by `refbot outbox`
    outbox_row(db, "request:1:refresh:d", kind=kinds.REFRESH, status="pending", age=old)  # still to go
    outbox_row(db, "request:1:refresh:e", kind=kinds.REFRESH, age=recent)
    outbox_row(db, "request:1:card", kind=kinds.MANAGER_CARD, age=timedelta(days=30))  # the card it updated stays

    result = run_job(db, settings, "cleanup", now=NOW)

    assert result.removed == {"inbound deliveries": 0, "home refreshes": 0, "card refreshes": 2}
    assert outbox_keys(db) == [
        "request:1:refresh:c",
        "request:1:refresh:d",
        "request:1:refresh:e",
        "request:1:card",
    ]


def test_dry_run_counts_and_deletes_nothing(db: Database, settings: Settings) -> None:
    deliveries(db, timedelta(days=3), timedelta(days=2), timedelta(hours=2))
    outbox_row(db, f"home:{MANAGER}:a", age=timedelta(days=2))
    outbox_row(db, f"home:{MANAGER}:b", age=timedelta(days=2))

    result = run_job(db, settings, "cleanup", now=NOW, dry_run=True)

    assert result.removed == {"inbound deliveries": 2, "home refreshes": 1, "card refreshes": 0}
    assert result.lines == [
        "would delete 2 inbound deliveries (Slack deliveries received before 2026-02-09 03:30 CET)",
        "would delete 1 home refreshes (App Home refreshes delivered before 2026-02-09 03:30 CET)",
        "would delete 0 card refreshes (card updates delivered before 2026-02-09 03:30 CET)",
    ]
    assert len(kept_deliveries(db)) == 3 and len(outbox_keys(db)) == 2 and job_runs(db) == []


# -- the command line -----------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, database_url: str) -> None:
    """The CLI's environment: the test database, a manager, Berlin; no .env, no Slack token."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_API_URL", "REFBOT_SCHEDULER", "REFBOT_SCHEDULE_CLEANUP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REFBOT_MANAGERS", MANAGER)
    monkeypatch.setenv("REFBOT_TIMEZONE", "Europe/Berlin")


def test_cli_lists_cleanup_and_runs_it_dry_then_for_real(
    cli_env: None, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    deliveries(db, timedelta(days=2), timedelta(minutes=1))
    with freeze_time(NOW + timedelta(minutes=1)):  # just after today's run: the next is tomorrow night
        assert cli.main(["jobs", "list"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("cleanup ")]
    assert "30 3 * * *" in line and "2026-02-11 03:30:00 CET" in line and "older than a day" in line

    with freeze_time(NOW):
        assert cli.main(["jobs", "run", "cleanup", "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert "  would delete 1 inbound deliveries" in out
        assert "cleanup (2026-02-10): would delete 1 old row(s)" in out
        assert len(kept_deliveries(db)) == 2

        assert cli.main(["jobs", "run", "cleanup"]) == 0
        out = capsys.readouterr().out
        assert "cleanup (2026-02-10): deleted 1 old row(s)" in out and "message" not in out
        assert kept_deliveries(db) == ["age:60"]

        assert cli.main(["jobs", "run", "cleanup"]) == 0
        assert "already run for 2026-02-10" in capsys.readouterr().out
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(JobRun)) == 1
