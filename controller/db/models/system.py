"""Controller-wide records: settings, sign-in failures, sent e-mails."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, LargeBinary, String, Text
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


class LoginFailure(Base):
    """A failed sign-in, kept for rate limiting (per account and per address)."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_user_at", "username", "at"),
        Index("ix_login_failures_addr_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]


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
