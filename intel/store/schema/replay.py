"""Endpoints' signing secrets, replay jobs, their items and the per-delivery claim."""

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from intel.store.schema._meta import metadata
from intel.store.types import JSONDoc, UTCDateTime

endpoints = Table(
    "endpoints",
    metadata,
    Column("url", String(2048), primary_key=True),
    # Standard Webhooks secret ("whsec_..."); replays are signed when one is set.
    Column("signing_secret", Text),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("note", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

replay_jobs = Table(
    "replay_jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("source", String(32), nullable=False),  # advisor | manual | cli | single
    Column("status", String(16), nullable=False),  # pending|running|completed|cancelled|failed
    Column("total", Integer, nullable=False),
    Column("preview", JSONDoc),  # count, endpoints, filters at creation
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("runner_id", String(200)),
    Column("runner_heartbeat_at", UTCDateTime),
    Column("summary", JSONDoc),
    Index("ix_replay_jobs_created_at", "created_at"),
    Index("ix_replay_jobs_status", "status"),
)

replay_items = Table(
    "replay_items",
    metadata,
    Column("job_id", String(64), ForeignKey("replay_jobs.id", ondelete="CASCADE"),
           primary_key=True),
    Column("delivery_id", String(200), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("endpoint", String(2048), nullable=False),
    # pending | sending | succeeded | failed | skipped | refused | cancelled | interrupted
    # (interrupted: in flight when its runner died; never re-sent, see intel.replay.states)
    Column("state", String(16), nullable=False),
    Column("reason", Text),
    Column("attempt_id", Integer),
    Column("http_status", Integer),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_replay_items_job_state", "job_id", "state"),
)

# A delivery is sent by at most one replay at a time, and never again once it
# succeeded: inserting the claim is the lock (primary key), across processes.
replay_claims = Table(
    "replay_claims",
    metadata,
    Column("delivery_id", String(200), primary_key=True),
    Column("job_id", String(64), nullable=False),
    # sending | succeeded | unknown (an interrupted replay: kept until an operator releases it)
    Column("state", String(16), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
)
