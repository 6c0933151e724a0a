"""nginx target against a real nginx: the served certificate changes; a bad key is rolled back."""

from __future__ import annotations

from pathlib import Path

import pytest

from certmgr.shared.errors import ValidationFailedError
from certmgr.shared.targets import AvailabilityState, RealHost, Target, get_target, install
from tests.factories.servers import NginxServer, served_leaf_sha256, wait_for_leaf

from .conftest import Materials, managed


def _target(srv: NginxServer) -> Target:
    params = {
        "cert_path": str(srv.cert_path),
        "key_path": str(srv.key_path),
        "prefix": str(srv.prefix),
        "conf": str(srv.conf_path),
        "nginx_binary": srv.binary,
        "timeout": 30,
    }
    return get_target("nginx", params, RealHost())


def test_install_changes_the_served_certificate(tmp_path: Path, materials: Materials) -> None:
    f = materials.files
    with NginxServer(tmp_path, cert=f["fullchainA.pem"], key=f["leafA.key"]) as srv:
        target = _target(srv)
        assert target.availability().state is AvailabilityState.READY
        assert [c.sha256 for c in target.inventory()] == [materials.a.sha256]
        result = install(target, materials.b)
        assert result.validated and result.reloaded
        assert wait_for_leaf(srv.host, srv.port, materials.b.sha256), srv.log()
        assert [c.sha256 for c in target.inventory()] == [materials.b.sha256]
        assert srv.key_path.stat().st_mode & 0o777 == 0o600


def test_mismatched_key_fails_nginx_t_and_is_rolled_back(
    tmp_path: Path, materials: Materials
) -> None:
    f = materials.files
    with NginxServer(tmp_path, cert=f["fullchainA.pem"], key=f["leafA.key"]) as srv:
        target = _target(srv)
        before = managed(srv.prefix, "nginx.conf", "cert.pem", "key.pem")
        with pytest.raises(ValidationFailedError) as info:
            install(target, materials.mismatched)
        assert "key values mismatch" in info.value.output
        assert managed(srv.prefix, "nginx.conf", "cert.pem", "key.pem") == before
        assert srv.test_config().returncode == 0
        assert served_leaf_sha256(srv.host, srv.port) == materials.a.sha256
        srv.reload()  # the restored files are what nginx loads next
        assert wait_for_leaf(srv.host, srv.port, materials.a.sha256)
