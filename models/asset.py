"""The content library: case studies, quotes, logos and the like made from a customer, and each use of one."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from models.customer import Customer


class Asset(Base):
    """One piece of content that depends on a customer's consent for one public use (SPEC rule 2)."""

    __tablename__ = "assets"
    __table_args__ = (Index("ix_assets_customer_kind", "customer_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), index=True)  # bot.assets.AssetKind
    title: Mapped[str] = mapped_column(String(300))
    # Lower-cased, whitespace-folded title: the search scans this, not the display title.
    title_key: Mapped[str] = mapped_column(String(300), index=True)
    link: Mapped[str] = mapped_column(String(1000))
    # The public-use consent the asset depends on (a RefType value: quote, logo, case_study, …).
    consent_type: Mapped[str] = mapped_column(String(20))
    published_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    industry: Mapped[str] = mapped_column(String(100), default="")
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    added_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    customer: Mapped[Customer] = relationship()
    uses: Mapped[list[AssetUse]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", order_by="AssetUse.used_at"
    )


class AssetUse(Base):
    """Someone used an asset (who, for which prospect or opportunity, when): what "content used" counts."""

    __tablename__ = "asset_uses"
    __table_args__ = (
        Index("ix_asset_uses_asset_used", "asset_id", "used_at"),
        Index("ix_asset_uses_used_at", "used_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    used_by: Mapped[str] = mapped_column(String(64))
    prospect: Mapped[str] = mapped_column(String(150))
    opportunity: Mapped[str] = mapped_column(String(150), default="")
    used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The Slack view the use was submitted from: a retried or double submission records one use, not two.
    via: Mapped[str | None] = mapped_column(String(64), unique=True)

    asset: Mapped[Asset] = relationship(back_populates="uses")
