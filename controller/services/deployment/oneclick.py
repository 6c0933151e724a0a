"""One-click installers: stamp the runtime with a deployment's sealed package; accept receipts; CA installers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, Deployment, Document
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.software import SOFTWARE, check_target_params
from certmgr.controller.domain.states import DeploymentStatus
from certmgr.controller.services.acquisition.private_ca import ca_certificate_pem
from certmgr.controller.services.admin.users import check_password_policy
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.documents import add_document
from certmgr.controller.services.certificates.key_release import record_key_release
from certmgr.controller.services.certificates.material import current_material
from certmgr.controller.services.deployment.checks import record_check, run_check
from certmgr.controller.services.deployment.codes import receipt_key_for
from certmgr.controller.services.deployment.deployments import (
    add_event,
    deployment_with_definition,
    move,
)
from certmgr.controller.services.deployment.packages import new_passphrase, package_kind
from certmgr.controller.services.deployment.stamping import find_runtime, sealed_executable
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.deploycheck import CheckOutcome
from certmgr.shared.errors import ConflictError, EnvelopeError, InputError, ValidationError
from certmgr.shared.receipt import parse_receipt, receipt_deployment_id
from certmgr.shared.stamp import cacert_payload, parse_cacert_payload, read_stamp, stamp


@dataclass(frozen=True)
class PreparedInstaller:
    """A stamped installer in the document folder (passphrase shown once)."""

    deployment: Deployment
    document: Document
    passphrase: str = field(repr=False)


async def prepare_oneclick(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    dep_ref: str | int,
    home: Path,
    docs_root: Path,
    clock: Clock,
    *,
    passphrase: str | None = None,
) -> PreparedInstaller:
    """Seal the deployment's package under a passphrase and stamp it onto a copy of the runtime.

    The installer carries the private key: making it is a key release (Admin), audited with who,
    the definition and the installer file.

    Raises:
        PermissionDeniedError: The actor may not release private keys.
        ConfigurationError: The runtime is not built.
        ConflictError: No current certificate with a key, or software without an install target.
        ValidationError: Weak chosen passphrase, or target parameters a package may not carry.
    """
    actor.require_key_release("stamping a one-click installer", "the document folder")
    runtime = find_runtime(home)
    if passphrase is None:
        passphrase = new_passphrase()
    else:
        check_password_policy(passphrase, field="passphrase")
    async with db.reader() as s:
        dep, d = await deployment_with_definition(s, dep_ref)
        m = await current_material(s, vault, d)
    sw = SOFTWARE[dep.target_type]
    if sw.target_type is None:
        raise ConflictError(
            f"{sw.label} has no one-click install target; use a conventional package"
        )
    if m.key is None:
        raise ConflictError(
            "the key is kept on the server's agent; a one-click package cannot carry it"
        )
    check_target_params(dep.target_type, dep.target_params)  # a deployment made before the rule
    sequence = dep.sequence + 1
    params = dict(dep.target_params)
    params.update(
        check_host=dep.check_host, check_port=dep.check_port, check_sni=dep.sni or dep.check_host
    )
    data, manifest = await sealed_executable(
        db,
        vault,
        runtime,
        deployment_id=dep.id,
        sequence=sequence,
        target_type=sw.target_type,
        target_params=params,
        certificate=m.certificate,
        chain=list(m.chain),
        key=m.key,
        passphrase=passphrase,
        receipt_key=receipt_key_for(vault, dep.id, sequence),
        label=f"{d.name} -> {dep.server_name}",
        now=clock.now(),
    )
    filename = f"certmgr-install-{dep.name}-{sequence}".replace("/", "_")
    doc = await add_document(
        db,
        actor,
        docs_root,
        d.id,
        filename,
        data,
        clock,
        content_type="application/octet-stream",
        max_size=256 * 1024 * 1024,
        kind=package_kind(dep.id),
    )
    async with db.transaction() as s:
        dep, d = await deployment_with_definition(s, dep.id)
        dep.certificate_id = m.row.id
        dep.sequence = sequence
        dep.receipt_used = False
        move(
            s,
            dep,
            actor,
            DeploymentStatus.PREPARED,
            f"one-click installer {filename} stamped (package sequence {sequence}, expires {manifest.expires_at:%Y-%m-%d})",
            clock,
            {"document": doc.id},
        )
        record_key_release(
            s,
            actor,
            what="oneclick-installer",
            to_whom=f"installer file {filename} (document {doc.id})",
            definition=(d.id, d.name),
            key_id=m.row.private_key_id,
            clock=clock,
            detail={"deployment": dep.id, "server": dep.server_name, "sequence": sequence},
        )
    return PreparedInstaller(dep, doc, passphrase)


async def accept_receipt(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    dep_ref: str | int,
    text: str,
    clock: Clock,
    *,
    check_timeout: float = 5.0,
) -> Deployment:
    """Close the loop with the installer's receipt code: ``installed``, and ``confirmed`` when checked.

    A receipt is accepted once, only for its own deployment and its current package.

    Raises:
        BadSignatureError: A typo, an edit, or a receipt of another (or an older) package.
        InputError: Another deployment's receipt, or the certificate is not the deployment's.
        ConflictError: Already accepted.
    """
    async with db.reader() as s:
        dep, _ = await deployment_with_definition(s, dep_ref)
    claimed = receipt_deployment_id(text)
    if claimed != dep.id:
        raise InputError(f"this receipt belongs to deployment {claimed}, not {dep.id}")
    receipt = parse_receipt(text, receipt_key_for(vault, dep.id, dep.sequence))
    if receipt.sequence != dep.sequence:
        raise InputError(
            f"this receipt is for package {receipt.sequence}; the current package is {dep.sequence}"
        )
    if dep.receipt_used:
        raise ConflictError("this receipt was already accepted")
    async with db.reader() as s:
        cert = await s.get(Certificate, dep.certificate_id) if dep.certificate_id else None
    if cert is None or not receipt.matches(cert.sha256):
        raise InputError("the receipt reports a different certificate than the package carried")
    async with db.transaction() as s:
        dep, _ = await deployment_with_definition(s, dep.id)
        if dep.receipt_used:
            raise ConflictError("this receipt was already accepted")
        dep.receipt_used = True
        move(
            s,
            dep,
            actor,
            DeploymentStatus.INSTALLED,
            f"one-click receipt: installed at {receipt.at:%Y-%m-%d %H:%M} UTC, local check {receipt.result.value}",
            clock,
            {"sequence": receipt.sequence},
        )
    # Confirm from here when the controller can reach the host, else on the installer's own check.
    outcome = await run_check(db, dep, clock, timeout=check_timeout, settle=3.0)
    if outcome.reachable:
        await record_check(db, actor, dep.id, outcome, clock, source="deploy-check", confirm=True)
    elif receipt.result.passed:
        local = CheckOutcome(
            ok=True,
            reachable=True,
            served_sha256=cert.sha256,
            matches_current=True,
            chain_complete=True,
            chain_in_order=True,
            missing_intermediates=[],
            extra_certs=[],
            days_left=None,
            hostname_matches=True,
            protocol=None,
            cipher=None,
            problems=[],
        )
        await record_check(db, actor, dep.id, local, clock, source="oneclick", confirm=True)
    else:
        async with db.transaction() as s:
            d2, _ = await deployment_with_definition(s, dep.id)
            add_event(
                s,
                d2,
                actor,
                "unverified",
                "the controller cannot reach the host and the installer's check did not pass",
                clock,
            )
    async with db.reader() as s:
        dep, _ = await deployment_with_definition(s, dep.id)
    return dep


def ca_installer_path(home: Path) -> Path:
    """Where the CA certificate installer is kept."""
    return home / "ca" / "certmgr-ca-installer"


async def make_ca_installer(
    db: Database, actor: Actor, home: Path, clock: Clock, *, name: str = "certmgr private CA"
) -> Path:
    """Stamp the runtime with the private CA's certificate; returns :func:`ca_installer_path`.

    Raises:
        PermissionDeniedError: Not an admin.
        ConfigurationError: The runtime is not built.
        NotFoundError: The CA has no certificate yet.
    """
    actor.require_admin("creating the CA certificate installer")
    ca_pem = await ca_certificate_pem(db, with_chain=False)
    if not ca_pem.strip():
        raise ValidationError("the CA certificate is empty", field="certificate")
    runtime = find_runtime(home)
    out = ca_installer_path(home)
    await asyncio.to_thread(stamp, runtime, cacert_payload(ca_pem, name=name[:100]), out, "cacert")
    async with db.transaction() as s:
        audit(s, actor, "ca.installer-create", "ca", "", {"file": out.name}, clock=clock)
    return out


async def current_ca_installer(db: Database, home: Path) -> Path | None:
    """The CA certificate installer, unless missing or made for a CA certificate since replaced."""
    path = ca_installer_path(home)
    try:
        stamped = await asyncio.to_thread(read_stamp, path)
        carried = parse_cacert_payload(stamped.payload).certificate_pem
    except (InputError, EnvelopeError):  # missing, unreadable or damaged: make a new one
        return None
    current = await ca_certificate_pem(db, with_chain=False)
    return path if carried.strip() == current.strip() else None
