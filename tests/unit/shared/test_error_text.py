"""The one-line form of a failure that background work logs."""

from __future__ import annotations

from certmgr.shared.text import error_text


def test_error_text_names_the_class_and_cuts_the_message() -> None:
    assert error_text(OSError("database gone")) == "OSError: database gone"
    assert error_text(ValueError("x" * 1000)) == "ValueError: " + "x" * 300
    assert error_text(RuntimeError()) == "RuntimeError: "
