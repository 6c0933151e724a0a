"""Controller-wide records: settings, sign-in throttling, refused requests, sent e-mails, backups."""

# No `from __future__ import annotations`: SQLAlchemy takes real annotations as they are; string
# ones it parses again with regular expressions and eval (a sixth of loading the models).

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from certmgr.controller.db.base import Base


class SettingRecord(Base):
    """One setting; secrets go to ``sealed`` (sealed with the master key), never to ``value``."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(100), default="")


class SignInThrottle(Base):
    """Recent failed sign-ins of one source, per account (``username``) and overall (``""``).

    One row per pair, updated in place: failures grow the delay before the next attempt from
    that source; nothing locks an account for everybody.
    """

    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("address", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(100))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(index=True)


class AccessRefusal(Base):
    """Requests refused by the IP allow-list, counted per source and minute (one row each)."""

    __tablename__ = "access_refusals"
    __table_args__ = (UniqueConstraint("source", "minute"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    minute: Mapped[dt.datetime] = mapped_column(index=True)
    count: Mapped[int] = mapped_column(default=1)
    last_path: Mapped[str] = mapped_column(String(200), default="")


class SentEmail(Base):
    """Every e-mail certmgr sent or tried to send."""

    __tablename__ = "sent_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(40))
    to: Mapped[str] = mapped_column(String(1000))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(String(20))  # sent | failed | pending
    error: Mapped[str] = mapped_column(Text, default="")
    entity_type: Mapped[str] = mapped_column(String(50), default="")
    entity_id: Mapped[str] = mapped_column(String(100), default="")
    attempts: Mapped[int] = mapped_column(default=1)


class BackupRun(Base):
    """One backup taken (``certmgr backup`` or the scheduled job), with its file, size and result."""

    __tablename__ = "backup_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(index=True)
    finished_at: Mapped[dt.datetime]
    trigger: Mapped[str] = mapped_column(String(20))  # manual | scheduled
    result: Mapped[str] = mapped_column(String(20))  # ok | failed
    path: Mapped[str] = mapped_column(String(1000), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    master_key_included: Mapped[bool] = mapped_column(default=False)
    database_kind: Mapped[str] = mapped_column(String(20), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    pruned: Mapped[bool] = mapped_column(default=False)  # the file was removed by retention
