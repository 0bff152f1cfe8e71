"""The leader lease: one row in ``leases``, taken and renewed by compare-and-set.

A worker holds the lease while ``holder`` is its id and ``expires_at`` is in the future.
It takes a free or lapsed lease, or renews its own, with one conditional ``UPDATE``;
only one of several racing workers can match the condition (PostgreSQL row lock,
SQLite's single writer). Every tick's transaction starts with ``fence``: the tick's
writes commit only if this worker still holds the lease at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, case, exc, or_, select, update

from intel.store.schema import leases

DETECTOR_LEASE = "detector"


class LeaseLost(RuntimeError):
    """This worker no longer holds the lease: its tick is rolled back."""


@dataclass(frozen=True)
class LeaseState:
    holder: str
    expires_at: datetime
    acquired_at: datetime


def acquire(engine: Engine, holder: str, now: datetime, ttl_s: float,
            name: str = DETECTOR_LEASE) -> bool:
    """Take or renew the lease (own transaction). True when ``holder`` holds it now."""
    expires = now + timedelta(seconds=ttl_s)
    with engine.begin() as conn:
        result = conn.execute(
            update(leases)
            .where(leases.c.name == name,
                   or_(leases.c.holder == holder, leases.c.expires_at <= now))
            .values(
                holder=holder,
                expires_at=expires,
                acquired_at=case((leases.c.holder == holder, leases.c.acquired_at), else_=now),
            )
        )
        if result.rowcount == 1:
            return True
        exists = conn.execute(select(leases.c.name).where(leases.c.name == name)).first()
    if exists is not None:
        return False
    try:
        with engine.begin() as conn:
            conn.execute(leases.insert().values(name=name, holder=holder, expires_at=expires,
                                                acquired_at=now))
        return True
    except exc.IntegrityError:  # another worker created it first
        return False


def fence(conn: Connection, holder: str, now: datetime, ttl_s: float,
          name: str = DETECTOR_LEASE) -> None:
    """Renew inside the tick's transaction, or raise ``LeaseLost``."""
    result = conn.execute(
        update(leases)
        .where(and_(leases.c.name == name, leases.c.holder == holder,
                    leases.c.expires_at > now))
        .values(expires_at=now + timedelta(seconds=ttl_s))
    )
    if result.rowcount != 1:
        raise LeaseLost(f"{holder} does not hold the '{name}' lease any more")


def release(engine: Engine, holder: str, now: datetime, name: str = DETECTOR_LEASE) -> bool:
    """Give the lease up (clean stop): a standby takes over at its next poll."""
    with engine.begin() as conn:
        result = conn.execute(
            update(leases)
            .where(leases.c.name == name, leases.c.holder == holder)
            .values(expires_at=now)
        )
        return result.rowcount == 1


def current(conn: Connection, name: str = DETECTOR_LEASE) -> LeaseState | None:
    row = conn.execute(select(leases).where(leases.c.name == name)).mappings().first()
    if row is None:
        return None
    return LeaseState(row["holder"], row["expires_at"], row["acquired_at"])
