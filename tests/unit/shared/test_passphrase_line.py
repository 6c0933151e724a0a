"""A passphrase file's first line, read as it was meant, whichever editor saved it."""

from __future__ import annotations

import pytest

from certmgr.shared.text import passphrase_line

WORD = "pässwört 2026"  # a space and non-ASCII letters are part of it


@pytest.mark.parametrize(
    ("saved_as", "data"),
    [
        pytest.param("plain", f"{WORD}\n".encode(), id="plain"),
        pytest.param("no line end", WORD.encode(), id="no-line-end"),
        pytest.param("CRLF", f"{WORD}\r\nsecond line\r\n".encode(), id="crlf"),
        pytest.param("Notepad", b"\xef\xbb\xbf" + f"{WORD}\r\n".encode(), id="utf8-bom"),
        pytest.param("PowerShell 5 Out-File", f"{WORD}\r\n".encode("utf-16"), id="utf16le"),
        pytest.param("UTF-16BE", b"\xfe\xff" + f"{WORD}\r\n".encode("utf-16-be"), id="utf16be"),
    ],
)
def test_the_first_line_without_its_end_or_byte_order_mark(saved_as: str, data: bytes) -> None:
    assert passphrase_line(data) == WORD.encode(), saved_as


def test_spaces_stay_and_odd_bytes_after_a_utf16_mark_are_kept_as_they_are() -> None:
    assert passphrase_line(b"  pw  \n") == b"  pw  "
    assert passphrase_line(b"\xff\xfeA") == b"\xff\xfeA"  # an odd length is not UTF-16 text
    assert passphrase_line(b"") == b""
