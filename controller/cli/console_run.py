"""``certmgr console show|use``: the handlers (parsers in ``console_cmd``)."""

from __future__ import annotations

from dataclasses import asdict

from certmgr.controller.cli.base import CommandContext
from certmgr.controller.services.admin.console_tls import (
    ConsoleCertificate,
    use_console_definition,
    wanted_certificate,
)
from certmgr.shared.clock import SystemClock


def _print(ctx: CommandContext, info: ConsoleCertificate) -> None:
    if ctx.args.json:
        ctx.print_json(asdict(info))
        return
    ctx.print(f"definition:  {info.definition}")
    if info.certificate_id is None:
        ctx.print("certificate: none yet (the definition has no current certificate)")
        return
    ctx.print(f"certificate: {info.certificate_id}, valid until {info.not_after}")
    ctx.print(f"sha256:      {info.sha256}")


async def _show(ctx: CommandContext) -> int:
    _print(ctx, await wanted_certificate(await ctx.db()))
    return 0


async def _use(ctx: CommandContext) -> int:
    info = await use_console_definition(
        await ctx.db(), ctx.vault, ctx.actor, ctx.settings, ctx.args.definition, SystemClock()
    )
    _print(ctx, info)
    if not ctx.args.json:
        ctx.print(
            "running controllers serve it to new connections within "
            f"{ctx.settings.tls_reload_seconds:g} s ([server] tls_reload_seconds)"
        )
    return 0
