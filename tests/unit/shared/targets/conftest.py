"""Certificates and host fakes for the target unit tests (fakes only at the HostOps seam)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509

from certmgr.shared.errors import TargetError
from certmgr.shared.targets import Material, RealHost
from tests.factories.pki import make_pki


@dataclass(frozen=True)
class Pki:
    intermediate: x509.Certificate
    leaf_a: Material
    leaf_b: Material
    mismatched: Material  # leaf B with leaf A's key


@pytest.fixture(scope="session")
def pki() -> Pki:
    p = make_pki()
    return Pki(
        intermediate=p.intermediate,
        leaf_a=Material(p.leaf_a, (p.intermediate,), p.leaf_a_key),
        leaf_b=Material(p.leaf_b, (p.intermediate,), p.leaf_b_key),
        mismatched=Material(p.leaf_b, (p.intermediate,), p.leaf_a_key),
    )


RunRule = Callable[[tuple[str, ...]], "tuple[int, str] | None"]


@dataclass
class ScriptedHost(RealHost):
    """Real files under a temporary root; commands and signals are scripted and recorded."""

    root: Path
    rules: list[RunRule] = field(default_factory=list)
    programs: set[str] = field(
        default_factory=lambda: {"nginx", "apache2", "haproxy", "true", "reload-it"}
    )
    commands: list[tuple[str, ...]] = field(default_factory=list)
    signals: list[tuple[int, int]] = field(default_factory=list)
    signal_error: bool = False

    def __post_init__(self) -> None:
        RealHost.__init__(self, self.root)

    def which(self, program: str) -> str | None:
        return f"/usr/bin/{program}" if program in self.programs else None

    def run(self, argv: tuple[str, ...], timeout: float) -> tuple[int, str]:
        self.commands.append(argv)
        for rule in self.rules:
            result = rule(argv)
            if result is not None:
                return result
        return 0, ""

    def send_signal(self, pid: int, signum: int) -> None:
        if self.signal_error:
            raise TargetError(f"no process {pid}")
        self.signals.append((pid, signum))

    def fail_when(self, word: str, rc: int = 1, output: str = "boom") -> None:
        self.rules.append(lambda argv: (rc, output) if word in argv else None)

    def put(self, path: str, data: bytes, mode: int = 0o644) -> Path:
        local = self.root / path.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)
        local.chmod(mode)
        return local

    def local(self, path: str) -> Path:
        return self.root / path.lstrip("/")


@pytest.fixture
def host(tmp_path: Path) -> ScriptedHost:
    root = tmp_path / "root"
    root.mkdir()
    return ScriptedHost(root)


def snapshot(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file below ``directory``: bytes, mode and owner (to prove byte-identical restores)."""
    out = {}
    for p in sorted(directory.rglob("*")):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            out[str(p.relative_to(directory))] = (p.read_bytes(), st.st_mode, st.st_uid)
    return out
