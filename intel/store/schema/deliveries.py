"""Deliveries (CONTRACTS §1) and their attempts."""

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Table, Text, text

from intel.store.schema._meta import metadata
from intel.store.types import JSONDoc, UTCDateTime

DELIVERY_STATUSES = ("delivered", "failed", "pending")

# One row per delivery, as the platform last saw it. A failure "happens" at
# last_attempt_at, so every time-window index leads with the filter column and ends
# with last_attempt_at.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("tenant", String(200), nullable=False),
    Column("endpoint", String(2048), nullable=False),
    Column("event_type", String(200)),
    Column("status", String(16), nullable=False),
    Column("http_status", Integer),
    Column("error", Text),
    Column("response_headers", JSONDoc),
    Column("response_body", Text),
    Column("attempts", Integer, nullable=False, default=1),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_attempt_at", UTCDateTime, nullable=False),
    Column("duration_ms", Float),
    Column("payload", JSONDoc),
    # Fields outside CONTRACTS §1 that came with the record: kept, never an error.
    Column("extra", JSONDoc),
    Column("updated_at", UTCDateTime, nullable=False),
    # status closes the other time indexes so counts per status read the index alone
    # (migration 0002).
    Index("ix_deliveries_last_attempt_at", "last_attempt_at", "status"),
    Index("ix_deliveries_status_time", "status", "last_attempt_at"),
    Index("ix_deliveries_tenant_time", "tenant", "last_attempt_at", "status"),
    Index("ix_deliveries_endpoint_time", "endpoint", "last_attempt_at", "status"),
    Index("ix_deliveries_event_type_time", "event_type", "last_attempt_at", "status"),
    # The one tenant of an endpoint, as two index probes (migration 0009).
    Index("ix_deliveries_endpoint_tenant", "endpoint", "tenant"),
    # Only the failed rows (a few percent): insights and the detector count failures per
    # endpoint, tenant, event type and HTTP status from this index alone (migration 0003).
    Index(
        "ix_deliveries_failed_time",
        "last_attempt_at", "endpoint", "tenant", "event_type", "http_status",
        sqlite_where=text("status = 'failed'"),
        postgresql_where=text("status = 'failed'"),
    ),
)

# One row per attempt this system knows of: the latest attempt of an imported or
# simulated delivery (kind "delivery") and every replay (kind "replay", with operator
# and job).
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(200), ForeignKey("deliveries.id", ondelete="CASCADE"),
           nullable=False),
    Column("attempt_no", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("http_status", Integer),
    Column("error", Text),
    Column("response_headers", JSONDoc),
    Column("response_body", Text),
    Column("duration_ms", Float),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("operator", String(200)),
    Column("job_id", String(64)),
    Index("ix_delivery_attempts_delivery", "delivery_id", "finished_at"),
    Index("ix_delivery_attempts_kind_time", "kind", "finished_at"),
    Index("ix_delivery_attempts_job", "job_id"),
)
