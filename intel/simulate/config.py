"""Simulation parameters and the run summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from intel.simulate.scenario import ANOMALIES, SCENARIOS
from intel.timeutil import ensure_utc, to_rfc3339

MAX_DELIVERIES = 99_999_999  # ids carry eight digits
LIVE_INCIDENTS = (*ANOMALIES, "none")


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. The same config (and seed) always gives the same data.

    ``end`` is the end of the simulated history (aware UTC; ``None``: the ``now`` given to
    ``simulate``). ``endpoint_base`` (e.g. ``http://127.0.0.1:8701``) points every endpoint
    at ``{endpoint_base}/hooks/<tenant>/<endpoint-slug>``. ``scenario``: ``default``
    (incidents and confounders) or ``calm`` (confounders only, for false-positive checks).
    The ``live_*`` fields shape ``--live``: the tick length and an incident injected
    ``live_incident_after_s`` after live start for ``live_incident_duration_s``.
    """

    seed: int = 42
    end: datetime | None = None
    days: float = 7.0
    deliveries: int = 200_000
    endpoint_base: str | None = None
    scenario: str = "default"
    live_interval_s: float = 5.0
    live_incident: str | None = "outage"
    live_incident_after_s: float = 180.0
    live_incident_duration_s: float = 600.0

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {self.seed!r}")
        if self.end is not None:
            if not isinstance(self.end, datetime) or self.end.tzinfo is None:
                raise ValueError(f"end: expected a timezone-aware datetime, got {self.end!r}")
            object.__setattr__(self, "end", ensure_utc(self.end))
        if not isinstance(self.days, int | float) or not 0 < self.days <= 366:
            raise ValueError(f"days: expected a number in (0, 366], got {self.days!r}")
        if (isinstance(self.deliveries, bool) or not isinstance(self.deliveries, int)
                or not 0 <= self.deliveries <= MAX_DELIVERIES):
            raise ValueError(f"deliveries: expected an integer in 0..{MAX_DELIVERIES}, "
                             f"got {self.deliveries!r}")
        if self.endpoint_base is not None:
            base = self.endpoint_base.rstrip("/")
            parts = urlsplit(base)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
                raise ValueError("endpoint_base: expected http(s)://host[:port][/path], got "
                                 f"{self.endpoint_base!r}")
            object.__setattr__(self, "endpoint_base", base)
        if self.scenario not in SCENARIOS:
            raise ValueError(f"scenario: unknown {self.scenario!r} "
                             f"(known: {', '.join(SCENARIOS)})")
        if not isinstance(self.live_interval_s, int | float) or not (
                0.1 <= self.live_interval_s <= 3600):
            raise ValueError(f"live_interval_s: expected 0.1..3600 seconds, "
                             f"got {self.live_interval_s!r}")
        if self.live_incident not in (*LIVE_INCIDENTS, None):
            raise ValueError(f"live_incident: unknown {self.live_incident!r} "
                             f"(known: {', '.join(LIVE_INCIDENTS)})")
        for name in ("live_incident_after_s", "live_incident_duration_s"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name}: expected a non-negative number, got {value!r}")


@dataclass
class SimulationSummary:
    seed: int
    scenario: str
    start: datetime
    end: datetime
    deliveries: int = 0
    delivered: int = 0
    failed: int = 0
    pending: int = 0
    events: int = 0
    anomalies: int = 0
    endpoints: int = 0
    tenants: int = 0
    removed: int = 0  # stale deliveries of an earlier, larger run of this seed
    seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return self.failed

    def as_dict(self) -> dict:
        d = asdict(self)
        d["start"] = to_rfc3339(self.start)
        d["end"] = to_rfc3339(self.end)
        d["failures"] = self.failed
        return d
