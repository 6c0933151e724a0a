"""a definition's held certificate and when it becomes current

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certificate_definitions") as batch:
        batch.add_column(sa.Column("held_certificate_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("switch_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("certificate_definitions") as batch:
        batch.drop_column("switch_at")
        batch.drop_column("held_certificate_id")
