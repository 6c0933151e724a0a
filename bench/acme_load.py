"""ACME issuance throughput against a local Pebble: certmgr's client beside certbot.

``python -m bench.acme_load [--orders 50] [--concurrency 4] [--certbot 10]`` starts its own
Pebble (real HTTP-01 validation, Pebble's default 5 % badNonce on) and prints orders per
second. ``run(quick)`` is the ``python -m bench`` entry point.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import report, timer
from certmgr.controller.issuers.acme import (
    AcmeAccountSpec,
    AcmeConnections,
    Http01Responder,
    PollPolicy,
    obtain_certificate,
    register_account,
)
from certmgr.shared.pki import build_csr, csr_pem, generate_private_key
from tests.factories.acme_servers import PebbleServer


def _csr(name: str) -> bytes:
    return csr_pem(build_csr(generate_private_key("ec-p256"), None, [name])).encode()


async def renew_many(
    n: int,
    pebble: PebbleServer,
    concurrency: int = 4,
    *,
    prefix: str = "r",
    poll: PollPolicy | None = None,
) -> tuple[float, int]:
    """Issue ``n`` single-name certificates (fresh key each) with at most ``concurrency`` open.

    Registration happens before the clock starts; the orders share kept-open connections;
    ``poll`` overrides the client's polling intervals (the default waits 50 ms before the
    first poll). Returns (seconds, orders).
    """
    policy = poll or PollPolicy()
    account = await register_account(
        AcmeAccountSpec(pebble.directory_url, ca_bundle_pem=pebble.ca_bundle_pem)
    )
    gate = asyncio.Semaphore(concurrency)

    async with (
        Http01Responder("127.0.0.1", pebble.http_port) as responder,
        AcmeConnections() as connections,
    ):

        async def one(i: int) -> None:
            async with gate:
                csr = await asyncio.to_thread(_csr, f"{prefix}{i}.bench.test")
                await obtain_certificate(
                    account,
                    csr,
                    challenge=responder,
                    timeout=30,
                    poll=policy,
                    connections=connections,
                )

        started = time.perf_counter()
        outcomes = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
        seconds = time.perf_counter() - started
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    for failure in failures[:3]:
        print(f"  order failed: {failure!r}", file=sys.stderr)
    return seconds, n - len(failures)


def _certbot_argv(pebble: PebbleServer, folder: Path, *extra: str) -> list[str]:
    certbot = shutil.which("certbot")
    if certbot is None:
        raise RuntimeError("certbot is not installed (apt-get install certbot)")
    return [
        certbot,
        *extra,
        "--non-interactive",
        "--agree-tos",
        "--register-unsafely-without-email",
        "--server",
        pebble.directory_url,
        "--config-dir",
        str(folder / "config"),
        "--work-dir",
        str(folder / "work"),
        "--logs-dir",
        str(folder / "logs"),
    ]


def certbot_many(
    n: int, pebble: PebbleServer, *, folder: Path | None = None, timeout: float = 120.0
) -> tuple[float, int]:
    """Issue ``n`` certificates with ``certbot certonly --standalone``, one process each.

    certbot's standalone server binds Pebble's HTTP-01 port, so the runs are sequential.
    Pebble's HTTPS CA reaches certbot's ``requests`` through ``REQUESTS_CA_BUNDLE``.
    Registration happens before the clock starts. Returns (seconds, orders completed).
    """
    own = folder is None
    base = Path(tempfile.mkdtemp(prefix="certbot-bench-")) if folder is None else folder
    env = dict(os.environ, REQUESTS_CA_BUNDLE=str(pebble.ca_bundle_path))
    try:
        subprocess.run(
            _certbot_argv(pebble, base, "register"),
            env=env,
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        done = 0
        started = time.perf_counter()
        for i in range(n):
            argv = _certbot_argv(
                pebble,
                base,
                "certonly",
                "--standalone",
                "--http-01-address",
                "127.0.0.1",
                "--http-01-port",
                str(pebble.http_port),
                "--key-type",
                "ecdsa",
                "--cert-name",
                f"cb{i}",
                "-d",
                f"cb{i}.bench.test",
            )
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
            if proc.returncode == 0:
                done += 1
            else:
                print(f"  certbot failed: {proc.stderr.strip()[-400:]}", file=sys.stderr)
        return time.perf_counter() - started, done
    finally:
        if own:
            shutil.rmtree(base, ignore_errors=True)


async def _measure(orders: int, concurrency: int, certbot: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="acme-bench-") as tmp,
        PebbleServer(Path(tmp)) as pebble,
    ):
        rows: list[tuple[str, int, float, float]] = []
        single = [(await renew_many(1, pebble, 1, prefix=f"s{i}-"))[0] for i in range(5)]
        print(f"single order (HTTP-01, fresh key): {1000 * sorted(single)[2]:.0f} ms median of 5")
        with timer() as t:
            seconds, done = await renew_many(orders, pebble, concurrency)
        rows.append((f"certmgr, concurrency {concurrency}", done, seconds, t["cpu"]))
        with timer() as t:
            seconds, done = await renew_many(
                orders, pebble, concurrency, prefix="f", poll=PollPolicy(first=0.01)
            )
        rows.append((f"certmgr, c {concurrency}, first poll 10 ms", done, seconds, t["cpu"]))
        if certbot and shutil.which("certbot"):
            with timer() as t:
                seconds, done = await asyncio.to_thread(certbot_many, certbot, pebble)
            rows.append(("certbot certonly --standalone", done, seconds, t["cpu"]))
        report(rows, "orders")


async def run(quick: bool = False) -> None:
    """Entry point for ``python -m bench``."""
    await _measure(10 if quick else 50, 4, 3 if quick else 10)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.acme_load")
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--certbot", type=int, default=10, help="certbot runs (0: skip)")
    args = parser.parse_args()
    asyncio.run(_measure(args.orders, args.concurrency, args.certbot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
