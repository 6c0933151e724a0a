"""Long work started from the console (bulk changes, ACME orders, package preparation)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from certmgr.controller.db.base import Base


class ConsoleTask(Base):
    """One piece of long work with its progress, polled by the page that started it."""

    __tablename__ = "console_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(10), default="running")  # running | done | failed
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    lines: Mapped[list[Any]] = mapped_column(default=list)  # one sentence per item handled
    location: Mapped[str] = mapped_column(String(500), default="")  # where the result is
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    updated_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
