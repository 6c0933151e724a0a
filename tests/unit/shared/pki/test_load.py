"""load() against files made by the real openssl, keytool and java."""

from __future__ import annotations

import base64

import pytest

from certmgr.shared.errors import UnsupportedFormatError, WrongPasswordError
from certmgr.shared.pki import (
    SOURCE_FORMATS,
    LoadedBundle,
    ensure_key_matches,
    find_leaves,
    load,
    public_key_der,
    sha256_fingerprint,
)
from tests.factories.openssl_files import KEY_PASS, P12_PASS, PEM_PASS, STORE_PASS, PkiFiles

P12 = P12_PASS.encode()
STORE = STORE_PASS.encode()
KEY = KEY_PASS.encode()
PEMPW = PEM_PASS.encode()


def _leaf(bundle: LoadedBundle) -> str:
    leaves = find_leaves(bundle.certificates)
    assert len(leaves) == 1
    return sha256_fingerprint(leaves[0])


# file, password, key password, expected format, leaf name, certificate count, key name (or None)
CERT_FILES = [
    ("leaf-ec.pem", None, None, "pem", "leaf-ec", 1, None),
    ("fullchain-ec.pem", None, None, "pem", "leaf-ec", 3, None),
    ("fullchain-shuffled.pem", None, None, "pem", "leaf-ec", 3, None),
    ("fullchain-crlf.pem", None, None, "pem", "leaf-ec", 3, None),
    ("bag-attributes.pem", None, None, "pem", "leaf-ec", 3, "leaf-ec"),
    ("root-trusted.pem", None, None, "pem", "root", 1, None),
    ("genkey.pem", None, None, "pem", "genkey", 1, None),
    ("leaf-ec.der", None, None, "der", "leaf-ec", 1, None),
    ("chain.p7b", None, None, "pkcs7-pem", "leaf-ec", 3, None),
    ("chain.p7c", None, None, "pkcs7-der", "leaf-ec", 3, None),
    ("leaf-ec.p12", P12, None, "pkcs12", "leaf-ec", 3, "leaf-ec"),
    ("leaf-rsa.p12", P12, None, "pkcs12", "leaf-rsa", 3, "leaf-rsa"),
    ("leaf-rsa-legacy.p12", P12, None, "pkcs12", "leaf-rsa", 3, "leaf-rsa"),
    ("leaf-ec-nopass.p12", None, None, "pkcs12", "leaf-ec", 3, "leaf-ec"),
    ("leaf-ec-nopass.p12", b"", None, "pkcs12", "leaf-ec", 3, "leaf-ec"),
    ("certs-only.p12", P12, None, "pkcs12", "leaf-ec", 3, None),
    ("keystore.jks", STORE, KEY, "jks", "leaf-rsa", 3, "leaf-rsa"),
    ("keystore.jceks", STORE, KEY, "jceks", "leaf-ec", 3, "leaf-ec"),
    ("keystore-keytool.p12", STORE, None, "pkcs12", "leaf-ec", 3, "leaf-ec"),
    ("genkey.jks", STORE, None, "jks", "genkey", 1, None),
    ("twopass.p12", STORE, KEY, "pkcs12", "leaf-rsa", 3, "leaf-rsa"),
]


@pytest.mark.parametrize(
    ("file", "password", "key_password", "fmt", "leaf", "count", "key"), CERT_FILES
)
def test_certificate_files(
    pki_files: PkiFiles,
    file: str,
    password: bytes | None,
    key_password: bytes | None,
    fmt: str,
    leaf: str,
    count: int,
    key: str | None,
) -> None:
    bundle = load(pki_files.read(file), password=password, key_password=key_password, name=file)
    assert bundle.source_format == fmt
    assert fmt in SOURCE_FORMATS
    assert len(bundle.certificates) == count
    assert _leaf(bundle) == pki_files.fingerprints[leaf]
    leaf_cert = find_leaves(bundle.certificates)[0]
    if key is not None:
        assert [public_key_der(k) for k in bundle.keys] == [pki_files.public_keys[key]]
        ensure_key_matches(bundle.keys[0], leaf_cert)
        assert bundle.key_for(leaf_cert) is bundle.keys[0]
    elif file == "genkey.jks":
        ensure_key_matches(bundle.keys[0], leaf_cert)  # made by keytool: no openssl key to compare


def test_file_order_is_kept(pki_files: PkiFiles) -> None:
    shuffled = load(pki_files.read("fullchain-shuffled.pem"))
    fps = [sha256_fingerprint(c) for c in shuffled.certificates]
    assert fps == [pki_files.fingerprints[n] for n in ("root", "int", "leaf-ec")]


def test_repeated_certificates_are_dropped(pki_files: PkiFiles) -> None:
    data = (
        pki_files.read("leaf-ec.pem")
        + pki_files.read("fullchain-ec.pem")
        + pki_files.read("leaf-ec.pem")
    )
    assert len(load(data).certificates) == 3


KEY_FILES = [
    ("leaf-ec.key", None, "leaf-ec"),
    ("leaf-ec-trad.key", None, "leaf-ec"),
    ("leaf-rsa.key", None, "leaf-rsa"),
    ("leaf-rsa-trad.key", None, "leaf-rsa"),
    ("leaf-rsa-des3.key", PEMPW, "leaf-rsa"),
    ("leaf-ec-aes.key", PEMPW, "leaf-ec"),
    ("leaf-ec-enc.key", PEMPW, "leaf-ec"),
    ("leaf-rsa-key.der", None, "leaf-rsa"),
    ("leaf-rsa-trad-key.der", None, "leaf-rsa"),
    ("leaf-rsa-enc-key.der", PEMPW, "leaf-rsa"),
    ("ecparam-key.pem", None, "ecparam"),
]


@pytest.mark.parametrize(("file", "password", "key"), KEY_FILES)
def test_key_files(pki_files: PkiFiles, file: str, password: bytes | None, key: str) -> None:
    bundle = load(pki_files.read(file), password=password, name=file)
    assert bundle.certificates == ()
    assert [public_key_der(k) for k in bundle.keys] == [pki_files.public_keys[key]]


def test_key_password_is_used_for_pem_keys(pki_files: PkiFiles) -> None:
    bundle = load(pki_files.read("leaf-ec-enc.key"), password=b"store", key_password=PEMPW)
    assert public_key_der(bundle.keys[0]) == pki_files.public_keys["leaf-ec"]


def test_mixed_pem_blocks(pki_files: PkiFiles) -> None:
    data = b"\n".join(
        [
            pki_files.read("leaf-ec.csr"),
            pki_files.read("ecparam-key.pem").split(b"-----BEGIN EC PRIVATE KEY")[0],
            pki_files.read("leaf-ec.pem"),
            pki_files.read("leaf-ec-enc.key"),
            pki_files.read("chain.p7b"),
            b"-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n",
            b"-----BEGIN DH PARAMETERS-----\nMAA=\n-----END DH PARAMETERS-----\n",
        ]
    )
    bundle = load(data, password=PEMPW)
    assert bundle.source_format == "pem"
    assert len(bundle.certificates) == 3
    assert _leaf(bundle) == pki_files.fingerprints["leaf-ec"]
    assert public_key_der(bundle.keys[0]) == pki_files.public_keys["leaf-ec"]


def test_x509_certificate_label_and_noise(pki_files: PkiFiles) -> None:
    data = pki_files.read("leaf-ec.pem").replace(b" CERTIFICATE-----", b" X509 CERTIFICATE-----")
    bundle = load(b"Subject: leaf\r\n\r\n" + data + b"\r\nthanks\r\n")
    assert sha256_fingerprint(bundle.certificates[0]) == pki_files.fingerprints["leaf-ec"]


def test_pem_with_escaped_newlines(pki_files: PkiFiles) -> None:
    json_style = pki_files.read("leaf-ec.pem").replace(b"\n", b"\\n")
    bundle = load(b'{"cert": "' + json_style + b'"}')
    assert sha256_fingerprint(bundle.certificates[0]) == pki_files.fingerprints["leaf-ec"]


def test_byte_order_marks(pki_files: PkiFiles) -> None:
    text = pki_files.read("leaf-ec.pem")
    for data in (b"\xef\xbb\xbf" + text, text.decode().encode("utf-16")):
        assert sha256_fingerprint(load(data).certificates[0]) == pki_files.fingerprints["leaf-ec"]


def test_base64_without_header_lines(pki_files: PkiFiles) -> None:
    data = base64.encodebytes(pki_files.read("leaf-ec.der"))
    bundle = load(data)
    assert bundle.source_format == "der"
    assert sha256_fingerprint(bundle.certificates[0]) == pki_files.fingerprints["leaf-ec"]


def test_keystore_entries(pki_files: PkiFiles) -> None:
    jks = load(pki_files.read("keystore.jks"), password=STORE, key_password=KEY)
    entries = {e.alias: e for e in jks.entries}
    assert set(entries) == {"leaf-rsa", "test-root"}
    assert entries["test-root"].key is None
    assert [sha256_fingerprint(c) for c in entries["test-root"].chain] == [
        pki_files.fingerprints["root"]
    ]
    assert [sha256_fingerprint(c) for c in entries["leaf-rsa"].chain] == [
        pki_files.fingerprints[n] for n in ("leaf-rsa", "int", "root")
    ]
    p12 = load(pki_files.read("twopass.p12"), password=STORE, key_password=KEY)
    assert [(e.alias, e.key is not None, len(e.chain)) for e in p12.entries] == [
        ("leaf-rsa", True, 3),
        ("second-root", False, 1),
    ]
    only_certs = load(pki_files.read("certs-only.p12"), password=P12)
    assert all(e.key is None for e in only_certs.entries)
    assert len(only_certs.entries) == 3


def test_pem_bundle_has_no_entries(pki_files: PkiFiles) -> None:
    assert load(pki_files.read("bag-attributes.pem")).entries == ()


def test_keys_stay_out_of_repr(pki_files: PkiFiles) -> None:
    bundle = load(pki_files.read("keystore.jks"), password=STORE, key_password=KEY)
    text = repr(bundle)
    assert "keys=" not in text
    assert "key=" not in text
    assert "PrivateKey" not in text
    assert STORE_PASS not in text
    assert "test-root" in text


def test_jks_needs_the_key_password(pki_files: PkiFiles) -> None:
    with pytest.raises(WrongPasswordError, match="wrong passphrase for keystore.jks"):
        load(pki_files.read("keystore.jks"), password=STORE, name="keystore.jks")


def test_p12_with_own_key_password(pki_files: PkiFiles) -> None:
    with pytest.raises(WrongPasswordError, match="needs its own passphrase"):
        load(pki_files.read("twopass.p12"), password=STORE, name="twopass.p12")
    with pytest.raises(WrongPasswordError, match="wrong passphrase for twopass.p12"):
        load(pki_files.read("twopass.p12"), password=KEY, key_password=KEY, name="twopass.p12")


def test_csr_alone_is_named(pki_files: PkiFiles) -> None:
    for file in ("leaf-ec.csr", "leaf-ec-csr.der"):
        with pytest.raises(
            UnsupportedFormatError,
            match=f"^{file} is a certificate signing request, not a certificate$",
        ):
            load(pki_files.read(file), name=file)


def _to_ber(der: bytes) -> bytes:
    """The same structure with an indefinite-length outer SEQUENCE (as some Windows tools write)."""
    header = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    return b"\x30\x80" + der[header:] + b"\x00\x00"


def test_ber_encoded_pkcs7_and_pkcs12(pki_files: PkiFiles) -> None:
    with pytest.warns(UserWarning, match="BER"):
        p7 = load(_to_ber(pki_files.read("chain.p7c")))
    assert p7.source_format == "pkcs7-der"
    assert _leaf(p7) == pki_files.fingerprints["leaf-ec"]
    with pytest.warns(UserWarning, match="BER"):
        p12 = load(_to_ber(pki_files.read("leaf-ec.p12")), password=P12)
    assert _leaf(p12) == pki_files.fingerprints["leaf-ec"]
    with pytest.raises(UnsupportedFormatError, match="BER-encoded data"):
        load(_to_ber(pki_files.read("leaf-ec.der")))
