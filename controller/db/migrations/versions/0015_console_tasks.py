"""console tasks: long work started in the console, with progress (issue 14 item 10)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_tasks")),
    )
    with op.batch_alter_table("console_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_tasks_actor"), ["actor"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_console_tasks_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("console_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_tasks_created_at"))
        batch_op.drop_index(batch_op.f("ix_console_tasks_actor"))
    op.drop_table("console_tasks")
