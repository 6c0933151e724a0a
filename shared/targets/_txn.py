"""FileTransaction: replace several files so that they can all be put back exactly (certbot reverter).

For each file: write a temporary file in the same directory, fsync it, set owner and mode, keep
the old file as a backup (a hard link, so bytes, inode, owner and mode stay identical; a copy
where hard links fail), rename the temporary file over the old name and fsync the directory.
:meth:`FileTransaction.rollback` renames the backups back (or removes files that did not exist
before); :meth:`FileTransaction.commit` discards the backups, or keeps them when asked.
"""

from __future__ import annotations

import posixpath
import secrets
from dataclasses import dataclass
from types import TracebackType

from certmgr.shared.errors import RollbackFailedError, TargetError, TargetMisconfiguredError
from certmgr.shared.targets._host import HostOps
from certmgr.shared.targets.base import PlannedFile


@dataclass
class _Step:
    path: str
    temp: str | None = None
    backup: str | None = None
    existed: bool = False
    renamed: bool = False


class FileTransaction:
    """Atomic, reversible replacement of a set of files through a :class:`HostOps`.

    Used as a context manager, it rolls back when the block raises before :meth:`commit`.
    """

    def __init__(self, host: HostOps) -> None:
        """Start an empty transaction on ``host``."""
        self._host = host
        self._steps: list[_Step] = []
        self._done = False

    def __enter__(self) -> FileTransaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and not self._done:
            self.rollback()

    @property
    def backups(self) -> tuple[str, ...]:
        """Backup paths of the replaced files."""
        return tuple(s.backup for s in self._steps if s.backup)

    def write_all(self, files: tuple[PlannedFile, ...] | list[PlannedFile]) -> None:
        """Write every file; all temporary files are complete before the first rename.

        On failure the transaction rolls itself back before raising.

        Raises:
            TargetMisconfiguredError: A path appears twice, a directory is missing, a path is
                not a regular file, or an owner or group does not exist.
            TargetError: The host refused a write.
            RollbackFailedError: The write failed and so did restoring the old files.
        """
        if self._done:
            raise TargetError("transaction already finished")
        paths = [f.path for f in files]
        if len(set(paths)) != len(paths):
            raise TargetMisconfiguredError("the plan writes a path twice")
        try:
            for planned in files:
                self._prepare(planned)
            self._rename_all()
        except TargetError as err:
            try:
                self.rollback()
            except RollbackFailedError as rb:
                raise rb from err
            raise

    def _rename_all(self) -> None:
        dirs: list[str] = []
        for step in self._steps:
            if step.renamed or step.temp is None:
                continue
            if step.existed:
                step.backup = self._backup(step.path)
            self._host.replace(step.temp, step.path)
            step.renamed, step.temp = True, None
            directory = posixpath.dirname(step.path)
            if directory not in dirs:
                dirs.append(directory)
        for directory in dirs:
            self._host.fsync_dir(directory)

    def _prepare(self, planned: PlannedFile) -> None:
        directory, name = posixpath.split(planned.path)
        dir_info = self._host.lstat(directory)
        if dir_info is None:
            raise TargetMisconfiguredError(f"directory {directory} does not exist")
        old = self._host.lstat(planned.path)
        if old is not None and (old.is_symlink or not old.is_file):
            raise TargetMisconfiguredError(f"{planned.path} exists and is not a regular file")
        uid = self._host.user_id(planned.owner) if planned.owner else (old.uid if old else None)
        gid = self._host.group_id(planned.group) if planned.group else (old.gid if old else None)
        step = _Step(planned.path, existed=old is not None)
        self._steps.append(step)
        step.temp = self._host.write_temp(directory, name, planned.data)
        self._host.set_owner_and_mode(step.temp, uid, gid, planned.mode)

    def _backup(self, path: str) -> str:
        directory, name = posixpath.split(path)
        backup = posixpath.join(directory, f"{name}.certmgr-backup-{secrets.token_hex(4)}")
        try:
            self._host.link(path, backup)
        except TargetError:
            self._host.copy_file(path, backup)
        return backup

    def rollback(self) -> None:
        """Put every touched path back as it was and remove temporary files.

        Raises:
            RollbackFailedError: Some path could not be restored (the message names them).
        """
        if self._done:
            return
        self._done = True
        failed: list[str] = []
        dirs: set[str] = set()
        for step in reversed(self._steps):
            try:
                if step.temp is not None:
                    self._host.unlink(step.temp)
                if step.renamed:
                    if step.backup is not None:
                        self._host.replace(step.backup, step.path)
                    else:
                        self._host.unlink(step.path)
                    dirs.add(posixpath.dirname(step.path))
                elif step.backup is not None:
                    self._host.unlink(step.backup)
            except TargetError:
                failed.append(step.path)
        for directory in sorted(dirs):
            try:
                self._host.fsync_dir(directory)
            except TargetError:
                failed.append(directory)
        if failed:
            raise RollbackFailedError(f"could not restore: {', '.join(failed)}")

    def commit(self, *, keep_backups: bool = False) -> tuple[str, ...]:
        """Make the change final.

        Args:
            keep_backups: Leave the backup files in place (their paths are returned).

        Returns:
            The kept backup paths (empty unless ``keep_backups``).
        """
        if self._done:
            raise TargetError("transaction already finished")
        self._done = True
        kept = self.backups if keep_backups else ()
        if not keep_backups:
            for backup in self.backups:
                try:
                    self._host.unlink(backup)
                except TargetError:
                    # A stale backup is harmless; the new files are in place.
                    continue
        return kept
