"""The project's own CRMs: loopback fakes of the Salesforce and HubSpot APIs the connectors are tested against.

Each fake speaks its vendor's documented wire format (see each module's docstring for the behaviours it
covers) and is seeded and inspected through the same small surface, `FakeCrm`, so one sync test runs
against both CRMs.
"""

from __future__ import annotations

from typing import Literal, Protocol

from bot.crm.connector import CrmAccount, CrmContact, CrmOpportunity, CrmUser, Stream

Fault = Literal["rate_limit", "session_expired", "server_error", "bad_credentials"]


class FakeCrm(Protocol):
    """What a test may do with either fake. The fake stamps each record's last-modified time itself, with a
    clock that only moves forward, so `modified_at` on a seeded record is ignored."""

    name: str  # "salesforce" or "hubspot"

    def start(self) -> FakeCrm:
        """Serve on 127.0.0.1 on a free port, in a background thread; returns self."""
        ...

    def stop(self) -> None: ...

    def env(self) -> dict[str, str]:
        """The environment refbot needs to reach this fake (base URL, credentials; REQUESTS_CA_BUNDLE for TLS)."""
        ...

    def upsert(self, record: CrmUser | CrmAccount | CrmContact | CrmOpportunity) -> str:
        """Create or change a record (an empty `crm_id` creates one with a CRM-native id); returns its id."""
        ...

    def delete(self, stream: Stream, crm_id: str) -> None:
        """Delete (Salesforce: to the recycle bin; HubSpot: archive) a record, as a user in the CRM would."""
        ...

    def activities(self) -> list[dict[str, str]]:
        """Every activity written to the fake, oldest first: `crm_id`, `opportunity_crm_id`, `subject`, `body`."""
        ...

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        """Answer the next `times` API calls with this fault, in the vendor's own error format."""
        ...

    def requests(self) -> list[tuple[str, str]]:
        """(method, path with query) of every API call received, for tests that count calls."""
        ...
