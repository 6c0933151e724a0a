"""acme challenges

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 04:02:05.971893
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "acme_challenges",
        sa.Column("token", sa.String(length=200), nullable=False),
        sa.Column("key_authorization", sa.String(length=400), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_acme_challenges")),
    )


def downgrade() -> None:

    op.drop_table("acme_challenges")
