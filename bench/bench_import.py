"""`certmgr import` of a folder of certificate files, beside bare cryptography and openssl on the same files.

Rows, all measured in this run on this machine:

* certmgr import (SQLite): ``import_files`` on every file in one transaction, with every check
  (format sniffing, parse, chain building with each signature verified, definitions, summaries,
  audit events), in a fresh process per size (peak RSS of that process);
* bare cryptography (parse+hash): load each PEM and hash it, the issue's floor;
* bare cryptography (parse+hash+verify): the same plus verifying each leaf's signature with the
  CA's key, the part of certmgr's checks that the floor leaves out;
* openssl x509 per file on a sample (a process per file, as a shell loop would).

The scale curve runs certmgr at 1x, 4x and 16x the size (2,500 / 10,000 / 40,000 files; a tenth
of that with --quick).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from bench.common import make_ca, make_leaf, peak_rss_mb, pem, report, timer, workdir

GOAL_RATE = 5000.0  # certificates/s on SQLite
GOAL_COST = 4.0  # certmgr CPU per certificate at most 4x the bare parse+hash


def _files(d: Path, n: int) -> list[Path]:
    files = d / f"certs{n}"
    files.mkdir()
    ca_key, ca = make_ca()
    (files / "ca.pem").write_bytes(pem(ca))
    for i in range(n):
        (files / f"cert{i:05d}.pem").write_bytes(pem(make_leaf(ca_key, ca, f"host{i}.bench.test")))
    return sorted(p for p in files.iterdir() if p.name != "ca.pem")


async def _child(folder: Path) -> dict[str, Any]:
    """Runs in a fresh process: one certmgr import of ``folder`` into a new home."""
    from certmgr.controller.db.engine import Database
    from certmgr.controller.domain.actors import cli_actor
    from certmgr.controller.home import init_home
    from certmgr.controller.services.certificates.imports import ImportFile, import_files
    from certmgr.controller.settings import load_settings
    from certmgr.controller.vault import read_master_key

    home = folder.parent / f"home-{folder.name}"
    await init_home(home, admin_password="bench-password-123")
    settings = load_settings(home)
    db = Database(settings.database_url)
    vault = read_master_key(settings.master_key_path)
    paths = sorted(p for p in folder.iterdir() if p.name != "ca.pem")
    rss0 = peak_rss_mb()
    with timer() as t:
        inputs = [ImportFile(p.name, p.read_bytes()) for p in paths]
        results = await import_files(
            db,
            vault,
            cli_actor(),
            inputs,
            chain_files=[ImportFile("ca.pem", (folder / "ca.pem").read_bytes())],
        )
    await db.dispose()
    created = sum(r.created for r in results if not r.is_ca)
    if created != len(paths):
        raise RuntimeError(f"imported {created} of {len(paths)} certificates")
    return {"n": created, "wall": t["wall"], "cpu": t["cpu"], "rss_mb": peak_rss_mb(), "rss0": rss0}


def _run_child(folder: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_import", "--child", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _bare(paths: list[Path], ca: x509.Certificate | None) -> None:
    for p in paths:
        c = x509.load_pem_x509_certificate(p.read_bytes())
        hashlib.sha256(c.tbs_certificate_bytes).hexdigest()
        if ca is not None:
            c.verify_directly_issued_by(ca)


async def run(*, quick: bool = False) -> None:
    base_n = 250 if quick else 2500
    sizes = [base_n, 4 * base_n, 16 * base_n]
    main_n = sizes[1]
    sample = 200 if quick else 500
    d = workdir("import")
    try:
        folders = {n: (await asyncio.to_thread(_files, d, n))[0].parent for n in sizes}
        paths = sorted(p for p in folders[main_n].iterdir() if p.name != "ca.pem")
        ca = x509.load_pem_x509_certificate((folders[main_n] / "ca.pem").read_bytes())
        print(f"{main_n} certificate files in {folders[main_n]} (scale curve: {sizes})")
        cm = await asyncio.to_thread(_run_child, folders[main_n])
        with timer() as t_cr:
            _bare(paths, None)
        with timer() as t_cv:
            _bare(paths, ca)
        rows = [
            ("certmgr import (SQLite)", main_n, cm["wall"], cm["cpu"]),
            ("bare cryptography (parse+hash)", main_n, t_cr["wall"], t_cr["cpu"]),
            ("bare parse+hash+verify signature", main_n, t_cv["wall"], t_cv["cpu"]),
        ]
        openssl = shutil.which("openssl")
        if openssl:
            with timer() as t_os:
                for p in paths[:sample]:
                    subprocess.run(
                        [openssl, "x509", "-in", str(p), "-noout", "-fingerprint", "-sha256"]
                        + ["-subject"],
                        check=True,
                        capture_output=True,
                    )
            rows.append(
                (f"openssl x509 per file ({sample} files)", sample, t_os["wall"], t_os["cpu"])
            )
        report(rows, "certs")
        rate = main_n / cm["wall"]
        cost = cm["cpu"] / max(t_cr["cpu"], 1e-9)
        print(
            f"goal: >= {GOAL_RATE:,.0f} certs/s on SQLite at <= {GOAL_COST:.0f}x the bare CPU per "
            f"certificate; now {rate:,.0f}/s ({rate / GOAL_RATE:.2f}x the goal) at "
            f"{cost:.1f}x the bare parse+hash CPU "
            f"({cm['cpu'] / max(t_cv['cpu'], 1e-9):.1f}x parse+hash+verify)"
        )
        print("\nscale curve (certmgr import, a fresh process per size)")
        print("(peak RSS before the import is the set-up's: Argon2 hashing the admin password)")
        print(
            f"{'files':>8}{'wall s':>9}{'certs/s':>10}{'cpu ms/cert':>13}"
            f"{'peak RSS MiB':>14}{'before':>8}"
        )
        for n in sizes:
            r = cm if n == main_n else await asyncio.to_thread(_run_child, folders[n])
            print(
                f"{n:>8}{r['wall']:>9.2f}{n / r['wall']:>10.0f}{1000 * r['cpu'] / n:>13.3f}"
                f"{r['rss_mb']:>14.0f}{r['rss0']:>8.0f}"
            )
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(_child(Path(sys.argv[2])))))
