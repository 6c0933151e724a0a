"""``certmgr backup``, ``backup verify``, ``backup list`` and ``restore``: the handlers (parsers in ``backup_cmd``)."""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from pathlib import Path

from certmgr.controller.cli.base import CommandContext, read_secret_file, table
from certmgr.controller.db.engine import Database
from certmgr.controller.services.admin.backup import human_size, list_runs, take_backup
from certmgr.controller.services.admin.backup_config import PASSPHRASE_ENV, load_backup_config
from certmgr.controller.services.admin.restore import restore_backup, verify_backup_file
from certmgr.shared.clock import SystemClock
from certmgr.shared.errors import InputError


def _passphrase(ctx: CommandContext, *, confirm: bool) -> bytes:
    from_file = read_secret_file(ctx.args.passphrase_file, what="backup passphrase")
    if from_file is not None:
        return from_file
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env.encode("utf-8")
    if not sys.stdin.isatty():
        raise InputError(
            f"no backup passphrase: use --passphrase-file or ${PASSPHRASE_ENV} (no terminal to ask on)"
        )
    first = getpass.getpass("Backup passphrase: ")
    if confirm and getpass.getpass("Repeat the passphrase: ") != first:
        raise InputError("the two passphrases differ; nothing was written")
    return first.encode("utf-8")


async def _backup(ctx: CommandContext) -> int:
    a = ctx.args
    passphrase = await asyncio.to_thread(_passphrase, ctx, confirm=True)
    cfg = load_backup_config(ctx.settings)
    # not ctx.db(): a home whose schema is older than this certmgr is backed up before it is upgraded
    db = Database(ctx.settings.database_url)
    try:
        res = await take_backup(
            db,
            ctx.settings,
            passphrase,
            ctx.actor,
            SystemClock(),
            out=Path(a.out).absolute() if a.out else None,
            include_master_key=a.include_master_key,
            pg_dump_tool=cfg.pg_dump,
        )
    finally:
        await db.dispose()
    ctx.print(
        f"Backup written: {res.path} ({human_size(res.size)}, {res.files} files, {res.database_kind} database)"
    )
    if res.master_key_included:
        ctx.print(
            "The master key IS in this backup: whoever has the file and the passphrase can unseal every key."
        )
    else:
        ctx.print(
            f"The master key is NOT in this backup: keep {ctx.settings.master_key_path} apart; "
            "restore needs it (--master-key)."
        )
    return 0


async def _verify(ctx: CommandContext) -> int:
    passphrase = await asyncio.to_thread(_passphrase, ctx, confirm=False)
    info = await asyncio.to_thread(verify_backup_file, Path(ctx.args.file), passphrase)
    if ctx.args.json:
        ctx.print_json(
            {
                "ok": True,
                "created_at": info.created_at,
                "certmgr_version": info.certmgr_version,
                "schema_revision": info.schema_revision,
                "database": info.database,
                "master_key_included": info.master_key_included,
                "files": info.files,
                "size": info.size,
            }
        )
        return 0
    ctx.print(f"{ctx.args.file}: whole and readable")
    ctx.print(
        f"  taken {info.created_at} by certmgr {info.certmgr_version}, schema {info.schema_revision}"
    )
    ctx.print(f"  {info.database} database, {info.files} files, {human_size(info.size)}")
    ctx.print(f"  master key {'included' if info.master_key_included else 'not included'}")
    return 0


async def _list(ctx: CommandContext) -> int:
    runs = await list_runs(await ctx.db())
    if ctx.args.json:
        ctx.print_json(
            [
                {
                    "id": r.id,
                    "started_at": r.started_at.isoformat(),
                    "trigger": r.trigger,
                    "result": r.result,
                    "path": r.path,
                    "size": r.size,
                    "master_key_included": r.master_key_included,
                    "pruned": r.pruned,
                    "error": r.error,
                }
                for r in runs
            ]
        )
        return 0
    rows = [
        (
            r.started_at.strftime("%Y-%m-%d %H:%M"),
            r.trigger,
            r.result,
            human_size(r.size),
            Path(r.path).name,
            r.error[:60],
        )
        for r in runs
    ]
    ctx.print(table(rows, ["TAKEN", "TRIGGER", "RESULT", "SIZE", "FILE", "ERROR"]))
    return 0


async def _restore(ctx: CommandContext) -> int:
    a = ctx.args
    passphrase = await asyncio.to_thread(_passphrase, ctx, confirm=False)
    res = await restore_backup(
        Path(a.file),
        passphrase,
        ctx.home,
        database_url=a.database_url,
        master_key_file=Path(a.master_key) if a.master_key else None,
    )
    ctx.print(f"Restored {a.file} into {res.home}")
    ctx.print(f"  backup taken {res.info.created_at}; {res.info.files} files")
    if res.revision_before != res.revision_after:
        ctx.print(f"  database migrated from schema {res.revision_before} to {res.revision_after}")
    ctx.print(f"Start it with: certmgr serve --home {res.home}")
    return 0
