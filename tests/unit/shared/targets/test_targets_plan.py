"""plan() is pure data: no host call, the right bytes and modes, and nothing secret in descriptions."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certmgr.shared.errors import KeyMismatchError, ValidationError
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.pki.load import load
from certmgr.shared.targets import TARGETS, Material, Plan, get_target

from .conftest import Pki


class ExplodingHost:
    """Any host call during plan() fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"plan() touched the host: {name}")


PARAMS: dict[str, dict[str, Any]] = {
    "nginx": {
        "cert_path": "/n/cert.pem",
        "key_path": "/n/key.pem",
        "conf": "/n/nginx.conf",
        "prefix": "/n",
    },
    "apache": {
        "cert_path": "/a/cert.pem",
        "key_path": "/a/key.pem",
        "config_file": "/a/httpd.conf",
        "server_root": "/a",
    },
    "haproxy": {
        "pem_path": "/h/combined.pem",
        "config_file": "/h/haproxy.cfg",
        "master_pid_file": "/h/haproxy.pid",
    },
    "java-keystore": {
        "keystore_path": "/j/ks.p12",
        "store_password": "changeit",
        "reload_cmd": ["reload-it"],
    },
    "files": {
        "cert_path": "/f/c.pem",
        "key_path": "/f/k.pem",
        "chain_path": "/f/chain.pem",
        "fullchain_path": "/f/full.pem",
    },
}


def _plan(name: str, material: Material, **extra: Any) -> Plan:
    return get_target(name, {**PARAMS[name], **extra}, ExplodingHost()).plan(material)


def test_params_cover_every_target() -> None:
    assert set(PARAMS) == set(TARGETS)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_plan_is_pure_and_describes_without_secrets(pki: Pki, name: str) -> None:
    plan = _plan(name, pki.leaf_a)
    assert plan.target == name
    assert plan.sha256 == pki.leaf_a.sha256
    assert plan.files
    text = "\n".join(plan.describe()) + repr(plan)
    assert "PRIVATE KEY" not in text
    assert "changeit" not in text and "console-pw" not in text
    for f in plan.files:
        assert f.path in text
        if f.secret:
            assert f.mode == 0o600
    again = _plan(name, pki.leaf_a)
    assert [f.path for f in again.files] == [f.path for f in plan.files]
    assert (again.validate, again.reload) == (plan.validate, plan.reload)


def _pem_certs(data: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(data)


def test_nginx_fullchain_and_leaf_modes(pki: Pki) -> None:
    plan = _plan("nginx", pki.leaf_a)
    cert, key = plan.files
    assert _pem_certs(cert.data) == [pki.leaf_a.certificate, pki.intermediate]
    assert cert.mode == 0o644 and key.mode == 0o600 and key.secret
    assert (
        serialization.load_pem_private_key(key.data, None).public_key()
        == pki.leaf_a.certificate.public_key()
    )
    assert plan.validate == ("nginx", "-t", "-q", "-p", "/n", "-c", "/n/nginx.conf", "-e", "stderr")
    assert plan.reload == (
        "nginx",
        "-s",
        "reload",
        "-p",
        "/n",
        "-c",
        "/n/nginx.conf",
        "-e",
        "stderr",
    )
    leaf_only = _plan("nginx", pki.leaf_a, chain="leaf", group="ssl-cert", error_log=None)
    assert _pem_certs(leaf_only.files[0].data) == [pki.leaf_a.certificate]
    assert leaf_only.files[1].mode == 0o640 and leaf_only.files[1].group == "ssl-cert"
    assert "-e" not in leaf_only.validate


def test_apache_plans_pair_check_and_graceful(pki: Pki) -> None:
    plan = _plan("apache", pki.leaf_a)
    assert [f.path for f in plan.files] == ["/a/cert.pem", "/a/key.pem"]
    assert _pem_certs(plan.files[0].data) == [pki.leaf_a.certificate, pki.intermediate]
    assert plan.validate == ("apache2", "-t", "-f", "/a/httpd.conf", "-d", "/a")
    assert plan.reload == ("apache2", "-k", "graceful", "-f", "/a/httpd.conf", "-d", "/a")
    assert any("apache2 -t does not check" in c for c in plan.checks)
    split = _plan("apache", pki.leaf_a, chain_path="/a/chain.pem")
    assert [f.path for f in split.files] == ["/a/cert.pem", "/a/chain.pem", "/a/key.pem"]
    assert _pem_certs(split.files[0].data) == [pki.leaf_a.certificate]
    assert _pem_certs(split.files[1].data) == [pki.intermediate]


def test_haproxy_combined_pem(pki: Pki) -> None:
    plan = _plan("haproxy", pki.leaf_a)
    (combined,) = plan.files
    loaded = load(combined.data)
    assert list(loaded.certificates) == [pki.leaf_a.certificate, pki.intermediate]
    assert loaded.key_for(pki.leaf_a.certificate) is not None
    assert combined.mode == 0o600
    assert plan.validate == ("haproxy", "-c", "-f", "/h/haproxy.cfg")
    assert plan.reload == () and "SIGUSR2" in plan.signal and plan.reloads
    by_cmd = _plan(
        "haproxy", pki.leaf_a, master_pid_file=None, reload_cmd=["systemctl", "reload", "haproxy"]
    )
    assert by_cmd.reload == ("systemctl", "reload", "haproxy") and not by_cmd.signal


@pytest.mark.parametrize("kind", ["pkcs12", "jks"])
def test_java_keystore_plans_a_readable_store(pki: Pki, kind: str) -> None:
    plan = _plan("java-keystore", pki.leaf_a, keystore_type=kind, alias="Tomcat")
    (store,) = plan.files
    loaded = load(store.data, password=b"changeit")
    assert loaded.source_format == kind
    (entry,) = [e for e in loaded.entries if e.key is not None]
    assert entry.alias.lower() == "tomcat"
    assert sha256_fingerprint(entry.chain[0]) == pki.leaf_a.sha256
    assert plan.reload == ("reload-it",) and plan.validate == ()


def test_java_keystore_refuses_mismatched_material(pki: Pki) -> None:
    with pytest.raises(KeyMismatchError):
        _plan("java-keystore", pki.mismatched)


def test_files_writes_each_configured_file(pki: Pki) -> None:
    plan = _plan("files", pki.leaf_a, cert_mode="0640", validate_cmd=["check", "it"])
    by_path = {f.path: f for f in plan.files}
    assert _pem_certs(by_path["/f/c.pem"].data) == [pki.leaf_a.certificate]
    assert _pem_certs(by_path["/f/chain.pem"].data) == [pki.intermediate]
    assert _pem_certs(by_path["/f/full.pem"].data) == [pki.leaf_a.certificate, pki.intermediate]
    assert by_path["/f/c.pem"].mode == 0o640
    assert by_path["/f/k.pem"].secret
    assert plan.validate == ("check", "it")
    cert_only = get_target("files", {"cert_path": "/f/c.pem"}, ExplodingHost()).plan(
        Material(pki.leaf_a.certificate)
    )
    assert len(cert_only.files) == 1 and not cert_only.checks


@pytest.mark.parametrize("name", ["nginx", "apache", "haproxy", "java-keystore"])
def test_targets_that_need_a_key_say_so(pki: Pki, name: str) -> None:
    with pytest.raises(ValidationError) as info:
        _plan(name, Material(pki.leaf_a.certificate, pki.leaf_a.chain))
    assert info.value.field == "key"


def test_material_load_and_repr(pki: Pki) -> None:
    cert_pem = pki.leaf_a.certificate.public_bytes(serialization.Encoding.PEM)
    chain_pem = pki.intermediate.public_bytes(serialization.Encoding.PEM)
    assert pki.leaf_a.key is not None
    key_der = pki.leaf_a.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    m = Material.load(cert_pem + chain_pem, chain_pem, key_der)
    assert m.certificate == pki.leaf_a.certificate
    assert m.chain == (pki.intermediate,)
    assert m.key is not None
    assert "key=" not in repr(m)
    with pytest.raises(ValidationError):
        Material.load(cert_pem, b"", chain_pem)
