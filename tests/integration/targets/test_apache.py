"""apache target against a real Apache: graceful reload; a mismatched key never reaches Apache."""

from __future__ import annotations

from pathlib import Path

import pytest

from certmgr.shared.errors import ValidationFailedError
from certmgr.shared.targets import AvailabilityState, RealHost, Target, get_target, install
from tests.factories.servers import ApacheServer, served_leaf_sha256, wait_for_leaf

from .conftest import Materials, managed


def _target(srv: ApacheServer) -> Target:
    params = {
        "cert_path": str(srv.cert_path),
        "key_path": str(srv.key_path),
        "config_file": str(srv.conf_path),
        "server_root": str(srv.prefix),
        "apache_binary": srv.binary,
        "timeout": 30,
    }
    return get_target("apache", params, RealHost())


def test_install_changes_the_served_certificate(tmp_path: Path, materials: Materials) -> None:
    f = materials.files
    with ApacheServer(tmp_path, cert=f["fullchainA.pem"], key=f["leafA.key"]) as srv:
        target = _target(srv)
        assert target.availability().state is AvailabilityState.READY
        result = install(target, materials.b)
        assert result.validated and result.reloaded
        assert wait_for_leaf(srv.host, srv.port, materials.b.sha256), srv.log()
        assert srv.proc is not None and srv.proc.poll() is None


def test_mismatch_is_caught_before_graceful_and_apache_survives(
    tmp_path: Path, materials: Materials
) -> None:
    f = materials.files
    with ApacheServer(tmp_path, cert=f["fullchainA.pem"], key=f["leafA.key"]) as srv:
        target = _target(srv)
        before = managed(srv.prefix, "httpd.conf", "cert.pem", "key.pem")
        with pytest.raises(ValidationFailedError, match="does not match"):
            install(target, materials.mismatched)
        assert managed(srv.prefix, "httpd.conf", "cert.pem", "key.pem") == before
        # A graceful restart with those files would have stopped Apache (AH02565); it is still up.
        assert srv.proc is not None and srv.proc.poll() is None
        assert served_leaf_sha256(srv.host, srv.port) == materials.a.sha256
        srv.reload()
        assert wait_for_leaf(srv.host, srv.port, materials.a.sha256), srv.log()
        assert srv.proc.poll() is None
