"""Throw-away ACME test servers on loopback: Pebble, pebble-challtestsrv and BIND (RECIPES-SERVERS §1-2).

Every server is a context manager that picks free loopback ports, runs in the foreground as a
child process, waits until it answers and always stops (and reaps) its processes::

    with ChallTestSrv() as dns, PebbleServer(tmp_path, dns_server=dns.dns_address) as pebble:
        ...  # pebble.directory_url, pebble.ca_bundle_pem, pebble.http_port, pebble.roots_pem()

    with BindServer(tmp_path) as bind, PebbleServer(tmp_path, dns_server=bind.address) as pebble:
        ...  # DNS-01 through RFC 2136 updates to bind (bind.tsig_* attributes)

``PebbleServer`` without ``dns_server`` starts (and owns) its own ``ChallTestSrv`` that answers
every A query with 127.0.0.1, so HTTP-01 validation reaches a responder on ``pebble.http_port``.
No always-valid switch is ever set: validation is real.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rdatatype
import pytest

from tests.factories._serverbase import Lifecycle, free_port, require_binary
from tests.factories.pki import make_ca, make_leaf, pem_bytes

__all__ = [
    "BindServer",
    "ChallTestSrv",
    "PebbleServer",
    "make_eab_hmac_key",
]

START_TIMEOUT = 10.0
_PORT_TRIES = 5


def make_eab_hmac_key() -> str:
    """A fresh EAB HMAC key as CAs hand them out: base64url text without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(48)).decode().rstrip("=")


class _Process:
    """A foreground child process with a log file; ``stop()`` always reaps it."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
            )

    def exited(self) -> bool:
        return self.proc is None or self.proc.poll() is not None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _txt_values(host: str, port: int, name: str, timeout: float = 1.0) -> list[str]:
    query = dns.message.make_query(name, dns.rdatatype.TXT)
    response = dns.query.udp(query, host, port=port, timeout=timeout)
    return sorted(
        b"".join(rdata.strings).decode()
        for rrset in response.answer
        if rrset.rdtype == dns.rdatatype.TXT
        for rdata in rrset
    )


class ChallTestSrv(Lifecycle):
    """``pebble-challtestsrv`` as a fake DNS server only (every other listener disabled).

    Every A query is answered with ``default_ipv4`` (AAAA: nothing) unless a host is mocked
    through :meth:`add_a`.

    Attributes:
        dns_port: UDP/TCP port of the fake DNS server on 127.0.0.1.
        management_port: Port of the HTTP management API on 127.0.0.1.
    """

    def __init__(self, workdir: Path | None = None, *, default_ipv4: str = "127.0.0.1") -> None:
        self.binary = require_binary("pebble-challtestsrv")
        self.default_ipv4 = default_ipv4
        self.host = "127.0.0.1"
        self.dns_port = 0
        self.management_port = 0
        self._workdir = workdir
        self._own_dir: Path | None = None
        self._proc: _Process | None = None

    @property
    def dns_address(self) -> str:
        """``host:port`` of the fake DNS server (for ``pebble -dnsserver``)."""
        return f"{self.host}:{self.dns_port}"

    def start(self) -> None:
        """Start on fresh ports and wait until DNS and management answer."""
        if self._workdir is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="challtestsrv-"))
        folder = self._workdir or self._own_dir
        assert folder is not None
        folder.mkdir(parents=True, exist_ok=True)
        for _ in range(_PORT_TRIES):
            self.dns_port, self.management_port = free_port(), free_port()
            proc = _Process("pebble-challtestsrv", folder / f"challtestsrv-{self.dns_port}.log")
            proc.spawn(
                [
                    self.binary,
                    "-management",
                    f"{self.host}:{self.management_port}",
                    "-dns01",
                    self.dns_address,
                    "-defaultIPv4",
                    self.default_ipv4,
                    "-defaultIPv6",
                    "",
                    "-http01",
                    "",
                    "-https01",
                    "",
                    "-tlsalpn01",
                    "",
                ]
            )
            self._proc = proc
            if self._wait_ready():
                return
            proc.stop()
        pytest.fail("pebble-challtestsrv: no free ports found")

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.exited():
                if "address already in use" in self._proc.log():
                    return False
                pytest.fail(f"pebble-challtestsrv exited on start:\n{self._proc.log()}")
            if _tcp_open(self.host, self.management_port):
                try:
                    _txt_values(self.host, self.dns_port, "ready.test.", timeout=0.3)
                except (dns.exception.DNSException, OSError):
                    pass
                else:
                    return True
            time.sleep(0.02)
        pytest.fail(f"pebble-challtestsrv not ready in {START_TIMEOUT} s:\n{self._proc.log()}")

    def _manage(self, path: str, body: Mapping[str, object]) -> None:
        req = urllib.request.Request(
            f"http://{self.host}:{self.management_port}{path}",
            data=json.dumps(body).encode(),
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - fixed loopback URL
            resp.read()

    def add_a(self, host: str, addresses: Sequence[str]) -> None:
        """Answer A queries for ``host`` with ``addresses`` instead of the default."""
        self._manage("/add-a", {"host": host, "addresses": list(addresses)})

    def clear_a(self, host: str) -> None:
        """Back to the default answer for ``host``."""
        self._manage("/clear-a", {"host": host})

    def stop(self) -> None:
        """Stop the process (idempotent)."""
        if self._proc is not None:
            self._proc.stop()
            self._proc = None
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None


class PebbleServer(Lifecycle):
    """Pebble 2.4.0 with its own HTTPS CA, on free loopback ports, with real validation.

    Args:
        workdir: A folder for the config, TLS files and the log.
        dns_server: ``host:port`` Pebble resolves (and DNS-01-validates) with. None starts an
            owned :class:`ChallTestSrv` that answers every A query with 127.0.0.1.
        eab_keys: ``{kid: base64url HMAC key}``; when given, EAB is required.
        validity_seconds: ``certificateValidityPeriod`` (Pebble default: 5 years).
        nonce_reject: ``PEBBLE_WFE_NONCEREJECT`` percent; None keeps Pebble's default (5 %).
        authz_reuse: ``PEBBLE_AUTHZREUSE`` percent; None keeps Pebble's default (50 %).

    Attributes:
        directory_url: ``https://127.0.0.1:PORT/dir``.
        ca_bundle_pem: The CA of Pebble's own HTTPS certificate (trust it for the directory).
        ca_bundle_path: The same, as a file (for ``REQUESTS_CA_BUNDLE`` and the like).
        http_port: The port Pebble fetches HTTP-01 responses from.
        tls_port: The port Pebble would use for TLS-ALPN-01.
        management_url: ``https://127.0.0.1:PORT`` of the management API.
        challtestsrv: The owned fake DNS server, or None with ``dns_server``.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        dns_server: str | None = None,
        eab_keys: Mapping[str, str] | None = None,
        validity_seconds: int | None = None,
        nonce_reject: int | None = None,
        authz_reuse: int | None = None,
    ) -> None:
        self.binary = require_binary("pebble")
        self.host = "127.0.0.1"
        self.dns_server = dns_server
        self.eab_keys = dict(eab_keys or {})
        self.validity_seconds = validity_seconds
        self.nonce_reject = nonce_reject
        self.authz_reuse = authz_reuse
        self.folder = workdir / f"pebble-{secrets.token_hex(4)}"
        self.folder.mkdir(parents=True)
        self.port = self.management_port = self.http_port = self.tls_port = 0
        self.challtestsrv: ChallTestSrv | None = None
        self._proc: _Process | None = None
        ca_key, ca = make_ca(f"pebble-api-ca {secrets.token_hex(3)}", days=30)
        key, leaf = make_leaf(ca_key, ca, "localhost", ("localhost", "127.0.0.1"), days=30)
        self.ca_bundle_pem = pem_bytes(ca)
        self.ca_bundle_path = self.folder / "api-ca.pem"
        self.ca_bundle_path.write_bytes(self.ca_bundle_pem)
        (self.folder / "api.pem").write_bytes(pem_bytes(leaf))
        key_path = self.folder / "api.key"
        key_path.write_bytes(pem_bytes(key))
        key_path.chmod(0o600)
        self._ssl = ssl.create_default_context(cadata=self.ca_bundle_pem.decode())

    @property
    def directory_url(self) -> str:
        """The ACME directory URL."""
        return f"https://{self.host}:{self.port}/dir"

    @property
    def management_url(self) -> str:
        """Base URL of the management API (roots, intermediates)."""
        return f"https://{self.host}:{self.management_port}"

    def _config(self) -> dict[str, object]:
        pebble: dict[str, object] = {
            "listenAddress": f"{self.host}:{self.port}",
            "managementListenAddress": f"{self.host}:{self.management_port}",
            "certificate": str(self.folder / "api.pem"),
            "privateKey": str(self.folder / "api.key"),
            "httpPort": self.http_port,
            "tlsPort": self.tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": bool(self.eab_keys),
        }
        if self.eab_keys:
            pebble["externalAccountMACKeys"] = self.eab_keys
        if self.validity_seconds is not None:
            pebble["certificateValidityPeriod"] = self.validity_seconds
        return {"pebble": pebble}

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLE_")}
        env["PEBBLE_VA_NOSLEEP"] = "1"
        if self.nonce_reject is not None:
            env["PEBBLE_WFE_NONCEREJECT"] = str(self.nonce_reject)
        if self.authz_reuse is not None:
            env["PEBBLE_AUTHZREUSE"] = str(self.authz_reuse)
        return env

    def start(self) -> None:
        """Start (and the owned fake DNS first) and wait until the directory answers."""
        if self.dns_server is None:
            self.challtestsrv = ChallTestSrv(self.folder)
            self.challtestsrv.start()
        dns_server = self.dns_server or (self.challtestsrv.dns_address if self.challtestsrv else "")
        try:
            for attempt in range(_PORT_TRIES):
                self.port, self.management_port = free_port(), free_port()
                self.http_port, self.tls_port = free_port(), free_port()
                config = self.folder / "pebble.json"
                config.write_text(json.dumps(self._config(), indent=2))
                proc = _Process("pebble", self.folder / f"pebble-{attempt}.log")
                proc.spawn(
                    [self.binary, "-config", str(config), "-dnsserver", dns_server], self._env()
                )
                self._proc = proc
                if self._wait_ready():
                    return
                proc.stop()
            pytest.fail("pebble: no free ports found")
        except BaseException:
            self.stop()
            raise

    def _get(self, url: str, timeout: float = 5.0) -> bytes:
        with urllib.request.urlopen(url, timeout=timeout, context=self._ssl) as resp:  # noqa: S310
            return bytes(resp.read())

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.exited():
                if "address already in use" in self._proc.log():
                    return False
                pytest.fail(f"pebble exited on start:\n{self._proc.log()}")
            try:
                self._get(self.directory_url, timeout=1)
                self._get(f"{self.management_url}/roots/0", timeout=1)
            except (OSError, urllib.error.URLError):
                time.sleep(0.03)
            else:
                return True
        pytest.fail(f"pebble not ready in {START_TIMEOUT} s:\n{self._proc.log()}")

    def roots_pem(self) -> bytes:
        """Pebble's issuing root (it changes at every start)."""
        return self._get(f"{self.management_url}/roots/0")

    def intermediates_pem(self) -> bytes:
        """Pebble's current intermediate."""
        return self._get(f"{self.management_url}/intermediates/0")

    def log(self) -> str:
        """What Pebble wrote so far."""
        return self._proc.log() if self._proc else ""

    def stop(self) -> None:
        """Stop Pebble and the owned fake DNS (idempotent)."""
        if self._proc is not None:
            self._proc.stop()
            self._proc = None
        if self.challtestsrv is not None:
            self.challtestsrv.stop()
            self.challtestsrv = None


class BindServer(Lifecycle):
    """An authoritative ``named`` for one zone that accepts TSIG-signed RFC 2136 updates.

    Args:
        workdir: A folder; the server gets its own fresh subfolder (zone, journal, log).
        zone: The zone it serves (``certmgr.test``), with ``ns1`` and ``@`` A 127.0.0.1.

    Attributes:
        host: ``127.0.0.1``.
        port: The UDP/TCP port.
        tsig_key_name: ``certmgr-key``.
        tsig_algorithm: ``hmac-sha256``.
        tsig_secret: The base64 TSIG secret (test material only).
    """

    def __init__(self, workdir: Path, *, zone: str = "certmgr.test") -> None:
        self.binary = require_binary("named")
        self.host = "127.0.0.1"
        self.port = 0
        self.zone = zone.rstrip(".")
        self.tsig_key_name = "certmgr-key"
        self.tsig_algorithm = "hmac-sha256"
        self.tsig_secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self._marker = secrets.token_hex(8)
        self._workdir = workdir
        self.folder = workdir
        self._proc: _Process | None = None

    @property
    def address(self) -> str:
        """``host:port`` (for ``pebble -dnsserver``)."""
        return f"{self.host}:{self.port}"

    def _write(self) -> None:
        d = self.folder
        (d / "tsig.key").write_text(
            f'key "{self.tsig_key_name}" {{\n    algorithm {self.tsig_algorithm};\n'
            f'    secret "{self.tsig_secret}";\n}};\n'
        )
        (d / "named.conf").write_text(
            f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    listen-on port {self.port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    reuseport no;
}};
controls {{ }};
include "{d}/tsig.key";
zone "{self.zone}" {{
    type primary;
    file "{d}/zone.db";
    allow-update {{ key "{self.tsig_key_name}"; }};
}};
"""
        )
        (d / "zone.db").write_text(
            f"""$TTL 60
@   IN SOA ns1.{self.zone}. hostmaster.{self.zone}. ( 1 60 60 600 60 )
    IN NS  ns1.{self.zone}.
@   IN A   127.0.0.1
ns1 IN A   127.0.0.1
_marker IN TXT "{self._marker}"
"""
        )

    def start(self) -> None:
        """Start on a free port and wait until *this* instance answers its marker record."""
        for _ in range(_PORT_TRIES):
            self.port = free_port()
            self.folder = self._workdir / f"bind-{self.port}-{secrets.token_hex(3)}"
            self.folder.mkdir(parents=True)
            self._write()
            proc = _Process("named", self.folder / "named.log")
            # -u root: the folder stays root-owned (RECIPES-SERVERS §1); -g: foreground, stderr log
            proc.spawn([self.binary, "-g", "-u", "root", "-c", str(self.folder / "named.conf")])
            self._proc = proc
            if self._wait_ready():
                return
            proc.stop()
        pytest.fail("named: no free port found")

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.exited():
                pytest.fail(f"named exited on start:\n{self._proc.log()}")
            if "address in use" in self._proc.log():
                return False
            try:
                if self.txt(f"_marker.{self.zone}.", timeout=0.3) == [self._marker]:
                    return True
            except (dns.exception.DNSException, OSError):
                pass
            time.sleep(0.03)
        return False

    def txt(self, name: str, timeout: float = 2.0) -> list[str]:
        """The TXT strings at ``name`` (sorted), straight from this server."""
        return _txt_values(self.host, self.port, name, timeout=timeout)

    def log(self) -> str:
        """What named wrote so far."""
        return self._proc.log() if self._proc else ""

    def stop(self) -> None:
        """Stop named (idempotent)."""
        if self._proc is not None:
            self._proc.stop()
            self._proc = None
