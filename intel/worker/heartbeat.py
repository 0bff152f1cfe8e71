"""The detector's heartbeat: one row in ``heartbeats`` the leader rewrites every tick.

The app reads it to say "detector last ran 12 s ago" and to warn when it is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from intel.store.schema import heartbeats
from intel.timeutil import parse_timestamp, to_rfc3339

COMPONENT = "detector"


def beat(conn: Connection, holder: str, now: datetime, duration_ms: float, info: dict,
         component: str = COMPONENT) -> None:
    values = {"holder": holder, "beat_at": now, "last_duration_ms": round(duration_ms, 2),
              "info": info}
    result = conn.execute(
        update(heartbeats).where(heartbeats.c.component == component).values(**values)
    )
    if result.rowcount == 0:
        conn.execute(heartbeats.insert().values(component=component, **values))


def last_tick_at(conn: Connection, component: str = COMPONENT) -> datetime | None:
    """The instant of the last tick the leader completed (for catch-up after a takeover)."""
    row = conn.execute(
        select(heartbeats.c.info).where(heartbeats.c.component == component)
    ).first()
    if row is None or not row[0] or not row[0].get("last_tick_at"):
        return None
    try:
        return parse_timestamp(row[0]["last_tick_at"])
    except ValueError:
        return None


@dataclass(frozen=True)
class Freshness:
    beat_at: datetime | None
    age_s: float | None
    stale: bool
    holder: str | None
    info: dict

    @property
    def text(self) -> str:
        if self.age_s is None:
            return "detector has not run yet"
        return f"detector last ran {_ago(self.age_s)} ago"


def _ago(seconds: float) -> str:
    seconds = max(seconds, 0)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def freshness(conn: Connection, now: datetime, stale_after_s: float,
              component: str = COMPONENT) -> Freshness:
    row = conn.execute(
        select(heartbeats).where(heartbeats.c.component == component)
    ).mappings().first()
    if row is None:
        return Freshness(None, None, True, None, {})
    age = (now - row["beat_at"]).total_seconds()
    return Freshness(row["beat_at"], age, age > stale_after_s, row["holder"],
                     dict(row["info"] or {}))


def tick_info(tick_at: datetime, **extra) -> dict:
    return {"last_tick_at": to_rfc3339(tick_at), **extra}
