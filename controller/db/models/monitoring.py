"""Check results, findings (alerts), job leases, the notification outbox, webhooks."""

# No `from __future__ import annotations`: SQLAlchemy takes real annotations as they are; string
# ones it parses again with regular expressions and eval (a sixth of loading the models).

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from certmgr.controller.db.base import Base


class CheckResult(Base):
    """One TLS check of a deployment (deploy check, monitoring run, manual or agent report)."""

    __tablename__ = "check_results"
    __table_args__ = (Index("ix_check_results_dep_at", "deployment_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime]
    source: Mapped[str] = mapped_column(
        String(20)
    )  # deploy-check | monitor | manual | oneclick | agent
    ok: Mapped[bool] = mapped_column(default=False)
    reachable: Mapped[bool] = mapped_column(default=False)
    served_sha256: Mapped[str] = mapped_column(String(64), default="")
    matches_current: Mapped[bool] = mapped_column(default=False)
    chain_complete: Mapped[bool] = mapped_column(default=False)
    chain_in_order: Mapped[bool] = mapped_column(default=False)
    hostname_matches: Mapped[bool] = mapped_column(default=False)
    days_left: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Finding(Base):
    """Something that needs action; opened when it appears, cleared when it goes away."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_open", "state", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(200), index=True)  # kind + subject, unique while open
    definition_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificate_definitions.id", ondelete="CASCADE"), default=None, index=True
    )
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), default=None, index=True
    )
    severity: Mapped[str] = mapped_column(String(10))  # critical | warning | info
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="open")  # open | cleared
    opened_at: Mapped[dt.datetime]
    cleared_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    digested_open: Mapped[bool] = mapped_column(default=False)
    digested_clear: Mapped[bool] = mapped_column(default=False)
    notified: Mapped[bool] = mapped_column(default=False)


class JobLease(Base):
    """A scheduled job: who runs it now, until when, when it runs next."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100), default="")
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    next_run_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_result: Mapped[str] = mapped_column(String(20), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_duration_ms: Mapped[int] = mapped_column(default=0)
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMessage(Base):
    """A notification (e-mail or webhook) waiting to be delivered, retried with backoff."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # email | webhook
    target: Mapped[str] = mapped_column(String(1000))
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(
        String(10), default="pending", index=True
    )  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]
    webhook_id: Mapped[int | None] = mapped_column(default=None)
    sent_email_id: Mapped[int | None] = mapped_column(
        ForeignKey("sent_emails.id", ondelete="SET NULL"), default=None
    )


class Webhook(Base):
    """A generic JSON POST endpoint, signed with HMAC-SHA256 (secret sealed)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(1000))
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    events: Mapped[list[str]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
