"""Private keys, certificates and their chains."""

# No `from __future__ import annotations`: SQLAlchemy takes real annotations as they are; string
# ones it parses again with regular expressions and eval (a sixth of loading the models).

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from certmgr.controller.db.base import Base


class PrivateKeyRecord(Base):
    """A private key, its own object so requests can reuse it; PKCS#8 sealed with the master key."""

    __tablename__ = "private_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(20))
    size: Mapped[int]
    key_type: Mapped[str] = mapped_column(String(30))
    public_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    origin: Mapped[str] = mapped_column(String(30))  # generated | imported | generated-on-agent
    sealed_pkcs8: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[dt.datetime]


class Certificate(Base):
    """A certificate (leaf or CA) known to the repository."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate_definitions.id", ondelete="SET NULL"), index=True, default=None
    )
    private_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("private_keys.id"), index=True, default=None
    )
    der: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    sha1: Mapped[str] = mapped_column(String(40))
    public_key_sha256: Mapped[str] = mapped_column(String(64), index=True)
    serial_hex: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(2000))
    common_name: Mapped[str] = mapped_column(String(500), index=True)
    issuer: Mapped[str] = mapped_column(String(2000))
    sans: Mapped[list[str]] = mapped_column(default=list)
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime] = mapped_column(index=True)
    key_label: Mapped[str] = mapped_column(String(30))
    is_ca: Mapped[bool] = mapped_column(default=False)
    self_signed: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(20))  # issued | received | imported | discovered
    created_at: Mapped[dt.datetime]
    # Set when the issuer named by the certificate (supplied or known) does not verify its signature:
    # the certificate is corrupted or forged and is never made current without an explicit override.
    signature_problem: Mapped[str | None] = mapped_column(String(500), default=None)


class ChainLink(Base):
    """Position ``position`` (0 = issuer of the leaf) of a certificate's chain."""

    __tablename__ = "certificate_chain"

    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    ca_certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), index=True)
