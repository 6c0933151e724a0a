"""Uploads waiting for confirmation (import preview): sealed with the master key, expire after an hour."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from certmgr.controller.vault import MasterKey, UnsealError
from certmgr.shared.errors import NotFoundError

PURPOSE = "upload-stash"
TTL = 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class StashedFile:
    """One uploaded file."""

    role: str  # file | key | chain
    name: str
    data: bytes


def stash(root: Path, vault: MasterKey, files: list[StashedFile], extra: dict[str, str]) -> str:
    """Seal the uploads (and form values such as passphrases) into one file; returns its token."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    _sweep(root)
    token = secrets.token_urlsafe(24)
    payload = json.dumps(
        {
            "files": [{"role": f.role, "name": f.name, "data": f.data.hex()} for f in files],
            "extra": extra,
            "at": time.time(),
        }
    )
    sealed = vault.seal(payload.encode(), PURPOSE)
    fd = os.open(root / token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, sealed)
    finally:
        os.close(fd)
    return token


def unstash(
    root: Path, vault: MasterKey, token: str, *, remove: bool = False
) -> tuple[list[StashedFile], dict[str, str]]:
    """Open a stash.

    Raises:
        NotFoundError: Unknown or expired token.
    """
    if not _TOKEN.match(token):
        raise NotFoundError("the upload has expired; upload the files again")
    path = root / token
    try:
        sealed = path.read_bytes()
        payload = json.loads(vault.unseal(sealed, PURPOSE))
    except (FileNotFoundError, UnsealError, ValueError):
        raise NotFoundError("the upload has expired; upload the files again") from None
    if time.time() - float(payload["at"]) > TTL:
        path.unlink(missing_ok=True)
        raise NotFoundError("the upload has expired; upload the files again")
    if remove:
        path.unlink(missing_ok=True)
    files = [StashedFile(f["role"], f["name"], bytes.fromhex(f["data"])) for f in payload["files"]]
    return files, {str(k): str(v) for k, v in payload["extra"].items()}


def _sweep(root: Path) -> None:
    now = time.time()
    for p in root.iterdir():
        try:
            if now - p.stat().st_mtime > TTL:
                p.unlink(missing_ok=True)
        except OSError:
            continue


async def stash_upload(
    root: Path, vault: MasterKey, files: list[StashedFile], extra: dict[str, str]
) -> str:
    """:func:`stash` in a worker thread (it seals and writes files)."""
    return await asyncio.to_thread(stash, root, vault, files, extra)


async def take_upload(
    root: Path, vault: MasterKey, token: str
) -> tuple[list[StashedFile], dict[str, str]]:
    """:func:`unstash` (and remove) in a worker thread.

    Raises:
        NotFoundError: The upload expired or the token is unknown.
    """
    return await asyncio.to_thread(unstash, root, vault, token, remove=True)
