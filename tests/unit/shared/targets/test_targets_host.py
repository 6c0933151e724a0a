"""RealHost: the one place that touches the OS (real processes and files under a temporary root)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from certmgr.shared.errors import TargetError, TargetMisconfiguredError
from certmgr.shared.targets import RealHost
from certmgr.shared.targets._host import RC_NOT_FOUND, RC_TIMEOUT


def test_run_returns_code_and_combined_output() -> None:
    host = RealHost()
    assert host.run(("true",), 10) == (0, "")
    rc, out = host.run(("sh", "-c", "echo out; echo err >&2; exit 3"), 10)
    assert rc == 3 and "out" in out and "err" in out


def test_run_missing_program_and_timeout() -> None:
    host = RealHost()
    rc, out = host.run(("certmgr-no-such-program",), 10)
    assert rc == RC_NOT_FOUND and "not found" in out
    rc, out = host.run(("sleep", "5"), 0.2)
    assert rc == RC_TIMEOUT and "timed out" in out
    with pytest.raises(TargetMisconfiguredError):
        host.run((), 1)


def test_run_does_not_use_a_shell(tmp_path: Path) -> None:
    rc, out = RealHost().run(("echo", "$HOME; touch", str(tmp_path / "pwned")), 10)
    assert rc == 0 and "$HOME; touch" in out
    assert not (tmp_path / "pwned").exists()


def test_files_are_mapped_under_root(tmp_path: Path) -> None:
    host = RealHost(tmp_path)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "a").write_bytes(b"data")
    assert host.read_file("/etc/a") == b"data"
    assert host.read_file("/etc/missing") is None
    info = host.lstat("/etc/a")
    assert info is not None and info.is_file and not info.is_symlink
    temp = host.write_temp("/etc", "b", b"new")
    assert temp.startswith("/etc/.b.certmgr-tmp-")
    assert (tmp_path / temp.lstrip("/")).stat().st_mode & 0o777 == 0o600
    assert host.realpath("/etc/a") == "/etc/a"
    with pytest.raises(TargetMisconfiguredError):
        host.read_file("etc/a")
    assert "root=" in repr(host)


def test_errors_are_target_errors(tmp_path: Path) -> None:
    host = RealHost(tmp_path)
    with pytest.raises(TargetError):
        host.write_temp("/missing-dir", "x", b"")
    with pytest.raises(TargetError):
        host.replace("/nope", "/nope2")
    with pytest.raises(TargetMisconfiguredError):
        host.user_id("certmgr-no-such-user")
    with pytest.raises(TargetMisconfiguredError):
        host.group_id("certmgr-no-such-group")
    assert host.user_id("0") == 0 and host.group_id("root") == 0
    host.unlink("/not-there")  # missing is fine


def test_send_signal() -> None:
    host = RealHost()
    host.send_signal(os.getpid(), 0)  # signal 0: existence check only
    with pytest.raises(TargetError):
        host.send_signal(2**22 + 7, signal.SIGUSR2)
