"""What an import would find, without storing anything (the API's ``dry_run``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from certmgr.controller.services.certificates.imports import (
    ImportFile,
    ImportOptions,
    parse_inputs,
)
from certmgr.shared.pki import summarize


def _found(
    files: Sequence[ImportFile],
    key_files: Sequence[ImportFile],
    chain_files: Sequence[ImportFile],
    options: ImportOptions,
) -> list[dict[str, Any]]:
    parsed = parse_inputs(files, key_files=key_files, chain_files=chain_files, options=options)
    found: list[dict[str, Any]] = []
    for lf in parsed.leaves:
        s = summarize(lf.cert)
        found.append(
            {"sha256": s.sha256, "subject": s.subject, "has_private_key": lf.key is not None}
        )
    for c, _ in parsed.cas.values():
        s = summarize(c)
        found.append({"sha256": s.sha256, "subject": s.subject, "is_ca": True})
    return found


async def import_dry_run(
    files: Sequence[ImportFile],
    *,
    key_files: Sequence[ImportFile] = (),
    chain_files: Sequence[ImportFile] = (),
    options: ImportOptions,
) -> list[dict[str, Any]]:
    """The certificates (with or without key) and CA certificates the files hold.

    Parsing runs in a worker thread: large or encrypted files take CPU time.

    Raises:
        InputError: A file is unreadable, encrypted with another passphrase, or a key matches
            nothing.
    """
    return await asyncio.to_thread(_found, files, key_files, chain_files, options)
