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
    false,
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
    # An operator's deliberate resend: its items may take over an "unknown" claim (the
    # receiver may already have the delivery; it is sent again with the same webhook-id).
    Column("resend_unknown", Boolean, nullable=False, default=False,
           server_default=false()),
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
    # pending | sending | succeeded | failed | refused | unknown | skipped | cancelled |
    # interrupted (unknown and interrupted: the outcome is unknown; never re-sent
    # automatically, see intel.replay.states)
    Column("state", String(16), nullable=False),
    Column("reason", Text),
    # skipped because another job holds the delivery: that job's id
    Column("blocked_by", String(64)),
    Column("attempt_id", Integer),
    Column("http_status", Integer),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_replay_items_job_state", "job_id", "state"),
)

# A delivery belongs to at most one unfinished job, and is never sent again once it
# succeeded or its outcome is unknown: inserting the claim is the lock (primary key),
# across processes. See intel.replay.states for the lifecycle.
replay_claims = Table(
    "replay_claims",
    metadata,
    Column("delivery_id", String(200), primary_key=True),
    Column("job_id", String(64), nullable=False),
    # queued | sending | succeeded | unknown
    Column("state", String(16), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    Index("ix_replay_claims_job_state", "job_id", "state"),
    Index("ix_replay_claims_state", "state"),
)
