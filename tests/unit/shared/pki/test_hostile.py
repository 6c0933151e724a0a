"""Wrong, damaged and hostile input: clear certmgr errors, quickly, and nothing else escapes."""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import os
import struct
import time
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certmgr.shared.errors import (
    CertmgrError,
    InputTooLargeError,
    KeyMismatchError,
    UnsupportedFormatError,
    WrongPasswordError,
)
from certmgr.shared.pki import _der, ensure_key_matches, load
from tests.factories.openssl_files import KEY_PASS, P12_PASS, PEM_PASS, STORE_PASS, PkiFiles

P12 = P12_PASS.encode()
STORE = STORE_PASS.encode()


def _pem(label: str, der: bytes) -> bytes:
    return (
        f"-----BEGIN {label}-----\n".encode()
        + base64.encodebytes(der)
        + f"-----END {label}-----\n".encode()
    )


def _rewrite_ints(data: bytes, old: int, new: int) -> bytes:
    """Re-encode a DER tree with every INTEGER ``old`` set to ``new`` (also inside DER-bearing OCTET STRINGs)."""
    out = b""
    pos = 0
    while pos < len(data):
        tlv = _der.read_tlv(data, pos)
        body = data[tlv.content_start : tlv.end]
        if tlv.tag & 0x20:
            body = _rewrite_ints(body, old, new)
        elif tlv.tag == _der.INTEGER and int.from_bytes(body, "big", signed=True) == old:
            body = new.to_bytes((new.bit_length() + 8) // 8, "big")
        elif tlv.tag == _der.OCTET_STRING and body[:1] == b"\x30":
            with contextlib.suppress(_der.DerError):
                body = _rewrite_ints(body, old, new)
        out += _der.encode(tlv.tag, body)
        pos = tlv.end
    return out


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "^x is empty$"),
        (b" \r\n\t\n", "^x is empty$"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "gzip"),
        (b"%PDF-1.7\n%\xe2\xe3", "PDF"),
        (b"<!DOCTYPE html><html><body>Login</body></html>", "HTML"),
        (b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI user@host\n", "SSH public key"),
        (b"hello, this is just text\n", "not a recognised certificate, key or keystore format"),
        (b"\x30\x84\x80\x00\x00\x00" + b"\x00" * 64, "truncated or corrupt"),
        (b"\x30\x88" + b"\xff" * 8 + b"\x00" * 64, "truncated or corrupt"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "END line is missing"),
        (b"-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n", "only a public key"),
        (
            b"-----BEGIN FOO BAR-----\nMAA=\n-----END FOO BAR-----\n",
            r"no certificate or private key \(PEM blocks: FOO BAR\)",
        ),
        (
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nMAA=\n-----END OPENSSH PRIVATE KEY-----\n",
            "ssh-keygen",
        ),
    ],
)
def test_named_wrong_inputs(data: bytes, message: str) -> None:
    with pytest.raises(UnsupportedFormatError, match=message):
        load(data, name="x")


def test_random_bytes() -> None:
    data = bytes(range(1, 256)) * 4
    with pytest.raises(
        UnsupportedFormatError, match="not a recognised certificate, key or keystore format"
    ):
        load(data, name="blob.bin")


def test_zip_renamed_pem(pki_files: PkiFiles) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("cert.pem", pki_files.read("leaf-ec.pem"))
    with pytest.raises(
        UnsupportedFormatError, match="^cert.pem is not a certificate: the file is a ZIP archive"
    ):
        load(buf.getvalue(), name="cert.pem")
    with pytest.raises(UnsupportedFormatError, match="gzip"):
        load(gzip.compress(pki_files.read("leaf-ec.pem")), name="cert.pem.gz")


def test_truncated_der(pki_files: PkiFiles) -> None:
    der = pki_files.read("leaf-ec.der")
    for cut in (10, len(der) // 2, len(der) - 1):
        with pytest.raises(UnsupportedFormatError, match="truncated"):
            load(der[:cut], name="leaf.der")
    with pytest.raises(UnsupportedFormatError, match="unexpected bytes after"):
        load(der + b"garbage", name="leaf.der")


def test_unknown_x509_version(pki_files: PkiFiles) -> None:
    # cryptography raises InvalidVersion (not a ValueError) for versions other than 1 and 3
    der = pki_files.read("leaf-ec.der")
    v3 = b"\xa0\x03\x02\x01\x02"
    bad = der.replace(v3, v3[:-1] + b"\x39", 1)
    assert bad != der
    with pytest.raises(UnsupportedFormatError, match="not a valid X509 version"):
        load(bad, name="leaf.der")
    pem = (
        b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bad) + b"-----END CERTIFICATE-----\n"
    )
    with pytest.raises(UnsupportedFormatError, match="not a valid X509 version"):
        load(pem, name="leaf.pem")


def test_corrupt_base64(pki_files: PkiFiles) -> None:
    text = pki_files.read("leaf-ec.pem")
    lines = text.split(b"\n")
    lines[3] = lines[3][:10] + b"%$!" + lines[3][13:]
    with pytest.raises(UnsupportedFormatError, match=r"has a corrupt PEM block \(CERTIFICATE #1\)"):
        load(b"\n".join(lines), name="leaf.pem")
    short = text.replace(text.split(b"\n")[2], text.split(b"\n")[2][:-3])
    # Dropping characters gives bad base64 or, when the length still works out, truncated DER.
    with pytest.raises(UnsupportedFormatError, match="corrupt"):
        load(short, name="leaf.pem")


def test_pem_with_truncated_der(pki_files: PkiFiles) -> None:
    with pytest.raises(UnsupportedFormatError, match="truncated or corrupt"):
        load(_pem("CERTIFICATE", pki_files.read("leaf-ec.der")[:200]))


def test_huge_file_is_refused_quickly() -> None:
    data = os.urandom(20 * 1024 * 1024)
    start = time.monotonic()
    with pytest.raises(InputTooLargeError):
        load(data, name="big.bin")
    assert time.monotonic() - start < 0.5


def test_nesting_bomb() -> None:
    nested = b""
    for _ in range(5000):
        nested = _der.encode(_der.SEQUENCE, nested)
    start = time.monotonic()
    for data in (
        nested,
        _pem("CERTIFICATE", nested),
        _pem("PKCS7", nested),
        _pem("PRIVATE KEY", nested),
    ):
        with pytest.raises(UnsupportedFormatError):
            load(data)
    assert time.monotonic() - start < 2


def test_too_many_blocks_and_certificates(pki_files: PkiFiles) -> None:
    with pytest.raises(InputTooLargeError, match="more than 1000 certificates"):
        load(pki_files.read("leaf-ec.pem") * 1001)
    with pytest.raises(InputTooLargeError, match="PEM blocks"):
        load(b"-----BEGIN X-----\nMAA=\n-----END X-----\n" * 2001)
    start = time.monotonic()
    with pytest.raises(UnsupportedFormatError, match="END line is missing"):
        load(b"-----BEGIN CERTIFICATE-----\n" * 500_000)
    assert time.monotonic() - start < 2


def test_absurd_iteration_counts_are_refused_before_work(pki_files: PkiFiles) -> None:
    p12 = _rewrite_ints(pki_files.read("leaf-ec.p12"), 2048, 2**31 - 1)
    enc_der = base64.b64decode(b"".join(pki_files.read("leaf-ec-enc.key").splitlines()[1:-1]))
    enc_key = _pem("ENCRYPTED PRIVATE KEY", _rewrite_ints(enc_der, 2048, 2**31 - 1))
    start = time.monotonic()
    with pytest.raises(InputTooLargeError, match="iterations"):
        load(p12, password=P12, name="bomb.p12")
    with pytest.raises(InputTooLargeError, match="iterations"):
        load(enc_key, password=PEM_PASS.encode(), name="bomb.key")
    assert time.monotonic() - start < 1


@pytest.mark.parametrize(
    ("file", "password", "message"),
    [
        ("leaf-ec.p12", b"wrong", "^wrong passphrase for f$"),
        ("leaf-ec.p12", None, "^f is encrypted: a passphrase is needed$"),
        ("leaf-rsa-legacy.p12", b"wrong", "^wrong passphrase for f$"),
        ("certs-only.p12", b"wrong", "^wrong passphrase for f$"),
        ("keystore.jks", b"wrong", "^wrong passphrase for f"),
        ("keystore.jceks", b"wrong", "^wrong passphrase for f"),
        ("genkey.jks", None, "^f is encrypted: a passphrase is needed$"),
        ("leaf-ec-enc.key", b"wrong", "^wrong passphrase for f$"),
        ("leaf-ec-enc.key", None, "^f is encrypted: a passphrase is needed$"),
        ("leaf-rsa-des3.key", b"wrong", "^wrong passphrase for f$"),
        ("leaf-rsa-des3.key", None, "^f is encrypted: a passphrase is needed$"),
        ("leaf-ec-aes.key", b"wrong", "^wrong passphrase for f$"),
        ("leaf-rsa-enc-key.der", b"wrong", "^wrong passphrase for f$"),
    ],
)
def test_wrong_passwords(
    pki_files: PkiFiles, file: str, password: bytes | None, message: str
) -> None:
    with pytest.raises(WrongPasswordError, match=message) as info:
        load(pki_files.read(file), password=password, name="f")
    assert "wrong" not in str(info.value).replace("wrong passphrase", "")
    for secret in (P12_PASS, STORE_PASS, KEY_PASS, PEM_PASS):
        assert secret not in str(info.value)


def test_jks_corrupted_byte(pki_files: PkiFiles) -> None:
    data = bytearray(pki_files.read("genkey.jks"))
    data[-60] ^= 0x01  # inside the certificate's signature: still parses, integrity check fails
    with pytest.raises(
        UnsupportedFormatError, match="integrity check failed although the password is right"
    ):
        load(bytes(data), password=STORE, name="g.jks")
    other = bytearray(pki_files.read("keystore.jks"))
    other[-60] ^= 0x01  # key password differs: the store password cannot prove itself
    with pytest.raises(WrongPasswordError, match="integrity check failed"):
        load(bytes(other), password=STORE, key_password=KEY_PASS.encode(), name="k.jks")


def test_jks_structure_attacks(pki_files: PkiFiles) -> None:
    good = pki_files.read("genkey.jks")
    start = time.monotonic()
    huge_count = good[:8] + struct.pack(">I", 2**31) + good[12:]
    with pytest.raises(InputTooLargeError, match="claims 2147483648 entries"):
        load(huge_count, password=STORE)
    more = good[:8] + struct.pack(">I", 5) + good[12:]
    with pytest.raises(UnsupportedFormatError, match="corrupt Java keystore"):
        load(more, password=STORE)
    alias = b"x"
    fake = (
        struct.pack(">III", 0xFEEDFEED, 2, 1) + struct.pack(">I", 2) + struct.pack(">H", 1) + alias
    )
    fake += (
        struct.pack(">Q", 0)
        + struct.pack(">H", 5)
        + b"X.509"
        + struct.pack(">I", 2**31)
        + b"\x30" * 10
    )
    with pytest.raises(UnsupportedFormatError, match="runs past the end"):
        load(fake + b"\x00" * 20, name="fake.jks")
    with pytest.raises(UnsupportedFormatError, match="truncated"):
        load(good[:20], password=STORE)
    with pytest.raises(UnsupportedFormatError, match="unknown version 7"):
        load(good[:4] + struct.pack(">I", 7) + good[8:], password=STORE)
    assert time.monotonic() - start < 1


def test_key_not_matching_certificate(pki_files: PkiFiles) -> None:
    key = load(pki_files.read("leaf-rsa.key")).keys[0]
    cert = load(pki_files.read("leaf-ec.pem")).certificates[0]
    with pytest.raises(KeyMismatchError, match="CN=leaf-ec.example.test"):
        ensure_key_matches(key, cert)


FUZZ_FILES = [
    ("leaf-ec.pem", None),
    ("leaf-ec.der", None),
    ("chain.p7c", None),
    ("chain.p7b", None),
    ("bag-attributes.pem", None),
    ("leaf-ec-enc.key", PEM_PASS.encode()),
    ("leaf-rsa-des3.key", PEM_PASS.encode()),
    ("leaf-ec.p12", P12),
    ("leaf-rsa-legacy.p12", P12),
    ("twopass.p12", STORE),
    ("genkey.jks", STORE),
]


@pytest.fixture(scope="module")
def corpus(pki_files: PkiFiles) -> list[tuple[bytes, bytes | None]]:
    return [(pki_files.read(f), pw) for f, pw in FUZZ_FILES]


def _only_certmgr_errors(data: bytes, password: bytes | None) -> None:
    with contextlib.suppress(CertmgrError):
        load(data, password=password, key_password=KEY_PASS.encode(), name="fuzz")


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.data())
def test_fuzz_mutated_files(corpus: list[tuple[bytes, bytes | None]], data: st.DataObject) -> None:
    base, password = data.draw(st.sampled_from(corpus))
    mutated = bytearray(base)
    for _ in range(data.draw(st.integers(1, 6))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(mutated))))
    _only_certmgr_errors(bytes(mutated[:cut]), password)


@settings(max_examples=100, deadline=None, database=None)
@given(
    st.sampled_from(
        [
            b"",
            b"\x30",
            b"\x30\x82",
            b"\xfe\xed\xfe\xed",
            b"\xce\xce\xce\xce",
            b"-----BEGIN CERTIFICATE-----\n",
        ]
    ),
    st.binary(max_size=600),
)
def test_fuzz_random_bytes(prefix: bytes, tail: bytes) -> None:
    _only_certmgr_errors(prefix + tail, b"pw")
