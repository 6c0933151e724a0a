"""Deployments (the deployment process) of a definition's current certificate to one server."""

# No `from __future__ import annotations`: SQLAlchemy takes real annotations as they are; string
# ones it parses again with regular expressions and eval (a sixth of loading the models).

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from certmgr.controller.db.base import Base


class Deployment(Base):
    """Where and how a definition's certificate is installed and checked."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("certificate_definitions.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    common_name: Mapped[str] = mapped_column(String(500), default="")
    server_name: Mapped[str] = mapped_column(String(255))
    check_host: Mapped[str] = mapped_column(String(255))
    check_port: Mapped[int] = mapped_column(default=443)
    sni: Mapped[str] = mapped_column(String(255), default="")
    starttls: Mapped[str] = mapped_column(String(10), default="")  # "" | smtp
    target_type: Mapped[str] = mapped_column(String(30))
    target_params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    delivery: Mapped[str] = mapped_column(String(20))  # agent | oneclick | conventional
    admin_email: Mapped[str] = mapped_column(String(254), default="")
    monitoring: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), default=None)
    agent_id: Mapped[int | None] = mapped_column(default=None)
    sequence: Mapped[int] = mapped_column(default=0)
    notes: Mapped[str] = mapped_column(Text, default="")
    production: Mapped[bool] = mapped_column(default=True)
    sealed_receipt_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    receipt_used: Mapped[bool] = mapped_column(default=False)
    last_check_id: Mapped[int | None] = mapped_column(default=None)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class DeploymentEvent(Base):
    """Append-only history of a deployment."""

    __tablename__ = "deployment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CheckChallenge(Base):
    """A controller-issued challenge for one manual check: its key makes the one code accepted.

    The check key shown to an admin is derived from the master key, the deployment and ``nonce``;
    a code made with it is accepted once (``used_at``) and only before ``expires_at``.
    """

    __tablename__ = "check_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    used_by: Mapped[str] = mapped_column(String(100), default="")
    check_result_id: Mapped[int | None] = mapped_column(default=None)
