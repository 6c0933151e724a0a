"""Agents, their enrolment tokens, replay guards and queued work; download links."""

# No `from __future__ import annotations`: SQLAlchemy takes real annotations as they are; string
# ones it parses again with regular expressions and eval (a sixth of loading the models).

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from certmgr.controller.db.base import Base


class Agent(Base):
    """An enrolled agent (public keys only; its private keys never leave its host)."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    hostname: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[str] = mapped_column(String(50), default="")
    x25519_public: Mapped[bytes] = mapped_column(LargeBinary)
    ed25519_public: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(
        String(20), default="approved"
    )  # pending | approved | revoked
    enrolled_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    targets: Mapped[list[Any]] = mapped_column(default=list)


class EnrollmentToken(Base):
    """A single-use, expiring enrolment token (only its hash is kept)."""

    __tablename__ = "enrollment_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name_hint: Mapped[str] = mapped_column(String(200), default="")
    auto_approve: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime]


class AgentNonce(Base):
    """Nonces seen from an agent within the allowed clock skew (refuses replays)."""

    __tablename__ = "agent_nonces"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)


class AgentWork(Base):
    """A package or key-generation job waiting for an agent."""

    __tablename__ = "agent_work"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # package | keygen
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), default=None
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate_requests.id", ondelete="CASCADE"), default=None
    )
    sequence: Mapped[int] = mapped_column(default=0)
    blob: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(
        String(10), default="queued", index=True
    )  # queued | delivered | done | failed
    created_at: Mapped[dt.datetime]
    delivered_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    done_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class DownloadLink(Base):
    """A time-limited link to a package in a document folder (only the token's hash is kept)."""

    __tablename__ = "download_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), default=None
    )
    expires_at: Mapped[dt.datetime]
    downloads: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime]
