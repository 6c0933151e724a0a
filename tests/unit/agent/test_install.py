"""The local policy applied to packages: target choice, local-only parameters; and backoff."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from certmgr.agent.install import check_local_only, resolve_target
from certmgr.agent.runner import backoff_delay
from certmgr.agent.settings import AgentSettings, load_settings
from certmgr.shared.envelope import Manifest, key_id
from certmgr.shared.errors import ValidationError
from certmgr.shared.protocol import ParamNotAllowedError, TargetNotConfiguredError
from certmgr.shared.targets import RealHost

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
CONFIG = """
[targets.web]
type = "files"
allowed_paths = ["/srv/web"]
cert_path = "/srv/web/cert.pem"
cert_mode = "0644"
reload_cmd = ["true"]

[targets.mail]
type = "files"
allowed_paths = ["/srv/mail"]

[targets.proxy]
type = "haproxy"
allowed_paths = ["/srv/haproxy"]
config_file = "/etc/haproxy/haproxy.cfg"
reload_cmd = ["true"]
"""


@pytest.fixture
def settings(tmp_path: Path) -> AgentSettings:
    path = tmp_path / "agent.toml"
    path.write_text(CONFIG)
    return load_settings(path, env={"CERTMGR_AGENT_STATE_DIR": str(tmp_path / "state")})


def _manifest(target_type: str = "files", **params: Any) -> Manifest:
    return Manifest(
        deployment_id=1,
        sequence=1,
        target_type=target_type,
        target_params=params,
        created_at=NOW,
        expires_at=NOW + dt.timedelta(days=1),
        controller_key_id=key_id(nacl.signing.SigningKey.generate().verify_key),
        certificate_pem=b"-----BEGIN CERTIFICATE-----\n",
    )


def _resolve(settings: AgentSettings, manifest: Manifest) -> Any:
    return resolve_target(settings, manifest, RealHost())


def test_label_picks_the_target_and_local_values_fill_in(settings: AgentSettings) -> None:
    cfg, target, params = _resolve(settings, _manifest(agent_target="web", key_path="/srv/web/k"))
    assert cfg.label == "web"
    assert target.params.cert_path == "/srv/web/cert.pem"  # from agent.toml
    assert target.params.key_path == "/srv/web/k"  # from the package
    assert target.params.allowed_paths == ("/srv/web",)  # always the local allow-list
    assert "agent_target" not in params


def test_the_only_target_of_a_type_needs_no_label(settings: AgentSettings) -> None:
    cfg, _, _ = _resolve(settings, _manifest("haproxy", pem_path="/srv/haproxy/x.pem"))
    assert cfg.label == "proxy"
    with pytest.raises(TargetNotConfiguredError, match="2 files targets"):
        _resolve(settings, _manifest(cert_path="/srv/web/cert.pem"))
    with pytest.raises(TargetNotConfiguredError, match="no target"):
        _resolve(settings, _manifest(agent_target="db"))
    with pytest.raises(TargetNotConfiguredError, match="is a files target"):
        _resolve(settings, _manifest("nginx", agent_target="web"))
    with pytest.raises(TargetNotConfiguredError):
        _resolve(settings, _manifest(agent_target=5))


@pytest.mark.parametrize(
    "params",
    [
        {"reload_cmd": ["sh", "-c", "id"]},
        {"validate_cmd": ["true"]},
        {"owner": "nobody"},
        {"group": "users"},
        {"key_mode": "0644"},
        {"cert_mode": "0666"},
        {"allowed_paths": ["/"]},
        {"timeout": 1000},
    ],
)
def test_local_only_parameters_may_not_change(settings: AgentSettings, params: Any) -> None:
    with pytest.raises(ParamNotAllowedError) as err:
        _resolve(settings, _manifest(agent_target="web", **params))
    assert err.value.param == next(iter(params))


@pytest.mark.parametrize(
    "params",
    [
        {"reload_cmd": ["true"]},
        {"cert_mode": 0o644},
        {"owner": None},
        {"allowed_paths": ["/srv/web"]},
        {"timeout": 60.0},
    ],
)
def test_local_only_parameters_are_refused_even_repeating_the_local_value(
    settings: AgentSettings, params: Any
) -> None:
    # A package never carries a command or host policy (DESIGN section 8), not even a copy.
    web = settings.target("web")
    assert web is not None
    with pytest.raises(ParamNotAllowedError) as err:
        check_local_only(web, params)
    assert err.value.param == next(iter(params))


def test_package_may_not_point_read_paths_elsewhere(settings: AgentSettings) -> None:
    proxy = settings.target("proxy")
    assert proxy is not None
    with pytest.raises(ParamNotAllowedError, match="config_file"):
        check_local_only(proxy, {"config_file": "/tmp/evil.cfg"})


def test_unknown_parameters_are_invalid(settings: AgentSettings) -> None:
    with pytest.raises(ValidationError):
        _resolve(settings, _manifest(agent_target="web", colour="red"))


def test_backoff_is_full_jitter_and_capped() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(a, cap=60.0, rng=rng) for a in range(12) for _ in range(20)]
    assert all(0 < d <= 60 for d in delays)
    assert max(backoff_delay(0, cap=60, rng=rng) for _ in range(50)) <= 1.0
    assert max(backoff_delay(40, cap=60, rng=rng) for _ in range(200)) > 30
    assert all(backoff_delay(3, cap=0.3, rng=rng) <= 0.3 for _ in range(50))
