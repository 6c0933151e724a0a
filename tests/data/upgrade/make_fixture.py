"""Recipe of the upgrade fixtures: homes made by certmgr at schema revision 0009 (run once, then committed).

    .venv/bin/python -m tests.data.upgrade.make_fixture   (from a checkout of commit fb78d2d, schema 0009)

Writes ``home-0009-sqlite.tar.gz`` (a whole home: config, master key, CA, TLS, documents and the
SQLite database) and ``home-0009-postgres.tar.gz`` with ``postgres-0009.sql`` (plain ``pg_dump
--no-owner --no-privileges`` of the same kind of home made on PostgreSQL). The master keys in them
are throw-away test keys. Each home holds: the console and two private-CA definitions with issued
certificates and keys, an imported certificate with its key and chain, a deployment, a second user,
an unused agent enrolment token and a document. ``expected.json`` lists what the test looks for.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from certmgr.controller.db.engine import Database
from certmgr.controller.domain.actors import cli_actor
from certmgr.controller.services.certificates.documents import add_document
from certmgr.controller.settings import load_settings
from certmgr.shared.clock import SystemClock
from tests.factories.homes import make_home, run_cli
from tests.factories.pki import make_pki
from tests.factories.postgres import create_database, pg_bin, postgres_server

HERE = Path(__file__).parent
DOCUMENT = b"purchase order 4711\n"


def _populate(home: Path, tmp: Path) -> None:
    h = ["--home", str(home)]
    files = make_pki().write(tmp / "pki")
    for args in (
        ["import", str(files["fullchainA.pem"]), "--key", str(files["leafA.key"]), "--name", "web"],
        ["definition", "new", "--name", "intranet", "--cn", "intranet.example.test",
         "--san", "intranet.example.test", "--issuer", "private-ca"],
        ["request", "new", "intranet", "--wait"],
        ["definition", "new", "--name", "mail", "--cn", "mail.example.test", "--key-type", "rsa-2048"],
        ["request", "new", "mail", "--wait"],
        ["deployment", "new", "intranet", "--server", "intranet.example.test", "--software", "nginx",
         "--delivery", "conventional", "--check", "127.0.0.1:9"],
        ["user", "add", "operator", "--role", "user"],
        ["agent-token", "--name", "web01"],
    ):  # fmt: skip
        res = run_cli([*args, *h])
        assert res.code == 0, (args, res.err)

    async def doc() -> None:
        settings = load_settings(home)
        db = Database(settings.database_url)
        try:
            await add_document(
                db,
                cli_actor(),
                settings.documents_dir,
                "intranet",
                "po.txt",
                DOCUMENT,
                SystemClock(),
            )
        finally:
            await db.dispose()

    asyncio.run(doc())


def _tar(home: Path, out: Path, *, skip_db: bool = False) -> None:
    with tarfile.open(out, "w:gz") as tar:
        for p in sorted(home.rglob("*")):
            if skip_db and p.name.startswith("certmgr.db"):
                continue
            tar.add(p, arcname=str(p.relative_to(home)), recursive=False)


def main() -> None:
    """Make the fixtures beside this file."""
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        (tmp / "s").mkdir()
        # a relative SQLite URL is resolved against the home: the home can move
        home = make_home(tmp / "s", "sqlite+aiosqlite:///certmgr.db")
        _populate(home, tmp / "s")
        _tar(home, HERE / "home-0009-sqlite.tar.gz")
        with postgres_server() as dsn:
            url = create_database(dsn, "fixture")
            (tmp / "p").mkdir()
            home = make_home(tmp / "p", url)
            _populate(home, tmp / "p")
            sql = subprocess.run(
                [str(pg_bin() / "pg_dump"), "--no-owner", "--no-privileges", dsn + "/fixture"],
                check=True,
                capture_output=True,
            ).stdout
            (HERE / "postgres-0009.sql").write_bytes(sql)
            _tar(home, HERE / "home-0009-postgres.tar.gz")
        shutil.rmtree(tmp, ignore_errors=True)
    (HERE / "expected.json").write_text(
        json.dumps(
            {"revision": "0009", "definitions": ["certmgr console", "intranet", "mail", "web"],
             "users": ["admin", "operator"], "document": DOCUMENT.decode()},
            indent=2,
        )
        + "\n"
    )  # fmt: skip


if __name__ == "__main__":
    main()
