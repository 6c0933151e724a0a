"""Throw-away nginx, Apache and HAProxy instances on loopback (RECIPES.md, RECIPES-SERVERS.md §3-5).

Each server gets a private prefix under ``workdir``, its own port, and runs in the foreground as a
child process; ``start()`` waits until it serves its own leaf, ``stop()`` always reaps it.
Use them as context managers so a failing test still stops the server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from tests.factories._serverbase import (
    START_TIMEOUT,
    ServerBase,
    copy_file,
    free_port,
    free_port_v4_v6,
    require_binary,
    served_leaf_sha256,
    wait_for_leaf,
)

__all__ = [
    "START_TIMEOUT",
    "ApacheServer",
    "HaproxyServer",
    "NginxServer",
    "free_port",
    "free_port_v4_v6",
    "require_binary",
    "served_leaf_sha256",
    "wait_for_leaf",
]


class NginxServer(ServerBase):
    """A private nginx (RECIPES-SERVERS §5).

    ``sni_certs`` adds one server block per name (``{"b.test": (cert, key)}``); the main
    certificate stays the default server.
    """

    name = "nginx"

    def __init__(
        self,
        workdir: Path,
        *,
        cert: Path,
        key: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        extra_listen_v6: bool = False,
        sni_certs: Mapping[str, tuple[Path, Path]] | None = None,
    ) -> None:
        self.extra_listen_v6 = extra_listen_v6
        super().__init__(workdir, port, host)
        self.binary = require_binary("nginx")
        self.conf_path = self.prefix / "nginx.conf"
        self.cert_path = copy_file(cert, self.prefix / "cert.pem")
        self.key_path = copy_file(key, self.prefix / "key.pem", 0o600)
        self.served_cert_file = self.cert_path
        self.sni_paths: dict[str, tuple[Path, Path]] = {}
        for n, (name, (c, k)) in enumerate((sni_certs or {}).items()):
            self.sni_paths[name] = (
                copy_file(c, self.prefix / f"sni{n}.pem"),
                copy_file(k, self.prefix / f"sni{n}.key", 0o600),
            )

    def _new_port(self) -> int:
        return free_port_v4_v6() if self.extra_listen_v6 else free_port(self.host)

    def _listen(self, extra: str = "") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        lines = [f"listen {host}:{self.port} ssl{extra};"]
        if self.extra_listen_v6:
            lines.append(f"listen [::1]:{self.port} ssl{extra};")
        return "\n        ".join(lines)

    def _write_config(self) -> None:
        p = self.prefix
        (p / "tmp").mkdir(exist_ok=True)
        blocks = [
            f"""    server {{
        {self._listen(" default_server")}
        server_name localhost;
        ssl_certificate     {self.cert_path};
        ssl_certificate_key {self.key_path};
        location / {{ return 200 "ok\\n"; }}
    }}"""
        ]
        for name, (c, k) in self.sni_paths.items():
            blocks.append(
                f"""    server {{
        {self._listen()}
        server_name {name};
        ssl_certificate     {c};
        ssl_certificate_key {k};
        location / {{ return 200 "{name}\\n"; }}
    }}"""
            )
        servers = "\n".join(blocks)
        self.conf_path.write_text(
            f"""worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log notice;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path       {p}/tmp/proxy;
    fastcgi_temp_path     {p}/tmp/fastcgi;
    uwsgi_temp_path       {p}/tmp/uwsgi;
    scgi_temp_path        {p}/tmp/scgi;
{servers}
}}
"""
        )

    def _common(self) -> list[str]:
        return ["-p", str(self.prefix), "-c", str(self.conf_path), "-e", "stderr"]

    def _argv(self) -> list[str]:
        return [self.binary, *self._common(), "-g", "daemon off;"]

    def _ready_addresses(self) -> Sequence[str]:
        return (self.host, "::1") if self.extra_listen_v6 else (self.host,)

    def test_config(self) -> subprocess.CompletedProcess[str]:
        """``nginx -t`` on the current files."""
        return self._run([self.binary, "-t", "-q", *self._common()])

    def reload(self) -> None:
        """``nginx -s reload`` (SIGHUP to the master); poll with :func:`wait_for_leaf` afterwards."""
        res = self._run([self.binary, "-s", "reload", *self._common()])
        if res.returncode != 0:
            pytest.fail(f"nginx -s reload failed ({res.returncode}): {res.stderr}")


class ApacheServer(ServerBase):
    """A private Apache httpd with a self-contained config (RECIPES-SERVERS §3)."""

    name = "apache"
    modules = Path("/usr/lib/apache2/modules")

    def __init__(self, workdir: Path, *, cert: Path, key: Path, port: int | None = None) -> None:
        super().__init__(workdir, port)
        self.binary = require_binary("apache2")
        (self.prefix / "run").mkdir(exist_ok=True)
        self.conf_path = self.prefix / "httpd.conf"
        self.cert_path = copy_file(cert, self.prefix / "cert.pem")
        self.key_path = copy_file(key, self.prefix / "key.pem", 0o600)
        self.served_cert_file = self.cert_path

    def _write_config(self) -> None:
        p, m = self.prefix, self.modules
        self.conf_path.write_text(
            f"""ServerRoot "{p}"
ServerName localhost
Listen 127.0.0.1:{self.port}
PidFile "{p}/httpd.pid"
DefaultRuntimeDir "{p}/run"
ErrorLog "{p}/error.log"
LogLevel warn
User www-data
Group www-data
LoadModule mpm_event_module {m}/mod_mpm_event.so
LoadModule authz_core_module {m}/mod_authz_core.so
LoadModule socache_shmcb_module {m}/mod_socache_shmcb.so
LoadModule ssl_module {m}/mod_ssl.so
SSLSessionCache "shmcb:{p}/run/ssl_scache(512000)"
<VirtualHost 127.0.0.1:{self.port}>
    SSLEngine on
    SSLCertificateFile "{self.cert_path}"
    SSLCertificateKeyFile "{self.key_path}"
</VirtualHost>
"""
        )

    def _common(self) -> list[str]:
        return ["-f", str(self.conf_path), "-d", str(self.prefix)]

    def _argv(self) -> list[str]:
        return [self.binary, *self._common(), "-D", "FOREGROUND"]

    def test_config(self) -> subprocess.CompletedProcess[str]:
        """``apache2 -t`` (note: it does not catch a certificate/key mismatch)."""
        return self._run([self.binary, "-t", *self._common()])

    def reload(self) -> None:
        """``apache2 -k graceful``; returns at once, so poll with :func:`wait_for_leaf`."""
        res = self._run([self.binary, "-k", "graceful", *self._common()])
        if res.returncode != 0:
            pytest.fail(f"apache2 -k graceful failed ({res.returncode}): {res.stderr}")


class HaproxyServer(ServerBase):
    """A private HAProxy in master-worker mode (RECIPES-SERVERS §4)."""

    name = "haproxy"

    def __init__(self, workdir: Path, *, combined: Path, port: int | None = None) -> None:
        super().__init__(workdir, port)
        self.binary = require_binary("haproxy")
        self.conf_path = self.prefix / "haproxy.cfg"
        self.pid_path = self.prefix / "haproxy.pid"
        self.combined_path = copy_file(combined, self.prefix / "combined.pem", 0o600)
        self.cert_path = self.combined_path
        self.served_cert_file = self.combined_path

    def _write_config(self) -> None:
        self.conf_path.write_text(
            f"""global
    log stderr format raw local0 notice
    noreuseport
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe_tls
    bind 127.0.0.1:{self.port} ssl crt {self.combined_path}
    http-request return status 200 content-type text/plain string "ok"
"""
        )

    def _argv(self) -> list[str]:
        return [self.binary, "-W", "-db", "-f", str(self.conf_path), "-p", str(self.pid_path)]

    def test_config(self) -> subprocess.CompletedProcess[str]:
        """``haproxy -c`` (catches a certificate/key mismatch)."""
        return self._run([self.binary, "-c", "-q", "-f", str(self.conf_path)])

    def reload(self) -> None:
        """``haproxy -c`` then SIGUSR2 to the master; a failed check fails the test, nothing is sent."""
        res = self.test_config()
        if res.returncode != 0:
            pytest.fail(f"haproxy -c failed ({res.returncode}): {res.stdout}{res.stderr}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGUSR2)
