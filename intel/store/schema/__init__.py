"""Every table, on one MetaData. One module per concept; all re-exported here."""

from intel.store.schema._meta import metadata
from intel.store.schema.audit import audit_log
from intel.store.schema.auth import api_tokens
from intel.store.schema.deliveries import DELIVERY_STATUSES, deliveries, delivery_attempts
from intel.store.schema.incidents import incidents
from intel.store.schema.labels import labels
from intel.store.schema.replay import endpoints, replay_claims, replay_items, replay_jobs
from intel.store.schema.simulation import sim_events, sim_failure_truth
from intel.store.schema.worker import heartbeats, leases

__all__ = [
    "DELIVERY_STATUSES",
    "api_tokens",
    "audit_log",
    "deliveries",
    "delivery_attempts",
    "endpoints",
    "heartbeats",
    "incidents",
    "labels",
    "leases",
    "metadata",
    "replay_claims",
    "replay_items",
    "replay_jobs",
    "sim_events",
    "sim_failure_truth",
]
