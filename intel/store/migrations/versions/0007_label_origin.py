"""labels: origin of each label (starter | operator | <imported file name>)

The rules were written against the starter label set: their accuracy on it is
in-sample, and the Accuracy page must say so. Existing labels get ``starter`` when
their labeler is ``starter-set`` (the name the demo seed and the documented import of
``data/triage_labels_starter.jsonl`` give them), ``operator`` otherwise.

Numbered 0007 but applied after 0008 (another change took 0006 and 0008 in parallel);
revisions are ordered by ``down_revision``, not by number.

Revision ID: 0007
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=200), nullable=False,
                      server_default="operator")
        )
    labels = sa.table("labels", sa.column("labeler", sa.String()),
                      sa.column("origin", sa.String()))
    op.get_bind().execute(
        sa.update(labels).where(labels.c.labeler == "starter-set").values(origin="starter")
    )


def downgrade() -> None:
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.drop_column("origin")
