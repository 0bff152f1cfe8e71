"""Look-back windows ("the last 24 hours"): the one table of them, and the sets pages offer.

A window is named by its key in URLs and API parameters (``1h``, ``24h``, ``7d``, ``30d``);
every key is also a duration :func:`intel.timeutil.parse_duration` reads, so a key passed
on as a look-back (``since=24h``) means the same span. Besides the look-backs a page may
offer ``all`` (no time bound) and ``custom`` (the caller's own ``since``/``until``).

Each page or API route picks the keys it offers with :class:`WindowSet` (the history's
``1h``/``24h``/``7d``/``custom``, the audit trail's every look-back plus ``all`` and
``custom``...), so a URL names the same span everywhere while each page keeps exactly
the choices it had.

A look-back is "the last <span>" as of an explicit ``now``: ``[now - span, now]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from intel.timeutil import ensure_utc


@dataclass(frozen=True)
class LookBack:
    key: str  # in URLs and API parameters, and a parse_duration duration
    span: timedelta
    label: str  # on a button: "24 h"
    brief: str  # inside a sentence: "in the last 24 h"
    words: str  # spelled out: "the last 24 hours"


LOOKBACKS: dict[str, LookBack] = {
    lb.key: lb
    for lb in (
        LookBack("1h", timedelta(hours=1), "1 h", "the last hour", "the last hour"),
        LookBack("24h", timedelta(hours=24), "24 h", "the last 24 h", "the last 24 hours"),
        LookBack("7d", timedelta(days=7), "7 d", "the last 7 days", "the last 7 days"),
        LookBack("30d", timedelta(days=30), "30 d", "the last 30 days", "the last 30 days"),
    )
}
ALL_TIME = "all"
CUSTOM = "custom"
#: Labels of the keys that are not look-backs.
OTHER_LABELS = {ALL_TIME: "All", CUSTOM: "Custom"}


class WindowError(ValueError):
    """A window key that is not offered; the message names the value and the choices."""


def _expected(value: object, allowed: tuple[str, ...]) -> str:
    return f"expected one of {', '.join(allowed)}, got {value!r}"


def lookback(key: str) -> LookBack:
    """The look-back named ``key``; anything else is a :class:`WindowError`."""
    try:
        return LOOKBACKS[key]
    except (KeyError, TypeError):
        raise WindowError(f"window: {_expected(key, tuple(LOOKBACKS))}") from None


@dataclass(frozen=True)
class WindowSet:
    """The windows one page or route offers, in the order it shows them."""

    keys: tuple[str, ...]
    default: str

    def __post_init__(self) -> None:
        known = (*LOOKBACKS, *OTHER_LABELS)
        for key in self.keys:
            if key not in known:
                raise ValueError(f"window set: unknown key {key!r}; known: {', '.join(known)}")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError(f"window set: a key twice in {self.keys!r}")
        if self.default not in self.keys:
            raise ValueError(f"window set: default {self.default!r} not in {self.keys!r}")

    @property
    def spans(self) -> dict[str, timedelta]:
        """The offered look-backs' spans (``all`` and ``custom`` have none)."""
        return {k: LOOKBACKS[k].span for k in self.keys if k in LOOKBACKS}

    def label(self, key: str) -> str:
        """The button text of an offered key."""
        return LOOKBACKS[key].label if key in LOOKBACKS else OTHER_LABELS[key]

    def check(self, value: object) -> str:
        """``value`` if offered; else a ValueError that leaves naming the parameter to the
        caller (``expected one of 1h, 24h, 7d, custom, got '2d'``)."""
        if isinstance(value, str) and value in self.keys:
            return value
        raise ValueError(_expected(value, self.keys))

    def parse(self, value: object, name: str = "window") -> str:
        """Strictly: an offered key, or a :class:`WindowError` naming ``name``, the value
        and the choices."""
        try:
            return self.check(value)
        except ValueError as exc:
            raise WindowError(f"{name}: {exc}") from None

    def read(self, value: str | None, name: str = "window") -> tuple[str, str | None]:
        """Leniently: (the offered key, None), or (the default, the problem naming it)
        when ``value`` is not offered; no value at all is the default."""
        if value is None or not str(value).strip():
            return self.default, None
        try:
            return self.parse(value, name), None
        except WindowError as exc:
            return self.default, str(exc)

    def resolve(self, window: str, now: datetime, since: datetime | None = None,
                until: datetime | None = None) -> tuple[datetime | None, datetime | None]:
        """:func:`resolve` for an offered key (a key not offered is a WindowError)."""
        return resolve(self.parse(window), now, since, until)


def resolve(window: str, now: datetime, since: datetime | None = None,
            until: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    """(since, until) of ``window`` as of ``now``: a look-back ends at ``now``; ``all`` has
    no bounds; ``custom`` is the given bounds (either may be None). Bounds given with
    another window are an error rather than silently dropped."""
    if window == CUSTOM:
        return (None if since is None else ensure_utc(since),
                None if until is None else ensure_utc(until))
    if (since is not None or until is not None) and window in (*LOOKBACKS, ALL_TIME):
        raise WindowError(f"since/until need window={CUSTOM}, got window={window!r}")
    if window == ALL_TIME:
        return None, None
    if window not in LOOKBACKS:
        raise WindowError(f"window: {_expected(window, (*LOOKBACKS, *OTHER_LABELS))}")
    now = ensure_utc(now)
    return now - LOOKBACKS[window].span, now
