"""`certmgr import` of a folder of certificate files, beside openssl and bare cryptography on the same files."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

from cryptography import x509

from bench.common import make_ca, make_leaf, pem, report, timer, workdir


async def run(*, quick: bool = False) -> None:
    n = 1000 if quick else 10_000
    sample = 200 if quick else 500
    d = workdir("import")
    files = d / "certs"
    files.mkdir()
    ca_key, ca = make_ca()
    (d / "ca.pem").write_bytes(pem(ca))
    for i in range(n):
        (files / f"cert{i:05d}.pem").write_bytes(pem(make_leaf(ca_key, ca, f"host{i}.bench.test")))
    paths = sorted(files.iterdir())
    print(f"{n} certificate files in {files}")

    from certmgr.controller.db.engine import Database
    from certmgr.controller.domain.actors import cli_actor
    from certmgr.controller.home import init_home
    from certmgr.controller.services.certificates.imports import ImportFile, import_files
    from certmgr.controller.settings import load_settings
    from certmgr.controller.vault import read_master_key

    pw = "bench-password-123"
    await init_home(d / "home", admin_password=pw)
    settings = load_settings(d / "home")
    db = Database(settings.database_url)
    vault = read_master_key(settings.master_key_path)
    with timer() as t_cm:
        inputs = [ImportFile(p.name, p.read_bytes()) for p in paths]
        results = await import_files(
            db,
            vault,
            cli_actor(),
            inputs,
            chain_files=[ImportFile("ca.pem", (d / "ca.pem").read_bytes())],
        )
    await db.dispose()
    assert sum(r.created for r in results if not r.is_ca) == n

    with timer() as t_cr:
        for p in paths:
            c = x509.load_pem_x509_certificate(p.read_bytes())
            hashlib.sha256(c.tbs_certificate_bytes).hexdigest()
    openssl = shutil.which("openssl")
    rows = [
        ("certmgr import (SQLite)", n, t_cm["wall"], t_cm["cpu"]),
        ("bare cryptography (parse+hash)", n, t_cr["wall"], t_cr["cpu"]),
    ]
    if openssl:
        with timer() as t_os:
            for p in paths[:sample]:
                subprocess.run(
                    [
                        openssl,
                        "x509",
                        "-in",
                        str(p),
                        "-noout",
                        "-fingerprint",
                        "-sha256",
                        "-subject",
                    ],
                    check=True,
                    capture_output=True,
                )
        rows.append((f"openssl x509 per file ({sample} files)", sample, t_os["wall"], t_os["cpu"]))
    report(rows, "certs")
    print("goal: certmgr import >= 1000 certs/s on SQLite")
    shutil.rmtree(d, ignore_errors=True)
