"""ACME accounts and commercial-vendor accounts."""

# No `from __future__ import annotations`: SQLAlchemy takes real annotations as they are; string
# ones it parses again with regular expressions and eval (a sixth of loading the models).

import datetime as dt
from typing import Any

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from certmgr.controller.db.base import Base


class AcmeAccount(Base):
    """An account at one ACME directory (key sealed with the master key)."""

    __tablename__ = "acme_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    directory_url: Mapped[str] = mapped_column(String(500))
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    account_url: Mapped[str] = mapped_column(String(500), default="")
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    eab_kid: Mapped[str] = mapped_column(String(200), default="")
    ca_bundle_pem: Mapped[str] = mapped_column(Text, default="")
    profile: Mapped[str] = mapped_column(String(100), default="")
    challenge: Mapped[str] = mapped_column(String(20), default="http-01")  # http-01 | dns-01
    dns: Mapped[dict[str, Any]] = mapped_column(
        default=dict
    )  # RFC 2136 server/zone/key name (secret sealed below)
    sealed_dns_secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    status: Mapped[str] = mapped_column(String(20), default="valid")
    created_at: Mapped[dt.datetime]


class VendorAccount(Base):
    """A login at a commercial CA's web shop (password sealed)."""

    __tablename__ = "vendor_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    vendors: Mapped[list[str]] = mapped_column(default=list)
    login_name: Mapped[str] = mapped_column(String(200), default="")
    sealed_password: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    registered_email: Mapped[str] = mapped_column(String(254), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]


class AcmeChallenge(Base):
    """A published HTTP-01 response; any controller process that owns the responder port serves it."""

    __tablename__ = "acme_challenges"

    token: Mapped[str] = mapped_column(String(200), primary_key=True)
    key_authorization: Mapped[str] = mapped_column(String(400))
    domain: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime]
