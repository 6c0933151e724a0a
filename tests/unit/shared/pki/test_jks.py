"""JKS/JCEKS reading (keytool-made files) and JKS writing (checked with keytool itself)."""

from __future__ import annotations

import datetime as dt
import re
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from certmgr.shared.errors import (
    KeyMismatchError,
    UnsupportedFormatError,
    ValidationError,
    WrongPasswordError,
)
from certmgr.shared.pki import (
    KeystoreEntry,
    _der,
    decode_keystore,
    encode_jks,
    is_java_keystore,
    jks_bytes,
    load,
    public_key_der,
    sha256_fingerprint,
)
from certmgr.shared.pki.jks import (
    _cert_bytes,
    _jce_key_and_iv,
    _modified_utf8,
    _store_digest,
    java_password,
)
from certmgr.shared.pki.keys import private_key_to_pkcs8_der
from tests.conftest import require_tool
from tests.factories.openssl_files import (
    KEY_PASS,
    P12_PASS,
    STORE_PASS,
    PkiFiles,
    normalize_fp,
    run,
)

STORE = STORE_PASS.encode()
KEY = KEY_PASS.encode()


def _entries(pki_files: PkiFiles) -> list[KeystoreEntry]:
    ec = load(pki_files.read("leaf-ec.p12"), password=P12_PASS.encode()).entries[0]
    rsa = load(pki_files.read("leaf-rsa.p12"), password=P12_PASS.encode()).entries[0]
    root = load(pki_files.read("root.pem")).certificates[0]
    return [
        KeystoreEntry("Web-EC", ec.key, ec.chain),
        KeystoreEntry("web-rsa", rsa.key, rsa.chain),
        KeystoreEntry("Test Root", None, (root,)),
    ]


@pytest.fixture(scope="module")
def our_jks(pki_files: PkiFiles, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("jks") / "ours.jks"
    path.write_bytes(encode_jks(_entries(pki_files), b"our-store", b"our-key-pw"))
    return path


def test_magic() -> None:
    assert is_java_keystore(b"\xfe\xed\xfe\xed\x00")
    assert is_java_keystore(b"\xce\xce\xce\xce\x00")
    assert not is_java_keystore(b"\x30\x82")


def test_decode_keytool_jks(pki_files: PkiFiles) -> None:
    kind, entries = decode_keystore(pki_files.read("keystore.jks"), STORE, KEY)
    assert kind == "jks"
    by_alias = {e.alias: e for e in entries}
    assert public_key_der(by_alias["leaf-rsa"].key) == pki_files.public_keys["leaf-rsa"]  # type: ignore[arg-type]
    assert sha256_fingerprint(by_alias["test-root"].chain[0]) == pki_files.fingerprints["root"]


def test_decode_keytool_jceks(pki_files: PkiFiles) -> None:
    kind, entries = decode_keystore(pki_files.read("keystore.jceks"), STORE, KEY)
    assert kind == "jceks"
    assert public_key_der(entries[0].key) == pki_files.public_keys["leaf-ec"]  # type: ignore[arg-type]


def test_without_store_password_only_certificates_load(pki_files: PkiFiles) -> None:
    with pytest.raises(WrongPasswordError, match="is encrypted: a passphrase is needed"):
        decode_keystore(pki_files.read("keystore.jks"), None)
    _, entries = decode_keystore(pki_files.read("keystore.jks"), None, KEY)  # integrity unchecked
    assert len(entries) == 2


def test_wrong_store_password(pki_files: PkiFiles) -> None:
    with pytest.raises(WrongPasswordError, match=r"^wrong passphrase for x\.jks"):
        decode_keystore(pki_files.read("keystore.jks"), b"nope", KEY, name="x.jks")


def test_round_trip(pki_files: PkiFiles, our_jks: Path) -> None:
    kind, entries = decode_keystore(our_jks.read_bytes(), b"our-store", b"our-key-pw")
    assert kind == "jks"
    original = _entries(pki_files)
    assert [e.alias for e in entries] == ["web-ec", "web-rsa", "test root"]  # lower-cased like Java
    for got, want in zip(entries, original, strict=True):
        assert [sha256_fingerprint(c) for c in got.chain] == [
            sha256_fingerprint(c) for c in want.chain
        ]
        assert (got.key is None) == (want.key is None)
        if got.key is not None and want.key is not None:
            assert public_key_der(got.key) == public_key_der(want.key)


def test_keytool_lists_our_jks(pki_files: PkiFiles, our_jks: Path) -> None:
    keytool = require_tool("keytool")
    out = run(
        [
            keytool,
            "-list",
            "-v",
            "-keystore",
            our_jks,
            "-storetype",
            "JKS",
            "-storepass",
            "our-store",
        ],
        our_jks.parent,
    )
    text = out.decode()
    assert "Your keystore contains 3 entries" in text
    assert re.findall(r"Alias name: (.+)", text) == ["web-ec", "web-rsa", "test root"] or sorted(
        re.findall(r"Alias name: (.+)", text)
    ) == ["test root", "web-ec", "web-rsa"]
    assert text.count("Entry type: PrivateKeyEntry") == 2
    assert text.count("Entry type: trustedCertEntry") == 1
    assert text.count("Certificate chain length: 3") == 2
    fps = {normalize_fp(line) for line in re.findall(r"SHA256: [0-9A-F:]+", text)}
    assert {pki_files.fingerprints[n] for n in ("leaf-ec", "leaf-rsa", "int", "root")} <= fps


def test_keytool_converts_and_exports_our_jks(pki_files: PkiFiles, our_jks: Path) -> None:
    keytool = require_tool("keytool")
    fast = ["-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"]
    d = our_jks.parent
    run([keytool, *fast, "-importkeystore", "-noprompt", "-srckeystore", our_jks, "-srcstoretype", "JKS",
         "-srcstorepass", "our-store", "-srckeypass", "our-key-pw", "-srcalias", "web-ec",
         "-destkeystore", d / "one.p12", "-deststoretype", "PKCS12", "-deststorepass", "p12-out"], d)  # fmt: skip
    run([keytool, *fast, "-exportcert", "-rfc", "-alias", "web-rsa", "-keystore", our_jks, "-storetype", "JKS",
         "-storepass", "our-store", "-file", d / "web-rsa.pem"], d)  # fmt: skip
    p12 = load((d / "one.p12").read_bytes(), password=b"p12-out")
    assert p12.entries[0].alias == "web-ec"
    assert public_key_der(p12.keys[0]) == pki_files.public_keys["leaf-ec"]
    assert [sha256_fingerprint(c) for c in p12.entries[0].chain] == [
        pki_files.fingerprints[n] for n in ("leaf-ec", "int", "root")
    ]
    exported = load((d / "web-rsa.pem").read_bytes())
    assert sha256_fingerprint(exported.certificates[0]) == pki_files.fingerprints["leaf-rsa"]


def test_keytool_pkcs12_with_several_keys(pki_files: PkiFiles, tmp_path: Path) -> None:
    """A whole-store conversion gives a PKCS#12 with two keys (cryptography alone returns one)."""
    keytool = require_tool("keytool")
    (tmp_path / "same.jks").write_bytes(
        encode_jks(_entries(pki_files), b"same-pass")
    )  # key pw = store pw
    run([keytool, "-J-XX:TieredStopAtLevel=1", "-importkeystore", "-noprompt", "-srckeystore", "same.jks",
         "-srcstoretype", "JKS", "-srcstorepass", "same-pass", "-destkeystore", "all.p12",
         "-deststoretype", "PKCS12", "-deststorepass", "all-pass"], tmp_path)  # fmt: skip
    bundle = load((tmp_path / "all.p12").read_bytes(), password=b"all-pass")
    keys = {e.alias: e for e in bundle.entries if e.key is not None}
    assert set(keys) == {"web-ec", "web-rsa"}
    assert public_key_der(keys["web-rsa"].key) == pki_files.public_keys["leaf-rsa"]  # type: ignore[arg-type]
    assert [e.alias for e in bundle.entries if e.key is None] == ["test root"]


def test_jks_bytes_helper(pki_files: PkiFiles) -> None:
    entry = _entries(pki_files)[0]
    assert entry.key is not None
    data = jks_bytes(entry.key, entry.chain[0], entry.chain[1:], b"store-1", alias="tomcat")
    bundle = load(data, password=b"store-1")
    assert bundle.source_format == "jks"
    assert bundle.entries[0].alias == "tomcat"
    assert len(bundle.entries[0].chain) == 3


def test_alias_with_unusual_characters(pki_files: PkiFiles) -> None:
    root = load(pki_files.read("root.pem")).certificates[0]
    alias = "zürich \U0001d11e nul\x00end"
    data = encode_jks(
        [KeystoreEntry(alias, None, (root,))], b"pw", created=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    assert b"\xc0\x80" in data  # Java's modified UTF-8 for NUL
    assert b"\xed\xa0\xb4\xed\xb4\x9e" in data  # the clef as a CESU-8 surrogate pair
    assert decode_keystore(data, b"pw")[1][0].alias == alias


def test_writer_refusals(pki_files: PkiFiles) -> None:
    ec, rsa, root = _entries(pki_files)
    with pytest.raises(ValidationError):
        encode_jks([ec], b"")
    with pytest.raises(ValidationError):
        encode_jks([ec, KeystoreEntry("WEB-EC", rsa.key, rsa.chain)], b"pw")
    with pytest.raises(ValidationError):
        encode_jks([KeystoreEntry("x", None, (*root.chain, *root.chain))], b"pw")
    with pytest.raises(ValidationError):
        encode_jks([KeystoreEntry("x", ec.key, ())], b"pw")
    with pytest.raises(KeyMismatchError, match="leaf-rsa.example.test"):
        encode_jks([KeystoreEntry("x", ec.key, rsa.chain)], b"pw")


def test_java_password_encoding() -> None:
    assert java_password(b"ab") == b"\x00a\x00b"
    assert java_password("ü".encode()) == b"\x00\xfc"


def test_jceks_secret_key_entry_is_refused() -> None:
    alias = "aes"
    body = struct.pack(">III", 0xCECECECE, 2, 1) + struct.pack(">I", 3)
    body += (
        struct.pack(">H", len(alias))
        + alias.encode()
        + struct.pack(">Q", 0)
        + b"\xac\xed\x00\x05"
        + b"\x00" * 40
    )
    with pytest.raises(UnsupportedFormatError, match="secret-key entry"):
        decode_keystore(body + b"\x00" * 20, None, name="s.jceks")


def _jceks_with_equal_salt_halves(
    entry: KeystoreEntry, password: bytes, *, old_swap: bool = False
) -> bytes:
    """A JCEKS file whose key salt has two equal halves, which triggers Sun's salt-swap rule."""
    assert entry.key is not None
    salt, iterations = b"\x01\x02\x03\x04" * 2, 1000
    key, iv = _jce_key_and_iv(password, salt, iterations, old_swap=old_swap)
    plain = private_key_to_pkcs8_der(entry.key)
    pad = 8 - len(plain) % 8
    enc = Cipher(TripleDES(key), modes.CBC(iv)).encryptor()
    encrypted = enc.update(plain + bytes([pad]) * pad) + enc.finalize()
    params = _der.seq(_der.octets(salt), _der.integer(iterations))
    epki = _der.seq(_der.seq(_der.oid("1.3.6.1.4.1.42.2.19.1"), params), _der.octets(encrypted))
    body = (
        struct.pack(">IIII", 0xCECECECE, 2, 1, 1) + _modified_utf8("quirk") + struct.pack(">Q", 0)
    )
    body += struct.pack(">I", len(epki)) + epki + struct.pack(">I", len(entry.chain))
    body += b"".join(_cert_bytes(c) for c in entry.chain)
    return body + _store_digest(password, body)


def test_jce_equal_salt_halves_match_java(pki_files: PkiFiles, tmp_path: Path) -> None:
    """Java opens a key protected with our derivation for equal salt halves ([a,b,c,d] -> [d,c,b,a])."""
    entry = _entries(pki_files)[0]
    (tmp_path / "quirk.jceks").write_bytes(_jceks_with_equal_salt_halves(entry, b"quirk-pw"))
    keytool = require_tool("keytool")
    run([keytool, "-J-XX:TieredStopAtLevel=1", "-importkeystore", "-noprompt", "-srckeystore", "quirk.jceks",
         "-srcstoretype", "JCEKS", "-srcstorepass", "quirk-pw", "-destkeystore", "quirk.p12",
         "-deststoretype", "PKCS12", "-deststorepass", "quirk-out"], tmp_path)  # fmt: skip
    back = load((tmp_path / "quirk.p12").read_bytes(), password=b"quirk-out")
    assert public_key_der(back.keys[0]) == pki_files.public_keys["leaf-ec"]
    # Our reader opens both that and the old JCE typo variant ([a,b,c,d] -> [d,a,b,d]).
    for old_swap in (False, True):
        data = _jceks_with_equal_salt_halves(entry, b"quirk-pw", old_swap=old_swap)
        key = decode_keystore(data, b"quirk-pw")[1][0].key
        assert key is not None
        assert public_key_der(key) == pki_files.public_keys["leaf-ec"]
