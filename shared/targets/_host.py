"""HostOps: the one seam through which install targets touch the operating system.

Paths given to a host are the paths the server sees (absolute POSIX paths). :class:`RealHost`
maps them under an optional ``root`` for file operations only (tests install into a temporary
tree); commands and signals always run on the real system. Unit tests inject a fake at this
seam instead of patching ``subprocess``.

File-operation failures are translated here into :class:`~certmgr.shared.errors.TargetError`
(or its subclasses); command outcomes are returned as data: ``(returncode, output)``, with 127 for
a missing program and 124 for a timeout, as shells report them.
"""

from __future__ import annotations

import grp
import os
import posixpath
import pwd
import shutil
import stat as _stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from certmgr.shared.errors import TargetError, TargetMisconfiguredError

RC_NOT_FOUND: Final = 127
RC_TIMEOUT: Final = 124
MAX_OUTPUT: Final = 64 * 1024
MAX_READ: Final = 32 * 1024 * 1024


@dataclass(frozen=True)
class FileInfo:
    """What ``lstat`` says about a path."""

    mode: int  # permission bits only
    uid: int
    gid: int
    is_file: bool
    is_symlink: bool


class HostOps(Protocol):
    """Everything a target or a file transaction may do to the host."""

    def read_file(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        ...

    def lstat(self, path: str) -> FileInfo | None:
        """Facts about ``path`` without following a final symlink; None when absent."""
        ...

    def realpath(self, path: str) -> str:
        """``path`` with every symlink resolved, as a path the server sees."""
        ...

    def write_temp(self, directory: str, stem: str, data: bytes) -> str:
        """Write ``data`` to a new 0600 file in ``directory``, fsync it, return its path."""
        ...

    def set_owner_and_mode(self, path: str, uid: int | None, gid: int | None, mode: int) -> None:
        """Change owner and group (None keeps them), then set the permission bits."""
        ...

    def link(self, src: str, dst: str) -> None:
        """Make the hard link ``dst`` to ``src``."""
        ...

    def copy_file(self, src: str, dst: str) -> None:
        """Copy bytes, owner, group and mode of ``src`` to the new file ``dst`` (fsynced)."""
        ...

    def replace(self, src: str, dst: str) -> None:
        """Atomically rename ``src`` over ``dst``."""
        ...

    def unlink(self, path: str) -> None:
        """Remove a file; a missing file is not an error."""
        ...

    def fsync_dir(self, directory: str) -> None:
        """Flush a directory entry change to disk."""
        ...

    def user_id(self, name: str) -> int:
        """The uid of a user name (numeric strings are taken as ids)."""
        ...

    def group_id(self, name: str) -> int:
        """The gid of a group name (numeric strings are taken as ids)."""
        ...

    def which(self, program: str) -> str | None:
        """The path of ``program`` (absolute paths are checked as given), or None."""
        ...

    def run(self, argv: tuple[str, ...], timeout: float) -> tuple[int, str]:
        """Run ``argv`` (never through a shell); return its exit code and combined output."""
        ...

    def send_signal(self, pid: int, signum: int) -> None:
        """Send ``signum`` to process ``pid``."""
        ...


class RealHost:
    """The real operating system, with file paths optionally placed under ``root``."""

    def __init__(self, root: Path | str | None = None) -> None:
        """Create a host.

        Args:
            root: Directory that file paths are mapped under (None: the real ``/``).
        """
        self._root = Path(root).resolve() if root is not None else None

    def __repr__(self) -> str:
        return f"RealHost(root={str(self._root) if self._root else '/'!r})"

    def _local(self, path: str) -> str:
        if not posixpath.isabs(path):
            raise TargetMisconfiguredError(f"path must be absolute: {path}")
        if self._root is None:
            return path
        return str(self._root) + posixpath.normpath(path)

    def _outer(self, local: str) -> str:
        if self._root is None:
            return local
        root = str(self._root)
        if local == root:
            return "/"
        if local.startswith(root + "/"):
            return local[len(root) :]
        # A symlink pointed out of the test root; report it so containment checks refuse it.
        return "/.outside-root" + local

    def read_file(self, path: str) -> bytes | None:
        """Implement :meth:`HostOps.read_file`."""
        local = self._local(path)
        try:
            with open(local, "rb") as fh:
                data = fh.read(MAX_READ + 1)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise TargetError(f"cannot read {path}: {err.strerror}") from err
        if len(data) > MAX_READ:
            raise TargetError(f"{path} is larger than {MAX_READ} bytes")
        return data

    def lstat(self, path: str) -> FileInfo | None:
        """Implement :meth:`HostOps.lstat`."""
        try:
            st = os.lstat(self._local(path))
        except FileNotFoundError:
            return None
        except OSError as err:
            raise TargetError(f"cannot stat {path}: {err.strerror}") from err
        return FileInfo(
            mode=_stat.S_IMODE(st.st_mode),
            uid=st.st_uid,
            gid=st.st_gid,
            is_file=_stat.S_ISREG(st.st_mode),
            is_symlink=_stat.S_ISLNK(st.st_mode),
        )

    def realpath(self, path: str) -> str:
        """Implement :meth:`HostOps.realpath`."""
        return self._outer(os.path.realpath(self._local(path)))

    def write_temp(self, directory: str, stem: str, data: bytes) -> str:
        """Implement :meth:`HostOps.write_temp`."""
        local_dir = self._local(directory)
        try:
            fd, local = tempfile.mkstemp(dir=local_dir, prefix=f".{stem}.certmgr-tmp-")
        except OSError as err:
            raise TargetError(f"cannot create a file in {directory}: {err.strerror}") from err
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as err:
            _quiet_unlink(local)
            raise TargetError(f"cannot write a file in {directory}: {err.strerror}") from err
        return self._outer(local)

    def set_owner_and_mode(self, path: str, uid: int | None, gid: int | None, mode: int) -> None:
        """Implement :meth:`HostOps.set_owner_and_mode`."""
        local = self._local(path)
        try:
            if uid is not None or gid is not None:
                os.chown(local, -1 if uid is None else uid, -1 if gid is None else gid)
            os.chmod(local, mode)  # after chown, which may clear set-id bits
        except OSError as err:
            raise TargetError(f"cannot set owner or mode of {path}: {err.strerror}") from err

    def link(self, src: str, dst: str) -> None:
        """Implement :meth:`HostOps.link`."""
        try:
            os.link(self._local(src), self._local(dst))
        except OSError as err:
            raise TargetError(f"cannot link {src} to {dst}: {err.strerror}") from err

    def copy_file(self, src: str, dst: str) -> None:
        """Implement :meth:`HostOps.copy_file`."""
        local_src, local_dst = self._local(src), self._local(dst)
        try:
            st = os.stat(local_src)
            fd = os.open(local_dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out, open(local_src, "rb") as inp:
                shutil.copyfileobj(inp, out)
                out.flush()
                os.fsync(out.fileno())
            os.chown(local_dst, st.st_uid, st.st_gid)
            os.chmod(local_dst, st.st_mode & 0o7777)
        except OSError as err:
            raise TargetError(f"cannot copy {src} to {dst}: {err.strerror}") from err

    def replace(self, src: str, dst: str) -> None:
        """Implement :meth:`HostOps.replace`."""
        try:
            os.replace(self._local(src), self._local(dst))
        except OSError as err:
            raise TargetError(f"cannot rename {src} to {dst}: {err.strerror}") from err

    def unlink(self, path: str) -> None:
        """Implement :meth:`HostOps.unlink`."""
        try:
            os.unlink(self._local(path))
        except FileNotFoundError:
            return
        except OSError as err:
            raise TargetError(f"cannot remove {path}: {err.strerror}") from err

    def fsync_dir(self, directory: str) -> None:
        """Implement :meth:`HostOps.fsync_dir`."""
        try:
            fd = os.open(self._local(directory), os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as err:
            raise TargetError(f"cannot flush directory {directory}: {err.strerror}") from err

    def user_id(self, name: str) -> int:
        """Implement :meth:`HostOps.user_id`."""
        if name.isdigit():
            return int(name)
        try:
            return pwd.getpwnam(name).pw_uid
        except KeyError as err:
            raise TargetMisconfiguredError(f"no such user: {name}") from err

    def group_id(self, name: str) -> int:
        """Implement :meth:`HostOps.group_id`."""
        if name.isdigit():
            return int(name)
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError as err:
            raise TargetMisconfiguredError(f"no such group: {name}") from err

    def which(self, program: str) -> str | None:
        """Implement :meth:`HostOps.which`."""
        if "/" in program:
            return program if os.access(program, os.X_OK) else None
        return shutil.which(program, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")

    def run(self, argv: tuple[str, ...], timeout: float) -> tuple[int, str]:
        """Implement :meth:`HostOps.run`."""
        if not argv:
            raise TargetMisconfiguredError("empty command")
        program = self.which(argv[0])
        if program is None:
            return RC_NOT_FOUND, f"command not found: {argv[0]}"
        env = {**os.environ, "LC_ALL": "C"}
        try:
            proc = subprocess.run(
                (program, *argv[1:]),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
                env=env,
            )
        except subprocess.TimeoutExpired as err:
            partial = err.output or b""
            text = _text(partial if isinstance(partial, bytes) else partial.encode())
            return RC_TIMEOUT, f"{text}\n[timed out after {timeout:g} s]".lstrip()
        except OSError as err:
            return RC_NOT_FOUND, f"cannot run {argv[0]}: {err.strerror}"
        return proc.returncode, _text(proc.stdout)

    def send_signal(self, pid: int, signum: int) -> None:
        """Implement :meth:`HostOps.send_signal`."""
        try:
            os.kill(pid, signum)
        except (OSError, ValueError) as err:
            raise TargetError(f"cannot signal process {pid}: {err}") from err


def _text(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= MAX_OUTPUT else text[:MAX_OUTPUT] + "\n[output truncated]"


def _quiet_unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        return
