"""``INSERT ... ON CONFLICT DO UPDATE`` for the two databases certmgr runs on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def upsert(
    s: AsyncSession,
    model: type[Any],
    values: Mapping[str, Any],
    keys: Sequence[str],
    set_: Mapping[str, Any],
    returning: Sequence[Any] = (),
) -> Executable:
    """One statement that inserts ``values`` or, when ``keys`` clash, applies ``set_`` to the row."""
    if s.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(model).values(**values)
        stmt: Any = pg.on_conflict_do_update(index_elements=list(keys), set_=dict(set_))
    else:
        lite = sqlite.insert(model).values(**values)
        stmt = lite.on_conflict_do_update(index_elements=list(keys), set_=dict(set_))
    if returning:
        stmt = stmt.returning(*returning)
    result: Executable = stmt
    return result
