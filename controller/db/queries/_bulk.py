"""Core INSERTs on a model's table for executemany of many plain rows.

``insert(Model)`` with a list of dicts goes through the ORM bulk path, which builds per-row
state first (about a third of an import's write time); rows without relationships or ORM
events lose nothing by going straight to the table.
"""

from __future__ import annotations

from sqlalchemy import Insert, Table, insert

from certmgr.controller.db.base import Base


def table_insert(model: type[Base]) -> Insert:
    """``INSERT INTO`` the model's table (column defaults apply as in the ORM)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return insert(table)
