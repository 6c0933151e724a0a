"""``python -m certmgr.controller``."""

from certmgr.controller.cli import run

run()
