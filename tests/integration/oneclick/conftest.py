"""The real one-click runtime, built once per test session, and packages stamped onto it.

``runtime`` builds the PyInstaller executable through ``build/build_oneclick.py`` (cached in
``.pyinstaller/cache/`` by a hash of the sources, so an unchanged tree is not rebuilt; parallel
workers share one build through a file lock).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import importlib.util
import json
import secrets
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from certmgr.shared.envelope import KdfLimits, Manifest, key_id, seal_with_passphrase
from certmgr.shared.stamp import KIND_DEPLOY, deploy_payload, stamp
from tests.factories.pki import TestPki, make_pki

ROOT = Path(__file__).resolve().parents[3]
PASSPHRASE = "tulip-orbit-7-kettle"
METRICS = ROOT / ".test-artifacts" / "oneclick-metrics.json"


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "certmgr_build_oneclick", ROOT / "build" / "build_oneclick.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def runtime() -> Path:
    """The one-file runtime (no package stamped on it)."""
    return Path(_build_module().build(distpath=None))


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@dataclass
class Packager:
    """Makes manifests and stamps installers for one test."""

    runtime: Path
    tmp: Path
    signing_key: nacl.signing.SigningKey = field(default_factory=nacl.signing.SigningKey.generate)
    receipt_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def manifest(self, target_type: str, params: dict[str, Any], **fields: Any) -> Manifest:
        now = dt.datetime.now(dt.UTC)
        values: dict[str, Any] = {
            "deployment_id": 42,
            "sequence": 5,
            "target_type": target_type,
            "target_params": params,
            "created_at": now - dt.timedelta(minutes=1),
            "expires_at": now + dt.timedelta(days=7),
            "controller_key_id": key_id(self.signing_key.verify_key),
            "receipt_key": self.receipt_key,
        }
        values.update(fields)
        return Manifest(**values)

    def installer(
        self,
        manifest: Manifest,
        name: str = "certmgr-install-dep42",
        *,
        limits: KdfLimits = KdfLimits.INTERACTIVE,
    ) -> Path:
        sealed = seal_with_passphrase(
            manifest, self.signing_key, PASSPHRASE.encode(), limits=limits
        )
        payload = deploy_payload(bytes(self.signing_key.verify_key), sealed, name=name)
        return stamp(self.runtime, payload, self.tmp / name, KIND_DEPLOY)

    def passphrase_file(self, text: str = PASSPHRASE) -> Path:
        path = self.tmp / "passphrase"
        path.write_text(text + "\n")
        return path


@pytest.fixture
def packager(runtime: Path, tmp_path: Path) -> Packager:
    return Packager(runtime, tmp_path)


def run_exe(
    exe: Path, *args: str, timeout: float = 120, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run an installer the way an administrator would (no terminal: stdin is /dev/null)."""
    return subprocess.run(
        [str(exe), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=exe.parent,
        env=None if env is None else dict(env),
    )


def receipt_in(stdout: str) -> str:
    (line,) = [x.strip() for x in stdout.splitlines() if x.strip().startswith("CMR1-")]
    return line


def record_metric(name: str, value: float) -> None:
    """Add one measurement to .test-artifacts/oneclick-metrics.json (read by the closing note)."""
    METRICS.parent.mkdir(exist_ok=True)
    with open(METRICS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(METRICS.read_text()) if METRICS.exists() else {}
        data[name] = round(value, 4)
        METRICS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
