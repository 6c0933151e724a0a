"""What the command parsers share, importing nothing heavy: ``--home``, ``--json`` and lazy handlers.

``certmgr --help`` builds every parser, so parser modules (``*_cmd``) import only this module and
light constants; each command's handlers live in ``*_run`` and are imported when that command runs.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from certmgr.controller.cli.base import CommandContext


REQUEST_REF = "a request number, or a definition's name (its ongoing request, else its latest)"
DEPLOYMENT_REF = (
    "a deployment number, or its name when only one has it (the server name by default)"
)


def add_home(p: argparse.ArgumentParser) -> None:
    """``--home DIR`` (default ``$CERTMGR_HOME``, else ``./certmgr-home``)."""
    p.add_argument(
        "--home",
        type=Path,
        default=None,
        help="home folder (default: $CERTMGR_HOME, else ./certmgr-home)",
    )


def add_json(p: argparse.ArgumentParser) -> None:
    """``--json`` for list and report commands."""
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


@dataclass(frozen=True)
class LazyHandler:
    """A command handler named by module and function, imported when the command runs."""

    module: str
    name: str

    async def __call__(self, ctx: CommandContext) -> int:
        """Import the handler's module and run it."""
        mod = importlib.import_module(f"certmgr.controller.cli.{self.module}")
        result: int = await getattr(mod, self.name)(ctx)
        return result


def run(module: str, name: str) -> LazyHandler:
    """The handler ``name`` of ``certmgr.controller.cli.<module>``, imported on use."""
    return LazyHandler(module, name)
