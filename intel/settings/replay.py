"""Replay limits and outbound safety (owned by replay)."""

from pydantic import Field

from intel.settings._base import Section


class ReplaySettings(Section):
    allow_private_networks: bool = Field(
        False,
        description="Allow replays to loopback, private, link-local and CGNAT addresses "
        "(off by default: SSRF protection). The demo config turns it on for the sandbox.",
    )
    timeout_s: float = Field(10.0, gt=0, description="Per-request timeout of a replay.")
    per_endpoint_concurrency: int = Field(
        2, ge=1, description="Replays in flight to one endpoint at once."
    )
    global_rate_per_s: float = Field(50.0, gt=0, description="Replays started per second, at most.")
    circuit_breaker_failures: int = Field(
        5, ge=1, description="Consecutive failures on an endpoint that stop its remaining items."
    )
    max_retry_after_s: float = Field(
        300.0, ge=0, description="Longest Retry-After pause honoured before giving up on an item."
    )
