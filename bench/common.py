"""Helpers shared by the benchmarks."""

from __future__ import annotations

import datetime as dt
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@contextmanager
def timer() -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        yield out
    finally:
        ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["wall"] = time.perf_counter() - t0
        out["cpu"] = (
            time.process_time() - c0 + (ch1.ru_utime - ch0.ru_utime) + (ch1.ru_stime - ch0.ru_stime)
        )


def peak_rss_mb() -> float:
    """This process image's peak RSS in MiB (VmHWM; ru_maxrss would include the forking parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def workdir(name: str) -> Path:
    base = Path(os.environ.get("CERTMGR_BENCH_DIR", tempfile.gettempdir()))
    return Path(tempfile.mkdtemp(prefix=f"certmgr-bench-{name}-", dir=base))


def make_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_leaf(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, cn: str
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def report(rows: list[tuple[str, int, float, float]], unit: str) -> None:
    """rows: (label, items, wall seconds, cpu seconds); ratios are against the first row."""
    base = rows[0][1] / rows[0][2] if rows[0][2] else 0.0
    print(f"{'':34}{'items':>8}{'wall s':>9}{unit + '/s':>14}{'cpu ms/item':>13}{'ratio':>9}")
    for label, n, wall, cpu in rows:
        rate = n / wall if wall else 0.0
        print(
            f"{label:34}{n:>8}{wall:>9.2f}{rate:>14.1f}{1000 * cpu / max(n, 1):>13.2f}{(rate / base if base else 0):>8.2f}x"
        )
