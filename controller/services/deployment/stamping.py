"""Stamping the one-click runtime with a passphrase-sealed package (installers and unpackers)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import tempfile
from pathlib import Path

from cryptography import x509

from certmgr.controller.db.engine import Database
from certmgr.controller.services.agents.identity import signing_key
from certmgr.controller.services.deployment.runtime_build import (
    CHECKOUT_DIST,
    runtime_unavailable,
)
from certmgr.controller.vault import MasterKey
from certmgr.shared.envelope import JsonValue, Manifest, key_id, seal_with_passphrase
from certmgr.shared.errors import ConfigurationError
from certmgr.shared.pki import PrivateKey, pem_bundle, private_key_to_pkcs8_der
from certmgr.shared.stamp import deploy_payload, stamp

RUNTIME_NAME = "certmgr-oneclick-runtime"
PACKAGE_LIFETIME = dt.timedelta(days=30)


def find_runtime(home: Path) -> Path:
    """The installer runtime: ``$CERTMGR_ONECLICK_RUNTIME``, ``<home>/oneclick/``, or the checkout's ``dist/``.

    When none is there and the controller runs from a source checkout, the runtime is built in
    the background (once) and the error says so.

    Raises:
        ConfigurationError: Not built yet (being built, failed, or not installed).
    """
    chosen = os.environ.get("CERTMGR_ONECLICK_RUNTIME", "")
    if chosen:
        if not Path(chosen).is_file():
            raise ConfigurationError(
                f"CERTMGR_ONECLICK_RUNTIME is {chosen}, which is not a file: correct it, or unset "
                "it to let the controller build the runtime"
            )
        return Path(chosen)
    candidates = [
        str(home / "oneclick" / RUNTIME_NAME),
        str(CHECKOUT_DIST / RUNTIME_NAME),
    ]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    raise runtime_unavailable(home)


def stamp_to_bytes(runtime: Path, payload: bytes, kind: str) -> bytes:
    """A stamped copy of the runtime, as bytes (the copy on disk is removed)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = stamp(runtime, payload, Path(tmp) / "installer", kind)
        return out.read_bytes()


async def sealed_executable(
    db: Database,
    vault: MasterKey,
    runtime: Path,
    *,
    deployment_id: int,
    sequence: int,
    target_type: str,
    target_params: dict[str, JsonValue],
    certificate: x509.Certificate,
    chain: list[x509.Certificate],
    key: PrivateKey,
    passphrase: str,
    receipt_key: bytes | None,
    label: str,
    now: dt.datetime,
) -> tuple[bytes, Manifest]:
    """Sign a manifest, seal it under the passphrase (Argon2id) and stamp it onto the runtime."""
    signer = await signing_key(db, vault)
    manifest = Manifest(
        deployment_id=deployment_id,
        sequence=sequence,
        target_type=target_type,
        target_params=target_params,
        created_at=now,
        expires_at=now + PACKAGE_LIFETIME,
        controller_key_id=key_id(signer.verify_key),
        certificate_pem=pem_bundle([certificate]),
        chain_pem=pem_bundle(chain) if chain else b"",
        private_key_pkcs8=private_key_to_pkcs8_der(key),
        receipt_key=receipt_key,
    )
    package = await asyncio.to_thread(seal_with_passphrase, manifest, signer, passphrase.encode())
    payload = deploy_payload(bytes(signer.verify_key), package, name=label[:100])
    data = await asyncio.to_thread(stamp_to_bytes, runtime, payload, "deploy")
    return data, manifest
