"""Ground truth the traffic simulator records, to measure triage, replay and detection."""

from sqlalchemy import Column, Index, Integer, String, Table, Text

from intel.store.schema._meta import metadata
from intel.store.types import JSONDoc, UTCDateTime

# The true cause and category of every simulated failure.
sim_failure_truth = Table(
    "sim_failure_truth",
    metadata,
    Column("delivery_id", String(200), primary_key=True),
    Column("cause", String(100), nullable=False),
    Column("category", String(40), nullable=False),
    Column("scenario_event", String(100)),  # the injected incident behind it, if any
)

# Every injected incident window and confounder.
sim_events = Table(
    "sim_events",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("kind", String(50), nullable=False),  # outage | misconfig | burst | ratelimit | ...
    Column("is_anomaly", Integer, nullable=False),  # 1: should raise an incident; 0: confounder
    Column("expected_type", String(32)),  # burst | endpoint_spike | tenant_spike
    Column("target", String(2048), nullable=False),
    Column("start_at", UTCDateTime, nullable=False),
    Column("end_at", UTCDateTime, nullable=False),
    Column("description", Text),
    Column("details", JSONDoc),
    Index("ix_sim_events_start", "start_at"),
)
