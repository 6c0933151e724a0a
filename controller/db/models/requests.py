"""Certificate requests (the acquisition process) and their event history."""

# No `from __future__ import annotations`: SQLAlchemy takes real annotations as they are; string
# ones it parses again with regular expressions and eval (a sixth of loading the models).

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from certmgr.controller.db.base import Base


class CertificateRequest(Base):
    """One acquisition, new or renewal."""

    __tablename__ = "certificate_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("certificate_definitions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # new | renewal
    status: Mapped[str] = mapped_column(String(30), index=True)
    issuer_kind: Mapped[str] = mapped_column(String(20))
    private_key_id: Mapped[int | None] = mapped_column(ForeignKey("private_keys.id"), default=None)
    csr_pem: Mapped[str] = mapped_column(Text, default="")
    product_id: Mapped[str | None] = mapped_column(String(100), default=None)
    vendor_account_id: Mapped[int | None] = mapped_column(default=None)
    order_date: Mapped[dt.datetime | None] = mapped_column(default=None)
    order_number: Mapped[str] = mapped_column(String(200), default="")
    tracking_notes: Mapped[str] = mapped_column(Text, default="")
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), default=None)
    replaces_certificate_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id"), default=None
    )
    last_error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    acme_account_id: Mapped[int | None] = mapped_column(default=None)
    acme_order_url: Mapped[str] = mapped_column(String(500), default="")
    key_on_agent: Mapped[bool] = mapped_column(default=False)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class RequestEvent(Base):
    """Append-only history of a request."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("certificate_requests.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
