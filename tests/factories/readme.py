"""Follow a conventional package's README on a real nginx, as a server administrator would."""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from pathlib import Path

from tests.conftest import require_tool
from tests.factories.servers import NginxServer


def follow_nginx_readme(folder: Path, ngx: NginxServer, ssl_dir: Path, passphrase: str) -> None:
    """Run every ``$`` command of ``folder/README.txt`` against the test nginx, from where the zip
    was unpacked (``folder``'s parent), following its ``cd`` steps.

    Only what must differ on a test host is changed: ``/etc/nginx/ssl`` becomes ``ssl_dir``,
    ``nginx`` gets the test server's prefix and configuration (pointed at the installed files,
    as step 3 says), the passphrase comes on standard input (or from a file for an unpacker).
    """
    readme = (folder / "README.txt").read_text()
    commands = [ln.strip()[2:] for ln in readme.splitlines() if ln.strip().startswith("$ ")]
    nginx = require_tool("nginx")
    nginx_args = ["-p", str(ngx.prefix), "-c", str(ngx.conf_path), "-e", "stderr"]
    passfile = folder.parent / "readme-passphrase"
    passfile.write_text(passphrase + "\n")
    cwd = folder.parent  # where the zip was unpacked
    expected = re.search(r"^SHA-256\s+(\S+)", readme, re.MULTILINE)
    assert expected, "the README names the certificate's SHA-256"
    for cmd in commands:
        if cmd.startswith("echo |"):  # the check, against the deployment's check host and port
            _run_check_line(cmd, expected.group(1))
            continue
        if cmd.startswith("cd "):
            cwd = cwd / cmd[3:].strip()
            assert cwd.is_dir(), f"README step {cmd!r}: no such folder {cwd}"
            continue
        cmd = cmd.replace("/etc/nginx/ssl", str(ssl_dir))
        if "/certmgr-unpack-" in cmd.split()[0]:
            cmd += f" --passphrase-file {passfile} --no-log"
        if cmd.startswith("nginx -t"):
            cmd = shlex.join([nginx, "-t", "-q", *nginx_args])
        elif cmd.startswith("nginx -s reload"):
            conf = (
                ngx.conf_path.read_text()
                .replace(str(ngx.cert_path), str(ssl_dir / f"{folder.name}.crt"))
                .replace(str(ngx.key_path), str(ssl_dir / f"{folder.name}.key"))
            )
            ngx.conf_path.write_text(conf)
            subprocess.run([nginx, "-t", "-q", *nginx_args], check=True, timeout=60)
            cmd = shlex.join([nginx, "-s", "reload", *nginx_args])
        r = subprocess.run(
            shlex.split(cmd),
            cwd=cwd,
            input=passphrase + "\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, (cmd, r.stdout, r.stderr)
    passfile.unlink()


def _run_check_line(cmd: str, sha256: str) -> None:
    """Run the README's check pipeline as written until it prints ``sha256`` (nginx reloads in
    the background: a few tries, bounded)."""
    want = sha256.replace(":", "").lower()
    last = ""
    for _ in range(40):
        r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=30)
        last = r.stdout + r.stderr
        if want in last.replace(":", "").lower():
            return
        time.sleep(0.25)
    raise AssertionError(f"README check {cmd!r} never printed {sha256}: {last}")
