"""The audit trail: every operator and system action."""

from sqlalchemy import Column, Index, Integer, String, Table, Text

from intel.store.schema._meta import metadata
from intel.store.types import JSONDoc, UTCDateTime

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("actor_kind", String(16), nullable=False),  # operator | system
    Column("action", String(100), nullable=False),
    Column("target_type", String(50)),
    Column("target_id", String(2048)),
    Column("summary", Text),
    Column("details", JSONDoc),
    # The tenant the action concerns, when it concerns exactly one: a tenant-scoped
    # identity sees only its tenants' entries (migration 0005).
    Column("tenant", String(200)),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_actor_at", "actor", "at"),
    Index("ix_audit_log_action_at", "action", "at"),
    Index("ix_audit_log_target", "target_type", "target_id"),
    Index("ix_audit_log_tenant_at", "tenant", "at"),
)
