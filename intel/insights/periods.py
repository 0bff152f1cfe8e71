"""The insight periods (24 h, 7 d, 30 d) and their windows.

Every aggregate covers the half-open window ``[now - span, now)`` of its period; a trend
compares it with the window just before, ``[now - 2 span, now - span)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from intel.timeutil import ensure_utc
from intel.timewindows import LOOKBACKS


@dataclass(frozen=True)
class Period:
    name: str
    span: timedelta
    bucket_s: int  # width of one point of a trend line over this period
    label: str


# Spans and wording from the one table of look-backs; the trend buckets are Insights' own.
PERIODS: dict[str, Period] = {
    key: Period(key, LOOKBACKS[key].span, bucket_s, LOOKBACKS[key].words.removeprefix("the "))
    for key, bucket_s in (("24h", 3600), ("7d", 6 * 3600), ("30d", 86400))
}
DEFAULT_PERIOD = "24h"


def get_period(name: str | None, *, where: str = "period") -> Period:
    """The named period; an unknown name is a ValueError naming ``where`` and the choices."""
    key = DEFAULT_PERIOD if name in (None, "") else str(name).strip().lower()
    try:
        return PERIODS[key]
    except KeyError:
        raise ValueError(
            f"{where}: unknown period {name!r}; use one of {', '.join(PERIODS)}"
        ) from None


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime

    @property
    def previous(self) -> Window:
        return Window(self.since - (self.until - self.since), self.since)


def window(period: Period | str, now: datetime) -> Window:
    p = get_period(period) if isinstance(period, str) else period
    now = ensure_utc(now)
    return Window(now - p.span, now)


def check_limit(limit: object, *, where: str = "limit", maximum: int = 100) -> int:
    """A row limit 1..maximum (an int or a decimal string); else ValueError naming ``where``."""
    value: int | None = None
    if isinstance(limit, int) and not isinstance(limit, bool):
        value = limit
    elif isinstance(limit, str) and limit.strip().isdigit():
        value = int(limit.strip())
    if value is None or not 1 <= value <= maximum:
        raise ValueError(f"{where}: expected an integer 1..{maximum}, got {limit!r}")
    return value




def period_link(period: Period | str, now: datetime, **filters: object) -> str:
    """A delivery-history link for ``filters`` over the period's window.

    24 h and 7 d use the history page's named windows; 30 d uses since/until.
    """
    from intel.deliveries.links import history_link
    from intel.deliveries.query import HISTORY_WINDOWS

    p = get_period(period) if isinstance(period, str) else period
    if p.name in HISTORY_WINDOWS.spans:  # a window the history page names
        return history_link(window=p.name, **filters)
    w = window(p, now)
    return history_link(since=w.since, until=w.until, **filters)
