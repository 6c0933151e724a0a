"""A real controller process (`certmgr serve`) for end-to-end tests, and a polling helper."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tests.factories.waiting import wait_for

T = TypeVar("T")


class Controller:
    def __init__(self, home: Path, port: int, log: Path, *, listen: bool = False) -> None:
        """``listen``: pass ``--listen 127.0.0.1:PORT`` (replicas of one home on their own ports)."""
        self.home, self.port, self.log = home, port, log
        self.extra = ["--listen", f"127.0.0.1:{port}"] if listen else []
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        fh = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "certmgr.controller",
                "serve",
                "--home",
                str(self.home),
                *self.extra,
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
        fh.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                assert self.proc.poll() is None, self.log.read_text()
                time.sleep(0.1)
        raise AssertionError("controller did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def api(self, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:

        ctx = ssl.create_default_context(cafile=str(self.home / "ca" / "ca.pem"))
        req = urllib.request.Request(
            f"https://127.0.0.1:{self.port}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:  # noqa: S310 - loopback https
            return json.loads(resp.read() or b"{}")


def wait_until(cond: Callable[[], T], timeout: float = 30.0) -> T:
    return wait_for(cond, timeout, interval=0.2)
