"""``certmgr config check``: the handler (parser in ``config_cmd``)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path

from certmgr.controller.cli.base import CommandContext
from certmgr.controller.config_check import Problem, check_config_text
from certmgr.controller.settings import CONFIG_NAME, load_settings
from certmgr.shared.errors import ConfigurationError


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # as the controller reads it
    except FileNotFoundError:
        raise ConfigurationError(f"{path} does not exist") from None
    except UnicodeDecodeError as err:
        raise ConfigurationError(f"{path} is not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise ConfigurationError(f"cannot read {path}: {err.strerror}") from None


async def _check(ctx: CommandContext) -> int:
    own = ctx.args.file is None
    path = ctx.home / CONFIG_NAME if own else Path(ctx.args.file)
    problems = check_config_text(await asyncio.to_thread(_read, path))
    if own and not any(p.error for p in problems):
        # what the controller itself does with the file and the environment, end to end
        try:
            await asyncio.to_thread(load_settings, ctx.home)
        except ConfigurationError as err:
            problems.append(Problem(0, str(err)))
    errors = sum(p.error for p in problems)
    if ctx.args.json:
        ctx.print_json(
            {"file": str(path), "errors": errors, "problems": [asdict(p) for p in problems]}
        )
    else:
        for p in problems:
            ctx.print(p.render(str(path)))
        if not problems:
            ctx.print(f"{path}: no problems found")
    if errors:
        raise ConfigurationError(f"{path}: {errors} error(s); the controller would not start")
    return 0
