"""Discovery: scan A loopback addresses x P ports with L real TLS listeners among them.

Full size: 256 addresses (127.77.0.0/24) x 256 ports = 65,536 address:port pairs, 1,000 nginx
listeners (one nginx, four server blocks with their own certificates, ``listen ADDR:PORT ssl``
lines); ``--quick``: 16 x 64 pairs, 50 listeners. Rows, all measured in this run on this machine:

* certmgr: the discovery scan (:func:`certmgr.shared.discovery.scan`, default concurrency and
  per-host limit) with every chain found judged by the default trust policy, in a fresh child
  process (its own CPU, its peak RSS); the scan connect-scans every pair first, as nmap -sT
  does before its scripts, and probes an open port on that connection;
* ``nmap -sT -Pn -n --script +ssl-cert`` on the same pairs (``+`` runs ssl-cert on every open
  port; without it nmap skips ports it does not take for TLS, which is most of them here);
* the certificate-only work on the L open endpoints: certmgr (scan of those endpoints and the
  policy) against ``sslyze --certinfo`` (its own venv, ``.venv-sslyze``);
* RSS of the certmgr scan at 1x, 4x and 16x the addresses, each in a fresh process.

CPU is user+system of the scanning process (children included for the tools: see
:func:`bench.common.timer`); nginx's CPU is not counted for anyone. Only loopback is contacted;
every tool runs under a deadline, so the bench stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bench.common import make_ca, pem, timer, workdir

NET = "127.77.0.0"
ROOT = Path(__file__).resolve().parent.parent
SSLYZE = ROOT / ".venv-sslyze" / "bin" / "python"
TOOL_DEADLINE = 1800.0
NAMES = ("a.bench.test", "b.bench.test", "c.bench.test", "d.bench.test")


def _addr(i: int) -> str:
    return str(ipaddress.ip_address(NET) + i)


def _free_base(addresses: int, ports: int) -> int:
    """A port range that no wildcard listener holds (binding inside our addresses succeeds)."""
    for base in range(20000, 60000 - ports, 1000):
        ok = True
        for p in range(base, base + ports):
            with socket.socket() as s:
                try:
                    s.bind((_addr(p % addresses), p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError(f"no {ports} free ports in a row")


def _pki(d: Path) -> tuple[list[tuple[Path, Path]], Path]:
    """Four EC leaves under one bench CA (made once); returns (certificate, key) files and the CA."""
    ca_key, ca = make_ca()
    now = dt.datetime.now(dt.UTC)
    files = []
    for n, name in enumerate(NAMES):
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        cert_file, key_file = d / f"leaf{n}.pem", d / f"leaf{n}.key"
        cert_file.write_bytes(pem(leaf))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        files.append((cert_file, key_file))
    ca_file = d / "ca.pem"
    ca_file.write_bytes(pem(ca))
    return files, ca_file


def _listeners(addresses: int, ports: int, count: int, base: int) -> list[tuple[str, int]]:
    picks = random.Random(16).sample(range(addresses * ports), count)  # noqa: S311 - placement
    return sorted((_addr(i % addresses), base + i // addresses) for i in picks)


def _nginx(
    d: Path, certs: list[tuple[Path, Path]], listeners: list[tuple[str, int]]
) -> subprocess.Popen[bytes]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    (d / "tmp").mkdir(exist_ok=True)
    blocks = []
    for n, (chain, key) in enumerate(certs):
        mine = listeners[n :: len(certs)]
        listens = "\n".join(f"        listen {a}:{p} ssl;" for a, p in mine)
        blocks.append(
            f"""    server {{
{listens}
        server_name {NAMES[n]};
        ssl_certificate {chain};
        ssl_certificate_key {key};
        return 200 "ok";
    }}"""
        )
    conf = d / "nginx.conf"
    servers = "\n".join(blocks)
    conf.write_text(
        f"""worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
worker_rlimit_nofile 16000;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/b; proxy_temp_path {d}/tmp/p; fastcgi_temp_path {d}/tmp/f;
    uwsgi_temp_path {d}/tmp/u; scgi_temp_path {d}/tmp/s;
    ssl_session_cache off; ssl_session_tickets off;
{servers}
}}
"""
    )
    proc = subprocess.Popen(
        [binary, "-p", str(d), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=(d / "nginx.stderr").open("wb"),
    )
    deadline = time.monotonic() + 30
    last = listeners[-1]
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {(d / 'nginx.stderr').read_text()[-2000:]}")
        try:
            socket.create_connection(last, timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("nginx did not start")


def _load() -> str:
    """The 1, 5 and 15 minute load averages (other work on the machine slows every tool)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cores() -> int:
    return os.cpu_count() or 1


def _repeat(quick: bool) -> int:
    """Rounds of certmgr beside nmap (``CERTMGR_BENCH_REPEAT``; default 3, 1 with --quick)."""
    return max(1, int(os.environ.get("CERTMGR_BENCH_REPEAT", "1" if quick else "3")))


def _nginx_cpu(proc: subprocess.Popen[bytes]) -> float:
    """CPU seconds nginx (master and workers) has used: the servers' side of the handshakes."""
    total = 0.0
    with contextlib.suppress(OSError, ValueError):
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        for pid in (proc.pid, *map(int, children)):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _peak_rss_mb() -> float:
    """This process image's peak RSS (VmHWM; ru_maxrss would include the forking parent's)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _child(job: dict[str, Any]) -> dict[str, Any]:
    """Runs in a fresh process: one certmgr scan (and the policy on every chain found)."""
    from contextlib import aclosing

    from certmgr.shared.discovery import Scope, parse_targets, scan
    from certmgr.shared.discovery.policy import TrustPolicy, judge, verdict
    from certmgr.shared.tlstrust import load_system_roots

    spec = parse_targets(job["targets"], job["ports"])
    scope = Scope.parse(f"{NET}/24")
    anchors = [x509.load_pem_x509_certificate(Path(job["ca"]).read_bytes())]
    policy = TrustPolicy()
    now = dt.datetime.now(dt.UTC)
    outcomes: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    rss0 = _peak_rss_mb()
    with timer() as t:
        roots = await asyncio.to_thread(load_system_roots)
        async with aclosing(scan(spec, scope=scope)) as results:
            async for r in results:
                outcomes[str(r.outcome)] += 1
                if r.chain:
                    found = judge(
                        r.chain,
                        policy=policy,
                        host_name=r.sni,
                        anchors=anchors,
                        revoked=(),
                        now=now,
                        system_roots=roots,
                    )
                    verdicts[str(verdict(found))] += 1
    return {
        "pairs": spec.count(),
        "wall": t["wall"],
        "cpu": t["cpu"],
        "outcomes": dict(outcomes),
        "verdicts": dict(verdicts),
        "rss_mb": _peak_rss_mb(),
        "rss_before_mb": rss0,
    }


def _run_child(job: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_discovery", "--child", json.dumps(job)],
        capture_output=True,
        text=True,
        check=False,
        timeout=TOOL_DEADLINE,
        cwd=ROOT,
    )
    if out.returncode:
        raise RuntimeError(f"certmgr scan failed: {out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _tool(argv: list[str]) -> tuple[float, float, str, str]:
    """Run a peer tool under the deadline; wall, CPU (children), stdout and a failure note."""
    note = ""
    with timer() as t:
        try:
            res = subprocess.run(
                argv, capture_output=True, text=True, check=False, timeout=TOOL_DEADLINE
            )
            out = res.stdout
            if res.returncode:
                note = f"exit {res.returncode}: {res.stderr.strip()[-300:]}"
        except subprocess.TimeoutExpired:
            out, note = "", f"killed after {TOOL_DEADLINE:.0f} s"
    return t["wall"], t["cpu"], out, note


def _sslyze_certs(path: Path) -> int:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return 0
    n = 0
    for server in data.get("server_scan_results", []):
        cert = ((server.get("scan_result") or {}).get("certificate_info") or {}).get("result")
        if cert and cert.get("certificate_deployments"):
            n += 1
    return n


def _row(label: str, n: int, wall: float, cpu: float, opened: int, extra: str = "") -> None:
    rate = n / wall if wall else 0.0
    per_open = 1000 * cpu / max(opened, 1)
    print(
        f"{label:44}{n:>8}{wall:>9.2f}{rate:>12.0f}{cpu:>9.2f}{per_open:>14.2f}  {extra}",
        flush=True,
    )


async def run(*, quick: bool = False) -> None:
    addresses, ports, count = (16, 64, 50) if quick else (256, 256, 1000)
    sizes = (1, 4, 16) if quick else (16, 64, 256)
    d = workdir("discovery")
    started = time.monotonic()
    certs, ca_file = _pki(d)
    base = _free_base(addresses, ports)
    listeners = _listeners(addresses, ports, count, base)
    port_text = f"{base}-{base + ports - 1}"
    nginx = _nginx(d, certs, listeners)
    last = _addr(addresses - 1)
    print(
        f"{addresses} addresses ({NET}-{last}) x {ports} ports ({port_text}) = "
        f"{addresses * ports} pairs, {count} nginx TLS listeners; setup "
        f"{time.monotonic() - started:.1f} s; load {_load()}",
        flush=True,
    )
    try:
        rss = {}
        for a in sizes[:-1]:
            job = {"targets": [f"{NET}-{_addr(a - 1)}"], "ports": port_text, "ca": str(ca_file)}
            rss[a] = await asyncio.to_thread(_run_child, job)
        job = {"targets": [f"{NET}-{last}"], "ports": port_text, "ca": str(ca_file)}
        nmap = ["nmap", "-sT", "-Pn", "-n", "--script", "+ssl-cert", "-p", port_text]
        nmap += [f"{NET}/{32 - (addresses - 1).bit_length()}"]
        rounds: list[tuple[dict[str, Any], float, float, float, str, str]] = []
        for _ in range(_repeat(quick)):  # side by side, alternating: the load moves meanwhile
            before = _nginx_cpu(nginx)
            full = await asyncio.to_thread(_run_child, job)
            full["nginx_cpu"] = _nginx_cpu(nginx) - before
            before = _nginx_cpu(nginx)
            nmap_wall, nmap_cpu, nmap_out, nmap_note = await asyncio.to_thread(_tool, nmap)
            rounds.append(
                (full, nmap_wall, nmap_cpu, _nginx_cpu(nginx) - before, _load(), nmap_note)
            )
        rss[sizes[-1]] = full
        nmap_open = sum(1 for line in nmap_out.splitlines() if "/tcp" in line and " open " in line)
        nmap_certs = nmap_out.count("Subject: commonName=")
        # the certificate-only work on the open endpoints
        endpoints = [f"{a}:{p}" for a, p in listeners]
        open_job = {"targets": endpoints, "ports": "443", "ca": str(ca_file)}
        mine = await asyncio.to_thread(_run_child, open_job)
        targets_file = d / "sslyze-targets.txt"
        targets_file.write_text("\n".join(endpoints) + "\n")
        sslyze_json = d / "sslyze.json"
        sslyze_cmd = [str(SSLYZE), "-m", "sslyze", "--certinfo", "--quiet"]
        sslyze_cmd += ["--targets_in", str(targets_file), "--json_out", str(sslyze_json)]
        if SSLYZE.exists():
            sy_wall, sy_cpu, _, sy_note = await asyncio.to_thread(_tool, sslyze_cmd)
            sy_certs = _sslyze_certs(sslyze_json)
        else:
            sy_wall = sy_cpu = 0.0
            sy_note, sy_certs = "not installed (scripts/bootstrap test makes .venv-sslyze)", 0
    finally:
        nginx.terminate()
        nginx.wait(10)
    pairs = addresses * ports
    print(f"\n{'':44}{'pairs':>8}{'wall s':>9}{'pairs/s':>12}{'cpu s':>9}{'cpu ms/open':>14}")
    rate_x, cpu_x = [], []
    for n, (mine_r, n_wall, n_cpu, n_nginx, load, note) in enumerate(rounds, start=1):
        _row(
            f"[{n}] certmgr scan + trust policy",
            mine_r["pairs"],
            mine_r["wall"],
            mine_r["cpu"],
            count,
            f"{mine_r['outcomes'].get('tls', 0)} TLS, {mine_r['outcomes'].get('closed', 0)} "
            f"closed; nginx {mine_r['nginx_cpu']:.2f} s CPU",
        )
        _row(
            f"[{n}] nmap -sT -Pn --script +ssl-cert",
            pairs,
            n_wall,
            n_cpu,
            count,
            f"{nmap_open} open, {nmap_certs} certificates; nginx {n_nginx:.2f} s CPU; "
            f"load {load} {note}".strip(),
        )
        if n_wall and mine_r["wall"] and not note:
            rate_x.append((mine_r["pairs"] / mine_r["wall"]) / (pairs / n_wall))
            cpu_x.append(mine_r["cpu"] / n_cpu if n_cpu else 0.0)
    print(f"\ncertificate-only work on the {count} open endpoints")
    _row(
        "certmgr scan + trust policy (open only)",
        mine["pairs"],
        mine["wall"],
        mine["cpu"],
        count,
        f"{mine['outcomes'].get('tls', 0)} certificates",
    )
    _row("sslyze --certinfo", count, sy_wall, sy_cpu, count, f"{sy_certs} certificates {sy_note}")
    print("\npeak RSS of the certmgr scan (fresh process each):")
    for a in sizes:
        r = rss[a]
        print(
            f"  {a:>4} addresses ({r['pairs']:>6} pairs, {a // sizes[0]:>2}x): "
            f"{r['rss_mb']:.0f} MB (before the scan {r['rss_before_mb']:.0f} MB), "
            f"wall {r['wall']:.2f} s"
        )
    print(f"verdicts (default policy, bench CA as anchor): {full['verdicts']}")
    if rate_x:
        print(
            f"goals vs nmap, median of {len(rate_x)} rounds: {statistics.median(rate_x):.2f}x its "
            f"rate (goal >= 3), {statistics.median(cpu_x):.2f}x its CPU per open endpoint "
            f"(goal <= 0.5); rounds: {', '.join(f'{r:.2f}x/{c:.2f}x' for r, c in zip(rate_x, cpu_x, strict=True))}"
        )
    if sy_wall and mine["wall"]:
        print(
            f"vs sslyze (certificate-only): {sy_wall / mine['wall']:.1f}x faster, "
            f"{(mine['cpu'] / sy_cpu if sy_cpu else 0):.2f}x its CPU per endpoint"
        )
    print(
        f"total bench time {time.monotonic() - started:.1f} s; load {_load()} on {_cores()} cores"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(_child(json.loads(sys.argv[2])))))
    else:
        asyncio.run(run(quick="--quick" in sys.argv))
