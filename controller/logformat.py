"""The controller's log lines: plain text (default) or one JSON object a line (``log_format``).

JSON lines are for log shippers (journald's JSON export, Loki, Elasticsearch): each record has
``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, and ``exception`` when there is
one. Messages are the same as in text mode; certmgr never logs secrets in either.
"""

from __future__ import annotations

import datetime as dt
import json
import logging


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        data: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(level: str, fmt: str) -> None:
    """Set the root logger's level, and JSON lines on its handlers when ``fmt`` is ``json``."""
    root = logging.getLogger()
    root.setLevel(level)
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    if fmt == "json":
        for handler in root.handlers:
            handler.setFormatter(JsonFormatter())
