"""How long a rate-limited receiver asked us to wait: one parser of ``Retry-After`` and the
rate-limit reset headers, shared by the replay sender (how long to pause an endpoint after
a 429) and the advisor (when a rate-limited delivery may be sent again).

The values come from customers' endpoints, so this module never raises: every value is
either *usable* (a :class:`RetryHint`), *capped*, or *unusable* (None).

Headers read, first usable one wins:

1. ``Retry-After`` (RFC 9110 §10.2.3): delta-seconds (``120``; a decimal ``1.5`` is
   tolerated) or an HTTP-date (``Thu, 05 Nov 2026 17:00:00 GMT``).
2. ``RateLimit-Reset``, ``X-RateLimit-Reset``, ``X-Rate-Limit-Reset``,
   ``X-RateLimit-Reset-After``: seconds to wait, or an epoch timestamp when the number is
   at least 1e9 (seconds; from 1e12 milliseconds); the first item of a list (``30, 60``)
   and the part before parameters (``30;w=60``). An HTTP-date is read too.
3. ``RateLimit`` (the IETF draft's combined field): ``reset=30`` or ``t=30``.

Unusable (None): a missing or empty value, text that is neither a number nor a date, NaN,
a negative delay, a date without a zone, a value longer than 200 characters, or a value
of another type (a JSON object, a boolean, null). JSON numbers are read as numbers and a
list as its first item (an import's headers are any JSON).

Capped: infinity, a huge number or a date far ahead gives ``seconds == cap_s`` and
``capped=True`` — "longer than we will wait" (the sender gives up on the endpoint, the
advisor shows the cap). A date or epoch already past gives 0.
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

#: Longest wait a hint can say (7 days): beyond it a wait is not actionable.
MAX_WAIT_S = 7 * 24 * 3600.0
#: Numbers from here on are epoch timestamps, in seconds (after 2001-09-09) ...
EPOCH_SECONDS_FROM = 1e9
#: ... and from here on in milliseconds.
EPOCH_MILLIS_FROM = 1e12
#: Longer values are not a delay or a date (and are not worth parsing).
MAX_VALUE_CHARS = 200
#: Characters of a value quoted in a reason.
SHOWN_CHARS = 60

RETRY_AFTER = "retry-after"
RESET_HEADERS = (
    "ratelimit-reset",
    "x-ratelimit-reset",
    "x-rate-limit-reset",
    "x-ratelimit-reset-after",
)
COMBINED = "ratelimit"
_PRETTY = {
    "retry-after": "Retry-After",
    "ratelimit-reset": "RateLimit-Reset",
    "x-ratelimit-reset": "X-RateLimit-Reset",
    "x-rate-limit-reset": "X-Rate-Limit-Reset",
    "x-ratelimit-reset-after": "X-RateLimit-Reset-After",
    "ratelimit": "RateLimit",
}
_COMBINED_RESET = re.compile(r"(?:^|[\s,;])(?:reset|t)\s*=\s*([^\s,;]+)", re.IGNORECASE)


@dataclass(frozen=True)
class RetryHint:
    """A usable wait: ``seconds`` in ``[0, cap]``; ``capped`` when the receiver asked for
    more (or forever); ``header`` and ``value`` say where it came from."""

    seconds: float
    capped: bool
    header: str
    value: str

    def describe(self) -> str:
        """``Retry-After: 120`` (the value cut and on one line)."""
        return f"{self.header}: {self.value}"


def _aware(now: Any) -> datetime | None:
    if not isinstance(now, datetime):
        return None
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now


def _as_text(value: Any) -> str | float | None:
    """The header value as text, or as a number when it is one (JSON headers); None when
    it is of a type no header value has."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float: forever
            return math.inf
    if isinstance(value, float):
        return value
    if isinstance(value, bytes | bytearray):
        value = bytes(value[: MAX_VALUE_CHARS + 1]).decode("latin-1")
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_VALUE_CHARS:
        return None
    return text


def _number(text: str) -> float | None:
    if "_" in text:  # float() reads "1_0"; no header writes it
        return None
    try:
        number = float(text)
    except (ValueError, OverflowError):
        return None
    return None if math.isnan(number) else number


def _capped(seconds: float, cap_s: float) -> tuple[float, bool]:
    if seconds > cap_s:  # inf too
        return cap_s, True
    return max(0.0, seconds), False


def _date_seconds(text: str, now: datetime) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except Exception:  # parsedate raises several types on odd text
        return None
    if when is None or when.tzinfo is None:
        return None
    try:
        return (when - now).total_seconds()
    except (OverflowError, ValueError):
        return None


def delay_seconds(value: Any, now: datetime, *, cap_s: float = MAX_WAIT_S
                  ) -> tuple[float, bool] | None:
    """A ``Retry-After`` value: (seconds from ``now``, capped), or None when unusable."""
    now = _aware(now)
    shown = _as_text(value)
    if shown is None or now is None:
        return None
    number = shown if isinstance(shown, float) else _number(shown)
    if number is not None:
        if math.isnan(number) or number < 0:
            return None
        return _capped(number, cap_s)
    seconds = _date_seconds(shown, now)
    return None if seconds is None else _capped(seconds, cap_s)


def reset_seconds(value: Any, now: datetime, *, cap_s: float = MAX_WAIT_S
                  ) -> tuple[float, bool] | None:
    """A rate-limit reset value (delay, epoch seconds or milliseconds, or a date):
    (seconds from ``now``, capped), or None when unusable."""
    now = _aware(now)
    shown = _as_text(value)
    if shown is None or now is None:
        return None
    if isinstance(shown, float):
        number = shown
    else:
        number = _number(shown.split(",", 1)[0].split(";", 1)[0].strip())
    if number is None:
        if isinstance(shown, str):
            seconds = _date_seconds(shown, now)
            return None if seconds is None else _capped(seconds, cap_s)
        return None
    if math.isnan(number) or number < 0:
        return None
    if number >= EPOCH_MILLIS_FROM:
        number = number / 1000.0 - now.timestamp()
    elif number >= EPOCH_SECONDS_FROM:
        number = number - now.timestamp()
    return _capped(number, cap_s)


def _pairs(headers: Any) -> list[tuple[str, Any]]:
    """(lower-case name, value) of headers given as an object or a list of pairs."""
    try:
        if isinstance(headers, Mapping):
            items = list(headers.items())
        elif isinstance(headers, list | tuple):
            items = []
            for item in headers:
                if isinstance(item, list | tuple) and len(item) == 2:
                    items.append((item[0], item[1]))
                elif isinstance(item, Mapping) and "name" in item:
                    items.append((item.get("name"), item.get("value")))
        else:
            return []
        out = []
        for name, value in items:
            if isinstance(name, bytes | bytearray):
                name = bytes(name).decode("latin-1")
            if isinstance(name, str):
                out.append((name.strip().lower(), value))
        return out
    except Exception:  # an object that cannot be read has no headers
        return []


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text[: SHOWN_CHARS * 4].split())
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def retry_hint(headers: Any, now: datetime, *, cap_s: float = MAX_WAIT_S) -> RetryHint | None:
    """The wait a response's headers ask for, measured from ``now`` (when the response
    came), or None when they give no usable one. Never raises."""
    pairs = _pairs(headers)
    if not pairs:
        return None
    found: dict[str, Any] = {}
    for name, value in pairs:
        found.setdefault(name, value)
    candidates: list[tuple[str, Any, Any]] = []
    if RETRY_AFTER in found:
        candidates.append((RETRY_AFTER, found[RETRY_AFTER], delay_seconds))
    candidates.extend((name, found[name], reset_seconds) for name in RESET_HEADERS
                      if name in found)
    if COMBINED in found:
        text = _as_text(found[COMBINED])
        match = _COMBINED_RESET.search(text) if isinstance(text, str) else None
        if match:
            candidates.append((COMBINED, match.group(1), delay_seconds))
    for name, value, parse in candidates:
        got = parse(value, now, cap_s=cap_s)
        if got is not None:
            shown = found[name] if name != COMBINED else found[COMBINED]
            return RetryHint(got[0], got[1], _PRETTY[name], _shown(shown))
    return None


def add_wait(at: datetime, seconds: float) -> datetime | None:
    """``at`` + ``seconds``, or None when that is past the calendar's end (year 9999)."""
    try:
        return at + timedelta(seconds=seconds)
    except (OverflowError, ValueError, TypeError):
        return None
