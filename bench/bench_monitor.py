"""Monitoring: N deployments spread over loopback TLS endpoints, checked in one run.

One nginx serves the same leaf + intermediate on E ports (10 deployments per endpoint by default).
Rows, all measured in this run on this machine:

* certmgr probe engine: the monitoring workers (probe + verdict, ~100 in flight), no database;
* certmgr monitoring run: the same plus storing every result (SQLite) and state changes;
* nmap --script ssl-cert over the E ports (its per-endpoint rate and client CPU);
* openssl s_client in a shell loop over a sample of ports;
* openssl s_time -new against one port: CPU per full handshake of the C client;
* scale curve: the monitoring run (with its writes) at N/4, N and 4N deployments, a fresh
  process each, so the growth of time and memory with size shows.

Client CPU is user+system time of the checking process (children for the tools). Peak RSS is
measured in a fresh child process per size, to show that memory stays flat as N grows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bench.common import make_ca, pem, timer, workdir
from bench.monitor_shared import print_rows, shared_rows

SNI = "bench.test"


def _pki(d: Path) -> tuple[Path, Path, list[x509.Certificate]]:
    ca_key, ca = make_ca()
    now = dt.datetime.now(dt.UTC)
    int_key = ec.generate_private_key(ec.SECP256R1())
    inter = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench Intermediate")]))
        .issuer_name(ca.subject)
        .public_key(int_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=300))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SNI)]))
        .issuer_name(inter.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SNI)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(int_key, hashes.SHA256())
    )
    chain = d / "fullchain.pem"
    chain.write_bytes(pem(leaf) + pem(inter))
    key_path = d / "key.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return chain, key_path, [leaf, inter, ca]


def _free_range(count: int) -> int:
    for base in range(20000, 60000 - count, 1000):
        ok = True
        for p in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError(f"no {count} consecutive free ports")


def _nginx(d: Path, chain: Path, key: Path, base: int, count: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    (d / "tmp").mkdir()
    listens = "\n".join(f"        listen 127.0.0.1:{p} ssl;" for p in range(base, base + count))
    conf = d / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
worker_rlimit_nofile 20000;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/b; proxy_temp_path {d}/tmp/p; fastcgi_temp_path {d}/tmp/f;
    uwsgi_temp_path {d}/tmp/u; scgi_temp_path {d}/tmp/s;
    ssl_session_cache off; ssl_session_tickets off;
    server {{
{listens}
        server_name {SNI};
        ssl_certificate {chain};
        ssl_certificate_key {key};
        return 200 "ok";
    }}
}}
"""
    )
    proc = subprocess.Popen(
        [binary, "-p", str(d), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", base + count - 1), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("nginx did not start")


async def _populate(url: str, certs: list[x509.Certificate], n: int, base: int, e: int) -> None:
    from certmgr.controller.db.engine import Database
    from certmgr.controller.db.models import CertificateDefinition, ChainLink, Deployment
    from certmgr.controller.services.certificates.store import certificate_row

    now = dt.datetime.now(dt.UTC)
    db = Database(url)
    await db.upgrade()
    async with db.transaction() as s:
        rows = [certificate_row(c, source="imported", now=now) for c in certs]
        s.add_all(rows)
        await s.flush()
        s.add_all(
            [
                ChainLink(certificate_id=rows[0].id, position=i, ca_certificate_id=r.id)
                for i, r in enumerate(rows[1:])
            ]
        )
        d = CertificateDefinition(
            name="bench",
            common_name=SNI,
            sans=[SNI],
            key_type="ec-p256",
            issuer_kind="private-ca",
            requirements={},
            renewal_policy={},
            current_certificate_id=rows[0].id,
            created_at=now,
            updated_at=now,
        )
        s.add(d)
        await s.flush()
        s.add_all(
            [
                Deployment(
                    definition_id=d.id,
                    name=f"web{i}",
                    server_name=f"web{i}.bench.test",
                    check_host="127.0.0.1",
                    check_port=base + i % e,
                    sni=SNI,
                    target_type="nginx",
                    target_params={},
                    delivery="agent",
                    status="confirmed",
                    certificate_id=rows[0].id,
                    created_at=now,
                    updated_at=now,
                )
                for i in range(n)
            ]
        )
    await db.dispose()


async def _child(url: str, mode: str, n: int) -> dict[str, Any]:
    """Runs in a fresh process: one measurement, reported as JSON (with this process's peak RSS)."""
    from certmgr.controller.db.engine import Database
    from certmgr.controller.services.monitoring.checks import run_monitoring
    from certmgr.controller.services.monitoring.config import MonitorConfig
    from certmgr.controller.services.monitoring.targets import check_target, load_targets
    from certmgr.shared.clock import SystemClock

    db = Database(url)
    cfg = MonitorConfig(concurrency=100, probe_timeout=10.0)
    clock = SystemClock()
    targets, _ = await load_targets(db, list(range(1, n + 1)) if mode == "engine" else None)
    rss0 = _peak_rss_mb()
    ok = 0
    with timer() as t:
        if mode == "engine":
            todo = list(reversed(targets))

            async def worker() -> None:
                nonlocal ok
                while todo:
                    checked = await check_target(todo.pop(), clock, cfg.probe_timeout, ())
                    ok += checked.outcome.ok

            async with asyncio.TaskGroup() as tg:
                for _ in range(cfg.concurrency):
                    tg.create_task(worker())
        else:
            summary = await run_monitoring(db, clock, cfg, trust_roots=())
            ok = summary.ok
    await db.dispose()
    return {
        "n": len(targets),
        "ok": ok,
        "wall": t["wall"],
        "cpu": t["cpu"],
        "rss_mb": _peak_rss_mb(),
        "rss_before_mb": rss0,
    }


def _peak_rss_mb() -> float:
    """This process image's peak RSS (VmHWM; ru_maxrss would include the forking parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_child(url: str, mode: str, n: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_monitor", "--child", url, mode, str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _tool(argv: list[str] | str, *, shell: bool = False) -> tuple[float, float, str]:
    with timer() as t:
        res = subprocess.run(argv, shell=shell, capture_output=True, text=True, check=False)  # noqa: S602 - fixed bench loop
    return t["wall"], t["cpu"], res.stdout


async def run(*, quick: bool = False) -> None:
    n = 1000 if quick else 10_000
    e = 200 if quick else 1000
    sample = 100 if quick else 300
    d = workdir("monitor")
    chain, key, certs = _pki(d)
    base = _free_range(e)
    nginx = _nginx(d, chain, key, base, e)
    try:
        url = f"sqlite+aiosqlite:///{d / 'bench.db'}"
        await _populate(url, certs, n, base, e)
        print(
            f"{n} deployments over {e} loopback endpoints (ports {base}-{base + e - 1}), 100 in flight"
        )
        small = await asyncio.to_thread(_run_child, url, "engine", n // 10)
        engine = await asyncio.to_thread(_run_child, url, "engine", n)
        full = await asyncio.to_thread(_run_child, url, "run", n)
        curve = [full]  # the scale curve: the monitoring run at 1/4, 1 and 4 times n
        for size in (n // 4, 4 * n):
            url_k = f"sqlite+aiosqlite:///{d / f'scale{size}.db'}"
            await _populate(url_k, certs, size, base, e)
            curve.append(await asyncio.to_thread(_run_child, url_k, "run", size))
        nmap_wall = nmap_cpu = 0.0
        if shutil.which("nmap"):
            nmap_wall, nmap_cpu, out = await asyncio.to_thread(
                _tool,
                [
                    "nmap",
                    "-Pn",
                    "-n",
                    "-sT",
                    "--script",
                    "ssl-cert",
                    "-p",
                    f"{base}-{base + e - 1}",
                    "127.0.0.1",
                ],
            )
            seen = out.count("Subject: commonName=")
            if seen < e:
                print(f"  (nmap reported {seen} of {e} certificates)")
        ports = " ".join(str(base + i) for i in range(sample))
        loop = (
            f"for p in {ports}; do openssl s_client -connect 127.0.0.1:$p -servername {SNI} "
            "-showcerts </dev/null >/dev/null 2>&1; done"
        )
        sc_wall, sc_cpu, _ = await asyncio.to_thread(_tool, ["bash", "-c", loop])
        st_wall, st_cpu, st_out = await asyncio.to_thread(
            _tool, ["openssl", "s_time", "-connect", f"127.0.0.1:{base}", "-new", "-time", "5"]
        )
        handshakes = 0
        for line in st_out.splitlines():
            if "connections in" in line and "real seconds" not in line:
                handshakes = int(line.split()[0])
        shared = await shared_rows(lambda u: _populate(u, certs, n, base, e), batch=n // 40)
        # network-bound: hosts that never answer (each check waits out a 1 s timeout)
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(4096)
        m, port = (200 if quick else 600), int(silent.getsockname()[1])
        try:
            slow = await shared_rows(
                lambda u: _populate(u, certs, m, port, 1),
                concurrency=20,
                probe_timeout=1.0,
                batch=5,
            )
        finally:
            silent.close()
    finally:
        nginx.terminate()
        nginx.wait(10)
    rows = [
        (
            "certmgr probe engine",
            engine["n"],
            engine["wall"],
            engine["cpu"],
            f"{engine['rss_mb']:.0f} MB",
        ),
        (
            "certmgr monitoring run (+SQLite)",
            full["n"],
            full["wall"],
            full["cpu"],
            f"{full['rss_mb']:.0f} MB",
        ),
        ("nmap --script ssl-cert", e, nmap_wall, nmap_cpu, ""),
        ("openssl s_client loop (sample)", sample, sc_wall, sc_cpu, ""),
        ("openssl s_time -new (handshakes)", handshakes, st_wall, st_cpu, ""),
    ]
    print(f"{'':38}{'checks':>8}{'wall s':>9}{'checks/s':>11}{'cpu ms/each':>13}{'peak RSS':>10}")
    for label, count, wall, cpu, rss in rows:
        rate = count / wall if wall else 0.0
        print(
            f"{label:38}{count:>8}{wall:>9.2f}{rate:>11.0f}{1000 * cpu / max(count, 1):>13.2f}{rss:>10}"
        )
    print(
        f"peak RSS: {small['rss_mb']:.0f} MB at {small['n']} checks, {engine['rss_mb']:.0f} MB at {engine['n']}"
        f" (before the first check: {small['rss_before_mb']:.0f} and {engine['rss_before_mb']:.0f} MB)"
    )
    print(
        f"\nscale curve: monitoring run with its writes (SQLite), {e} endpoints, a process per size"
    )
    print(
        f"{'deployments':>12}{'wall s':>9}{'checks/s':>10}{'cpu ms/check':>14}{'peak RSS MB':>13}"
    )
    for r in sorted(curve, key=lambda r: int(r["n"])):
        print(
            f"{r['n']:>12}{r['wall']:>9.2f}{r['n'] / r['wall']:>10.0f}"
            f"{1000 * r['cpu'] / r['n']:>14.3f}{r['rss_mb']:>13.0f}"
        )
    print_rows(shared, "shared monitoring run on PostgreSQL, loopback nginx (100 in flight each)")
    print_rows(slow, f"shared run, {m} hosts that never answer (1 s timeout, 20 in flight each)")
    if nmap_wall and handshakes:
        nmap_rate, nmap_ms = e / nmap_wall, 1000 * nmap_cpu / e
        st_ms = 1000 * st_cpu / handshakes
        variants = (
            ("engine", engine),
            ("run", full),
        )
        for label, r in variants:
            rate, ms = r["n"] / r["wall"], 1000 * r["cpu"] / r["n"]
            print(
                f"goals ({label}): {rate / nmap_rate:.1f}x nmap's rate (>= 3), "
                f"{ms / nmap_ms:.2f}x its CPU per endpoint (<= 0.4), "
                f"{ms / st_ms:.2f}x s_time's CPU per handshake (<= 1.3)"
            )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(_child(sys.argv[2], sys.argv[3], int(sys.argv[4])))))
    else:
        asyncio.run(run(quick="--quick" in sys.argv))
