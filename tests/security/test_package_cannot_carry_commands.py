"""Finding 3: a package never carries a command (DESIGN section 8, "What a package may say").

A deployment's author chose ``reload_cmd = ["sh", "-c", ...]`` and the stamped one-click installer
ran it as root after the ordinary confirmation. Now the real installer refuses such a package
before anything is written or run, the agent refuses it the same way (one classification in
``shared.targets``), and the controller refuses to create or stamp such a deployment.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from certmgr.agent.install import resolve_target
from certmgr.agent.settings import load_settings as load_agent_settings
from certmgr.shared import exitcodes
from certmgr.shared.envelope import JsonValue, Manifest, key_id
from certmgr.shared.pki import private_key_to_pkcs8_der
from certmgr.shared.protocol import ParamNotAllowedError
from certmgr.shared.targets import RealHost
from tests.factories.console import console_client
from tests.factories.homes import amake_home, arun_cli
from tests.factories.pki import TestPki, make_pki, pem_bytes
from tests.integration.oneclick.conftest import Packager, _build_module, run_exe


@pytest.fixture(scope="module")
def runtime() -> Path:
    """The real one-file runtime (built once, cached by a hash of its sources)."""
    return Path(_build_module().build(distpath=None))


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


def _files(srv: Path, pki: TestPki) -> dict[str, bytes]:
    (srv / "cert.pem").write_bytes(pem_bytes(pki.leaf_a))
    (srv / "key.pem").write_bytes(pem_bytes(pki.leaf_a_key))
    (srv / "key.pem").chmod(0o600)
    return {p.name: p.read_bytes() for p in sorted(srv.iterdir())}


@pytest.mark.parametrize(
    ("target_type", "command_param"),
    [
        ("files", "reload_cmd"),
        ("files", "validate_cmd"),
        ("java-keystore", "reload_cmd"),
        ("haproxy", "reload_cmd"),
    ],
)
def test_package_cannot_carry_commands(
    runtime: Path, tmp_path: Path, pki: TestPki, target_type: str, command_param: str
) -> None:
    srv = tmp_path / "srv"
    srv.mkdir()
    before = _files(srv, pki)
    marker = tmp_path / "pwned"
    hostile = ["sh", "-c", f"id > {marker}"]
    params: dict[str, Any] = {
        "files": {"cert_path": str(srv / "cert.pem"), "key_path": str(srv / "key.pem")},
        "java-keystore": {"keystore_path": str(srv / "ks.p12"), "store_password": "changeit"},
        "haproxy": {"pem_path": str(srv / "site.pem")},
    }[target_type]
    params[command_param] = hostile
    # This host's own configuration lets the target write into srv and names what only the
    # host may name: the package's only fault is the command it carries.
    local = {"haproxy": 'config_file = "/dev/null"\n'}
    config = tmp_path / "oneclick.toml"
    config.write_text(f'[{target_type}]\nallowed_paths = ["{srv}"]\n' + local.get(target_type, ""))
    packager = Packager(runtime, tmp_path)
    manifest = packager.manifest(
        target_type,
        params,
        certificate_pem=pem_bytes(pki.leaf_b),
        chain_pem=pem_bytes(pki.intermediate),
        private_key_pkcs8=private_key_to_pkcs8_der(pki.leaf_b_key),
    )
    exe = packager.installer(manifest)
    env = {**os.environ, "CERTMGR_ONECLICK_CONFIG": str(config)}
    for extra in (["--dry-run"], ["--yes"]):
        proc = run_exe(exe, "--passphrase-file", str(packager.passphrase_file()), *extra, env=env)
        assert proc.returncode == exitcodes.PACKAGE_REFUSED, proc.stdout + proc.stderr
        assert repr(command_param) in proc.stderr and "only this host" in proc.stderr
        assert "Traceback" not in proc.stderr and "CMR1-" not in proc.stdout
        assert not marker.exists(), "the package's command ran"
        assert {p.name: p.read_bytes() for p in sorted(srv.iterdir())} == before


def test_agent_refuses_a_package_command_with_the_shared_rule(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[targets.web]\ntype = "files"\nallowed_paths = ["{tmp_path}"]\nreload_cmd = ["true"]\n'
    )
    settings = load_agent_settings(config, env={"CERTMGR_AGENT_STATE_DIR": str(tmp_path / "s")})
    now = dt.datetime.now(dt.UTC)
    refused: tuple[list[JsonValue], ...] = (["sh", "-c", "id"], ["true"])
    for value in refused:  # even a copy of the local value is refused
        manifest = Manifest(
            deployment_id=1,
            sequence=1,
            target_type="files",
            target_params={"cert_path": str(tmp_path / "c.pem"), "reload_cmd": value},
            created_at=now,
            expires_at=now + dt.timedelta(days=1),
            controller_key_id=key_id(nacl.signing.SigningKey.generate().verify_key),
            certificate_pem=b"-----BEGIN CERTIFICATE-----\n",
        )
        with pytest.raises(ParamNotAllowedError) as err:
            resolve_target(settings, manifest, RealHost())
        assert err.value.param == "reload_cmd"


async def test_controller_refuses_a_deployment_that_carries_a_command(
    tmp_path: Path, database_url: str
) -> None:
    home = await amake_home(tmp_path, database_url)
    res = await arun_cli(["token", "create", "--user", "admin", "--home", str(home)])
    assert res.code == 0, res.err
    h = {"Authorization": f"Bearer {res.out.strip()}"}
    async with console_client(home) as c:
        resp = await c.client.post(
            "/api/v1/definitions",
            json={"name": "web", "common_name": "web.example.test", "sans": []},
            headers=h,
        )
        assert resp.status == 201, await resp.text()
        for delivery in ("oneclick", "agent"):
            resp = await c.client.post(
                "/api/v1/deployments",
                json={
                    "definition": "web",
                    "server_name": "web.example.test",
                    "software": "files",
                    "delivery": delivery,
                    "target_params": {
                        "cert_path": "/etc/ssl/web.pem",
                        "reload_cmd": ["sh", "-c", "touch /etc/nologin"],
                    },
                },
                headers=h,
            )
            assert resp.status == 422, await resp.text()
            problem = await resp.json()
            assert problem["field"] == "reload_cmd" and "reload_cmd" in problem["detail"]
        listing = await (await c.client.get("/api/v1/deployments", headers=h)).json()
        assert listing == []
