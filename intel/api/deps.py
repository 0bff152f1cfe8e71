"""Shared request dependencies: the store engine, the clock, parameter parsing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from intel.api.errors import bad_parameter
from intel.settings import database_url
from intel.store.db import make_engine
from intel.timeutil import parse_duration, parse_timestamp, utcnow

#: The earliest ``since``/``until`` the API reads (older is surely a mistake), and how far
#: ahead of the server's clock one may be (clock skew).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
AHEAD = timedelta(days=1)


#: Connections the API keeps open: a request runs its store work in FastAPI's threadpool
#: (40 threads), up to two checkouts one after the other; ``intel.store.db``'s default
#: pool (5 + 10 overflow) would open and close a connection (and, on SQLite, run its
#: pragmas) for most requests under load.
POOL_SIZE = 20
POOL_OVERFLOW = 20

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def api_engine(url: str | None = None) -> Engine:
    """The API process's engine for ``url`` (default ``DATABASE_URL``), pooled for its
    threadpool."""
    url = url or database_url()
    found = _engines.get(url)
    if found is None:
        with _engines_lock:
            found = _engines.get(url)
            if found is None:
                found = _engines[url] = make_engine(url, pool_size=POOL_SIZE,
                                                    max_overflow=POOL_OVERFLOW)
    return found


async def engine() -> Engine:
    """The store's engine (a dependency; async because it does no I/O: no thread hop)."""
    return api_engine()


def now() -> datetime:
    return utcnow()


def launcher():
    """Starts a replay job's runner (``intel.replay.background.launch``); tests override
    this dependency so no process is started."""
    from intel.replay.background import launch

    return launch


def _in_range(value: datetime, now: datetime, name: str, where: str) -> datetime:
    if value < EARLIEST or value > now + AHEAD:
        raise bad_parameter(
            where, f"{name}: {value.isoformat()} is out of range (from 1970-01-01 to a day "
                   "from now)"
        )
    return value


def timestamp_param(value: str | None, now: datetime, name: str,
                    where: str | None = None) -> datetime | None:
    """An RFC 3339 parameter within 1970-01-01 .. a day from now; else a 400 naming it."""
    where = where or f"query.{name}"
    if value is None or value == "":
        return None
    try:
        at = parse_timestamp(value)
    except (ValueError, OverflowError) as exc:
        raise bad_parameter(where, f"{name}: {exc}") from None
    return _in_range(at, now, name, where)


def since_param(value: str | None, now: datetime, name: str = "since",
                where: str | None = None) -> datetime | None:
    """``since`` as RFC 3339 or a look-back like ``24h``; a bad value (not a time, or a
    look-back reaching before 1970) is a 400 naming it, never an overflow."""
    where = where or f"query.{name}"
    if value is None or value == "":
        return None
    text = str(value).strip()
    too_far = bad_parameter(where, f"{name}: the look-back {text[:80]!r} reaches before "
                                   "1970-01-01")
    try:
        span = parse_duration(text)
    except OverflowError:
        raise too_far from None
    except ValueError:
        span = None
    if span is not None:
        try:
            at = now - span
        except OverflowError:
            raise too_far from None
        if at < EARLIEST:
            raise too_far
        return at
    try:
        at = parse_timestamp(text)
    except (ValueError, OverflowError):
        raise bad_parameter(
            where, f"{name}: expected RFC 3339 or a look-back such as 24h or 7d, got "
                   f"{text[:80]!r}"
        ) from None
    return _in_range(at, now, name, where)
