"""Sidecar worker timing (owned by the worker)."""

from pydantic import Field

from intel.settings._base import Section


class WorkerSettings(Section):
    interval_s: float = Field(30.0, gt=0, description="Seconds between detector ticks.")
    lease_ttl_s: float = Field(
        45.0, gt=0, description="Leader lease length; another worker takes over after it lapses."
    )
    stale_after_s: float = Field(
        120.0, gt=0, description="The app warns when the last heartbeat is older than this."
    )
