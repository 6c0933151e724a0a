"""What happens to a deployment: prepare the package, request the install, check, close."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CheckResult,
    Deployment,
    Document,
    DownloadLink,
)
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.software import SOFTWARE
from certmgr.controller.domain.states import DeploymentStatus, check_deployment_transition
from certmgr.controller.services.admin.settings import GeneralSettings, MailSettings
from certmgr.controller.services.admin.users import check_password_policy
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.documents import PACKAGE_KIND_PREFIX, add_document
from certmgr.controller.services.certificates.key_release import record_key_release
from certmgr.controller.services.certificates.material import current_material
from certmgr.controller.services.certificates.store import chain_of
from certmgr.controller.services.deployment.deployments import (
    add_event,
    deployment_with_definition,
    move,
)
from certmgr.controller.services.deployment.packages import (
    build_conventional,
    layout_for,
    new_passphrase,
    text_templates,
)
from certmgr.controller.services.deployment.stamping import find_runtime, sealed_executable
from certmgr.controller.services.notification.mail import (
    OutgoingMail,
    deliver,
    record_sent,
    send_and_record,
)
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.deploycheck import CheckOutcome, evaluate
from certmgr.shared.errors import ConflictError, NotFoundError, ValidationError
from certmgr.shared.packagefiles import UNPACK_TARGET
from certmgr.shared.pki import summarize
from certmgr.shared.tlsprobe import probe

LINK_LIFETIME = dt.timedelta(days=7)
REDACTED_TOKEN = "<redacted>"  # noqa: S105 - the placeholder for a download token


@dataclass(frozen=True)
class Prepared:
    """A prepared conventional package (the passphrase is shown once, never stored)."""

    deployment: Deployment
    document: Document
    passphrase: str = field(repr=False)


def package_kind(dep_id: int) -> str:
    """The document kind of a deployment's packages."""
    return f"{PACKAGE_KIND_PREFIX}:{dep_id}"


async def prepare_conventional(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    dep_ref: str | int,
    docs_root: object,
    clock: Clock,
    *,
    passphrase: str | None = None,
    protect: bool = False,
    home: Path | None = None,
) -> Prepared:
    """Build the zip for the deployment's software, keep it in the document folder, move to ``prepared``.

    With ``protect``, the zip carries the files sealed inside a stamped one-click runtime that
    unpacks them (``--unpack``) under the same passphrase; ``home`` locates the runtime.

    The package carries the private key: preparing it is a key release (Admin), audited with
    who, the definition and the package file.

    Raises:
        PermissionDeniedError: The actor may not release private keys.
        NotFoundError: No such deployment.
        ConflictError: No current certificate (or no key) to package.
        ConfigurationError: ``protect`` but the one-click runtime is not built.
        InvalidTransitionError: The deployment cannot be prepared now.
        ValidationError: Weak chosen passphrase.
    """
    actor.require_key_release("preparing a conventional package", "the document folder")
    async with db.reader() as s:
        dep, d = await deployment_with_definition(s, dep_ref)
        m = await current_material(s, vault, d)
    if passphrase is None:
        passphrase = new_passphrase()
    else:
        check_password_policy(passphrase, field="passphrase")
    unpacker: bytes | None = None
    unpack_by: dt.datetime | None = None
    sw = SOFTWARE.get(dep.target_type)
    if protect and sw is not None and m.key is not None:
        runtime = find_runtime(home if home is not None else Path(str(docs_root)).parent)
        unpacker, sealed = await sealed_executable(
            db,
            vault,
            runtime,
            deployment_id=dep.id,
            sequence=dep.sequence + 1,
            target_type=UNPACK_TARGET,
            target_params=dict(layout_for(sw, m.name).params()),
            certificate=m.certificate,
            chain=list(m.chain),
            key=m.key,
            passphrase=passphrase,
            receipt_key=None,
            label=f"{d.name} -> {dep.server_name} (files)",
            now=clock.now(),
        )
        unpack_by = sealed.expires_at
    pkg = await asyncio.to_thread(  # keystores and the zip of a ~25 MB unpacker: off the loop
        functools.partial(
            build_conventional,
            m,
            dep.target_type,
            deployment_name=dep.name,
            server=dep.server_name,
            passphrase=passphrase,
            unpacker=unpacker,
            unpack_by=unpack_by,
        )
    )
    doc = await add_document(
        db,
        actor,
        Path(str(docs_root)),
        d.id,
        pkg.filename,
        pkg.data,
        clock,
        content_type="application/zip",
        kind=package_kind(dep.id),
        max_size=256 * 1024 * 1024,
    )
    async with db.transaction() as s:
        dep, d = await deployment_with_definition(s, dep.id)
        dep.certificate_id = m.row.id
        dep.sequence += 1
        move(
            s,
            dep,
            actor,
            DeploymentStatus.PREPARED,
            f"{'protected ' if unpacker else ''}conventional package {pkg.filename} prepared ({', '.join(pkg.members)})",
            clock,
            {"document": doc.id, "certificate": m.row.sha256},
        )
        record_key_release(
            s,
            actor,
            what="protected-package" if unpacker else "conventional-package",
            to_whom=f"package file {pkg.filename} (document {doc.id})",
            definition=(d.id, d.name),
            key_id=m.row.private_key_id,
            clock=clock,
            detail={"deployment": dep.id, "server": dep.server_name},
        )
    return Prepared(dep, doc, pkg.passphrase)


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
            sender=mail.sender_name or "certmgr",
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
    from pathlib import Path

    from certmgr.controller.domain.actors import Role

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


async def expected_for(db: Database, dep: Deployment) -> tuple[Certificate, list[x509.Certificate]]:
    """The certificate a deployment should serve (the one it was given, else the definition's current) and its chain.

    Raises:
        ConflictError: Nothing to compare against yet.
    """
    async with db.reader() as s:
        _, d = await deployment_with_definition(s, dep.id)
        cid = d.current_certificate_id or dep.certificate_id
        if cid is None:
            raise ConflictError(
                f"definition {d.name!r} has no current certificate to check against"
            )
        row = await s.get(Certificate, cid)
        assert row is not None  # noqa: S101 - FK
        chain = [x509.load_der_x509_certificate(c.der) for c in await chain_of(s, row.id)]
    return row, chain


async def run_check(
    db: Database, dep: Deployment, clock: Clock, *, timeout: float = 10.0, settle: float = 0.0
) -> CheckOutcome:
    """Probe the deployment's endpoint and evaluate it against the expected certificate (no state change).

    With ``settle`` > 0, a reachable server that still serves another certificate is probed again
    for up to that many seconds: right after a reload, draining workers serve the old one briefly.
    """
    row, chain = await expected_for(db, dep)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settle
    while True:
        result = await probe(
            dep.check_host,
            dep.check_port,
            sni=dep.sni or None,
            timeout=timeout,
            starttls=dep.starttls or None,
        )
        outcome = evaluate(result, row.sha256, chain, now=clock.now())
        if (
            outcome.ok
            or not outcome.reachable
            or outcome.matches_current
            or loop.time() >= deadline
        ):
            return outcome
        await asyncio.sleep(0.25)


async def record_check(
    db: Database,
    actor: Actor,
    dep_id: int,
    outcome: CheckOutcome,
    clock: Clock,
    *,
    source: str,
    move_state: bool = True,
    confirm: bool = False,
    audit_detail: dict[str, object] | None = None,
) -> CheckResult:
    """Store a check result; on failure the deployment goes to ``check-failed``, on success (with ``confirm``) to ``confirmed``."""
    async with db.transaction() as s:
        dep, _ = await deployment_with_definition(s, dep_id)
        row = CheckResult(
            deployment_id=dep.id,
            at=clock.now(),
            source=source,
            ok=outcome.ok,
            reachable=outcome.reachable,
            served_sha256=outcome.served_sha256 or "",
            matches_current=outcome.matches_current,
            chain_complete=outcome.chain_complete,
            chain_in_order=outcome.chain_in_order,
            hostname_matches=outcome.hostname_matches,
            days_left=outcome.days_left,
            error="; ".join(outcome.problems)[:4000],
            detail=outcome.to_dict(),
        )
        s.add(row)
        await s.flush()
        dep.last_check_id = row.id
        dep.consecutive_failures = 0 if outcome.reachable else dep.consecutive_failures + 1
        summary = "check passed" if outcome.ok else "check failed: " + "; ".join(outcome.problems)
        if move_state and not outcome.ok and dep.status != DeploymentStatus.DRAFT.value:
            move(
                s,
                dep,
                actor,
                DeploymentStatus.CHECK_FAILED,
                summary,
                clock,
                {"check": row.id, "source": source},
            )
        elif move_state and outcome.ok and confirm and dep.status != DeploymentStatus.DRAFT.value:
            move(
                s,
                dep,
                actor,
                DeploymentStatus.CONFIRMED,
                summary,
                clock,
                {"check": row.id, "source": source},
            )
        else:
            add_event(s, dep, actor, f"check-{source}", summary, clock, {"check": row.id})
        audit(
            s,
            actor,
            "deployment.check",
            "deployment",
            dep.id,
            {
                "ok": outcome.ok,
                "source": source,
                "served": outcome.served_sha256,
                **(audit_detail or {}),
            },
            clock=clock,
        )
    return row


async def deploy_check(
    db: Database,
    actor: Actor,
    dep_ref: str | int,
    clock: Clock,
    *,
    confirm: bool = False,
    timeout: float = 10.0,
) -> tuple[CheckResult, CheckOutcome]:
    """Run the deploy check now and record it.

    Raises:
        NotFoundError: No such deployment.
        ConflictError: Nothing to compare against.
    """
    async with db.reader() as s:
        dep, _ = await deployment_with_definition(s, dep_ref)
    outcome = await run_check(db, dep, clock, timeout=timeout)
    row = await record_check(
        db, actor, dep.id, outcome, clock, source="deploy-check", confirm=confirm
    )
    return row, outcome


async def close(
    db: Database, actor: Actor, dep_ref: str | int, how: str, clock: Clock, *, note: str = ""
) -> Deployment:
    """Finish a deployment: ``done`` (needs a passing check of the current certificate), ``unchecked`` or ``manual``.

    Raises:
        ValidationError: Unknown way of closing.
        ConflictError: ``done`` without a passing check.
        InvalidTransitionError: Not allowed from the current state.
    """
    async with db.transaction() as s:
        dep, d = await deployment_with_definition(s, dep_ref)
        if how == "done":
            last = await s.get(CheckResult, dep.last_check_id) if dep.last_check_id else None
            if (
                last is None
                or not last.ok
                or (d.current_certificate_id and not last.matches_current)
            ):
                raise ConflictError(
                    "the last check did not pass: check again, or choose 'continue without checking' or 'manually checked'"
                )
            move(
                s,
                dep,
                actor,
                DeploymentStatus.CONFIRMED,
                "confirmed after a passing check",
                clock,
                {"check": last.id},
            )
        elif how == "unchecked":
            move(
                s,
                dep,
                actor,
                DeploymentStatus.COMPLETED_UNCHECKED,
                "completed without checking" + (f": {note}" if note else ""),
                clock,
            )
        elif how == "manual":
            move(
                s,
                dep,
                actor,
                DeploymentStatus.MANUALLY_CONFIRMED,
                "manually checked" + (f": {note}" if note else ""),
                clock,
            )
        elif how == "installed":
            move(
                s,
                dep,
                actor,
                DeploymentStatus.INSTALLED,
                "reported installed" + (f": {note}" if note else ""),
                clock,
            )
        else:
            raise ValidationError("choose done, unchecked, manual or installed", field="how")
        return dep


async def send_check_result(
    db: Database, actor: Actor, dep_ref: str | int, clock: Clock, *, mail: MailSettings
) -> str:
    """E-mail the last check result to the server administrator; returns the send result.

    Raises:
        ConflictError: No check yet, or no administrator e-mail.
    """
    async with db.reader() as s:
        dep, _ = await deployment_with_definition(s, dep_ref)
        last = await s.get(CheckResult, dep.last_check_id) if dep.last_check_id else None
        expected = await s.get(Certificate, dep.certificate_id) if dep.certificate_id else None
    if last is None:
        raise ConflictError("no check result to send yet")
    if not dep.admin_email:
        raise ConflictError("the deployment has no server administrator e-mail")
    body = (
        text_templates()
        .get_template("mail/check_result.txt")
        .render(
            endpoint=f"{dep.check_host}:{dep.check_port}",
            at=last.at.strftime("%Y-%m-%d %H:%M UTC"),
            ok=last.ok,
            problems=last.detail.get("problems", []),
            served=last.served_sha256,
            expected=expected.sha256 if expected else "-",
            chain_complete=last.chain_complete,
            protocol=last.detail.get("protocol"),
            cipher=last.detail.get("cipher"),
            days_left=last.days_left,
            sender=mail.sender_name or "certmgr",
        )
    )
    row = await send_and_record(
        db,
        actor,
        mail,
        OutgoingMail(
            tuple(a.strip() for a in dep.admin_email.split(",")),
            f"Certificate check of {dep.check_host}:{dep.check_port}: {'OK' if last.ok else 'problems found'}",
            body,
            "check-result",
            "deployment",
            str(dep.id),
        ),
        clock,
    )
    return row.result if row.result == "sent" else f"failed: {row.error}"


async def record_check_code(
    db: Database, vault: MasterKey, actor: Actor, dep_ref: str | int, text: str, clock: Clock
) -> tuple[CheckResult, bool]:
    """Record the result code of a manual ``certmgr check`` run on a host the controller cannot reach.

    The code must be made with the check key of a challenge the controller issued for this
    deployment (:func:`~certmgr.controller.services.deployment.codes.issue_check_key`), not expired and not
    used before; the challenge records who submitted it.

    Raises:
        BadSignatureError: A typo, an edit, or a code made with a key not issued for this deployment.
        InputError: The code belongs to another deployment, or its time is outside the challenge.
        ConflictError: No check key was issued, or it expired, or its code was already recorded.
    """
    from certmgr.controller.services.deployment.codes import claim_check_code, link_check_result
    from certmgr.shared.receipt import CheckResult as Result

    async with db.reader() as s:
        dep, _ = await deployment_with_definition(s, dep_ref)
    code, challenge = await claim_check_code(db, vault, actor, dep.id, text, clock)
    expected, _ = await expected_for(db, dep)
    matches = code.matches(expected.sha256)
    ok = code.result.passed and matches
    problems = (
        []
        if ok
        else [
            f"the manual check on {code.at:%Y-%m-%d %H:%M} UTC reported: {code.result.value}"
            + ("" if matches else "; the served certificate is not the current one")
        ]
    )
    outcome = CheckOutcome(
        ok=ok,
        reachable=code.result is not Result.UNREACHABLE,
        served_sha256=code.served_sha256_prefix,
        matches_current=matches,
        chain_complete=code.result
        not in (Result.CHAIN_INCOMPLETE, Result.UNREACHABLE, Result.TLS_FAILED),
        chain_in_order=code.result is not Result.CHAIN_ORDER,
        missing_intermediates=[],
        extra_certs=[],
        days_left=code.days_left,
        hostname_matches=code.result is not Result.NAME_MISMATCH,
        protocol=None,
        cipher=None,
        problems=problems,
    )
    row = await record_check(
        db,
        actor,
        dep.id,
        outcome,
        clock,
        source="manual",
        confirm=ok,
        audit_detail={"challenge": challenge.id, "submitted_by": actor.name},
    )
    await link_check_result(db, challenge.id, row.id)
    return row, ok
