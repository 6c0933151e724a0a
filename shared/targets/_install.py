"""The one install orchestrator: plan, contain, write, validate, reload, verify, commit or roll back."""

from __future__ import annotations

import posixpath

from certmgr.shared.errors import (
    InventoryMismatchError,
    PathNotAllowedError,
    ReloadFailedError,
    RollbackFailedError,
    TargetError,
)
from certmgr.shared.targets._txn import FileTransaction
from certmgr.shared.targets.base import InstallResult, Material, Plan, Target


def install(target: Target, material: Material) -> InstallResult:
    """Install ``material`` through ``target``, keeping the old files unless every step succeeds.

    Steps: plan; check every path against the target's allow-list; write all files
    (temporary file, fsync, backup, atomic rename); validate the NEW files; reload; check that
    the inventory holds the new leaf; commit. On any failure the files are restored byte for
    byte, the server is reloaded again onto them if the reload step had started, and the
    original error is raised.

    Args:
        target: A target from :func:`~certmgr.shared.targets.get_target`.
        material: Certificate, chain and key.

    Returns:
        What was done.

    Raises:
        ValidationError: The material does not suit the target (e.g. no key).
        KeyMismatchError: A keystore target was given a key of another certificate.
        PathNotAllowedError: The plan would write outside the allowed paths.
        TargetMisconfiguredError: A directory, user or program is missing.
        ValidationFailedError: The server rejected the new files.
        ReloadFailedError: The reload failed.
        InventoryMismatchError: The new certificate is not what the target holds afterwards.
        RollbackFailedError: Restoring the old state failed; the host is left changed.
        TargetError: Another host operation failed.
    """
    plan = target.plan(material)
    ensure_within(target, plan)
    txn = FileTransaction(target.host)
    reload_started = False
    try:
        txn.write_all(plan.files)
        target.validate(plan)
        reload_started = True
        target.reload(plan)
        _verify_inventory(target, plan)
    except BaseException as err:
        _roll_back(target, plan, txn, err, reload_started=reload_started)
        raise
    kept = txn.commit(keep_backups=target.params.keep_backups)
    return InstallResult(
        target=target.name,
        sha256=plan.sha256,
        files=tuple(f.path for f in plan.files),
        backups=kept,
        validated=bool(plan.validate or plan.checks),
        reloaded=plan.reloads,
        messages=tuple(plan.describe()),
    )


def ensure_within(target: Target, plan: Plan) -> None:
    """Refuse any planned path outside the target's allow-list, including through symlinks.

    A path must be absolute and normal (no ``..``); it must lie lexically inside an allowed entry
    (the entry itself, or below it when it is a directory); its directory, with symlinks
    resolved, must still lie inside the resolved entry; and the file itself must not be a symlink.

    Raises:
        PathNotAllowedError: The first offending path.
    """
    host = target.host
    allowed = [a.rstrip("/") or "/" for a in target.params.allowed()]
    resolved = [host.realpath(a) for a in allowed]
    for planned in plan.files:
        path = planned.path
        if (
            not path.startswith("/")
            or "\x00" in path
            or ".." in path.split("/")
            or posixpath.normpath(path) != path
        ):
            raise PathNotAllowedError(path)
        if not any(_inside(path, a) for a in allowed):
            raise PathNotAllowedError(path)
        parent = host.realpath(posixpath.dirname(path))
        real = posixpath.join(parent, posixpath.basename(path))
        if not any(_inside(real, r) for r in resolved):
            raise PathNotAllowedError(path)
        info = host.lstat(path)
        if info is not None and info.is_symlink:
            raise PathNotAllowedError(path)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _verify_inventory(target: Target, plan: Plan) -> None:
    found = {c.sha256 for c in target.inventory()}
    if plan.sha256 not in found:
        raise InventoryMismatchError(
            f"{target.name}: after install the target does not hold certificate {plan.sha256}"
        )


def _roll_back(
    target: Target, plan: Plan, txn: FileTransaction, err: BaseException, *, reload_started: bool
) -> None:
    try:
        txn.rollback()
    except RollbackFailedError as rb:
        raise RollbackFailedError(f"{target.name}: {rb} (after: {err})") from err
    if not reload_started:
        return
    try:
        target.reload(plan)
    except TargetError as again:
        if isinstance(err, ReloadFailedError):
            # The first reload failed too, so the server never took the new files; keep that error.
            err.add_note(f"reloading onto the restored files also failed: {again}")
            return
        raise RollbackFailedError(
            f"{target.name}: files restored, but reloading onto them failed: {again} (after: {err})"
        ) from err
