"""Worker coordination: leader lease and heartbeats."""

from sqlalchemy import Column, Float, String, Table

from intel.store.schema._meta import metadata
from intel.store.types import JSONDoc, UTCDateTime

leases = Table(
    "leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
)

heartbeats = Table(
    "heartbeats",
    metadata,
    Column("component", String(100), primary_key=True),  # e.g. "detector"
    Column("holder", String(200), nullable=False),
    Column("beat_at", UTCDateTime, nullable=False),
    Column("last_duration_ms", Float),
    Column("info", JSONDoc),
)
