"""Backups in tests: a passphrase file and a snapshot of what a home holds (counts, fingerprints, keys)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
from pathlib import Path
from typing import Any

PASSPHRASE = "drill passphrase, long enough"
COUNTED = (
    "certificate_definitions",
    "certificates",
    "private_keys",
    "certificate_requests",
    "deployments",
    "agents",
    "documents",
    "users",
    "certificate_authorities",
    "revocations",
    "api_tokens",
)


def passphrase_file(tmp: Path, text: str = PASSPHRASE) -> Path:
    path = tmp / "backup-passphrase"
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def home_snapshot(home: Path) -> dict[str, Any]:
    """Row counts, certificate and key fingerprints, document hashes; every sealed key unsealed."""

    async def run() -> dict[str, Any]:
        from sqlalchemy import func, select

        from certmgr.controller.db.engine import Database
        from certmgr.controller.db.models import (
            Certificate,
            Document,
            PrivateKeyRecord,
            all_tables_metadata,
        )
        from certmgr.controller.services.certificates.store import unseal_key
        from certmgr.controller.settings import load_settings
        from certmgr.controller.vault import read_master_key
        from certmgr.shared.pki import public_key_sha256

        settings = load_settings(home)
        vault = read_master_key(settings.master_key_path)
        db = Database(settings.database_url)
        try:
            async with db.reader() as s:
                tables = {t.name: t for t in all_tables_metadata().sorted_tables}
                counts = {
                    n: (await s.execute(select(func.count()).select_from(tables[n]))).scalar_one()
                    for n in COUNTED
                }
                certs = sorted((await s.execute(select(Certificate.sha256))).scalars())
                keys = list((await s.execute(select(PrivateKeyRecord))).scalars())
                unsealed = sorted(
                    public_key_sha256(unseal_key(k, vault).public_key())
                    for k in keys
                    if k.sealed_pkcs8 is not None
                )
                docs = list((await s.execute(select(Document))).scalars())
        finally:
            await db.dispose()
        assert unsealed == sorted(k.public_sha256 for k in keys if k.sealed_pkcs8 is not None)
        doc_hashes = sorted(
            hashlib.sha256(
                (settings.documents_dir / str(d.definition_id) / d.stored_name).read_bytes()
            ).hexdigest()
            for d in docs
        )
        assert doc_hashes == sorted(d.sha256 for d in docs)
        return {"counts": counts, "certificates": certs, "keys": unsealed, "documents": doc_hashes}

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def add_document(home: Path, definition: str, name: str, data: bytes) -> None:
    """Store a document in a definition's folder (the service the console's upload calls)."""

    async def run() -> None:
        from certmgr.controller.db.engine import Database
        from certmgr.controller.domain.actors import cli_actor
        from certmgr.controller.services.certificates.documents import add_document as add
        from certmgr.controller.settings import load_settings
        from certmgr.shared.clock import SystemClock

        settings = load_settings(home)
        db = Database(settings.database_url)
        try:
            await add(
                db, cli_actor(), settings.documents_dir, definition, name, data, SystemClock()
            )
        finally:
            await db.dispose()

    asyncio.run(run())
