"""incidents: the peak's time, window and expected failures (peak_at, peak_window_s,
peak_baseline)

An incident's headline says its figures at its peak ("peak 45 failures in 5 min, 15x
normal; now 3"); until now only the peak's count was kept. Existing incidents get what
their stored facts tell: the window they report on, and the peak's time and expected
failures when the opening or the last tick was the peak (otherwise those stay NULL and
the headline leaves the ratio out).

Revision ID: 0008
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import intel.store.types

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("peak_at", intel.store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("peak_window_s", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("peak_baseline", sa.Float(), nullable=True))
    incidents = sa.table(
        "incidents",
        sa.column("id", sa.String()),
        sa.column("peak_failures", sa.Integer()),
        sa.column("detected_at", intel.store.types.UTCDateTime(timezone=True)),
        sa.column("updated_at", intel.store.types.UTCDateTime(timezone=True)),
        sa.column("details", intel.store.types.JSONDoc),
        sa.column("peak_at", intel.store.types.UTCDateTime(timezone=True)),
        sa.column("peak_window_s", sa.Integer()),
        sa.column("peak_baseline", sa.Float()),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(incidents.c.id, incidents.c.peak_failures,
                                  incidents.c.detected_at, incidents.c.updated_at,
                                  incidents.c.details)).all()
    for incident_id, peak, detected_at, updated_at, details in rows:
        values = backfill(peak, detected_at, updated_at, details or {})
        if values:
            conn.execute(sa.update(incidents).where(incidents.c.id == incident_id)
                         .values(**values))


def backfill(peak, detected_at, updated_at, details: dict) -> dict:
    """The peak columns an existing incident's stored facts can tell."""
    opened = details.get("opened") or {}
    last = details.get("last") or {}
    values: dict = {}
    window_s = opened.get("window_s") or last.get("window_s")
    if window_s:
        values["peak_window_s"] = int(window_s)
    for facts, at in ((opened, detected_at), (last, updated_at)):
        if facts.get("failures") == peak and facts.get("expected") is not None:
            values.update(peak_at=at, peak_baseline=float(facts["expected"]))
            break
    return values


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("peak_baseline")
        batch_op.drop_column("peak_window_s")
        batch_op.drop_column("peak_at")
