"""``python -m certmgr.oneclick`` and the frozen runtime's entry point."""

from __future__ import annotations

from certmgr.oneclick.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
