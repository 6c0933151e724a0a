"""Install requests by e-mail: the message with a time-limited download link, and the download itself."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, Deployment, Document, DownloadLink
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.domain.software import SOFTWARE
from certmgr.controller.domain.states import DeploymentStatus, check_deployment_transition
from certmgr.controller.services.admin.settings import GeneralSettings, MailSettings
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.key_release import record_key_release
from certmgr.controller.services.deployment.deployments import (
    add_event,
    deployment_with_definition,
    move,
)
from certmgr.controller.services.deployment.packages import package_kind, text_templates
from certmgr.controller.services.notification.mail import OutgoingMail, deliver, record_sent
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConflictError, NotFoundError
from certmgr.shared.pki import summarize

LINK_LIFETIME = dt.timedelta(days=7)
REDACTED_TOKEN = "<redacted>"  # noqa: S105 - the placeholder for a download token


async def _latest_package(db: Database, dep: Deployment) -> Document:
    async with db.reader() as s:
        doc = (
            await s.execute(
                select(Document)
                .where(Document.kind == package_kind(dep.id))
                .order_by(Document.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    if doc is None:
        raise ConflictError(f"deployment {dep.id} has no package yet: prepare it first")
    return doc


@dataclass(frozen=True)
class InstallMail:
    """The install-request e-mail, for preview or as sent."""

    to: tuple[str, ...]
    subject: str
    body: str
    sent: bool = False
    result: str = ""
    error: str = ""


def _cert_facts(cert: x509.Certificate) -> dict[str, str]:
    s = summarize(cert)
    return {
        "subject": s.subject,
        "sans": ", ".join(s.sans),
        "not_after": s.not_after.strftime("%Y-%m-%d %H:%M UTC"),
        "sha256": s.sha256,
    }


async def request_install(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    dep_ref: str | int,
    clock: Clock,
    *,
    mail: MailSettings,
    general: GeneralSettings,
    base_url: str,
    send: bool,
) -> InstallMail:
    """Build (and with ``send``, send) the install-request e-mail with a time-limited download link.

    Sending hands the package (it carries the private key) to the recipients: a key release
    (Admin), audited with who, the definition and the recipients. The download link exists only
    once the SMTP server accepted the message, and the stored copy in Sent Emails (and the
    returned body) shows the link with its token redacted.

    Raises:
        PermissionDeniedError: ``send`` and the actor may not release private keys.
        ConflictError: No package, or no administrator e-mail on the deployment.
        InvalidTransitionError: The deployment cannot move to ``install-requested`` now.
    """
    async with db.reader() as s:
        dep, d = await deployment_with_definition(s, dep_ref)
    if send:
        actor.require_key_release(
            "e-mailing the package's download link", dep.admin_email or "the server administrator"
        )
    if not dep.admin_email:
        raise ConflictError(f"deployment {dep.id} has no server administrator e-mail")
    doc = await _latest_package(db, dep)
    async with db.reader() as s:
        cert_row = await s.get(Certificate, dep.certificate_id) if dep.certificate_id else None
    if cert_row is None:
        raise ConflictError("prepare the deployment first")
    token = secrets.token_urlsafe(24) if send else "PREVIEW-LINK-TOKEN"
    expires = clock.now() + LINK_LIFETIME
    link = f"{(general.external_url or base_url).rstrip('/')}/dl/{token}"
    sw = SOFTWARE[dep.target_type]
    body = (
        text_templates()
        .get_template("mail/install_request.txt")
        .render(
            server=dep.server_name,
            software=sw.label,
            link=link,
            link_expires=expires.strftime("%Y-%m-%d %H:%M UTC"),
            check=f"{dep.check_host}:{dep.check_port}" if dep.monitoring else "",
            signature=general.signature,
            **_cert_facts(x509.load_der_x509_certificate(cert_row.der)),
        )
    )
    to = tuple(a.strip() for a in dep.admin_email.split(",") if a.strip())
    subject = f"Please install the new certificate on {dep.server_name}"
    if not send:
        return InstallMail(to, subject, body)
    # Refuse before sending: a mail whose link could not be recorded would be a dead end.
    check_deployment_transition(
        f"deployment {dep.id}", dep.status, DeploymentStatus.INSTALL_REQUESTED
    )
    outgoing = OutgoingMail(
        to, subject, body, "install-request", "deployment", str(dep.id), redact=(token,)
    )
    error = await deliver(mail, outgoing)
    async with db.transaction() as s:
        row = await record_sent(s, actor, outgoing, error, clock)
        dep, d = await deployment_with_definition(s, dep.id)
        if row.result == "sent":
            dl = DownloadLink(
                token_sha256=hashlib.sha256(token.encode()).hexdigest(),
                document_id=doc.id,
                deployment_id=dep.id,
                expires_at=expires,
                created_at=clock.now(),
            )
            s.add(dl)
            await s.flush()
            move(
                s,
                dep,
                actor,
                DeploymentStatus.INSTALL_REQUESTED,
                f"install request e-mailed to {row.to}",
                clock,
                {"email": row.id},
            )
            record_key_release(
                s,
                actor,
                what="download-link",
                to_whom=row.to,
                definition=(d.id, d.name),
                key_id=cert_row.private_key_id,
                clock=clock,
                detail={
                    "deployment": dep.id,
                    "document": doc.id,
                    "link": dl.id,
                    "email": row.id,
                    "expires": expires.isoformat(),
                },
            )
        else:
            add_event(
                s,
                dep,
                actor,
                "mail-failed",
                f"install request to {row.to} failed (no download link was made): {row.error}",
                clock,
                {"email": row.id},
            )
    return InstallMail(to, subject, row.body, True, row.result, row.error)


async def download_package(
    db: Database, root: object, token: str, address: str, clock: Clock
) -> tuple[Document, bytes]:
    """The package behind a download link (audited).

    Raises:
        NotFoundError: Unknown or expired link.
    """
    if not 16 <= len(token) <= 100:
        raise NotFoundError("this download link is not valid")
    digest = hashlib.sha256(token.encode()).hexdigest()
    now = clock.now()
    async with db.transaction() as s:
        link = (
            await s.execute(select(DownloadLink).where(DownloadLink.token_sha256 == digest))
        ).scalar_one_or_none()
        who = Actor(name="download-link", role=Role.USER, source=address)
        if link is None or link.expires_at < now:
            audit(
                s,
                who,
                "package.download-refused",
                "download",
                link.id if link else "",
                {"reason": "expired" if link else "unknown"},
                clock=clock,
            )
            raise NotFoundError(
                "this download link is not valid or has expired; ask the certificate administrator for a new one"
            )
        doc = await s.get(Document, link.document_id)
        if doc is None:
            raise NotFoundError("the package no longer exists")
        link.downloads += 1
        audit(
            s,
            who,
            "package.download",
            "deployment",
            link.deployment_id or "",
            {"document": doc.id, "link": link.id},
            clock=clock,
        )
    path = Path(str(root)) / str(doc.definition_id) / doc.stored_name
    try:
        data = await asyncio.to_thread(path.read_bytes)  # a protected package is ~25 MB
    except FileNotFoundError:
        raise NotFoundError("the package file is missing") from None
    return doc, data
