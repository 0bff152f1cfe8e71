"""Endpoint health and open incidents, as the advisor weighs them.

An endpoint has **recovered** from a failure when it has answered successfully after it.
It is **failing again** when ``replay.advisor_down_again_failures`` or more transport/5xx
failures (no HTTP status, or 5xx) followed its latest success; with the default, 1, any
such failure counts, and a raised cutoff N tolerates up to N-1 of them (the endpoint
then still counts as recovered, and its ``health_note`` says how many). It is
**unstable** (flaky) when, within ``replay.advisor_unstable_window``, its failure
episodes (a transport/5xx failure right after a success) number at least
``replay.advisor_unstable_min_episodes`` and make up at least
``replay.advisor_unstable_share`` of its deliveries: an outage that recovered is one
episode, a flaky endpoint has many for its traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from intel.redact import redact_url
from intel.settings.replay import ReplaySettings
from intel.timeutil import to_rfc3339

PLATFORM = "*"  # an incident target that covers every endpoint and tenant

# Display labels of an endpoint (the decisions themselves are per delivery).
INCIDENT = "incident"
DOWN = "down"
FAILING_AGAIN = "failing again"
UNSTABLE = "unstable"
RECOVERED = "recovered"


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """One endpoint's evidence within the advisor's window, read from the deliveries of
    the caller's scope only. The default is an endpoint with no evidence at all."""

    last_success_at: datetime | None = None
    #: transport/5xx failures after ``last_success_at``
    down_failures_since: int = 0
    last_down_failure_at: datetime | None = None
    #: failure episodes within ``replay.advisor_unstable_window`` ...
    episodes: int = 0
    #: ... and all its deliveries there
    recent_deliveries: int = 0

    @property
    def clean(self) -> bool:
        """No transport/5xx failure at all since its latest success."""
        return self.down_failures_since == 0

    def recovered_after(self, failed_at: datetime) -> bool:
        """It has answered successfully after ``failed_at``."""
        return self.last_success_at is not None and self.last_success_at > failed_at

    def failing_again(self, settings: ReplaySettings) -> bool:
        return self.down_failures_since >= settings.advisor_down_again_failures

    def unstable(self, settings: ReplaySettings) -> bool:
        return (self.episodes >= settings.advisor_unstable_min_episodes
                and self.recent_deliveries > 0
                and self.episodes / self.recent_deliveries >= settings.advisor_unstable_share)

    def tolerated_failures(self, settings: ReplaySettings) -> int:
        """Transport/5xx failures since its latest success that the cutoff tolerates (it
        still counts as recovered); 0 when there are none or too many."""
        again = self.down_failures_since
        return again if 0 < again < settings.advisor_down_again_failures else 0

    def label(self, incident: OpenIncident | None, settings: ReplaySettings) -> str:
        """incident | down | failing again | unstable | recovered."""
        if incident:
            return INCIDENT
        last_ok, last_down = self.last_success_at, self.last_down_failure_at
        if last_ok is None:
            return DOWN
        if self.failing_again(settings):
            return FAILING_AGAIN
        if self.unstable(settings):
            return UNSTABLE
        if last_down is not None and last_down > last_ok and not self.tolerated_failures(settings):
            return DOWN
        return RECOVERED

    def note(self, label: str, settings: ReplaySettings) -> str | None:
        """Why a recovered endpoint that failed after recovering still counts as recovered."""
        again = self.tolerated_failures(settings)
        if label != RECOVERED or not again:
            return None
        return (
            f"{again} transport/5xx failure(s) since its latest success at "
            f"{to_rfc3339(self.last_success_at)}, fewer than "
            f"replay.advisor_down_again_failures ({settings.advisor_down_again_failures}): "
            "still counted as recovered"
        )


@dataclass(frozen=True, slots=True)
class OpenIncident:
    """An active incident on an endpoint, a tenant or the platform (``*``)."""

    id: str
    type: str
    target: str
    severity: str
    detected_at: datetime

    def describe(self) -> str:
        where = "the platform" if self.target == PLATFORM else redact_url(self.target)
        return (f"open incident {self.id} ({self.type}, {self.severity}) on {where} since "
                f"{to_rfc3339(self.detected_at)}")


def incident_covering(incident_on: Mapping[str, OpenIncident], endpoint: str,
                      tenant: str) -> OpenIncident | None:
    """The open incident that holds back a delivery: its endpoint's, else its tenant's,
    else the platform's."""
    return next((incident_on[t] for t in (endpoint, tenant, PLATFORM) if t in incident_on),
                None)
