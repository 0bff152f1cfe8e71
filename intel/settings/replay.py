"""Replay limits, outbound safety, the job runner, the advisor and the sandbox (owned by replay)."""

from pydantic import Field, field_validator

from intel.settings._base import Section
from intel.timeutil import parse_duration


class ReplaySettings(Section):
    allow_private_networks: bool = Field(
        False,
        description="Allow replays to loopback, private, link-local and CGNAT addresses "
        "(off by default: SSRF protection). The demo config turns it on for the sandbox. "
        "Cloud-metadata, unspecified, multicast and reserved addresses are refused always.",
    )
    forward_url_credentials: bool = Field(
        False,
        description="Send the user:password of an endpoint URL (https://user:pass@host/) as "
        "HTTP Basic auth on a replay. Off by default: the credentials are stripped before "
        "sending (and never shown anywhere).",
    )
    timeout_s: float = Field(10.0, gt=0, description="Per-request timeout of a replay.")
    per_endpoint_concurrency: int = Field(
        2, ge=1, description="Replays in flight to one endpoint at once."
    )
    global_rate_per_s: float = Field(50.0, gt=0, description="Replays started per second, at most.")
    max_in_flight: int = Field(
        32, ge=1, description="Replays in flight at once across all endpoints of one job."
    )
    circuit_breaker_failures: int = Field(
        5, ge=1, description="Consecutive failures on an endpoint that stop its remaining items."
    )
    max_retry_after_s: float = Field(
        300.0, ge=0, description="Longest Retry-After pause honoured before giving up on an item."
    )
    rate_limit_pause_s: float = Field(
        5.0,
        ge=0,
        description="Pause of an endpoint after a 429 that carries no usable Retry-After.",
    )
    rate_limit_retries: int = Field(
        3,
        ge=0,
        description="Times one item is sent again after a 429 (the receiver refused it, so a "
        "resend is not a duplicate) before it counts as failed.",
    )
    body_excerpt_chars: int = Field(
        2000, ge=0, description="Characters of a replay's response body kept on its attempt."
    )
    heartbeat_s: float = Field(
        1.0, gt=0, description="How often a job runner records its heartbeat and reads cancel."
    )
    runner_stale_after_s: float = Field(
        30.0,
        gt=0,
        description="A running job whose runner has not beaten for this long is resumable "
        "(python -m intel replay --resume JOB, or the next runner).",
    )
    advisor_window: str = Field(
        "24h", description="Look-back of the replay advisor when no --since is given."
    )
    advisor_max_candidates: int = Field(
        20000,
        ge=1,
        description="Most recent failed deliveries in the window the advisor analyses; older "
        "ones are reported as not analysed.",
    )
    advisor_down_again_failures: int = Field(
        1,
        ge=1,
        description="Transport or 5xx failures on an endpoint after its latest success that "
        "make the advisor treat it as down again (wait instead of replay). 1 (the default): "
        "any such failure, so a recommended endpoint has not failed again since it "
        "recovered; a higher cutoff N tolerates up to N-1 of them, and the advisor then "
        "says how many it tolerated (the endpoint's health note).",
    )
    advisor_unstable_share: float = Field(
        0.1,
        ge=0,
        le=1,
        description="An endpoint whose transport/5xx failure episodes (a failure right after "
        "a success) make up at least this share of its deliveries within "
        "replay.advisor_unstable_window is unstable (flaky): its failures go to review "
        "instead of being recommended. An outage that recovered is one episode.",
    )
    advisor_unstable_min_episodes: int = Field(
        3, ge=1, description="Fewest failure episodes that can make an endpoint unstable."
    )
    advisor_unstable_window: str = Field(
        "6h", description="Look-back in which the advisor measures an endpoint's stability."
    )
    sandbox_reload_s: float = Field(
        5.0, gt=0, description="How often the sandbox re-reads the scenario and endpoint secrets."
    )

    @field_validator("advisor_window", "advisor_unstable_window")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)  # ValueError names the bad value: "not a duration ..."
        return value
