"""Per-definition document folders: upload, list, download, delete. Names never leave the folder.

Packages (conventional, protected, one-click installers) carry a private key: only those who may
release keys and the user who made one can list, read or delete it. Other documents are open to
every signed-in user.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Document
from certmgr.controller.domain.actors import Actor, Permission
from certmgr.controller.services.acquisition.definitions import find_definition
from certmgr.controller.services.audit import audit
from certmgr.shared.clock import Clock
from certmgr.shared.errors import (
    InputTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

MAX_DOCUMENT = 20 * 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._ ()+@-]")


def clean_filename(name: str) -> str:
    """A display name without folders, control characters or leading dots.

    Raises:
        ValidationError: Nothing usable is left.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKC", base)
    base = "".join(c for c in base if c.isprintable())
    base = _SAFE.sub("_", base).strip(" .")
    if not base:
        raise ValidationError(
            "the file name is empty after removing unsafe characters", field="file"
        )
    return base[:200]


PACKAGE_KIND_PREFIX = "package"


def is_package(doc: Document) -> bool:
    """True for documents that carry a private key (packages and one-click installers)."""
    return doc.kind.split(":", 1)[0] == PACKAGE_KIND_PREFIX


def may_read(actor: Actor, doc: Document) -> bool:
    """Whether ``actor`` may see and download ``doc``."""
    if not is_package(doc) or actor.may(Permission.RELEASE_KEY):
        return True
    return actor.user_id is not None and doc.owner_user_id == actor.user_id


def _require_read(actor: Actor, doc: Document) -> None:
    if not may_read(actor, doc):
        raise PermissionDeniedError(
            f"document {doc.id} is a package with a private key: only admins and the user who "
            "made it may read it",
            actor=actor.name,
            permission=Permission.RELEASE_KEY.value,
        )


@dataclass(frozen=True)
class StoredDocument:
    """A document and where its bytes live."""

    row: Document
    path: Path


def _folder(root: Path, definition_id: int) -> Path:
    return root / str(int(definition_id))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


async def add_document(
    db: Database,
    actor: Actor,
    root: Path,
    definition_ref: str | int,
    filename: str,
    data: bytes,
    clock: Clock,
    *,
    content_type: str = "application/octet-stream",
    kind: str = "upload",
    max_size: int = MAX_DOCUMENT,
) -> Document:
    """Store a file in a definition's folder.

    Raises:
        NotFoundError: No such definition.
        ValidationError: Empty or unusable name, empty file.
        InputTooLargeError: Over 20 MiB.
    """
    name = clean_filename(filename)
    if not data:
        raise ValidationError("the file is empty", field="file")
    if len(data) > max_size:
        raise InputTooLargeError(f"{name} is larger than {max_size // (1024 * 1024)} MiB")
    ctype = (
        content_type
        if re.fullmatch(r"[\w.+-]+/[\w.+-]+", content_type or "")
        else "application/octet-stream"
    )
    stored = secrets.token_hex(16)
    async with db.transaction() as s:
        d = await find_definition(s, definition_ref)
        path = _folder(root, d.id) / stored
        await asyncio.to_thread(_write, path, data)
        try:
            row = Document(
                definition_id=d.id,
                filename=name,
                stored_name=stored,
                content_type=ctype,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                kind=kind,
                uploaded_by=actor.name,
                owner_user_id=actor.user_id,
                created_at=clock.now(),
            )
            s.add(row)
            await s.flush()
            audit(
                s,
                actor,
                "document.add",
                "definition",
                d.id,
                {"document": row.id, "name": name, "size": len(data)},
                clock=clock,
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return row


async def list_documents(db: Database, actor: Actor, definition_id: int) -> list[Document]:
    """A definition's documents that ``actor`` may read, newest first."""
    async with db.reader() as s:
        rows = await s.execute(
            select(Document)
            .where(Document.definition_id == definition_id)
            .order_by(Document.created_at.desc(), Document.id.desc())
        )
        return [d for d in rows.scalars().all() if may_read(actor, d)]


async def latest_package(db: Database, actor: Actor, deployment_id: int) -> Document | None:
    """The newest package of a deployment, when ``actor`` may read it."""
    async with db.reader() as s:
        doc = (
            await s.execute(
                select(Document)
                .where(Document.kind == f"{PACKAGE_KIND_PREFIX}:{int(deployment_id)}")
                .order_by(Document.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    return doc if doc is not None and may_read(actor, doc) else None


async def get_document(
    db: Database, root: Path, definition_id: int, document_id: int
) -> StoredDocument:
    """One document of one definition.

    Raises:
        NotFoundError: No such document in that definition.
    """
    async with db.reader() as s:
        row = await s.get(Document, document_id)
    if row is None or row.definition_id != definition_id:
        raise NotFoundError(f"no document {document_id} in definition {definition_id}")
    return StoredDocument(row, _folder(root, row.definition_id) / row.stored_name)


async def read_document(
    db: Database, actor: Actor, root: Path, definition_id: int, document_id: int, clock: Clock
) -> tuple[Document, bytes]:
    """A document's bytes (audited).

    Raises:
        NotFoundError: No such document, or its file is gone.
        PermissionDeniedError: A package, and the actor neither may release keys nor made it.
    """
    doc = await get_document(db, root, definition_id, document_id)
    _require_read(actor, doc.row)
    try:
        data = await asyncio.to_thread(doc.path.read_bytes)
    except FileNotFoundError:
        raise NotFoundError(
            f"the file of document {document_id} is missing from the document folder"
        ) from None
    async with db.transaction() as s:
        audit(
            s,
            actor,
            "document.download",
            "definition",
            definition_id,
            {"document": document_id, "name": doc.row.filename},
            clock=clock,
        )
    return doc.row, data


async def delete_document(
    db: Database, actor: Actor, root: Path, definition_id: int, document_id: int, clock: Clock
) -> None:
    """Remove a document and its file.

    Raises:
        NotFoundError: No such document.
        PermissionDeniedError: A package, and the actor neither may release keys nor made it.
    """
    doc = await get_document(db, root, definition_id, document_id)
    _require_read(actor, doc.row)
    async with db.transaction() as s:
        row = await s.get(Document, document_id)
        if row is None:
            raise NotFoundError(f"no document {document_id}")
        await s.delete(row)
        audit(
            s,
            actor,
            "document.delete",
            "definition",
            definition_id,
            {"document": document_id, "name": doc.row.filename},
            clock=clock,
        )
    await asyncio.to_thread(doc.path.unlink, missing_ok=True)
