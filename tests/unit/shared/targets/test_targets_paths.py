"""ensure_within: planned paths must stay inside the allow-list, also through symlinks."""

from __future__ import annotations

import os

import pytest

from certmgr.shared.errors import PathNotAllowedError
from certmgr.shared.targets import Plan, PlannedFile, ensure_within, get_target

from .conftest import ScriptedHost


def _plan(*paths: str) -> Plan:
    return Plan(target="files", sha256="00", files=tuple(PlannedFile(p, b"x") for p in paths))


def _files_target(host: ScriptedHost, allowed: list[str] | None = None):  # type: ignore[no-untyped-def]
    params: dict[str, object] = {"cert_path": "/srv/tls/cert.pem", "key_path": "/srv/tls/key.pem"}
    if allowed is not None:
        params["allowed_paths"] = allowed
    return get_target("files", params, host)


@pytest.fixture
def tls_dir(host: ScriptedHost) -> ScriptedHost:
    host.put("/srv/tls/cert.pem", b"old")
    host.put("/etc/shadow-ish", b"precious")
    return host


def test_declared_files_are_allowed(tls_dir: ScriptedHost) -> None:
    ensure_within(_files_target(tls_dir), _plan("/srv/tls/cert.pem", "/srv/tls/key.pem"))


@pytest.mark.parametrize(
    "path",
    [
        "/srv/tls/other.pem",  # not declared
        "/srv/tls/../tls/cert.pem",  # dot-dot, even when it lands inside
        "/srv/tls/./cert.pem",
        "srv/tls/cert.pem",  # relative
        "/etc/shadow-ish",
        "/srv/tls/cert.pem\x00",
    ],
)
def test_paths_outside_the_declared_files(tls_dir: ScriptedHost, path: str) -> None:
    with pytest.raises(PathNotAllowedError) as info:
        ensure_within(_files_target(tls_dir), _plan("/srv/tls/cert.pem", path))
    assert info.value.path == path


def test_directory_allow_list(tls_dir: ScriptedHost) -> None:
    target = _files_target(tls_dir, ["/srv/tls"])
    ensure_within(target, _plan("/srv/tls/new.pem", "/srv/tls/sub/deeper.pem"))
    for bad in ("/srv/tlsx/cert.pem", "/srv/cert.pem", "/srv/tls/../x.pem"):
        with pytest.raises(PathNotAllowedError):
            ensure_within(target, _plan(bad))


def test_symlinked_directory_escaping_is_refused(tls_dir: ScriptedHost) -> None:
    os.symlink(tls_dir.local("/etc"), tls_dir.local("/srv/tls/sub"))
    target = _files_target(tls_dir, ["/srv/tls"])
    with pytest.raises(PathNotAllowedError):
        ensure_within(target, _plan("/srv/tls/sub/shadow-ish"))


def test_relative_symlink_escaping_is_refused(tls_dir: ScriptedHost) -> None:
    os.symlink("../../etc", tls_dir.local("/srv/tls/up"))
    with pytest.raises(PathNotAllowedError):
        ensure_within(_files_target(tls_dir, ["/srv/tls"]), _plan("/srv/tls/up/shadow-ish"))


def test_symlink_as_the_file_itself_is_refused(tls_dir: ScriptedHost) -> None:
    tls_dir.local("/srv/tls/cert.pem").unlink()
    os.symlink(tls_dir.local("/etc/shadow-ish"), tls_dir.local("/srv/tls/cert.pem"))
    with pytest.raises(PathNotAllowedError):
        ensure_within(_files_target(tls_dir), _plan("/srv/tls/cert.pem"))


def test_symlink_inside_the_allowed_tree_is_fine(tls_dir: ScriptedHost) -> None:
    tls_dir.local("/srv/tls/live").mkdir()
    os.symlink("live", tls_dir.local("/srv/tls/current"))
    ensure_within(_files_target(tls_dir, ["/srv/tls"]), _plan("/srv/tls/current/cert.pem"))


def test_allowed_entry_that_is_itself_a_symlink(tls_dir: ScriptedHost) -> None:
    tls_dir.local("/opt/real").mkdir(parents=True)
    os.symlink(tls_dir.local("/opt/real"), tls_dir.local("/srv/link"))
    target = _files_target(tls_dir, ["/srv/link"])
    ensure_within(target, _plan("/srv/link/cert.pem"))


def test_symlink_out_of_the_host_root_is_refused(
    tls_dir: ScriptedHost, tmp_path: os.PathLike[str]
) -> None:
    outside = os.path.join(tmp_path, "outside")
    os.mkdir(outside)
    os.symlink(outside, tls_dir.local("/srv/tls/out"))
    with pytest.raises(PathNotAllowedError):
        ensure_within(_files_target(tls_dir, ["/srv/tls"]), _plan("/srv/tls/out/cert.pem"))
