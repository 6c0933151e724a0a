"""certmgr one-click installer runtime; imports ``certmgr.shared`` only."""

__version__ = "0.1.0"
