"""The domain's vocabulary, stored as short strings so both SQLite and PostgreSQL read them the same way."""

from __future__ import annotations

from enum import StrEnum


class RefType(StrEnum):
    """The nine kinds of reference (SPEC section 3, rule 1)."""

    CALL = "call"
    SITE_VISIT = "site_visit"
    NAME_DROP = "name_drop"
    CASE_STUDY = "case_study"
    PRESS_RELEASE = "press_release"
    ANALYST = "analyst"
    MEDIA = "media"
    LOGO = "logo"
    QUOTE = "quote"

    @property
    def is_public(self) -> bool:
        """Marketing (public) uses need the customer's consent on record."""
        return self not in SALES_TYPES

    @property
    def label(self) -> str:
        return _LABELS[self]


SALES_TYPES = (RefType.CALL, RefType.SITE_VISIT, RefType.NAME_DROP)
MARKETING_TYPES = (
    RefType.CASE_STUDY,
    RefType.PRESS_RELEASE,
    RefType.ANALYST,
    RefType.MEDIA,
    RefType.LOGO,
    RefType.QUOTE,
)
# Public uses where the customer must have been happy for a while, not "just became pleased last week".
TENURE_TYPES = (RefType.ANALYST, RefType.MEDIA)

_LABELS = {
    RefType.CALL: "Reference call",
    RefType.SITE_VISIT: "Site visit",
    RefType.NAME_DROP: "Name drop",
    RefType.CASE_STUDY: "Case study",
    RefType.PRESS_RELEASE: "Press release",
    RefType.ANALYST: "Analyst briefing",
    RefType.MEDIA: "Media interview",
    RefType.LOGO: "Logo (website/deck)",
    RefType.QUOTE: "Quote",
}


class RequestStatus(StrEnum):
    """States of a reference request (SPEC section 4); `bot.requests` owns the transitions."""

    SUBMITTED = "submitted"
    AWAITING_CHECKIN = "awaiting_checkin"
    APPROVED = "approved"
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self in (RequestStatus.SUBMITTED, RequestStatus.AWAITING_CHECKIN)


class Happiness(StrEnum):
    """An account owner's answer to "is this customer still happy?"."""

    HAPPY = "happy"
    CONCERNS = "concerns"
    UNHAPPY = "unhappy"

    @property
    def label(self) -> str:
        return {"happy": "Happy", "concerns": "Some concerns", "unhappy": "Unhappy"}[self.value]


class CheckInStatus(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    CANCELLED = "cancelled"


class CheckInPurpose(StrEnum):
    """Why an owner is being asked: to let an approval go ahead, or because a manager asked."""

    APPROVAL = "approval"
    ASK_OWNER = "ask_owner"
    PERIODIC = "periodic"


class Outcome(StrEnum):
    """How a reference went, in the requester's words (SPEC rule 7)."""

    HELPED = "helped"
    NEUTRAL = "neutral"
    HURT = "hurt"
    DID_NOT_HAPPEN = "did_not_happen"

    @property
    def label(self) -> str:
        return {"helped": "Helped", "neutral": "Neutral", "hurt": "Hurt", "did_not_happen": "Didn't happen"}[self.value]


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class AssetKind(StrEnum):
    """The kinds of content in the library, each with the public-use consent it normally depends on."""

    CASE_STUDY = "case_study"
    QUOTE = "quote"
    LOGO = "logo"
    VIDEO = "video"
    PRESS_RELEASE = "press_release"
    ANALYST_REPORT = "analyst_report"
    SLIDE = "slide"

    @property
    def label(self) -> str:
        return _ASSET_LABELS[self]

    @property
    def consent_type(self) -> RefType:
        """The consent an asset of this kind depends on unless the manager says otherwise."""
        return _ASSET_CONSENTS[self]


_ASSET_LABELS = {
    AssetKind.CASE_STUDY: "Case study",
    AssetKind.QUOTE: "Quote",
    AssetKind.LOGO: "Logo",
    AssetKind.VIDEO: "Video",
    AssetKind.PRESS_RELEASE: "Press release",
    AssetKind.ANALYST_REPORT: "Analyst report",
    AssetKind.SLIDE: "Slide",
}
_ASSET_CONSENTS = {
    AssetKind.CASE_STUDY: RefType.CASE_STUDY,
    AssetKind.QUOTE: RefType.QUOTE,
    AssetKind.LOGO: RefType.LOGO,
    AssetKind.VIDEO: RefType.MEDIA,
    AssetKind.PRESS_RELEASE: RefType.PRESS_RELEASE,
    AssetKind.ANALYST_REPORT: RefType.ANALYST,
    AssetKind.SLIDE: RefType.LOGO,
}
