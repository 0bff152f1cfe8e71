"""Incidents opened, updated and resolved by the anomaly detector."""

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text, text

from intel.store.schema._meta import metadata
from intel.store.types import JSONDoc, UTCDateTime

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("dedup_key", String(2200), nullable=False),  # "<type>|<target>"
    Column("type", String(32), nullable=False),  # burst | endpoint_spike | tenant_spike
    Column("target", String(2048), nullable=False),  # endpoint URL, tenant id, or "*"
    Column("severity", String(16), nullable=False),  # warning | critical
    Column("status", String(16), nullable=False),  # active | resolved
    Column("current_failures", Integer, nullable=False),
    Column("peak_failures", Integer, nullable=False),
    Column("baseline", Float, nullable=False),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("normal_since", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("acknowledged_at", UTCDateTime),
    Column("acknowledged_by", String(200)),
    Column("ack_note", Text),
    Column("details", JSONDoc),
    # The tenant the incident concerns: a tenant spike's target, or the one tenant that
    # delivers to a spiking endpoint; NULL for bursts and shared endpoints, which only
    # identities without a tenant limit see (migration 0005).
    Column("tenant", String(200)),
    # The incident's peak (migration 0008): when its window held the most failures
    # (peak_failures), that window's length and the failures expected then; its headline
    # reads "peak 45 failures in 5 min, 15x normal; now 3" from them.
    Column("peak_at", UTCDateTime),
    Column("peak_window_s", Integer),
    Column("peak_baseline", Float),
    # At most one active incident per (type, target): the database, not the worker,
    # is what stops a double open.
    Index(
        "uq_incidents_active_dedup",
        "dedup_key",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
    Index("ix_incidents_status_detected", "status", "detected_at"),
    Index("ix_incidents_detected_at", "detected_at"),
    Index("ix_incidents_tenant_detected", "tenant", "detected_at"),
)
