"""key release ownership and manual-check challenges

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_TOKEN_IN_LINK = re.compile(r"/dl/[A-Za-z0-9_-]{16,100}")


def _redact_stored_download_tokens() -> None:
    """Install requests stored before this revision hold their download token in clear."""
    conn = op.get_bind()
    mails = sa.table(
        "sent_emails",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("body", sa.Text),
    )
    rows = conn.execute(
        sa.select(mails.c.id, mails.c.body).where(mails.c.kind == "install-request")
    ).all()
    for row_id, body in rows:
        redacted = _TOKEN_IN_LINK.sub("/dl/<redacted>", body or "")
        if redacted != body:
            conn.execute(mails.update().where(mails.c.id == row_id).values(body=redacted))


def upgrade() -> None:
    _redact_stored_download_tokens()
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_user_id", sa.Integer(), nullable=True))
    op.create_table(
        "check_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.String(length=100), nullable=False),
        sa.Column("check_result_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_check_challenges_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_challenges")),
        sa.UniqueConstraint("nonce", name=op.f("uq_check_challenges_nonce")),
    )
    with op.batch_alter_table("check_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_check_challenges_deployment_id"), ["deployment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("check_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_challenges_deployment_id"))
    op.drop_table("check_challenges")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("owner_user_id")
