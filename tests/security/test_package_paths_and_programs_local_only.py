"""Finding 4: every target parameter naming a path or a program is local-only or contained.

nginx's ``error_log`` came from the package, so ``nginx -t -e <path>`` (run as root) created or
appended a file outside ``allowed_paths``. The tables below run over every parameter of every
registered target: a new parameter without a classification, or a local-only one a receiver
accepts from a package, fails here. Package-settable paths are checked against the receiver's
own allow-list (also through ``..`` and symlinks). The ``error_log`` case runs end to end: the
real stamped installer against a real nginx.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import typing
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from certmgr.agent.install import resolve_target
from certmgr.agent.inventory import target_report
from certmgr.agent.settings import load_settings as load_agent_settings
from certmgr.agent.state import AgentState
from certmgr.controller.domain.software import SOFTWARE, check_target_params
from certmgr.oneclick.install import prepare
from certmgr.shared import exitcodes
from certmgr.shared.envelope import Manifest, key_id
from certmgr.shared.errors import PathNotAllowedError, ValidationError
from certmgr.shared.pki import private_key_to_pkcs8_der
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.protocol import ParamNotAllowedError
from certmgr.shared.targets import (
    TARGETS,
    LocalOnlyParamError,
    Material,
    NoAllowedPathsError,
    ParamSource,
    RealHost,
    install,
    local_only_params,
    param_source,
    target_for_package,
)
from tests.factories.pki import TestPki, make_pki, pem_bytes
from tests.factories.servers import NginxServer, served_leaf_sha256
from tests.integration.oneclick.conftest import Packager, _build_module, run_exe

NOW = dt.datetime.now(dt.UTC)
ALL_PARAMS = [
    (name, f.name) for name, cls in TARGETS.items() for f in dataclasses.fields(cls.params_type)
]
LOCAL_PARAMS = [(t, p) for t, p in ALL_PARAMS if p in local_only_params(t)]
PACKAGE_DATA_TEXT = {"alias"}  # package-settable strings that name neither a file nor a program

# What each target needs from the host (local) and from the package, all inside ``srv``.
_LOCAL: dict[str, dict[str, Any]] = {
    "nginx": {},
    "apache": {},
    "haproxy": {"config_file": "/etc/haproxy/haproxy.cfg", "reload_cmd": ["true"]},
    "java-keystore": {},
    "files": {},
}


def _package(target_type: str, srv: Path) -> dict[str, Any]:
    return {
        "nginx": {"cert_path": f"{srv}/c.pem", "key_path": f"{srv}/k.pem"},
        "apache": {"cert_path": f"{srv}/c.pem", "key_path": f"{srv}/k.pem"},
        "haproxy": {"pem_path": f"{srv}/site.pem"},
        "java-keystore": {"keystore_path": f"{srv}/ks.p12", "store_password": "changeit"},
        "files": {"cert_path": f"{srv}/c.pem", "key_path": f"{srv}/k.pem"},
    }[target_type]


def _sample(target_type: str, name: str) -> object:
    """A well-typed value for a parameter (refusal must not depend on the value)."""
    f = {x.name: x for x in dataclasses.fields(TARGETS[target_type].params_type)}[name]
    hint = typing.get_type_hints(TARGETS[target_type].params_type)[name]
    text = str(hint)
    if "tuple" in text:
        return ["/bin/sh", "-c", "touch /etc/nologin"]
    if f.metadata.get("octal"):
        return "0666"
    if "bool" in text:
        return True
    if "float" in text:
        return 600.0
    return "/etc/nologin"


def _manifest(target_type: str, params: dict[str, Any], pki: TestPki) -> Manifest:
    return Manifest(
        deployment_id=7,
        sequence=1,
        target_type=target_type,
        target_params=params,
        created_at=NOW - dt.timedelta(minutes=1),
        expires_at=NOW + dt.timedelta(days=1),
        controller_key_id=key_id(nacl.signing.SigningKey.generate().verify_key),
        certificate_pem=pem_bytes(pki.leaf_b),
        chain_pem=pem_bytes(pki.intermediate),
        private_key_pkcs8=private_key_to_pkcs8_der(pki.leaf_b_key),
        receipt_key=b"r" * 32,
    )


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


@pytest.mark.parametrize(("target_type", "name"), ALL_PARAMS)
def test_every_parameter_is_classified(target_type: str, name: str) -> None:
    f = {x.name: x for x in dataclasses.fields(TARGETS[target_type].params_type)}[name]
    source = param_source(f)
    assert source in (ParamSource.PACKAGE, ParamSource.LOCAL), f"{target_type}.{name}"
    if source is ParamSource.LOCAL:
        return
    # What a package may say: data and the files the target writes, nothing a program reads.
    hint = str(typing.get_type_hints(TARGETS[target_type].params_type)[name])
    assert not f.metadata.get("absolute"), f"{target_type}.{name} names a file a program reads"
    assert "tuple" not in hint, f"{target_type}.{name} looks like a command"
    if hint.startswith("str") and not f.metadata.get("secret"):
        assert f.metadata.get("path") or name in PACKAGE_DATA_TEXT, (
            f"{target_type}.{name}: a package-settable string must be a written, contained path"
        )


@pytest.mark.parametrize(("target_type", "name"), LOCAL_PARAMS)
def test_package_paths_and_programs_local_only(
    target_type: str, name: str, tmp_path: Path, pki: TestPki
) -> None:
    srv = tmp_path / "srv"
    srv.mkdir()
    value = _sample(target_type, name)
    package = {**_package(target_type, srv), name: value}

    # the one-click installer: refused before anything is read, written or run
    with pytest.raises(LocalOnlyParamError) as refused:
        prepare(
            _manifest(target_type, package, pki),
            RealHost(),
            allowed_paths=(str(srv),),
            local=_LOCAL[target_type],
        )
    assert refused.value.param == name
    assert list(srv.iterdir()) == [] and not Path("/etc/nologin").exists()

    # the agent: the same classification, whatever agent.toml says
    config = tmp_path / "agent.toml"
    local_lines = "".join(
        f"{k} = {v!r}\n".replace("'", '"') for k, v in _LOCAL[target_type].items()
    )
    config.write_text(
        f'[targets.t]\ntype = "{target_type}"\nallowed_paths = ["{srv}"]\n{local_lines}'
    )
    settings = load_agent_settings(config, env={"CERTMGR_AGENT_STATE_DIR": str(tmp_path / "s")})
    with pytest.raises(ParamNotAllowedError) as agent_refused:
        resolve_target(settings, _manifest(target_type, package, pki), RealHost())
    assert agent_refused.value.param == name

    # the controller: a clear error naming the parameter when the deployment is made
    for software in (k for k, s in SOFTWARE.items() if s.target_type == target_type):
        with pytest.raises(ValidationError) as early:
            check_target_params(software, {name: value})
        assert early.value.field == name


PATH_PARAMS = [
    (t, f.name)
    for t, cls in TARGETS.items()
    for f in dataclasses.fields(cls.params_type)
    if param_source(f) is ParamSource.PACKAGE and f.metadata.get("path")
]


def _material(pki: TestPki) -> Material:
    return Material(pki.leaf_b, (pki.intermediate,), pki.leaf_b_key)


def _install(
    target_type: str, package: dict[str, Any], allowed: tuple[str, ...], pki: TestPki
) -> None:
    target = target_for_package(
        target_type, package, RealHost(), local=_LOCAL[target_type], allowed_paths=allowed
    )
    install(target, _material(pki))


@pytest.mark.parametrize(("target_type", "name"), PATH_PARAMS)
def test_package_paths_stay_inside_the_local_allow_list(
    target_type: str, name: str, tmp_path: Path, pki: TestPki
) -> None:
    srv, outside = tmp_path / "srv", tmp_path / "outside"
    srv.mkdir()
    outside.mkdir()
    (srv / "link").symlink_to(outside)
    base = _package(target_type, srv)
    for path, error in (
        (f"{outside}/nologin", PathNotAllowedError),  # plainly elsewhere
        (f"{srv}/link/nologin", PathNotAllowedError),  # through a symlink in the allowed folder
        (f"{srv}/../outside/nologin", ValidationError),  # climbing out
    ):
        with pytest.raises(error):
            _install(target_type, {**base, name: path}, (str(srv),), pki)
        assert list(outside.iterdir()) == []
    # without a local allow-list: the plugin's default folders, or nowhere
    target_cls = TARGETS[target_type]
    if target_cls.default_allowed_paths:
        target = target_for_package(
            target_type, {**base, name: "/etc/nologin"}, RealHost(), local=_LOCAL[target_type]
        )
        with pytest.raises(PathNotAllowedError):
            install(target, _material(pki))
    else:
        with pytest.raises(NoAllowedPathsError):
            target_for_package(target_type, base, RealHost(), local=_LOCAL[target_type])
    assert not Path("/etc/nologin").exists()


def test_a_local_only_value_is_not_a_secret_leak(pki: TestPki, tmp_path: Path) -> None:
    # The refusal names the parameter, never its value (a password could be misplaced there).
    package = {**_package("java-keystore", tmp_path), "reload_cmd": ["s3cret-value"]}
    with pytest.raises(LocalOnlyParamError) as refused:
        prepare(_manifest("java-keystore", package, pki), RealHost(), allowed_paths=("/x",))
    assert "s3cret-value" not in str(refused.value)


@pytest.fixture(scope="module")
def runtime() -> Path:
    """The real one-file runtime (built once, cached by a hash of its sources)."""
    return Path(_build_module().build(distpath=None))


def test_nginx_error_log_from_a_package_creates_no_file(
    runtime: Path, tmp_path: Path, pki: TestPki
) -> None:
    files = pki.write(tmp_path / "pki")
    outside = tmp_path / "outside"
    outside.mkdir()
    planted = outside / "nologin"
    with NginxServer(tmp_path, cert=files["fullchainA.pem"], key=files["leafA.key"]) as ngx:
        config = tmp_path / "oneclick.toml"
        config.write_text(
            "[nginx]\n"
            f'allowed_paths = ["{ngx.cert_path}", "{ngx.key_path}"]\n'
            f'nginx_binary = "{ngx.binary}"\n'
            f'prefix = "{ngx.prefix}"\n'
            f'conf = "{ngx.conf_path}"\n'
        )
        packager = Packager(runtime, tmp_path)
        before = {p: p.read_bytes() for p in (ngx.cert_path, ngx.key_path, ngx.conf_path)}
        env = {**os.environ, "CERTMGR_ONECLICK_CONFIG": str(config)}
        hostile: dict[str, Any] = {
            "cert_path": str(ngx.cert_path),
            "key_path": str(ngx.key_path),
            # what an old package had to carry for this nginx, and the hole itself
            "nginx_binary": ngx.binary,
            "prefix": str(ngx.prefix),
            "conf": str(ngx.conf_path),
            "error_log": str(planted),
        }
        manifest = packager.manifest(
            "nginx",
            hostile,
            certificate_pem=pem_bytes(pki.leaf_b),
            chain_pem=pem_bytes(pki.intermediate),
            private_key_pkcs8=private_key_to_pkcs8_der(pki.leaf_b_key),
        )
        exe = packager.installer(manifest, "hostile")
        for extra in (["--dry-run"], ["--yes"]):
            proc = run_exe(
                exe, "--passphrase-file", str(packager.passphrase_file()), *extra, env=env
            )
            assert proc.returncode == exitcodes.PACKAGE_REFUSED, proc.stdout + proc.stderr
            assert "only this host" in proc.stderr
            assert not planted.exists(), "nginx -e wrote outside the allowed paths"
            assert list(outside.iterdir()) == []
        assert {p: p.read_bytes() for p in before} == before
        assert served_leaf_sha256(ngx.host, ngx.port) == sha256_fingerprint(pki.leaf_a)

        # the same install with the host's own settings only: installed, nothing outside
        clean = {"cert_path": str(ngx.cert_path), "key_path": str(ngx.key_path)}
        exe = packager.installer(
            packager.manifest(
                "nginx",
                clean,
                certificate_pem=pem_bytes(pki.leaf_b),
                chain_pem=pem_bytes(pki.intermediate),
                private_key_pkcs8=private_key_to_pkcs8_der(pki.leaf_b_key),
            ),
            "clean",
        )
        proc = run_exe(exe, "--passphrase-file", str(packager.passphrase_file()), "--yes", env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert ngx.cert_path.read_bytes() != before[ngx.cert_path]
        assert list(outside.iterdir()) == []


def test_parameters_remembered_from_an_old_package_run_nothing(
    tmp_path: Path, pki: TestPki
) -> None:
    # Sibling: an agent that accepted error_log from a package remembered it in its state; the
    # inventory must not hand it to ``nginx -t -e`` on every report.
    files = pki.write(tmp_path / "pki")
    planted = tmp_path / "outside" / "nologin"
    planted.parent.mkdir()
    with NginxServer(tmp_path, cert=files["fullchainA.pem"], key=files["leafA.key"]) as ngx:
        config = tmp_path / "agent.toml"
        config.write_text(
            "[targets.web]\n"
            'type = "nginx"\n'
            f'allowed_paths = ["{ngx.prefix}"]\n'
            f'nginx_binary = "{ngx.binary}"\n'
            f'prefix = "{ngx.prefix}"\n'
            f'conf = "{ngx.conf_path}"\n'
        )
        settings = load_agent_settings(config, env={"CERTMGR_AGENT_STATE_DIR": str(tmp_path / "s")})
        (cfg,) = settings.targets
        state = AgentState(settings.state_dir)
        state.remember_target_params(
            "web",
            {
                "cert_path": str(ngx.cert_path),
                "key_path": str(ngx.key_path),
                "error_log": str(planted),
                "nginx_binary": "/bin/false",
            },
        )
        report = target_report(cfg, state, RealHost())
        assert report.availability == "ready", report.reason
        assert [i.path for i in report.installed] == [str(ngx.cert_path)]
        assert not planted.exists()
