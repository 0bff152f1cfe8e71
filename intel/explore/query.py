"""An Explore view: time window, filters, group-by dimensions and a measure.

The whole view round-trips through URL query parameters (:meth:`ExploreQuery.to_params`,
:func:`from_params`) so it can be shared and restored:

``window``   ``1h`` | ``24h`` | ``7d`` | ``30d`` | ``custom`` (then ``since``, ``until``
             in RFC 3339; ``until`` defaults to now)
``tenant``, ``endpoint``, ``event_type``  exact values; ``status`` one of delivered,
             failed, pending
``by``       one or two of the :data:`DIMENSIONS`, comma separated
``measure``  one of the :data:`MEASURES`
``limit``    rows kept (largest measure first), 1..2000
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from intel.store.schema import DELIVERY_STATUSES
from intel.timeutil import ensure_utc, parse_timestamp, to_rfc3339
from intel.timewindows import CUSTOM, LOOKBACKS

DIMENSIONS: dict[str, str] = {
    "tenant": "Tenant",
    "endpoint": "Endpoint",
    "event_type": "Event type",
    "status": "Status",
    "http_status": "HTTP status",
    "category": "Triage category",
    "hour": "Hour of day (UTC)",
}
MEASURES: dict[str, str] = {
    "deliveries": "Deliveries",
    "failures": "Failures",
    "failure_ratio": "Failure ratio",
    "p95_duration_ms": "p95 duration (ms)",
}
#: Explore's windows: every look-back, or custom (``since``, ``until`` or now).
WINDOWS: dict[str, timedelta | None] = {**{k: lb.span for k, lb in LOOKBACKS.items()},
                                        CUSTOM: None}
FILTERS = ("tenant", "endpoint", "event_type", "status")
PARAMS = ("window", "since", "until", *FILTERS, "by", "measure", "limit")
MAX_DIMENSIONS = 2
MAX_LIMIT = 2000


class ExploreError(ValueError):
    """A view parameter is invalid; the message names it."""


@dataclass(frozen=True)
class ExploreQuery:
    window: str = "24h"
    since: datetime | None = None
    until: datetime | None = None
    tenant: str | None = None
    endpoint: str | None = None
    event_type: str | None = None
    status: str | None = None
    by: tuple[str, ...] = field(default=("endpoint",))
    measure: str = "failures"
    limit: int = 100

    def __post_init__(self) -> None:
        if self.window not in WINDOWS:
            raise ExploreError(f"window: unknown {self.window!r}; use one of {', '.join(WINDOWS)}")
        if self.window == "custom" and self.since is None:
            raise ExploreError("since: required with window=custom")
        if self.window != "custom" and (self.since or self.until):
            raise ExploreError("since/until: only with window=custom")
        if self.since and self.until and self.since >= self.until:
            raise ExploreError("until: must be after since")
        if not 1 <= len(self.by) <= MAX_DIMENSIONS:
            raise ExploreError(f"by: choose 1 or {MAX_DIMENSIONS} dimensions, got {len(self.by)}")
        for dim in self.by:
            if dim not in DIMENSIONS:
                raise ExploreError(
                    f"by: unknown dimension {dim!r}; use {', '.join(DIMENSIONS)}"
                )
        if len(set(self.by)) != len(self.by):
            raise ExploreError("by: the same dimension twice")
        if self.measure not in MEASURES:
            raise ExploreError(
                f"measure: unknown {self.measure!r}; use one of {', '.join(MEASURES)}"
            )
        if self.status is not None and self.status not in DELIVERY_STATUSES:
            raise ExploreError(
                f"status: unknown {self.status!r}; use one of {', '.join(DELIVERY_STATUSES)}"
            )
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ExploreError(f"limit: expected 1..{MAX_LIMIT}, got {self.limit}")

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The [since, until) the view covers at ``now``."""
        now = ensure_utc(now)
        span = WINDOWS[self.window]
        if span is not None:
            return now - span, now
        assert self.since is not None
        return ensure_utc(self.since), ensure_utc(self.until) if self.until else now

    def filters(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in FILTERS if getattr(self, f)}

    def to_params(self) -> dict[str, str]:
        """URL query parameters; defaults are left out to keep links short."""
        default = ExploreQuery()
        params: dict[str, str] = {}
        if self.window != default.window:
            params["window"] = self.window
        if self.since:
            params["since"] = to_rfc3339(self.since) or ""
        if self.until:
            params["until"] = to_rfc3339(self.until) or ""
        params.update(self.filters())
        if self.by != default.by:
            params["by"] = ",".join(self.by)
        if self.measure != default.measure:
            params["measure"] = self.measure
        if self.limit != default.limit:
            params["limit"] = str(self.limit)
        return params

    def cache_params(self) -> dict[str, object]:
        return {k: getattr(self, k) if k not in ("since", "until")
                else to_rfc3339(getattr(self, k)) for k in PARAMS} | {"by": list(self.by)}

    def with_changes(self, **changes: object) -> ExploreQuery:
        return replace(self, **changes)


def _text(params: Mapping[str, object], name: str) -> str | None:
    value = params.get(name)
    if isinstance(value, list | tuple):
        value = value[-1] if value else None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def from_params(params: Mapping[str, object]) -> ExploreQuery:
    """The view a URL describes; unknown parameters are ignored, bad values raise
    :class:`ExploreError` naming the parameter."""
    values: dict[str, object] = {}
    window = _text(params, "window")
    if window is not None:
        values["window"] = window
    for name in ("since", "until"):
        text = _text(params, name)
        if text is not None:
            try:
                values[name] = parse_timestamp(text)
            except ValueError as exc:
                raise ExploreError(f"{name}: {exc}") from None
    if ("since" in values or "until" in values) and "window" not in values:
        values["window"] = "custom"
    for name in FILTERS:
        text = _text(params, name)
        if text is not None:
            values[name] = text
    by = _text(params, "by")
    if by is not None:
        values["by"] = tuple(part.strip() for part in by.split(",") if part.strip())
    measure = _text(params, "measure")
    if measure is not None:
        values["measure"] = measure
    limit = _text(params, "limit")
    if limit is not None:
        try:
            values["limit"] = int(limit)
        except ValueError:
            raise ExploreError(f"limit: expected an integer, got {limit!r}") from None
    return ExploreQuery(**values)  # type: ignore[arg-type]
