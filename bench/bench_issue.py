"""Private-CA issuance with key generation and sealed storage, beside bare cryptography and the openssl CLI."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from bench.common import make_ca, report, timer, workdir

GOAL_P256 = 1500.0  # certificates/s with sealed storage on SQLite


def _bare(kind: str, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, i: int) -> None:
    key = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ec-p256"
        else rsa.generate_private_key(65537, 2048)
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"h{i}.bench.test")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    now = dt.datetime.now(dt.UTC)
    (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(f"h{i}.bench.test")]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


async def run(*, quick: bool = False) -> None:
    from certmgr.controller.db.engine import Database
    from certmgr.controller.db.models import CertificateDefinition
    from certmgr.controller.domain.actors import cli_actor
    from certmgr.controller.home import init_home
    from certmgr.controller.services.acquisition.private_ca import (
        CaContext,
        IssueRequest,
        issue_for_definitions,
    )
    from certmgr.controller.settings import load_settings
    from certmgr.controller.vault import read_master_key

    d = workdir("issue")
    await init_home(d / "home", admin_password="bench-password-123", ca_key_type="ec-p256")
    settings = load_settings(d / "home")
    db = Database(settings.database_url)
    vault = read_master_key(settings.master_key_path)
    ctx = CaContext(settings.ca_dir, settings.effective_crl_url)
    ca_key, ca = make_ca()
    openssl = shutil.which("openssl")
    ca_dir = d / "osslca"
    ca_dir.mkdir()
    if openssl:
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                str(ca_dir / "ca.key"),
                "-subj",
                "/CN=Bench OpenSSL CA",
                "-days",
                "30",
                "-out",
                str(ca_dir / "ca.pem"),
            ],
            check=True,
            capture_output=True,
        )
    for kind, n, sample in (
        ("ec-p256", 500 if quick else 3000, 50 if quick else 100),
        ("rsa-2048", 20 if quick else 100, 10 if quick else 20),
    ):
        now = dt.datetime.now(dt.UTC)
        async with db.transaction() as s:
            names = [f"{kind}-{i}" for i in range(n)]
            s.add_all(
                [
                    CertificateDefinition(
                        name=nm,
                        common_name=f"{nm}.bench.test",
                        sans=[f"{nm}.bench.test"],
                        key_type=kind,
                        issuer_kind="private-ca",
                        requirements={},
                        renewal_policy={},
                        created_at=now,
                        updated_at=now,
                    )
                    for nm in names
                ]
            )
        batch = 250
        with timer() as t_cm:
            for i in range(0, n, batch):
                await issue_for_definitions(
                    db, vault, cli_actor(), ctx, [IssueRequest(nm) for nm in names[i : i + batch]]
                )
        with timer() as t_cr:
            for i in range(n):
                _bare(kind, ca_key, ca, i)
        rows = [
            (f"certmgr issue {kind} (SQLite)", n, t_cm["wall"], t_cm["cpu"]),
            (f"bare cryptography {kind}", n, t_cr["wall"], t_cr["cpu"]),
        ]
        if openssl:
            newkey = (
                ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
                if kind == "ec-p256"
                else ["-newkey", "rsa:2048"]
            )
            with timer() as t_os:
                for i in range(sample):
                    k, r, c = ca_dir / f"{i}.key", ca_dir / f"{i}.csr", ca_dir / f"{i}.pem"
                    subprocess.run(
                        [
                            openssl,
                            "req",
                            "-new",
                            *newkey,
                            "-nodes",
                            "-keyout",
                            str(k),
                            "-subj",
                            f"/CN=o{i}.bench.test",
                            "-out",
                            str(r),
                        ],
                        check=True,
                        capture_output=True,
                    )
                    subprocess.run(
                        [
                            openssl,
                            "x509",
                            "-req",
                            "-in",
                            str(r),
                            "-CA",
                            str(ca_dir / "ca.pem"),
                            "-CAkey",
                            str(ca_dir / "ca.key"),
                            "-days",
                            "90",
                            "-out",
                            str(c),
                        ],
                        check=True,
                        capture_output=True,
                    )
            rows.append((f"openssl CLI {kind} ({sample})", sample, t_os["wall"], t_os["cpu"]))
        report(rows, "certs")
        if kind == "ec-p256":
            rate = n / t_cm["wall"]
            print(
                f"goal: P-256 >= {GOAL_P256:,.0f} certs/s; now {rate:,.0f}/s "
                f"({rate / GOAL_P256:.2f}x the goal, {t_cm['cpu'] / max(t_cr['cpu'], 1e-9):.1f}x "
                "the bare CPU per certificate)"
            )
    print("RSA-2048 is limited by key generation")
    await db.dispose()
    shutil.rmtree(d, ignore_errors=True)
