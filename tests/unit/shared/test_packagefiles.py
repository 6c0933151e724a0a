"""Package file names are safe whatever a definition is called."""

from __future__ import annotations

import pytest

from certmgr.shared.errors import ValidationError
from certmgr.shared.packagefiles import Layout, is_secret, safe_stem


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("www.example.com", "www.example.com"),
        ("Web shop / EU", "Web_shop_EU"),
        ("../../etc/passwd", "etc_passwd"),
        ("x; rm -rf / #", "x_rm_-rf"),
        ("$(reboot)", "reboot"),
        ("...", "certificate"),
        ("ünïcode", "n_code"),
        ("a" * 300, "a" * 80),
        ("*.example.com", "wildcard.example.com"),
    ],
)
def test_safe_stem(name: str, stem: str) -> None:
    assert safe_stem(name) == stem


def test_layout_refuses_paths() -> None:
    for bad in ("", "../x", "a/b", ".hidden", "a b"):
        with pytest.raises(ValidationError):
            Layout(name=bad)
    with pytest.raises(ValidationError):
        Layout(name="ok", pkcs12="../ok.p12")
    assert Layout(name="ok", pkcs12="ok.p12").params()["pkcs12"] == "ok.p12"


def test_secret_files() -> None:
    assert is_secret("key.pem") and is_secret("x.p12") and is_secret("x.pfx")
    assert is_secret("x.jks")
    assert not is_secret("cert.pem") and not is_secret("fullchain.pem")


def test_the_longest_stem_still_names_every_file() -> None:
    stem = safe_stem("a-very-long-common-name." * 20)
    layout = Layout(name=stem, pkcs12=f"{stem}.pfx", jks=f"{stem}.jks")
    assert layout.params()["jks"] == f"{stem}.jks"
    assert len(f"certmgr-unpack-{stem}") <= 100
