"""The built-in private CA's state: keys (sealed), CRL numbers, revocations."""

# No `from __future__ import annotations`: SQLAlchemy takes real annotations as they are; string
# ones it parses again with regular expressions and eval (a sixth of loading the models).

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from certmgr.controller.db.base import Base


class CertificateAuthority(Base):
    """A private CA (root or subordinate); one is active and issues."""

    __tablename__ = "certificate_authorities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # root | subordinate
    status: Mapped[str] = mapped_column(String(20))  # pending | active | retired
    subject: Mapped[str] = mapped_column(String(2000))
    key_type: Mapped[str] = mapped_column(String(30))
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), default=None)
    csr_pem: Mapped[str] = mapped_column(Text, default="")
    crl_number: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime]


class Revocation(Base):
    """A certificate revoked by a private CA."""

    __tablename__ = "revocations"
    __table_args__ = (UniqueConstraint("ca_id", "serial_hex"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ca_id: Mapped[int] = mapped_column(ForeignKey("certificate_authorities.id"), index=True)
    serial_hex: Mapped[str] = mapped_column(String(64))
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), default=None)
    reason: Mapped[str] = mapped_column(String(40), default="unspecified")
    revoked_at: Mapped[dt.datetime]
    revoked_by: Mapped[str] = mapped_column(String(100), default="")
