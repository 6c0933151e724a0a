"""Upgrades: homes made by certmgr at schema revision 0009 (tests/data/upgrade) migrate to head and work.

Every future schema change must keep this passing: the committed database is never regenerated.
A backup taken of such a home (before its upgrade) restores into a new home at the newest schema.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.factories.homes import run_cli
from tests.factories.postgres import create_database, pg_bin

DATA = Path(__file__).parents[2] / "data" / "upgrade"
EXPECTED = json.loads((DATA / "expected.json").read_text())


def unpack_fixture(tmp: Path, backend: str, postgres_dsn: str | None) -> Path:
    """The fixture home in ``tmp/home`` (for PostgreSQL: the dump loaded into a new database)."""
    home = tmp / "home"
    with tarfile.open(DATA / f"home-0009-{backend}.tar.gz") as tar:
        tar.extractall(home, filter="data")
    home.chmod(0o700)
    if backend == "postgres":
        assert postgres_dsn is not None
        url = create_database(postgres_dsn, "upgrade_" + tmp.name[-12:].replace("-", "_").lower())
        plain = url.replace("postgresql+asyncpg://", "postgresql://")
        subprocess.run(
            [str(pg_bin() / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", plain, "-f", str(DATA / "postgres-0009.sql")],
            check=True,
            capture_output=True,
        )  # fmt: skip
        cfg = home / "config.toml"
        cfg.write_text(re.sub(r'(?m)^url = ".*"$', f'url = "{url}"', cfg.read_text()))
    return home


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_fixture_home_migrates_to_head_and_works(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    dsn = request.getfixturevalue("postgres_dsn") if backend == "postgres" else None
    home = unpack_fixture(tmp_path, backend, dsn)
    h = ["--home", str(home)]
    up = run_cli(["db", "upgrade", *h])
    assert up.code == 0, up.err
    # every command checks that the schema is at the newest migration before it runs
    defs = run_cli(["definition", "list", "--json", *h])
    assert defs.code == 0, defs.err
    assert sorted(d["name"] for d in defs.json()) == EXPECTED["definitions"]
    users = run_cli(["user", "list", "--json", *h])
    assert sorted(u["username"] for u in users.json()) == EXPECTED["users"]
    # the CA key sealed by the old home unseals: a renewal is issued by the private CA
    before = {c["sha256"] for c in (run_cli(["certificate", "list", "--json", *h])).json()}
    renew = run_cli(["request", "new", "intranet", "--wait", *h])
    assert renew.code == 0, renew.err
    after = {c["sha256"] for c in (run_cli(["certificate", "list", "--json", *h])).json()}
    assert len(after - before) == 1
    docs = list((home / "documents").rglob("*"))
    assert any(p.is_file() and p.read_text() == EXPECTED["document"] for p in docs)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_backup_of_an_old_home_restores_migrated(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    dsn = request.getfixturevalue("postgres_dsn") if backend == "postgres" else None
    home = unpack_fixture(tmp_path, backend, dsn)
    pw = tmp_path / "pw"
    pw.write_text("upgrade drill passphrase\n")
    backup = tmp_path / "old.cmbk"
    # backed up before the upgrade, as the README says
    res = run_cli(["backup", "--home", str(home), "--out", str(backup), "--passphrase-file", str(pw), "--include-master-key"])  # fmt: skip
    assert res.code == 0, res.err
    target = tmp_path / "new-home"
    args = ["restore", str(backup), "--home", str(target), "--passphrase-file", str(pw)]
    if dsn is not None:
        args += [
            "--database-url",
            create_database(dsn, "restored_" + tmp_path.name[-10:].replace("-", "_").lower()),
        ]
    res = run_cli(args)
    assert res.code == 0, res.err
    assert f"migrated from schema {EXPECTED['revision']} to" in res.out
    defs = run_cli(["definition", "list", "--json", "--home", str(target)])
    assert defs.code == 0, defs.err
    assert sorted(d["name"] for d in defs.json()) == EXPECTED["definitions"]
    renew = run_cli(["request", "new", "intranet", "--wait", "--home", str(target)])
    assert renew.code == 0, renew.err
