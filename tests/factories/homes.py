"""Build certmgr homes and run the CLI in-process."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import json
from collections.abc import Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certmgr.controller.cli import main
from tests.factories.pki import make_pki

ADMIN_PASSWORD = "correct horse battery staple"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(args: Sequence[str]) -> CliResult:
    """Run ``certmgr ARGS`` in-process (in a worker thread when an event loop is running here)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_cli(args)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(_run_cli, args).result()


async def arun_cli(args: Sequence[str]) -> CliResult:
    """`run_cli` for async tests: the CLI runs in a worker thread while the event loop runs on."""
    return await asyncio.to_thread(_run_cli, args)


def _run_cli(args: Sequence[str]) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return CliResult(code, out.getvalue(), err.getvalue())


def make_home(
    tmp: Path, database_url: str, *, name: str = "home", listen: str = "127.0.0.1:23466"
) -> Path:
    pw = tmp / "admin-pw"
    pw.write_text(ADMIN_PASSWORD + "\n")
    home = tmp / name
    res = run_cli(
        [
            "init",
            "--home",
            str(home),
            "--database-url",
            database_url,
            "--admin-password-file",
            str(pw),
            "--listen",
            listen,
        ]
    )
    assert res.code == 0, res.err
    return home


async def amake_home(
    tmp: Path, database_url: str, *, name: str = "home", listen: str = "127.0.0.1:23466"
) -> Path:
    """`make_home` for async tests: ``certmgr init`` runs in a worker thread."""
    return await asyncio.to_thread(make_home, tmp, database_url, name=name, listen=listen)


def all_database_bytes(database_url: str) -> bytes:
    """Every value of every table, concatenated (to prove secrets are not stored in the clear)."""
    from sqlalchemy import select

    from certmgr.controller.db.engine import Database
    from certmgr.controller.db.models import all_tables_metadata

    async def run() -> bytes:
        db = Database(database_url)
        chunks: list[bytes] = []
        try:
            async with db.engine.connect() as conn:
                for table in all_tables_metadata().sorted_tables:
                    for row in (await conn.execute(select(table))).all():
                        for v in row:
                            chunks.append(v if isinstance(v, bytes) else str(v).encode())
        finally:
            await db.dispose()
        return b"\x00".join(chunks)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def home_with_definition(
    tmp: Path, database_url: str, files: Mapping[str, Path], *, with_root: bool = True
) -> Path:
    """A new home holding definition "web": leaf A with its key and chain (``TestPki.write``)."""
    home = make_home(tmp, database_url)
    chain = ["--chain", str(files["int.pem"])]
    if with_root:
        chain += ["--chain", str(files["root.pem"])]
    args = [
        "import",
        "--home",
        str(home),
        str(files["leafA.pem"]),
        "--key",
        str(files["leafA.key"]),
    ]
    res = run_cli([*args, *chain, "--name", "web"])
    assert res.code == 0, res.err
    return home


async def ahome_with_web_certificate(tmp: Path, database_url: str) -> Path:
    """A new home holding definition "web": a localhost leaf with its key and full chain."""
    home = await amake_home(tmp, database_url)
    files = await asyncio.to_thread(lambda: make_pki(["localhost"]).write(tmp / "pki"))
    res = await arun_cli(
        ["import", "--home", str(home), str(files["fullchainA.pem"]), "--key",
         str(files["leafA.key"]), "--name", "web"]
    )  # fmt: skip
    assert res.code == 0, res.err
    return home
