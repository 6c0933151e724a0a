"""work claims: batches of scheduled work shared between controllers (issue 17)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=50), nullable=False),
        sa.Column("round", sa.String(length=40), nullable=False),
        sa.Column("round_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_by", sa.String(length=100), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_batches")),
    )
    with op.batch_alter_table("work_batches", schema=None) as batch_op:
        batch_op.create_index("ix_work_batches_job_state", ["job", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_batches_round"), ["round"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_batches_round"))
        batch_op.drop_index("ix_work_batches_job_state")
    op.drop_table("work_batches")
