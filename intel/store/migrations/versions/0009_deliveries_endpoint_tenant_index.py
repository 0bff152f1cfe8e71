"""deliveries: an (endpoint, tenant) index, so "the one tenant of an endpoint" is two probes

Opening an endpoint-spike incident records the tenant it concerns: the one tenant of every
delivery to that endpoint (``intel.incidents.store.sole_tenant``). Without this index that
question read every delivery to the endpoint; on PostgreSQL at 1M deliveries it took 2.2 s
of a detector tick (the heap fetches of ix_deliveries_endpoint_time), where the rest of a
tick takes about 50 ms. With it, the first and the last tenant are one index probe each.

Revision ID: 0009
Revises: 0007
"""

from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_endpoint_tenant", "deliveries", ["endpoint", "tenant"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_endpoint_tenant", table_name="deliveries")
