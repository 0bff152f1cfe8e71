"""Sidecar worker timing (owned by the worker)."""

from pydantic import Field, model_validator

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
        "standby takes over once it lapses. Must be shorter than interval_s (checked at "
        "start-up), so a dead leader is replaced within a tick.",
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

    @model_validator(mode="after")
    def _lease_shorter_than_tick(self) -> "WorkerSettings":
        if self.lease_ttl_s >= self.interval_s:
            raise ValueError(
                f"worker.lease_ttl_s ({self.lease_ttl_s:g} s) must be shorter than "
                f"worker.interval_s ({self.interval_s:g} s): a standby takes over a dead "
                "leader only when its lease lapses, and that must happen within a tick "
                f"(e.g. lease_ttl_s: {max(self.interval_s * 2 / 3, 0.1):g})"
            )
        return self
