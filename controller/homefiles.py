"""Modes of a home's files: the home and its folders 0700, secrets and the database 0600.

Checked whenever a command (``serve`` included) opens a home: loose modes are fixed and each
fix is reported naming the file; an entry owned by another user stops the command, since
certmgr cannot tell who else can change it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from certmgr.controller.settings import CA_DIR, TLS_DIR, Settings
from certmgr.shared.errors import ConfigurationError

SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
# Files public by nature (certificates, CRLs, the CA installer, the one-click runtime) may be
# readable by others, never writable. Every folder and every other file is private to its owner.
_PUBLIC_DIRS = frozenset({CA_DIR, "oneclick"})
_PUBLIC_FILES = frozenset({f"{TLS_DIR}/console.pem"})


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    if not database_url.startswith("sqlite"):
        return None
    name = make_url(database_url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def secure_home(settings: Settings) -> list[str]:
    """Make the home 0700, its folders 0700 and its private files and the database 0600.

    Symbolic links are not followed. A SQLite database outside the home is checked as well.

    Args:
        settings: The home's settings.

    Returns:
        One message per changed mode, naming the file (for the caller to show).

    Raises:
        ConfigurationError: An entry belongs to another user, or a mode cannot be changed.
    """
    fixes: list[str] = []
    home = settings.home
    for path, private in _entries(home):
        _check(path, private=private, fixes=fixes)
    db = sqlite_path(settings.database_url)
    if db is not None and not db.resolve().is_relative_to(home.resolve()):
        for path in (db, *(db.with_name(db.name + s) for s in SQLITE_SIDECARS)):
            _check(path, private=True, fixes=fixes)
    return fixes


def _entries(home: Path) -> Iterator[tuple[Path, bool]]:
    yield home, True
    stack = [home]
    while stack:
        folder = stack.pop()
        try:
            children = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        except OSError as err:
            raise ConfigurationError(f"cannot read {folder}: {err.strerror}") from err
        for entry in children:
            if entry.is_symlink():
                continue
            path = Path(entry.path)
            rel = path.relative_to(home).as_posix()
            public = rel.split("/", 1)[0] in _PUBLIC_DIRS or rel in _PUBLIC_FILES
            yield path, not public
            if entry.is_dir(follow_symlinks=False):
                stack.append(path)


def _check(path: Path, *, private: bool, fixes: list[str]) -> None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    except OSError as err:
        raise ConfigurationError(f"cannot check {path}: {err.strerror}") from err
    if stat.S_ISLNK(st.st_mode):
        return
    if st.st_uid != os.geteuid():
        raise ConfigurationError(
            f"{path} is owned by user id {st.st_uid}, not by the user running certmgr "
            f"({os.geteuid()}); give it back (chown) or remove it"
        )
    mode = stat.S_IMODE(st.st_mode)
    # Only group and other bits go: an owner's own bits (an executable stays executable) are kept.
    wanted = mode & ~0o077 if private or stat.S_ISDIR(st.st_mode) else mode & ~0o022
    if wanted == mode:
        return
    try:
        os.chmod(path, wanted)
    except OSError as err:
        raise ConfigurationError(
            f"{path} has mode {mode:o} and cannot be changed to {wanted:o}: {err.strerror}"
        ) from err
    fixes.append(f"{path} had mode {mode:o}, too open; changed to {wanted:o}")
