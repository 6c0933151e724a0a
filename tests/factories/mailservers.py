"""Throw-away STARTTLS servers from Debian packages on loopback: Dovecot, vsftpd, slapd, PostgreSQL.

Each runs as a child process in the foreground with a private folder, its own configuration and
free ports, serving the certificate chain the test made. ``start()`` waits until the port
accepts connections; ``stop()`` always reaps. Use them as context managers, from synchronous
fixtures (starting a daemon blocks, and an async test's event loop must not).
A missing binary fails the test (never skips), as ``require_binary`` does for nginx.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

from tests.factories._serverbase import copy_file
from tests.factories.postgres import pg_bin
from tests.factories.servers import free_port, require_binary

__all__ = ["DovecotServer", "PostgresTlsServer", "SlapdServer", "VsftpdServer"]

_START_TIMEOUT = 15.0


def _wait_port(host: str, port: int, proc: subprocess.Popen[bytes], log: Path, name: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{name} exited with {proc.returncode} on start:\n{_read(log)}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.02)
    pytest.fail(f"{name} did not listen on {host}:{port} within {_START_TIMEOUT} s:\n{_read(log)}")


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


class _Daemon:
    """Spawn ``argv`` with output to a log, wait for the ports, terminate and reap."""

    name = "daemon"

    def __init__(self, workdir: Path | None, host: str) -> None:
        self.host = host
        self._own_prefix = workdir is None
        if workdir is None:  # a folder that users other than root can reach (not pytest's 0700)
            self.prefix = Path(tempfile.mkdtemp(prefix=f"cm-{self.name}."))
        else:
            self.prefix = workdir / f"{self.name}-{os.getpid()}-{free_port(host)}"
            self.prefix.mkdir(parents=True)
        self.prefix.chmod(0o755)
        self.log_path = self.prefix / "output.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _ports(self) -> list[int]:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Write the configuration (and anything else) before the spawn."""

    def start(self) -> None:
        """Write the configuration, spawn the daemon and wait until its ports accept."""
        self._prepare()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self._argv(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        try:
            for port in self._ports():
                _wait_port(self.host, port, self.proc, self.log_path, self.name)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate the daemon and reap it (kill after 10 s)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if self._own_prefix:
            shutil.rmtree(self.prefix, ignore_errors=True)

    def log(self) -> str:
        """What the daemon wrote."""
        return _read(self.log_path)

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


class DovecotServer(_Daemon):
    """Dovecot with IMAP (``imap_port``) and POP3 (``pop3_port``), STARTTLS on both."""

    name = "dovecot"

    def __init__(
        self, workdir: Path, *, cert: Path, key: Path, host: str = "127.0.0.1", ssl: str = "yes"
    ) -> None:
        super().__init__(workdir, host)
        self.binary = require_binary("dovecot")
        self.imap_port = free_port(host)
        self.pop3_port = free_port(host)
        self.cert_path = copy_file(cert, self.prefix / "cert.pem")
        self.key_path = copy_file(key, self.prefix / "key.pem", 0o600)
        self.conf_path = self.prefix / "dovecot.conf"
        self.ssl = ssl

    def _prepare(self) -> None:
        p = self.prefix
        for d in ("run", "state", "mail"):
            (p / d).mkdir(exist_ok=True)
        user = pwd.getpwuid(os.getuid()).pw_name
        self.conf_path.write_text(
            f"""instance_name = certmgr-{p.name}
base_dir = {p}/run
state_dir = {p}/state
log_path = {self.log_path}
protocols = imap pop3
listen = {self.host}
ssl = {self.ssl}
ssl_cert = <{self.cert_path}
ssl_key = <{self.key_path}
ssl_dh = </usr/share/dovecot/dh.pem
default_internal_user = {user}
default_login_user = dovenull
mail_location = maildir:{p}/mail
auth_mechanisms = plain
passdb {{
  driver = static
  args = password=unused
}}
userdb {{
  driver = static
  args = uid={os.getuid()} gid={os.getgid()} home={p}/mail
}}
service imap-login {{
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
        )

    def _argv(self) -> list[str]:
        return [self.binary, "-F", "-c", str(self.conf_path)]

    def _ports(self) -> list[int]:
        return [self.imap_port, self.pop3_port]


class VsftpdServer(_Daemon):
    """vsftpd in standalone mode with explicit TLS (``AUTH TLS``) on ``port``."""

    name = "vsftpd"

    def __init__(
        self, workdir: Path, *, cert: Path, key: Path, host: str = "127.0.0.1", ssl: bool = True
    ) -> None:
        super().__init__(workdir, host)
        self.binary = require_binary("vsftpd")
        self.port = free_port(host)
        self.cert_path = copy_file(cert, self.prefix / "cert.pem")
        self.key_path = copy_file(key, self.prefix / "key.pem", 0o600)
        self.conf_path = self.prefix / "vsftpd.conf"
        self.ssl = ssl

    def _prepare(self) -> None:
        empty = self.prefix / "empty"
        empty.mkdir(exist_ok=True)
        empty.chmod(0o555)
        yes = "YES" if self.ssl else "NO"
        self.conf_path.write_text(
            f"""listen=YES
listen_ipv6=NO
listen_address={self.host}
listen_port={self.port}
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=NO
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir={empty}
xferlog_enable=NO
vsftpd_log_file={self.log_path}
ssl_enable={yes}
rsa_cert_file={self.cert_path}
rsa_private_key_file={self.key_path}
"""
        )
        self.conf_path.chmod(0o600)

    def _argv(self) -> list[str]:
        return [self.binary, str(self.conf_path)]

    def _ports(self) -> list[int]:
        return [self.port]


class SlapdServer(_Daemon):
    """OpenLDAP's slapd (slapd.conf style, no database) with StartTLS on ``port``."""

    name = "slapd"

    def __init__(
        self, workdir: Path, *, cert: Path, key: Path, host: str = "127.0.0.1", tls: bool = True
    ) -> None:
        super().__init__(workdir, host)
        self.binary = require_binary("slapd")
        self.port = free_port(host)
        self.cert_path = copy_file(cert, self.prefix / "cert.pem")
        self.key_path = copy_file(key, self.prefix / "key.pem", 0o600)
        self.conf_path = self.prefix / "slapd.conf"
        self.tls = tls

    def _prepare(self) -> None:
        tls = (
            f"TLSCertificateFile {self.cert_path}\nTLSCertificateKeyFile {self.key_path}\n"
            if self.tls
            else ""
        )
        self.conf_path.write_text(
            f"""include /etc/ldap/schema/core.schema
pidfile {self.prefix}/slapd.pid
argsfile {self.prefix}/slapd.args
{tls}"""
        )

    def _argv(self) -> list[str]:
        return [
            self.binary,
            "-d",
            "0",
            "-f",
            str(self.conf_path),
            "-h",
            f"ldap://{self.host}:{self.port}/",
        ]

    def _ports(self) -> list[int]:
        return [self.port]


class PostgresTlsServer(_Daemon):
    """A private PostgreSQL cluster with ``ssl = on`` (or off) and the test's certificate."""

    name = "postgres"

    def __init__(self, *, cert: Path, key: Path, host: str = "127.0.0.1", ssl: bool = True) -> None:
        super().__init__(None, host)  # the postgres user must reach the data folder
        self.bindir = pg_bin()
        self.port = free_port(host)
        self.ssl = ssl
        self._as_root = os.geteuid() == 0
        self.data = self.prefix / "data"
        self.cert_path = copy_file(cert, self.prefix / "cert.pem")
        self.key_path = copy_file(key, self.prefix / "key.pem", 0o600)
        if self._as_root:
            for path in (self.prefix, self.cert_path, self.key_path):
                shutil.chown(path, "postgres", "postgres")

    def _runas(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if self._as_root else []

    def _prepare(self) -> None:
        subprocess.run(
            [
                *self._runas(),
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    def _argv(self) -> list[str]:
        ssl = "on" if self.ssl else "off"
        return [
            *self._runas(),
            str(self.bindir / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-k",
            str(self.prefix),
            "-c",
            f"listen_addresses={self.host}",
            "-c",
            f"ssl={ssl}",
            "-c",
            f"ssl_cert_file={self.cert_path}",
            "-c",
            f"ssl_key_file={self.key_path}",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=20",
            "-c",
            "shared_buffers=8MB",
        ]

    def _ports(self) -> list[int]:
        return [self.port]
