"""replay: unknown outcomes and job-long claims (resend_unknown, blocked_by, claim indexes)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("replay_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resend_unknown", sa.Boolean(), nullable=False,
                      server_default=sa.false())
        )
    with op.batch_alter_table("replay_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blocked_by", sa.String(length=64), nullable=True))
    with op.batch_alter_table("replay_claims", schema=None) as batch_op:
        batch_op.create_index("ix_replay_claims_job_state", ["job_id", "state"], unique=False)
        batch_op.create_index("ix_replay_claims_state", ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("replay_claims", schema=None) as batch_op:
        batch_op.drop_index("ix_replay_claims_state")
        batch_op.drop_index("ix_replay_claims_job_state")
    with op.batch_alter_table("replay_items", schema=None) as batch_op:
        batch_op.drop_column("blocked_by")
    with op.batch_alter_table("replay_jobs", schema=None) as batch_op:
        batch_op.drop_column("resend_unknown")
