"""Scheduled job runs, claimed in the database so that several replicas run each period once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.types import UTCDateTime, utcnow


class JobRun(Base):
    """One job for one period ("checkins" for 2026-11-23T09:00): the unique key is the claim."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    period: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))  # running, done, failed
    claimed_by: Mapped[str] = mapped_column(String(64))
    claimed_until: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WatchedChannel(Base):
    """A channel where a manager opted in to shadow-market capture (`/reference watch`)."""

    __tablename__ = "watched_channels"

    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled_by: Mapped[str] = mapped_column(String(32))
    enabled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
