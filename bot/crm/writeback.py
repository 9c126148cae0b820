"""Write-back: a reference approved for a linked opportunity is recorded on it in the CRM, and updated when
the outcome is recorded (Salesforce: a completed Task; HubSpot: a note on the deal).

Each write is an outbox row enqueued in the decision's own transaction (`record_decision`), delivered by the
outbox worker through `CrmWriter` with the outbox's claim, lease, backoff and uncertain-write rules. A
request has one activity in the CRM, keyed `crm:request:<id>`: before re-sending a write that may have
landed, and before every update, the writer asks the CRM for the activity with that key, so no retry, crash
or second replica can ever write it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import kinds
from bot.crm.connect import NOT_CONNECTED, NotConnected, connect
from bot.crm.connector import (
    Activity,
    Connector,
    CrmAuthError,
    CrmError,
    CrmPermissionError,
    CrmRateLimited,
    CrmRecordGone,
)
from bot.crm.mapping import crm_label
from bot.outbox import ExternalFailure, ExternalRetry, enqueue
from bot.settings import Settings
from models import CrmUser, Opportunity, OutboxMessage, ReferenceRequest
from models.enums import OutboxStatus, Outcome, RefType
from models.types import utcnow

Phase = Literal["approved", "outcome"]


def activity_key(request_id: int) -> str:
    """The one activity a request has in the CRM, as the CRM stores its key."""
    return f"crm:request:{request_id}"


def record_decision(session: Session, request: ReferenceRequest, phase: Phase) -> None:
    """Queue the CRM write this decision causes, in its transaction; nothing when no opportunity is linked."""
    if request.opportunity_id is None:
        return
    opportunity = session.get(Opportunity, request.opportunity_id)
    if opportunity is None or opportunity.deleted:
        return
    enqueue(
        session,
        key=f"{activity_key(request.id)}:{phase}:{opportunity.crm_id}",  # a re-linked request writes to the new deal
        kind=kinds.CRM_ACTIVITY,
        recipient=opportunity.crm,
        subject=activity_key(request.id),
        params={"phase": phase, "opportunity": opportunity.crm_id, "request_id": request.id},
    )


@dataclass(frozen=True)
class _Write:
    phase: str
    activity: Activity
    written: str | None = None  # the CRM id of the activity the approval wrote (its outbox row kept it)


def _person(session: Session, slack_id: str | None) -> str:
    """A Slack user as the CRM's people know them: their CRM user's name when refbot knows it."""
    if not slack_id:
        return "someone"
    name = session.scalar(select(CrmUser.name).where(CrmUser.slack_id == slack_id, CrmUser.name != "").limit(1))
    return name or f"Slack user {slack_id}"


def describe(session: Session, request: ReferenceRequest, opportunity_crm_id: str) -> Activity:
    """The activity as it should read now: the reference customer, the type and the manager; the outcome once known."""
    customer = request.customer.name if request.customer else "a customer"
    kind = RefType(request.ref_type).label
    lines = [
        f"{kind} with {customer} for {request.prospect}, approved in refbot by "
        f"{_person(session, request.decided_by)} (request #{request.id})."
    ]
    if request.contact is not None:
        lines.append(
            f"Reference contact: {request.contact.name}"
            + (f", {request.contact.title}" if request.contact.title else "")
        )
    if request.outcome:
        lines.append(f"Outcome reported by {_person(session, request.outcome_by)}: {Outcome(request.outcome).label}.")
        if request.held_on:
            lines.append(f"Held on {request.held_on.isoformat()}.")
        if request.feedback:
            lines.append(f"Feedback: {request.feedback}")
    return Activity(
        key=activity_key(request.id),
        opportunity_crm_id=opportunity_crm_id,
        subject=f"Customer reference: {customer} ({kind})"[:255],
        body="\n".join(lines),
        when=request.decided_at or utcnow(),
    )


class CrmWriter:
    """The outbox's sender for `crm.activity` rows (see `bot.outbox.ExternalSender`)."""

    def __init__(self, settings: Settings, connector_factory: Callable[[Settings], Connector] = connect) -> None:
        self.settings = settings
        self._factory = connector_factory
        self._connector: Connector | None = None

    def _connected(self) -> Connector:
        if self._connector is None:
            try:
                self._connector = self._factory(self.settings)
            except NotConnected:
                raise ExternalFailure(NOT_CONNECTED) from None
        return self._connector

    def prepare(self, session: Session, row: OutboxMessage) -> _Write | None:
        request = session.get(ReferenceRequest, int(row.params["request_id"]))
        if request is None or request.customer_id is None:
            return None
        written: str | None = None
        if row.params["phase"] == "outcome":
            approval = session.execute(
                select(OutboxMessage.status, OutboxMessage.slack_ts).where(
                    OutboxMessage.idempotency_key == f"{activity_key(request.id)}:approved:{row.params['opportunity']}"
                )
            ).first()
            if approval is not None and approval.status == OutboxStatus.PENDING:
                # Not written yet: when it is, it will carry the outcome too.
                raise ExternalRetry("waiting for the approval's activity to be written first", after=2.0, counts=False)
            written = approval.slack_ts if approval is not None else None
        activity = describe(session, request, str(row.params["opportunity"]))
        return _Write(str(row.params["phase"]), activity, written)

    def deliver(self, prepared: _Write, uncertain: bool) -> str:
        activity = prepared.activity
        label = crm_label(self.settings.crm_name or "")
        created = False
        try:
            connector = self._connected()
            if prepared.written is not None:  # rewrite the approval's activity by its id: no search to lag behind
                connector.update_activity(prepared.written, activity)
                return prepared.written
            if prepared.phase == "outcome" or uncertain:
                found = connector.find_activity(activity.key, activity.opportunity_crm_id)
                if found is not None:
                    if prepared.phase == "outcome":
                        connector.update_activity(found, activity)
                    return found
            created = True
            return connector.create_activity(activity)
        except CrmRateLimited as exc:
            raise ExternalRetry(f"{label} rate limit: {exc.message}", after=exc.retry_after, uncertain=False) from None
        except (CrmAuthError, CrmPermissionError, CrmRecordGone) as exc:
            self._connector = None if isinstance(exc, CrmAuthError) else self._connector
            raise ExternalFailure(exc.message) from None
        except CrmError as exc:
            raise ExternalRetry(exc.message, uncertain=created) from None
