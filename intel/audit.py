"""The audit trail: one function every operator and system action writes through.

Actions are named ``<area>.<verb>`` (``replay.single``, ``replay.job.start``,
``label.create``, ``incident.open``, ``incident.ack``, ``insights.view`` ...). Pass the
connection of the action's own transaction so the action and its record commit together.

``tenant``: the tenant the action concerns when it concerns exactly one (a label, a
single replay, a tenant's incident, a replay job of one tenant's deliveries). A
tenant-scoped identity reads only its tenants' entries; entries with no tenant
(platform-wide or several tenants: settings, tokens, imports, bursts) are for identities
without a tenant limit only (CONTRACTS §6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from intel.auth.scope import ALL, TenantScope
from intel.store.schema import audit_log
from intel.timeutil import ensure_utc

SYSTEM = "system"


def record(
    conn: Connection,
    *,
    actor: str,
    action: str,
    at: datetime,
    target_type: str | None = None,
    target_id: str | None = None,
    summary: str | None = None,
    details: dict[str, Any] | None = None,
    actor_kind: str | None = None,
    tenant: str | None = None,
) -> int:
    """Write one audit event and return its id (``tenant``: see the module docstring)."""
    if not actor or not actor.strip():
        raise ValueError("audit: actor is required")
    if not action or "." not in action:
        raise ValueError(f"audit: action must be '<area>.<verb>', got {action!r}")
    kind = actor_kind or ("system" if actor == SYSTEM else "operator")
    result = conn.execute(
        insert(audit_log).values(
            at=ensure_utc(at),
            actor=actor.strip(),
            actor_kind=kind,
            action=action,
            target_type=target_type,
            target_id=target_id,
            summary=summary,
            details=details,
            tenant=tenant or None,
        )
    )
    return int(result.inserted_primary_key[0])


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action_prefix: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self):
        clauses = []
        if self.actor:
            clauses.append(audit_log.c.actor == self.actor)
        if self.action_prefix:
            prefix = self.action_prefix.rstrip(".")
            clauses.append(
                (audit_log.c.action == prefix) | audit_log.c.action.startswith(prefix + ".")
            )
        if self.target_type:
            clauses.append(audit_log.c.target_type == self.target_type)
        if self.target_id:
            clauses.append(audit_log.c.target_id == self.target_id)
        if self.since:
            clauses.append(audit_log.c.at >= ensure_utc(self.since))
        if self.until:
            clauses.append(audit_log.c.at < ensure_utc(self.until))
        return clauses

    def describe(self) -> str:
        parts = []
        if self.actor:
            parts.append(f"by {self.actor}")
        if self.action_prefix:
            parts.append(f"action {self.action_prefix}*")
        if self.target_type or self.target_id:
            parts.append(f"on {self.target_type or ''} {self.target_id or ''}".strip())
        if self.since:
            parts.append(f"since {self.since:%Y-%m-%d %H:%M} UTC")
        if self.until:
            parts.append(f"until {self.until:%Y-%m-%d %H:%M} UTC")
        return "All events" + (" " + ", ".join(parts) if parts else "")


def list_events(
    engine: Engine, flt: AuditFilter = AuditFilter(), *, limit: int = 100, offset: int = 0,
    scope: TenantScope = ALL,
) -> tuple[list[dict], int]:
    """One page of events (within ``scope``), newest first, and the total matching."""
    clauses = [*flt.where(), *scope.where(audit_log.c.tenant)]
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(audit_log).where(*clauses)).scalar()
        rows = conn.execute(
            select(audit_log)
            .where(*clauses)
            .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
            .limit(limit)
            .offset(offset)
        ).mappings()
        return [dict(r) for r in rows], int(total or 0)


def distinct_values(
    engine: Engine, column: str, limit: int = 500, *, scope: TenantScope = ALL
) -> list[str]:
    """Known actors or actions (of the entries within ``scope``), for filter pickers."""
    col = audit_log.c[column]
    with engine.connect() as conn:
        rows = conn.execute(
            select(col).where(*scope.where(audit_log.c.tenant)).distinct().order_by(col)
            .limit(limit)
        ).scalars()
        return [r for r in rows if r is not None]
