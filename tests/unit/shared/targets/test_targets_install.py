"""The install() orchestrator and availability, with commands scripted at the HostOps seam."""

from __future__ import annotations

import signal
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from certmgr.shared.errors import (
    InventoryMismatchError,
    PathNotAllowedError,
    ReloadFailedError,
    RollbackFailedError,
    TargetMisconfiguredError,
    ValidationFailedError,
)
from certmgr.shared.targets import AvailabilityState, Material, Target, get_target, install

from .conftest import Pki, ScriptedHost, snapshot

NGINX = {
    "cert_path": "/etc/nginx/tls/cert.pem",
    "key_path": "/etc/nginx/tls/key.pem",
    "conf": "/etc/nginx/nginx.conf",
}


def _pem(m: Material) -> tuple[bytes, bytes]:
    assert m.key is not None
    cert = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (m.certificate, *m.chain))
    key = m.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert, key


@pytest.fixture
def nginx(host: ScriptedHost, pki: Pki) -> Target:
    cert, key = _pem(pki.leaf_a)
    host.put(NGINX["cert_path"], cert)
    host.put(NGINX["key_path"], key, 0o600)
    return get_target("nginx", NGINX, host)


def _verbs(host: ScriptedHost) -> list[str]:
    return [" ".join(a[1:3]) for a in host.commands]


def test_success(nginx: Target, host: ScriptedHost, pki: Pki) -> None:
    result = install(nginx, pki.leaf_b)
    assert result.sha256 == pki.leaf_b.sha256
    assert result.validated and result.reloaded
    assert result.files == (NGINX["cert_path"], NGINX["key_path"])
    assert result.backups == ()
    assert _verbs(host) == ["-t -q", "-s reload"]
    assert [c.sha256 for c in nginx.inventory()] == [pki.leaf_b.sha256]
    assert host.local(NGINX["key_path"]).stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in host.local("/etc/nginx/tls").iterdir()) == ["cert.pem", "key.pem"]
    assert any("sha256" in m for m in result.messages)


def test_keep_backups(host: ScriptedHost, pki: Pki, nginx: Target) -> None:
    target = get_target("nginx", {**NGINX, "keep_backups": True}, host)
    result = install(target, pki.leaf_b)
    assert len(result.backups) == 2
    assert all(".certmgr-backup-" in b for b in result.backups)


def test_validation_failure_rolls_back_without_reload(
    nginx: Target, host: ScriptedHost, pki: Pki
) -> None:
    before = snapshot(host.root)
    host.fail_when("-t", output="SSL_CTX_use_PrivateKey: key values mismatch")
    with pytest.raises(ValidationFailedError, match="key values mismatch") as info:
        install(nginx, pki.mismatched)
    assert "key values mismatch" in info.value.output
    assert snapshot(host.root) == before
    assert _verbs(host) == ["-t -q"]


def test_reload_failure_rolls_back_and_reloads_again(
    nginx: Target, host: ScriptedHost, pki: Pki
) -> None:
    before = snapshot(host.root)
    host.fail_when("reload", output="nginx: [error] invalid PID number")
    with pytest.raises(ReloadFailedError) as info:
        install(nginx, pki.leaf_b)
    assert snapshot(host.root) == before
    assert _verbs(host) == ["-t -q", "-s reload", "-s reload"]
    assert any("also failed" in n for n in getattr(info.value, "__notes__", []))


def test_inventory_mismatch_rolls_back_and_reloads_old_files(host: ScriptedHost, pki: Pki) -> None:
    class Liar(type(get_target("files", {"cert_path": "/x/c.pem"}, host))):  # type: ignore[misc]
        def inventory(self) -> list[Any]:
            return []

    host.put("/x/c.pem", b"old")
    target = Liar(
        get_target("files", {"cert_path": "/x/c.pem", "reload_cmd": ["reload-it"]}, host).params,
        host,
    )
    before = snapshot(host.root)
    with pytest.raises(InventoryMismatchError):
        install(target, pki.leaf_b)
    assert snapshot(host.root) == before
    assert host.commands == [("reload-it",), ("reload-it",)]


def test_failed_reload_onto_old_files_is_critical(host: ScriptedHost, pki: Pki) -> None:
    calls = {"n": 0}

    def second_reload_fails(argv: tuple[str, ...]) -> tuple[int, str] | None:
        calls["n"] += 1
        return (1, "service gone") if calls["n"] == 2 else None

    host.rules.append(second_reload_fails)
    host.put("/x/c.pem", b"old")
    target = get_target(
        "files",
        {"cert_path": "/x/c.pem", "fullchain_path": "/x/full.pem", "reload_cmd": ["reload-it"]},
        host,
    )

    class Wrong(type(target)):  # type: ignore[misc]
        def inventory(self) -> list[Any]:
            return []

    with pytest.raises(RollbackFailedError, match="files restored, but reloading") as info:
        install(Wrong(target.params, host), pki.leaf_b)
    assert isinstance(info.value.__cause__, InventoryMismatchError)
    assert host.local("/x/c.pem").read_bytes() == b"old"
    assert not host.local("/x/full.pem").exists()


def test_path_outside_allow_list_writes_nothing(host: ScriptedHost, pki: Pki) -> None:
    host.put("/etc/nginx/tls/cert.pem", b"old")
    target = get_target("nginx", {**NGINX, "allowed_paths": ["/etc/nginx/tls/cert.pem"]}, host)
    before = snapshot(host.root)
    with pytest.raises(PathNotAllowedError) as info:
        install(target, pki.leaf_b)
    assert info.value.path == NGINX["key_path"]
    assert snapshot(host.root) == before
    assert host.commands == []


def test_apache_pair_check_runs_before_apache_t(host: ScriptedHost, pki: Pki) -> None:
    cert, key = _pem(pki.leaf_a)
    host.put("/a/cert.pem", cert)
    host.put("/a/key.pem", key, 0o600)
    target = get_target(
        "apache",
        {
            "cert_path": "/a/cert.pem",
            "key_path": "/a/key.pem",
            "config_file": "/a/httpd.conf",
            "server_root": "/a",
        },
        host,
    )
    before = snapshot(host.root)
    with pytest.raises(ValidationFailedError, match="does not match"):
        install(target, pki.mismatched)
    assert snapshot(host.root) == before
    assert host.commands == []  # neither apache2 -t nor graceful ran
    install(target, pki.leaf_b)
    assert _verbs(host) == ["-t -f", "-k graceful"]


def test_haproxy_reload_signals_the_master(host: ScriptedHost, pki: Pki) -> None:
    host.put("/h/combined.pem", b"")
    host.put("/h/haproxy.pid", b"4242\n")
    params = {
        "pem_path": "/h/combined.pem",
        "config_file": "/h/haproxy.cfg",
        "master_pid_file": "/h/haproxy.pid",
    }
    install(get_target("haproxy", params, host), pki.leaf_b)
    assert host.signals == [(4242, signal.SIGUSR2)]
    assert host.local("/h/combined.pem").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("pid_file", "signal_error"),
    [(b"", False), (b"not-a-pid", False), (b"1", False), (b"4242", True)],
)
def test_haproxy_bad_pid_file_fails_reload_and_restores(
    host: ScriptedHost, pki: Pki, pid_file: bytes, signal_error: bool
) -> None:
    host.put("/h/combined.pem", b"old")
    host.put("/h/haproxy.pid", pid_file)
    host.signal_error = signal_error
    before = snapshot(host.root)
    params = {
        "pem_path": "/h/combined.pem",
        "config_file": "/h/haproxy.cfg",
        "master_pid_file": "/h/haproxy.pid",
    }
    with pytest.raises(ReloadFailedError):
        install(get_target("haproxy", params, host), pki.leaf_b)
    assert snapshot(host.root) == before


def test_missing_program_is_misconfiguration(nginx: Target, host: ScriptedHost, pki: Pki) -> None:
    host.fail_when("-t", rc=127, output="command not found: nginx")
    with pytest.raises(TargetMisconfiguredError):
        install(nginx, pki.leaf_b)


def test_availability(host: ScriptedHost, nginx: Target) -> None:
    assert nginx.availability().state is AvailabilityState.READY
    host.fail_when("-t", output="nginx: [emerg] unknown directive")
    state = nginx.availability()
    assert state.state is AvailabilityState.MISCONFIGURED and "unknown directive" in state.reason
    host.programs.discard("nginx")
    assert nginx.availability().state is AvailabilityState.ABSENT
    no_dir = get_target("files", {"cert_path": "/nowhere/c.pem"}, host)
    assert no_dir.availability().state is AvailabilityState.MISCONFIGURED


def test_java_keystore_install_and_inventory(host: ScriptedHost, pki: Pki) -> None:
    host.local("/j").mkdir()
    params = {
        "keystore_path": "/j/ks.jks",
        "keystore_type": "jks",
        "store_password": "changeit",
        "alias": "tomcat",
    }
    target = get_target("java-keystore", params, host)
    assert target.inventory() == []
    install(target, pki.leaf_a)
    (found,) = target.inventory()
    assert found.sha256 == pki.leaf_a.sha256 and found.location == "/j/ks.jks#tomcat"
    wrong = get_target("java-keystore", {**params, "store_password": "other"}, host)
    with pytest.raises(TargetMisconfiguredError):
        wrong.inventory()
