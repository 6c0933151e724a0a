"""The registry, the exported names and parameter parsing."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from certmgr.shared import targets
from certmgr.shared.errors import ValidationError
from certmgr.shared.secret import Secret
from certmgr.shared.targets import (
    TARGETS,
    FilesParams,
    JavaKeystoreParams,
    KeystoreType,
    NginxParams,
    RealHost,
    Target,
    describe_params,
    get_target,
)

from .conftest import ScriptedHost

NGINX = {"cert_path": "/etc/nginx/tls/cert.pem", "key_path": "/etc/nginx/tls/key.pem"}


def test_registry_is_the_closed_set() -> None:
    assert set(TARGETS) == {"nginx", "apache", "haproxy", "java-keystore", "files"}
    assert isinstance(TARGETS, MappingProxyType)
    with pytest.raises(TypeError):
        TARGETS["evil"] = Target  # type: ignore[index]
    for name, cls in TARGETS.items():
        assert cls.name == name
        assert issubclass(cls.params_type, targets.TargetParams)
        assert cls.summary


def test_exported_names() -> None:
    assert len(targets.__all__) == len(set(targets.__all__))
    for name in targets.__all__:
        assert hasattr(targets, name), name
    assert {
        "TARGETS",
        "get_target",
        "install",
        "Target",
        "Material",
        "Plan",
        "HostOps",
        "RealHost",
    } <= set(targets.__all__)


def test_get_target_builds_typed_params(host: ScriptedHost) -> None:
    t = get_target("nginx", {**NGINX, "conf": "/etc/nginx/nginx.conf", "timeout": 5}, host)
    assert isinstance(t.params, NginxParams)
    assert t.params.conf == "/etc/nginx/nginx.conf"
    assert t.params.timeout == 5.0
    assert t.params.allowed() == (NGINX["cert_path"], NGINX["key_path"])


def test_unknown_target() -> None:
    with pytest.raises(ValidationError) as info:
        get_target("iis", {}, RealHost())
    assert info.value.field == "target_type"


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("nginx", {**NGINX, "colour": "blue"}, "colour"),
        ("nginx", {"cert_path": "/a/cert.pem"}, "key_path"),
        ("nginx", {**NGINX, "cert_path": "relative/cert.pem"}, "cert_path"),
        ("nginx", {**NGINX, "cert_path": "/etc/nginx/../shadow"}, "cert_path"),
        ("nginx", {**NGINX, "cert_path": "/etc//nginx/cert.pem"}, "cert_path"),
        ("nginx", {**NGINX, "cert_path": 7}, "cert_path"),
        ("nginx", {**NGINX, "chain": "everything"}, "chain"),
        ("nginx", {**NGINX, "timeout": "soon"}, "timeout"),
        ("nginx", {**NGINX, "timeout": True}, "timeout"),
        ("nginx", {**NGINX, "conf": "nginx.conf"}, "conf"),
        ("nginx", {**NGINX, "allowed_paths": ["/etc/ok", "tls"]}, "allowed_paths"),
        ("nginx", {**NGINX, "allowed_paths": "/etc/nginx"}, "allowed_paths"),
        ("nginx", {**NGINX, "owner": ""}, "owner"),
        ("haproxy", {"pem_path": "/h/c.pem", "config_file": "/h/h.cfg"}, "master_pid_file"),
        (
            "haproxy",
            {
                "pem_path": "/h/c.pem",
                "config_file": "/h/h.cfg",
                "reload_cmd": "systemctl reload haproxy",
            },
            "reload_cmd",
        ),
        ("files", {"key_path": "/f/key.pem"}, "cert_path"),
        ("files", {"cert_path": "/f/c.pem", "key_mode": "0999"}, "key_mode"),
        ("files", {"cert_path": "/f/c.pem", "cert_mode": 0o17777}, "cert_mode"),
        ("files", {"cert_path": "/f/c.pem", "validate_cmd": ["ok", 3]}, "validate_cmd"),
        ("java-keystore", {"keystore_path": "/j/ks.p12"}, "store_password"),
        ("java-keystore", {"keystore_path": "/j/ks.p12", "store_password": ""}, "store_password"),
        ("java-keystore", {"keystore_path": "/j/ks.p12", "store_password": 1234}, "store_password"),
        (
            "java-keystore",
            {"keystore_path": "/j/ks.p12", "store_password": "x", "key_password": "y"},
            "key_password",
        ),
        (
            "java-keystore",
            {
                "keystore_path": "/j/ks.jks",
                "store_password": "x",
                "keystore_type": "jks",
                "alias": " ",
            },
            "alias",
        ),
    ],
)
def test_bad_params_name_the_field(
    host: ScriptedHost, name: str, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        get_target(name, params, host)
    assert info.value.field == field


def test_secret_values_never_echoed(host: ScriptedHost) -> None:
    t = get_target(
        "java-keystore",
        {
            "keystore_path": "/j/ks.jks",
            "store_password": "s3cr3t-store",
            "keystore_type": "jks",
            "key_password": "s3cr3t-key",
        },
        host,
    )
    assert isinstance(t.params, JavaKeystoreParams)
    assert t.params.keystore_type is KeystoreType.JKS
    assert t.params.store_password == Secret("s3cr3t-store")
    for text in (repr(t), repr(t.params), str(t.params)):
        assert "s3cr3t" not in text
    with pytest.raises(ValidationError) as info:
        get_target(
            "java-keystore",
            {"keystore_path": "/j/ks.p12", "store_password": "s3cr3t", "bogus": 1},
            host,
        )
    assert "s3cr3t" not in str(info.value)


def test_octal_modes_and_lists(host: ScriptedHost) -> None:
    t = get_target(
        "files",
        {
            "cert_path": "/f/c.pem",
            "key_path": "/f/k.pem",
            "cert_mode": "0640",
            "key_mode": 0o400,
            "reload_cmd": ["svc", "reload"],
            "group": "ssl-cert",
        },
        host,
    )
    assert isinstance(t.params, FilesParams)
    assert t.params.cert_mode == 0o640
    assert t.params.private_key_mode() == 0o400
    assert t.params.reload_cmd == ("svc", "reload")


def test_default_key_mode_depends_on_group(host: ScriptedHost) -> None:
    assert get_target("nginx", NGINX, host).params.private_key_mode() == 0o600
    assert (
        get_target("nginx", {**NGINX, "group": "ssl-cert"}, host).params.private_key_mode() == 0o640
    )


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_every_param_has_help(name: str) -> None:
    infos = describe_params(name)
    assert infos
    for info in infos:
        assert info.help, info.name
    by_name = {i.name: i for i in infos}
    assert by_name["timeout"].type == "float"
    assert not by_name["owner"].required


def test_describe_params_marks_secrets_and_choices() -> None:
    by_name = {i.name: i for i in describe_params("java-keystore")}
    assert by_name["store_password"].secret and by_name["store_password"].required
    assert by_name["store_password"].type == "secret"
    assert by_name["keystore_type"].choices == ("pkcs12", "jks")
    assert by_name["reload_cmd"].type == "list of str"
    assert by_name["reload_cmd"].local_only and by_name["owner"].local_only
    assert not by_name["keystore_path"].local_only and not by_name["alias"].local_only
    with pytest.raises(ValidationError):
        describe_params("nope")


def test_receiver_allow_list_overrides_the_params(host: ScriptedHost) -> None:
    wide = {**NGINX, "allowed_paths": ["/"]}
    t = get_target("nginx", wide, host, allowed_paths=("/etc/nginx/tls",))
    assert t.params.allowed() == ("/etc/nginx/tls",)
    assert get_target("nginx", wide, host).params.allowed() == ("/",)
    with pytest.raises(ValidationError) as info:
        get_target("nginx", NGINX, host, allowed_paths=("etc/nginx",))
    assert info.value.field == "allowed_paths"
