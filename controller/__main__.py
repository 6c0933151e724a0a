"""``python -m certmgr.controller``."""

import sys

from certmgr.controller.cli import main

sys.exit(main())
