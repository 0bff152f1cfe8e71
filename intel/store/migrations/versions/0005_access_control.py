"""access control: api_tokens; tenant of audit events and incidents

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import intel.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column(
            "tenants",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", intel.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("expires_at", intel.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", intel.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", intel.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_api_tokens")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index("uq_api_tokens_token_hash", ["token_hash"], unique=True)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_audit_log_tenant_at", ["tenant", "at"], unique=False)
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant", sa.String(length=200), nullable=True))
        batch_op.create_index(
            "ix_incidents_tenant_detected", ["tenant", "detected_at"], unique=False
        )
    # Existing tenant spikes concern their target.
    op.execute("UPDATE incidents SET tenant = target WHERE type = 'tenant_spike'")


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_tenant_detected")
        batch_op.drop_column("tenant")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_tenant_at")
        batch_op.drop_column("tenant")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("uq_api_tokens_token_hash")
    op.drop_table("api_tokens")
