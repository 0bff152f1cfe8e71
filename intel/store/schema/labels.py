"""Operator labels: the truth that triage accuracy is measured against."""

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

from intel.store.schema._meta import metadata
from intel.store.types import UTCDateTime

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
    Index("ix_labels_labeled_at", "labeled_at"),
)
