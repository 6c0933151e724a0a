"""LIKE patterns from user text, checked against SQLite's own LIKE."""

from __future__ import annotations

import sqlite3

import pytest

from certmgr.controller.db.queries._like import LIKE_ESCAPE, contains, numbered_copies, prefix


@pytest.mark.parametrize(
    ("pattern", "value", "hit"),
    [
        (contains("50%"), "a 50% cut", True),
        (contains("50%"), "a 500 cut", False),
        (contains("a_b"), "xa_by", True),
        (contains("a_b"), "xacby", False),
        (contains("c:\\x"), "c:\\x\\y", True),
        (prefix("web_"), "web_1", True),
        (prefix("web_"), "webx1", False),
        (numbered_copies("shop (eu)"), "shop (eu) (2)", True),
        (numbered_copies("shop_eu"), "shopXeu (2)", False),
    ],
)
def test_patterns_take_user_text_literally(pattern: str, value: str, hit: bool) -> None:
    with sqlite3.connect(":memory:") as db:
        row = db.execute(f"SELECT ? LIKE ? ESCAPE '{LIKE_ESCAPE}'", (value, pattern)).fetchone()
    assert bool(row[0]) is hit
