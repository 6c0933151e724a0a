"""Alembic environment: always run with a connection handed in by certmgr."""

from alembic import context

from certmgr.controller.db import models  # noqa: F401  (registers every table)
from certmgr.controller.db.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through 'certmgr db upgrade'")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
