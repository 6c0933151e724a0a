"""certmgr controller: console, REST API, agent API, services, repository."""

__version__ = "0.1.0"
