"""Core INSERTs on a model's table for executemany of many plain rows.

``insert(Model)`` with a list of dicts goes through the ORM bulk path, which builds per-row
state first (about a third of an import's write time); rows without relationships or ORM
events lose nothing by going straight to the table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Insert, Table, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from certmgr.controller.db.base import Base

_M = TypeVar("_M", bound=Base)
_CHUNK = 500  # rows per statement: parameters and the IN list stay well inside every limit


def table_of(model: type[Base]) -> Table:
    """The table a model is mapped to (for Core statements on it)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def table_insert(model: type[Base]) -> Insert:
    """``INSERT INTO`` the model's table (column defaults apply as in the ORM)."""
    return insert(table_of(model))


async def insert_with_ids(
    s: AsyncSession, model: type[Base], rows: Sequence[Mapping[str, Any]], unique: str
) -> list[int]:
    """Insert ``rows`` by executemany (500 at a time); their new ids in ``rows``' order.

    The ids are read back by the ``unique`` column (a small Core query after each insert): on
    SQLite, ``RETURNING`` with ``sort_by_parameter_order`` makes SQLAlchemy send one INSERT per
    row, and a multi-row ``RETURNING`` alone promises no order.
    """
    if not rows:
        return []
    t = table_of(model)
    keys = [r[unique] for r in rows]
    ids: dict[Any, int] = {}
    for i in range(0, len(rows), _CHUNK):  # the loop is free again between chunks
        await s.execute(insert(t), rows[i : i + _CHUNK])
        found = await s.execute(
            select(t.c[unique], t.c.id).where(t.c[unique].in_(keys[i : i + _CHUNK]))
        )
        ids.update({k: int(v) for k, v in found.all()})
    return [ids[k] for k in keys]


def detached_rows(model: type[_M], rows: Sequence[Mapping[str, Any]]) -> list[_M]:
    """ORM objects of rows just written (every column given, ``id`` included), as if read back.

    They are built the way SQLAlchemy's loader builds loaded objects (a new instance whose
    attributes are filled in directly, then marked detached with its identity), about five
    times cheaper than the constructor's attribute events: the caller gets what a query after
    the commit would have given, without the query.
    """
    manager = inspect(model).class_manager
    out: list[_M] = []
    for values in rows:
        obj = cast(_M, manager.new_instance())
        obj.__dict__.update(values)
        make_transient_to_detached(obj)
        out.append(obj)
    return out
