"""haproxy target against a real HAProxy (master-worker): SIGUSR2 reload; a bad PEM is rolled back."""

from __future__ import annotations

from pathlib import Path

import pytest

from certmgr.shared.errors import ValidationFailedError
from certmgr.shared.targets import AvailabilityState, RealHost, Target, get_target, install
from tests.factories.servers import HaproxyServer, served_leaf_sha256, wait_for_leaf

from .conftest import Materials, managed


def _target(srv: HaproxyServer) -> Target:
    params = {
        "pem_path": str(srv.combined_path),
        "config_file": str(srv.conf_path),
        "master_pid_file": str(srv.pid_path),
        "haproxy_binary": srv.binary,
        "timeout": 30,
    }
    return get_target("haproxy", params, RealHost())


def test_install_changes_the_served_certificate(tmp_path: Path, materials: Materials) -> None:
    with HaproxyServer(tmp_path, combined=materials.files["combinedA.pem"]) as srv:
        target = _target(srv)
        assert target.availability().state is AvailabilityState.READY
        result = install(target, materials.b)
        assert result.validated and result.reloaded
        assert wait_for_leaf(srv.host, srv.port, materials.b.sha256), srv.log()
        assert [c.sha256 for c in target.inventory()] == [materials.b.sha256]


def test_bad_pem_fails_haproxy_c_and_is_rolled_back(tmp_path: Path, materials: Materials) -> None:
    with HaproxyServer(tmp_path, combined=materials.files["combinedA.pem"]) as srv:
        target = _target(srv)
        before = managed(srv.prefix, "haproxy.cfg", "combined.pem")
        with pytest.raises(ValidationFailedError) as info:
            install(target, materials.mismatched)
        assert "inconsistencies between private key and certificate" in info.value.output
        assert managed(srv.prefix, "haproxy.cfg", "combined.pem") == before
        assert srv.proc is not None and srv.proc.poll() is None
        assert served_leaf_sha256(srv.host, srv.port) == materials.a.sha256
