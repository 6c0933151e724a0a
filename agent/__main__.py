"""``python -m certmgr.agent``."""

import sys

from certmgr.agent.cli import main

sys.exit(main())
