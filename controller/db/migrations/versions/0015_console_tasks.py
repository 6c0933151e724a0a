"""console tasks: long work started in the console, with progress (issue 14 item 10)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 00:40:00
"""

from collections.abc import Sequence

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in the next commit


def downgrade() -> None:
    pass
