"""UTC time helpers: everything inside is timezone-aware UTC, RFC 3339 at the edges."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def utcnow() -> datetime:
    """The wall clock, for the edges only: logic takes an explicit ``now``."""
    return datetime.now(UTC)


def parse_timestamp(value: object) -> datetime:
    """Parse an RFC 3339 timestamp (or a datetime); a value without offset is UTC.

    Raises ``ValueError`` naming the bad value.
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text[-1] in "zZ":
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an RFC 3339 timestamp: {value!r}") from None
    else:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def to_rfc3339(dt: datetime | None) -> str | None:
    """``2025-11-05T16:30:00Z`` (microseconds kept only when present)."""
    if dt is None:
        return None
    dt = ensure_utc(dt)
    text = dt.isoformat()
    return text.replace("+00:00", "Z")


def ensure_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_duration(value: str | int | float) -> timedelta:
    """``30s``, ``5m``, ``1h``, ``7d``, ``250ms`` or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration (e.g. 30s, 5m, 1h, 7d): {value!r}")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNIT_SECONDS[unit])


def parse_since(value: str, now: datetime) -> datetime:
    """An RFC 3339 timestamp, or a look-back such as ``24h`` counted from ``now``."""
    try:
        return now - parse_duration(value)
    except ValueError:
        return parse_timestamp(value)
