"""The console's import preview: what the uploads hold and what saving them would warn about (nothing saved)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from certmgr.controller.services.certificates.import_parse import (
    ImportFile,
    ImportOptions,
    parse_inputs,
    preview_warnings,
)
from certmgr.shared.pki import CertSummary, describe_key, summarize


@dataclass(frozen=True)
class PreviewLeaf:
    """A certificate the uploads hold, with what saving it would warn about."""

    summary: CertSummary
    has_key: bool
    key: str | None
    source: str
    warnings: tuple[str, ...]
    signature_problem: str | None


@dataclass(frozen=True)
class ImportPreview:
    """Everything found: leaves, CA certificates, and whether any signature does not verify."""

    leaves: list[PreviewLeaf]
    cas: list[CertSummary]
    unverified: bool


def _preview(
    files: Sequence[ImportFile],
    key_files: Sequence[ImportFile],
    chain_files: Sequence[ImportFile],
    options: ImportOptions,
    now: dt.datetime,
) -> ImportPreview:
    parsed = parse_inputs(files, key_files=key_files, chain_files=chain_files, options=options)
    warnings = preview_warnings(parsed, now)
    leaves = [
        PreviewLeaf(
            summary=summarize(lf.cert),
            has_key=lf.key is not None,
            key=describe_key(lf.key).label if lf.key else None,
            source=lf.source,
            warnings=warnings.get(lf.sha256, ()),
            signature_problem=lf.signature_problem,
        )
        for lf in parsed.leaves
    ]
    return ImportPreview(
        leaves=leaves,
        cas=[summarize(c) for c, _ in parsed.cas.values()],
        unverified=any(lf.signature_problem for lf in parsed.leaves),
    )


async def preview_import(
    files: Sequence[ImportFile],
    *,
    key_files: Sequence[ImportFile] = (),
    chain_files: Sequence[ImportFile] = (),
    options: ImportOptions,
    now: dt.datetime,
) -> ImportPreview:
    """Parse the uploads and judge them from the supplied files alone (in a worker thread).

    Raises:
        InputError: A file is unreadable, encrypted with another passphrase, or a key matches
            nothing.
    """
    return await asyncio.to_thread(_preview, files, key_files, chain_files, options, now)
