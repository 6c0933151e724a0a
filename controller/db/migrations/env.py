"""Alembic environment: always run with a connection handed in by certmgr."""

from alembic import context

from certmgr.controller.db.models import all_tables_metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through 'certmgr db upgrade'")
context.configure(
    connection=connection,
    target_metadata=all_tables_metadata(),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
