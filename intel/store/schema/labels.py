"""Operator labels: the truth that triage accuracy is measured against.

Also ``app_flags``: small operator-controlled switches that must be shared by every
process (app, API, worker) and written in the same transaction as their audit event,
such as ``triage.model_enabled`` ("Use model in triage"). Added by migration
``0004``.

``labels.origin`` (migration ``0007``) says where a label came from: ``starter`` (the
starter set shipped in ``data/``, the labels the triage rules were written against, so
the rules' accuracy on them is in-sample), ``operator`` (given or last changed by an
operator in the app), or the name of the label file it was imported from.
"""

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

from intel.store.schema._meta import metadata
from intel.store.types import JSONDoc, UTCDateTime

labels = Table(
    "labels",
    metadata,
    Column("delivery_id", String(200), ForeignKey("deliveries.id", ondelete="CASCADE"),
           primary_key=True),
    Column("category", String(40), nullable=False),
    Column("note", Text),
    Column("labeler", String(200), nullable=False),
    Column("labeled_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # starter | operator | <imported file name> (0007)
    Column("origin", String(200), nullable=False, default="operator",
           server_default="operator"),
    Index("ix_labels_labeled_at", "labeled_at"),
    # "My recent labels": one labeler's labels, latest change first (0004).
    Index("ix_labels_labeler_updated_at", "labeler", "updated_at"),
)

# One row per switch; a missing row means "not set": the reader falls back to the
# settings default (e.g. ``triage.model_enabled`` in config.yaml).
app_flags = Table(
    "app_flags",
    metadata,
    Column("name", String(100), primary_key=True),  # "<area>.<flag>", e.g. triage.model_enabled
    Column("value", JSONDoc, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
