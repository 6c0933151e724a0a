"""certmgr agent: runs on target servers; imports ``certmgr.shared`` only."""

__version__ = "0.1.0"
