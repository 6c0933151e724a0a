"""Prepare a deployment's package: a conventional zip (optionally protected) or a one-click installer."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Deployment, Document
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.software import SOFTWARE
from certmgr.controller.domain.states import DeploymentStatus
from certmgr.controller.services.admin.users import check_password_policy
from certmgr.controller.services.certificates.documents import add_document
from certmgr.controller.services.certificates.key_release import record_key_release
from certmgr.controller.services.certificates.material import current_material
from certmgr.controller.services.deployment.deployments import deployment_with_definition, move
from certmgr.controller.services.deployment.oneclick import prepare_oneclick
from certmgr.controller.services.deployment.packages import (
    CheckTarget,
    build_conventional,
    layout_for,
    new_passphrase,
    package_kind,
)
from certmgr.controller.services.deployment.stamping import find_runtime, sealed_executable
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.packagefiles import UNPACK_TARGET


@dataclass(frozen=True)
class Prepared:
    """A prepared conventional package (the passphrase is shown once, never stored)."""

    deployment: Deployment
    document: Document
    passphrase: str = field(repr=False)


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
            check=CheckTarget(dep.check_host, dep.check_port, dep.sni, dep.starttls),
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


async def prepare_package(
    db: Database,
    vault: MasterKey,
    actor: Actor,
    dep_ref: str | int,
    home: Path,
    docs_root: Path,
    clock: Clock,
    *,
    passphrase: str | None = None,
    protect: bool = False,
) -> Prepared:
    """Prepare what the deployment's delivery needs: a one-click installer, else a conventional package.

    Raises:
        PermissionDeniedError: The actor may not release private keys.
        NotFoundError: No such deployment.
        ConflictError: No current certificate (or no key) to package.
        ConfigurationError: The one-click runtime is needed and not built.
        InvalidTransitionError: The deployment cannot be prepared now.
        ValidationError: Weak chosen passphrase.
    """
    async with db.reader() as s:
        dep, _ = await deployment_with_definition(s, dep_ref)
    if dep.delivery == "oneclick":
        made = await prepare_oneclick(
            db, vault, actor, dep.id, home, docs_root, clock, passphrase=passphrase
        )
        return Prepared(made.deployment, made.document, made.passphrase)
    return await prepare_conventional(
        db,
        vault,
        actor,
        dep.id,
        docs_root,
        clock,
        passphrase=passphrase,
        protect=protect,
        home=home,
    )


def document_path(docs_root: Path, doc: Document) -> Path:
    """Where a document's file is kept in the document folder."""
    return docs_root / str(doc.definition_id) / doc.stored_name


async def copy_document(
    docs_root: Path, doc: Document, out: Path, *, mode: int | None = None
) -> None:
    """Copy a document's file to ``out`` (off the loop; a protected package is ~25 MB).

    Raises:
        OSError: The file cannot be read or written.
    """

    def copy() -> None:
        out.write_bytes(document_path(docs_root, doc).read_bytes())
        if mode is not None:
            out.chmod(mode)

    await asyncio.to_thread(copy)
