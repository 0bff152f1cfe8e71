"""A failed delivery the advisor weighs, as ``intel.advisor.queries.candidates`` reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Candidate:
    """One failed delivery in the window, with its replay claim and stored state.

    ``status`` to ``response_headers`` are the triage evidence (the body cut to what
    triage reads); ``failed_at`` is the delivery's ``last_attempt_at``. ``claim_state``
    and ``claim_job`` are its ``replay_claims`` row (None: no job holds it);
    ``last_replay_failed_at`` is when its latest failed replay attempt finished.
    """

    id: str
    tenant: str
    endpoint: str
    created_at: datetime
    failed_at: datetime
    status: str = "failed"
    http_status: int | None = None
    error: str | None = None
    response_body: str | None = None
    response_headers: object = None
    no_payload: bool = False
    endpoint_disabled: bool = False
    claim_state: str | None = None
    claim_job: str | None = None
    last_replay_failed_at: datetime | None = None

    @property
    def order(self) -> tuple:
        """Oldest first, then tenant, endpoint and id: the order of every list shown."""
        return (self.created_at, self.tenant, self.endpoint, self.id)
