"""Offset paging of a SELECT: one page of rows and the total count."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def page_of(
    s: AsyncSession,
    stmt: Select[T],
    order: tuple[ColumnElement[Any], ...],
    *,
    page: int,
    per_page: int,
) -> tuple[list[T], int]:
    """Rows ``(page - 1) * per_page`` onward of ``stmt`` in ``order``, and how many there are."""
    total = int((await s.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one())
    rows = (
        await s.execute(stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page))
    ).scalars()
    return list(rows.all()), total
