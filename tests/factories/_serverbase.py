"""Shared plumbing for the real-server fixtures: ports, TLS polling, and the server life cycle.

Import the public names from :mod:`tests.factories.servers`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest
from cryptography import x509

from certmgr.shared.pki.fingerprint import sha256_fingerprint

START_TIMEOUT = 10.0
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the kernel picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_port_v4_v6() -> int:
    """A port free on both 127.0.0.1 and ::1 (for dual listeners)."""
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            try:
                s.bind(("::1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free on both 127.0.0.1 and ::1")


def _client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # we only read which certificate is served
    return ctx


def served_leaf_sha256(
    host: str, port: int, sni: str = "localhost", timeout: float = 3
) -> str | None:
    """SHA-256 (hex) of the leaf served at ``host:port`` for ``sni``; None if no handshake."""
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            _client_context().wrap_socket(raw, server_hostname=sni or None) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    return hashlib.sha256(der).hexdigest() if der else None


def wait_for_leaf(
    host: str,
    port: int,
    sha256: str,
    *,
    sni: str = "localhost",
    timeout: float = 5.0,
    stable: int = 3,
) -> bool:
    """Poll until ``stable`` handshakes in a row serve the leaf ``sha256``.

    After a reload, draining workers serve the old certificate for a short while, so one match
    is not proof. Returns False when ``timeout`` passes first.
    """
    want = sha256.lower().replace(":", "")
    deadline = time.monotonic() + timeout
    streak = 0
    while time.monotonic() < deadline:
        streak = streak + 1 if served_leaf_sha256(host, port, sni, timeout=1) == want else 0
        if streak >= stable:
            return True
        time.sleep(0.02)
    return False


def require_binary(name: str) -> str:
    """Path of a server binary; a missing one fails the test (never skips)."""
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if os.access(f"/usr/sbin/{name}", os.X_OK) else None
    )
    if path is None:
        pytest.fail(
            f"{name} is not installed: run 'make test' (it installs every server the suite needs)"
        )
    return path


class Lifecycle:
    """``with`` starts and stops in the calling thread; ``async with`` does both in a worker
    thread, so an async test does not hold its event loop while a server starts or stops."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


class ServerBase(Lifecycle):
    """Common life cycle: spawn in the foreground, wait for TLS, always reap."""

    name = "server"

    def __init__(self, workdir: Path, port: int | None, host: str = "127.0.0.1") -> None:
        self.host = host
        self._auto_port = port is None
        self.port = port or self._new_port()
        self.prefix = workdir / f"{self.name}-{self.port}"
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.prefix.chmod(0o755)
        self.log_path = self.prefix / "stderr.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.served_cert_file: Path | None = (
            None  # set by subclasses: the file whose leaf is served
        )

    def _new_port(self) -> int:
        return free_port(self.host)

    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _write_config(self) -> None:
        raise NotImplementedError

    def _ready_addresses(self) -> Sequence[str]:
        return (self.host,)

    def start(self) -> None:
        """Write the config, spawn the server and wait until it serves its own certificate.

        A port taken in the meantime (another test worker) is retried on a fresh port when the
        port was chosen automatically.
        """
        for _ in range(5):
            self._write_config()
            offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(
                    self._argv(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            try:
                ready = self._wait_ready(offset)
            except BaseException:
                self.stop()
                raise
            if ready:
                return
            self.stop()
            if not self._auto_port:
                pytest.fail(f"{self.name}: port {self.port} is already in use:\n{self.log()}")
            self.port = self._new_port()
        pytest.fail(f"{self.name}: no free port found")

    def _expected_leaf(self) -> str | None:
        if self.served_cert_file is None:
            return None
        match = _PEM_CERT.search(self.served_cert_file.read_bytes())
        if match is None:
            return None
        try:
            return sha256_fingerprint(x509.load_pem_x509_certificate(match.group(0)))
        except ValueError:
            return None

    def _wait_ready(self, log_offset: int) -> bool:
        """True when ready, False on a port clash; fails the test on exit or timeout."""
        deadline = time.monotonic() + START_TIMEOUT
        want = self._expected_leaf()
        pending = list(self._ready_addresses())
        while pending:
            assert self.proc is not None
            with self.log_path.open("rb") as f:
                f.seek(log_offset)
                if b"Address already in use" in f.read():
                    return False
            if self.proc.poll() is not None:
                pytest.fail(
                    f"{self.name} exited with {self.proc.returncode} on start:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{self.name} did not serve TLS on port {self.port} within {START_TIMEOUT} s:\n{self.log()}"
                )
            got = served_leaf_sha256(pending[0], self.port, timeout=1)
            if got is not None and want in (None, got):
                pending.pop(0)
            else:
                time.sleep(0.01)
        return True

    def stop(self) -> None:
        """Terminate the server and reap it (kill after 10 s)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    @property
    def pid(self) -> int:
        """The master process id."""
        assert self.proc is not None, f"{self.name} is not running"
        return self.proc.pid

    def log(self) -> str:
        """What the server wrote to stdout/stderr (and its error log, where it has one)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        error_log = self.prefix / "error.log"
        if error_log.exists():
            text += error_log.read_text(errors="replace")
        return text

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def copy_file(src: Path, dst: Path, mode: int = 0o644) -> Path:
    shutil.copyfile(src, dst)
    dst.chmod(mode)
    return dst
