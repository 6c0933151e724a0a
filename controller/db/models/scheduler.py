"""Work shared between controllers: a job's items in batches, each claimed under a lease."""

# No `from __future__ import annotations`: SQLAlchemy takes real annotations as they are; string
# ones it parses again with regular expressions and eval (a sixth of loading the models).

import datetime as dt
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from certmgr.controller.db.base import Base


class WorkBatch(Base):
    """A batch of one job round's items (deployment ids, message ids), claimed by one controller.

    ``state`` is ``pending`` (nobody has it), ``claimed`` (``holder`` works on it until
    ``lease_until``, extending it while alive) or ``done`` (``result`` holds its counts). A claim
    whose lease ran out is taken by the next controller that looks (``attempts`` counts the takes).
    """

    __tablename__ = "work_batches"
    __table_args__ = (Index("ix_work_batches_job_state", "job", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(50))
    round: Mapped[str] = mapped_column(String(40), index=True)
    round_started_at: Mapped[dt.datetime]
    items: Mapped[list[Any]] = mapped_column(default=list)  # ints
    state: Mapped[str] = mapped_column(String(10), default="pending")
    holder: Mapped[str] = mapped_column(String(100), default="")
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    done_by: Mapped[str] = mapped_column(String(100), default="")
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
