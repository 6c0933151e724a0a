"""Shared pieces of the real-server target suites: the test PKI as install material."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from certmgr.shared.targets import Material
from tests.factories.pki import TestPki, make_pki


@dataclass(frozen=True)
class Materials:
    pki: TestPki
    a: Material
    b: Material
    mismatched: Material  # leaf B with leaf A's key: every server must refuse it
    files: dict[str, Path]


@pytest.fixture(scope="module")
def materials(tmp_path_factory: pytest.TempPathFactory) -> Materials:
    p = make_pki()
    files = p.write(tmp_path_factory.mktemp("pki"))
    return Materials(
        pki=p,
        a=Material(p.leaf_a, (p.intermediate,), p.leaf_a_key),
        b=Material(p.leaf_b, (p.intermediate,), p.leaf_b_key),
        mismatched=Material(p.leaf_b, (p.intermediate,), p.leaf_a_key),
        files=files,
    )


def tree(directory: Path) -> dict[str, bytes]:
    """Bytes of every regular file below ``directory`` (to prove rollbacks are byte-identical)."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def managed(directory: Path, *names: str) -> dict[str, bytes | list[str]]:
    """The named files' bytes plus the directory listing (no leftover temporary or backup files).

    Logs, pid files and runtime directories are left out: the servers write to them.
    """
    out: dict[str, bytes | list[str]] = {n: (directory / n).read_bytes() for n in names}
    out["listing"] = sorted(
        p.name for p in directory.iterdir() if p.is_file() and not p.name.endswith((".log", ".pid"))
    )
    return out
