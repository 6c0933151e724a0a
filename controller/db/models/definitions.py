"""Certificate definitions (what a service needs) and their document folders."""

# No `from __future__ import annotations`: SQLAlchemy takes real annotations as they are; string
# ones it parses again with regular expressions and eval (a sixth of loading the models).

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from certmgr.controller.db.base import Base


class CertificateDefinition(Base):
    """What a service needs; exactly one current certificate at a time."""

    __tablename__ = "certificate_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    common_name: Mapped[str] = mapped_column(String(500))
    organization: Mapped[str] = mapped_column(String(200), default="")
    organizational_unit: Mapped[str] = mapped_column(String(200), default="")
    locality: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    sans: Mapped[list[str]] = mapped_column(default=list)
    key_type: Mapped[str] = mapped_column(String(30))
    issuer_kind: Mapped[str] = mapped_column(String(20))  # private-ca | acme | vendor | imported
    requirements: Mapped[dict[str, Any]] = mapped_column(default=dict)
    product_id: Mapped[str | None] = mapped_column(String(100), default=None)
    acme_account_id: Mapped[int | None] = mapped_column(default=None)
    requestor: Mapped[str] = mapped_column(String(200), default="")
    renewal_policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    current_certificate_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id", use_alter=True, ondelete="SET NULL"), default=None
    )
    archived: Mapped[bool] = mapped_column(default=False)
    auto_deploy: Mapped[bool] = mapped_column(default=True)
    vendor_account_id: Mapped[int | None] = mapped_column(default=None)
    held_certificate_id: Mapped[int | None] = mapped_column(default=None)
    """A received certificate waiting to become current (at ``switch_at``)."""
    switch_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Document(Base):
    """A file in a definition's document folder (order forms, approvals, packages)."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("certificate_definitions.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(30), default="upload")  # upload | package
    uploaded_by: Mapped[str] = mapped_column(String(100))
    # The signed-in user who made it (None: the CLI or the controller). A package (it carries a
    # private key) is readable only by those who may release keys and by this user.
    owner_user_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime]
