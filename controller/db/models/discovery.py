"""Discovery: scans, the endpoints each found, the certificates seen, verdicts and repository match."""

# No `from __future__ import annotations`: SQLAlchemy takes real annotations as they are; string
# ones it parses again with regular expressions and eval (a sixth of loading the models).

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from certmgr.controller.db.base import Base


class DiscoveryScan(Base):
    """One scan: who asked for what, where it stands, and its counts.

    A scan is queued by a surface and run by the ``discovery`` job under its own lease
    (``holder``/``lease_until``), so with several replicas each scan runs exactly once and a scan
    whose replica died is taken over.
    """

    __tablename__ = "discovery_scans"
    __table_args__ = (Index("ix_discovery_scans_state", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20), default="controller")  # controller | agent
    scheduled: Mapped[bool] = mapped_column(default=False)
    targets: Mapped[str] = mapped_column(Text)
    ports: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(20))  # queued | running | done | failed | cancelled
    pairs: Mapped[int] = mapped_column(default=0)  # address:port pairs named
    probed: Mapped[int] = mapped_column(default=0)  # results recorded so far
    open_endpoints: Mapped[int] = mapped_column(default=0)  # TLS handshakes completed
    certificates: Mapped[int] = mapped_column(default=0)  # distinct leaves served
    critical: Mapped[int] = mapped_column(default=0)
    warning: Mapped[int] = mapped_column(default=0)
    unknown: Mapped[int] = mapped_column(default=0)  # endpoints serving an unknown certificate
    error: Mapped[str] = mapped_column(Text, default="")
    holder: Mapped[str] = mapped_column(String(100), default="")
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime]
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class DiscoveredCertificate(Base):
    """A leaf certificate some scan saw served, once however often it is seen."""

    __tablename__ = "discovered_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    chain_pem: Mapped[str] = mapped_column(Text, default="")  # what the server sent, leaf first
    subject: Mapped[str] = mapped_column(String(2000))
    common_name: Mapped[str] = mapped_column(String(500), default="")
    issuer: Mapped[str] = mapped_column(String(2000))
    sans: Mapped[list[str]] = mapped_column(default=list)
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    key_label: Mapped[str] = mapped_column(String(30), default="")
    self_signed: Mapped[bool] = mapped_column(default=False)
    # The repository's copy, when there is one (set by matching and by import).
    certificate_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="SET NULL"), default=None, index=True
    )
    first_seen_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]


class DiscoveredEndpoint(Base):
    """One result of a scan: an address:port (with the SNI tried), its outcome and its verdict.

    ``port`` is None for a whole item reported out of scope or unresolved. ``violations`` holds
    the policy rules the served chain breaks (``rule``, ``severity``, ``message``, ``subject``);
    ``match`` says how the served certificate stands in the repository.
    """

    __tablename__ = "discovered_endpoints"
    __table_args__ = (
        Index("ix_discovered_endpoints_scan", "scan_id", "id"),
        Index("ix_discovered_endpoints_place", "address", "port"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("discovery_scans.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40), default="controller")  # controller | agent:N
    target: Mapped[str] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(64), default=None)
    port: Mapped[int | None] = mapped_column(default=None)
    sni: Mapped[str] = mapped_column(String(255), default="")
    starttls: Mapped[str] = mapped_column(String(10), default="")
    outcome: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    protocol: Mapped[str] = mapped_column(String(20), default="")
    cipher: Mapped[str] = mapped_column(String(100), default="")
    connect_ms: Mapped[float | None] = mapped_column(default=None)
    starttls_ms: Mapped[float | None] = mapped_column(default=None)
    handshake_ms: Mapped[float | None] = mapped_column(default=None)
    total_ms: Mapped[float | None] = mapped_column(default=None)
    certificate_id: Mapped[int | None] = mapped_column(
        ForeignKey("discovered_certificates.id"), default=None, index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), default="", index=True)
    verdict: Mapped[str] = mapped_column(String(10), default="")  # "" | ok | warning | critical
    violations: Mapped[list[Any]] = mapped_column(default=list)
    # "" | managed | known-elsewhere | outdated | unknown
    match: Mapped[str] = mapped_column(String(20), default="")
    definition_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate_definitions.id", ondelete="SET NULL"), default=None
    )
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL"), default=None
    )
    imported_at: Mapped[dt.datetime | None] = mapped_column(default=None)
