"""Sidecar worker timing (owned by the worker)."""

from pydantic import Field

from intel.settings._base import Section


class WorkerSettings(Section):
    interval_s: float = Field(
        30.0, gt=0,
        description="Seconds between detector ticks. Ticks fall on multiples of this (UTC); the "
        "count buckets are gcd(interval, 300) seconds wide.",
    )
    lease_ttl_s: float = Field(
        20.0, gt=0,
        description="Leader lease length. The leader renews it several times per lease; a "
        "standby takes over once it lapses (keep it below interval_s: takeover within a tick).",
    )
    stale_after_s: float = Field(
        120.0, gt=0, description="The app warns when the last heartbeat is older than this."
    )
    tick_lag_s: float = Field(
        1.0, ge=0,
        description="Seconds after a tick's instant before it runs, so deliveries written at "
        "that instant are in.",
    )
    catchup_max_s: float = Field(
        3600.0, ge=0,
        description="After a pause, missed ticks up to this far back are replayed in order "
        "(older ones are skipped, and the skip is logged).",
    )
    refresh_s: float = Field(
        1200.0, gt=0,
        description="Every tick re-reads the counts of this recent span (late writes land here).",
    )
    verify_slice_s: float = Field(
        3600.0, ge=0,
        description="Every tick also re-reads this much older history, cycling through the "
        "24-h baseline, so back-filled or corrected deliveries are picked up; 0 disables.",
    )
    backoff_max_s: float = Field(
        30.0, gt=0,
        description="Longest wait between retries while the database or Redis is down.",
    )
