"""``certmgr import FILE...``: the handlers (parsers in ``import_cmd``)."""

from __future__ import annotations

from pathlib import Path

from certmgr.controller.cli.base import (
    CommandContext,
    read_input_file,
    read_secret_file,
)
from certmgr.controller.cli.discovery_run import import_server
from certmgr.controller.services.certificates.imports import ImportFile, ImportOptions, import_files
from certmgr.shared.errors import InputError
from certmgr.shared.text import escape_text


def _expand(paths: list[str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        path = Path(p)
        if p != "-" and path.is_dir():
            files = sorted(
                str(f) for f in path.iterdir() if f.is_file() and not f.name.startswith(".")
            )
            if not files:
                raise InputError(f"{p} is an empty folder")
            out.extend(files)
        else:
            out.append(p)
    return out


async def _import(ctx: CommandContext) -> int:
    a = ctx.args
    if a.from_server is not None:
        return await import_server(ctx)
    if not a.files:
        raise InputError("name the files to import (or --from-server HOST[:PORT])")
    if a.sni is not None or a.starttls is not None:
        raise InputError("--sni and --starttls go with --from-server")
    names = _expand(a.files)
    files = [ImportFile(Path(n).name if n != "-" else "stdin", read_input_file(n)) for n in names]
    keys = [ImportFile(Path(n).name, read_input_file(n, what="key file")) for n in a.key]
    chains = [ImportFile(Path(n).name, read_input_file(n, what="chain file")) for n in a.chain]
    options = ImportOptions(
        password=read_secret_file(a.password_file),
        key_password=read_secret_file(a.key_password_file, what="key password"),
        name=a.name,
        accept_unverified=a.accept_unverified,
    )
    db = await ctx.db()
    results = await import_files(
        db,
        ctx.vault,
        ctx.actor,
        files,
        key_files=keys,
        chain_files=chains,
        options=options,
        progress=ctx.progress(len(files), "parsing"),
    )
    if a.json:
        ctx.print_json([r.to_json() for r in results])
        return 0
    for r in results:
        state = "imported" if r.created else "already known"
        what = "CA certificate" if r.is_ca and r.definition_id is None else "certificate"
        ctx.print(f"{state}: {what} {escape_text(r.subject)}")
        ctx.print(f"    sha256 {r.sha256}")
        if r.definition_id is not None:
            ctx.print(
                f"    definition #{r.definition_id} '{escape_text(r.definition_name or '')}'{' (current)' if r.made_current else ''}"
            )
            ctx.print(
                f"    private key: {'yes' if r.has_private_key else 'no'}; chain: {r.chain_length} certificate(s){'' if r.chain_complete else ' (incomplete)'}"
            )
        for w in r.warnings:
            ctx.print(f"    warning: {escape_text(w)}")
    created = sum(r.created for r in results)
    ctx.print(f"{created} new, {len(results) - created} already known")
    return 0
