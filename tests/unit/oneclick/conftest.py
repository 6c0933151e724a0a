"""Packages for the installer's unit tests: a ``files`` target in a temporary folder.

The "runtime" is a few bytes standing in for the PyInstaller executable (the installer reads the
stamp of ``--package FILE`` exactly as it reads its own); the integration suite runs the real one.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nacl.signing
import pytest

from certmgr.shared.envelope import KdfLimits, Manifest, key_id, seal_with_passphrase
from certmgr.shared.pki import private_key_to_pkcs8_der
from certmgr.shared.stamp import KIND_DEPLOY, deploy_payload, stamp
from tests.factories.pki import TestPki, make_pki, pem_bytes

PASSPHRASE = "correct horse battery staple"
RUNTIME = b"\x7fELF stand-in for the one-click runtime\n" * 64


@dataclass
class Kit:
    """Everything a test needs to make and run installers."""

    tmp: Path
    pki: TestPki
    signing_key: nacl.signing.SigningKey
    srv: Path  # the folder the files target writes into
    passfile: Path
    receipt_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def manifest(self, **overrides: object) -> Manifest:
        now = dt.datetime.now(dt.UTC)
        fields: dict[str, object] = {
            "deployment_id": 42,
            "sequence": 3,
            "target_type": "files",
            "target_params": {
                "cert_path": str(self.srv / "cert.pem"),
                "key_path": str(self.srv / "key.pem"),
                "chain_path": str(self.srv / "chain.pem"),
            },
            "created_at": now - dt.timedelta(minutes=5),
            "expires_at": now + dt.timedelta(days=7),
            "controller_key_id": key_id(self.signing_key.verify_key),
            "certificate_pem": pem_bytes(self.pki.leaf_b),
            "chain_pem": pem_bytes(self.pki.intermediate),
            "private_key_pkcs8": private_key_to_pkcs8_der(self.pki.leaf_b_key),
            "receipt_key": self.receipt_key,
        }
        fields.update(overrides)
        return Manifest(**fields)  # type: ignore[arg-type]

    def installer(
        self,
        manifest: Manifest | None = None,
        *,
        name: str = "certmgr-install-42",
        passphrase: str = PASSPHRASE,
        verify_key: bytes | None = None,
    ) -> Path:
        sealed = seal_with_passphrase(
            manifest or self.manifest(),
            self.signing_key,
            passphrase.encode(),
            limits=KdfLimits.INTERACTIVE,
        )
        payload = deploy_payload(
            verify_key or bytes(self.signing_key.verify_key), sealed, name="web01 files"
        )
        return stamp(RUNTIME, payload, self.tmp / name, KIND_DEPLOY)

    def local_config(self, target_type: str = "files", **params: object) -> Path:
        """Write the host's installer configuration (``$CERTMGR_ONECLICK_CONFIG`` points here).

        ``allowed_paths`` defaults to the test's folder: the files target has no default folder.
        """
        table = {"allowed_paths": [str(self.srv)], **params}
        lines = [f"[{target_type}]"] + [f"{k} = {json.dumps(v)}" for k, v in table.items()]
        path = self.tmp / "oneclick.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def srv_state(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.srv.iterdir())}


@pytest.fixture(scope="session")
def session_pki() -> TestPki:
    return make_pki()


@pytest.fixture
def kit(tmp_path: Path, session_pki: TestPki, monkeypatch: pytest.MonkeyPatch) -> Kit:
    srv = tmp_path / "srv"
    srv.mkdir()
    (srv / "cert.pem").write_bytes(pem_bytes(session_pki.leaf_a))
    (srv / "key.pem").write_bytes(pem_bytes(session_pki.leaf_a_key))
    (srv / "key.pem").chmod(0o600)
    (srv / "chain.pem").write_bytes(pem_bytes(session_pki.intermediate))
    passfile = tmp_path / "passphrase.txt"
    passfile.write_text(PASSPHRASE + "\n")
    kit = Kit(tmp_path, session_pki, nacl.signing.SigningKey.generate(), srv, passfile)
    monkeypatch.setenv("CERTMGR_ONECLICK_CONFIG", str(kit.local_config()))
    return kit


RunInstaller = Callable[..., tuple[int, str, str]]
