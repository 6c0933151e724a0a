"""Java keystores: read JKS and JCEKS, write JKS (private-key and trusted-certificate entries)."""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from certmgr.shared.errors import (
    InputTooLargeError,
    KeyMismatchError,
    UnsupportedFormatError,
    ValidationError,
    WrongPasswordError,
)
from certmgr.shared.pki import _der
from certmgr.shared.pki._common import (
    MAX_CERTIFICATES,
    MAX_ENTRIES,
    PARSE_ERRORS,
    as_private_key,
    check_iterations,
    load_der_certificate,
    load_der_key,
)
from certmgr.shared.pki.keys import PrivateKey, ensure_key_matches, private_key_to_pkcs8_der

JKS_MAGIC = 0xFEEDFEED
JCEKS_MAGIC = 0xCECECECE
_SUN_JKS_OID = "1.3.6.1.4.1.42.2.17.1.1"  # sun.security.provider.KeyProtector
_SUN_JCE_OID = (
    "1.3.6.1.4.1.42.2.19.1"  # PBEWithMD5AndTripleDES (com.sun.crypto.provider.KeyProtector)
)
_WHITENER = b"Mighty Aphrodite"
_MAX_CHAIN = 100


@dataclass(frozen=True)
class KeystoreEntry:
    """One keystore entry: a private key with its chain, or (``key`` None) a trusted certificate."""

    alias: str
    key: PrivateKey | None = field(default=None, repr=False)
    chain: tuple[x509.Certificate, ...] = ()


def is_java_keystore(data: bytes) -> bool:
    """True when ``data`` starts with the JKS or JCEKS magic number."""
    return len(data) >= 4 and int.from_bytes(data[:4], "big") in (JKS_MAGIC, JCEKS_MAGIC)


def java_password(password: bytes) -> bytes:
    """A password as Java hashes it: its characters in UTF-16BE."""
    try:
        text = password.decode("utf-8")
    except UnicodeDecodeError:
        text = password.decode("latin-1")
    return text.encode("utf-16-be", "surrogatepass")


def _corrupt(name: str, what: str) -> UnsupportedFormatError:
    return UnsupportedFormatError(f"{name} is a corrupt Java keystore: {what}")


class _Reader:
    def __init__(self, data: bytes, end: int, name: str) -> None:
        self.data = data
        self.pos = 0
        self.end = end
        self.name = name

    def take(self, n: int) -> bytes:
        if n < 0 or n > self.end - self.pos:
            raise _corrupt(self.name, "a length runs past the end of the file")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack(">Q", self.take(8))[0])

    def utf(self) -> str:
        raw = self.take(self.u16()).replace(b"\xc0\x80", b"\x00")
        try:
            text = raw.decode("utf-8", "surrogatepass")
            # Java writes characters outside the BMP as two 3-byte surrogates (CESU-8): join them.
            return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        except UnicodeDecodeError as err:
            raise _corrupt(self.name, "an alias is not valid text") from err

    def cert(self, version: int) -> x509.Certificate:
        if version == 2:
            cert_type = self.utf()
            if cert_type != "X.509":
                raise UnsupportedFormatError(
                    f"{self.name} holds a {cert_type[:40]!r} certificate; only X.509 is supported"
                )
        return load_der_certificate(self.take(self.u32()), self.name)


@dataclass
class _RawEntry:
    alias: str
    protected_key: bytes | None
    chain: tuple[x509.Certificate, ...]


def decode_keystore(
    data: bytes,
    store_password: bytes | None,
    key_password: bytes | None = None,
    *,
    name: str = "keystore",
) -> tuple[str, tuple[KeystoreEntry, ...]]:
    """Read a JKS or JCEKS keystore.

    The store password checks the file's integrity; private keys are decrypted with
    ``key_password`` (tried first) and the store password. Without a store password the
    integrity is not checked (as ``keytool -list`` does), and only trusted certificates load.

    Args:
        data: The keystore file.
        store_password: The keystore password, or None.
        key_password: The private-key password when it differs from the store password.
        name: What to call the input in messages.

    Returns:
        ``("jks" | "jceks", entries)`` in file order.

    Raises:
        UnsupportedFormatError: Not a keystore, corrupt, or holding secret-key entries.
        WrongPasswordError: A password is missing or wrong.
        InputTooLargeError: Too many entries or certificates, or an absurd JCE iteration count.
        KeyMismatchError: An entry's key does not belong to its first certificate.
    """
    if not is_java_keystore(data):
        raise UnsupportedFormatError(f"{name} is not a Java keystore")
    if len(data) < 12 + 20:
        raise _corrupt(name, "the file is truncated")
    store_type = "jks" if int.from_bytes(data[:4], "big") == JKS_MAGIC else "jceks"
    raw = _parse(data, name, store_type)
    if store_password is not None and not hmac.compare_digest(
        _store_digest(store_password, data[:-20]), data[-20:]
    ):
        if any(
            r.protected_key and _try_unprotect(r.protected_key, store_password, name) for r in raw
        ):
            raise _corrupt(
                name,
                "the integrity check failed although the password is right (the file was altered)",
            )
        raise WrongPasswordError(
            f"wrong passphrase for {name} (or the keystore was altered: its integrity check failed)"
        )
    passwords = [p for p in dict.fromkeys((key_password, store_password)) if p is not None]
    entries: list[KeystoreEntry] = []
    for r in raw:
        if r.protected_key is None:
            entries.append(KeystoreEntry(r.alias, None, r.chain))
            continue
        if not passwords:
            raise WrongPasswordError(f"{name} is encrypted: a passphrase is needed")
        der = next(
            (d for p in passwords if (d := _try_unprotect(r.protected_key, p, name)) is not None),
            None,
        )
        if der is None:
            raise WrongPasswordError(
                f"wrong passphrase for {name}: the key of entry {r.alias!r} does not open"
            )
        key = load_der_key(der, f"{name} (entry {r.alias!r})")
        if r.chain:
            try:
                ensure_key_matches(key, r.chain[0])
            except KeyMismatchError as err:
                raise KeyMismatchError(f"{name}, entry {r.alias!r}: {err}") from None
        entries.append(KeystoreEntry(r.alias, key, r.chain))
    return store_type, tuple(entries)


def _parse(data: bytes, name: str, store_type: str) -> list[_RawEntry]:
    rd = _Reader(data, len(data) - 20, name)
    rd.take(4)
    version = rd.u32()
    if version not in (1, 2):
        raise UnsupportedFormatError(f"{name} is a Java keystore of unknown version {version}")
    count = rd.u32()
    if count > MAX_ENTRIES:
        raise InputTooLargeError(f"{name} claims {count} entries (at most {MAX_ENTRIES} are read)")
    out: list[_RawEntry] = []
    certs = 0
    for _ in range(count):
        tag = rd.u32()
        alias = rd.utf()
        rd.u64()  # creation date
        if tag == 1:
            protected = rd.take(rd.u32())
            n = rd.u32()
            if n > _MAX_CHAIN:
                raise InputTooLargeError(
                    f"{name}: entry {alias!r} claims a chain of {n} certificates"
                )
            chain = tuple(rd.cert(version) for _ in range(n))
            out.append(_RawEntry(alias, protected, chain))
        elif tag == 2:
            out.append(_RawEntry(alias, None, (rd.cert(version),)))
        elif tag == 3 and store_type == "jceks":
            raise UnsupportedFormatError(
                f"{name} holds a secret-key entry ({alias!r}); only private keys and certificates are supported"
            )
        else:
            raise _corrupt(name, f"unknown entry type {tag}")
        certs += len(out[-1].chain)
        if certs > MAX_CERTIFICATES:
            raise InputTooLargeError(f"{name} holds more than {MAX_CERTIFICATES} certificates")
    if rd.pos != rd.end:
        raise _corrupt(name, "unexpected bytes after the last entry")
    return out


def _try_unprotect(protected: bytes, password: bytes, name: str) -> bytes | None:
    """Decrypted PKCS#8 DER, or None when ``password`` is wrong."""
    try:
        top = _der.whole(protected, _der.SEQUENCE)
        alg, body = _der.child_list(protected, top, minimum=2)[:2]
        alg_items = _der.child_list(protected, alg, minimum=1)
        algorithm = _der.decode_oid(protected, alg_items[0])
        encrypted = _der.contents(
            protected, _der.expect(protected, body.start, body.end, _der.OCTET_STRING)
        )
        if algorithm == _SUN_JKS_OID:
            return _jks_unprotect(encrypted, password)
        if algorithm == _SUN_JCE_OID and len(alg_items) > 1:
            params = _der.child_list(protected, alg_items[1], minimum=2)
            salt = _der.expect(protected, params[0].start, params[0].end, _der.OCTET_STRING)
            iterations = _der.decode_int(protected, params[1])
            check_iterations(iterations, name)
            return _jce_unprotect(encrypted, password, _der.contents(protected, salt), iterations)
    except _der.DerError as err:
        raise _corrupt(name, "a protected private key is malformed") from err
    raise UnsupportedFormatError(
        f"{name} protects a private key with an unsupported algorithm ({algorithm})"
    )


def _jks_keystream(password: bytes, iv: bytes, length: int) -> bytes:
    out = bytearray()
    cur = iv
    while len(out) < length:
        cur = hashlib.sha1(password + cur, usedforsecurity=False).digest()
        out += cur
    return bytes(out[:length])


def _jks_unprotect(encrypted: bytes, password: bytes) -> bytes | None:
    if len(encrypted) < 41:
        raise _der.DerError("protected key too short")
    pw = java_password(password)
    iv, body, check = encrypted[:20], encrypted[20:-20], encrypted[-20:]
    plain = bytes(a ^ b for a, b in zip(body, _jks_keystream(pw, iv, len(body)), strict=True))
    if not hmac.compare_digest(hashlib.sha1(pw + plain, usedforsecurity=False).digest(), check):
        return None
    return plain


def _jks_protect(plain: bytes, password: bytes) -> bytes:
    pw = java_password(password)
    iv = os.urandom(20)
    body = bytes(a ^ b for a, b in zip(plain, _jks_keystream(pw, iv, len(plain)), strict=True))
    check = hashlib.sha1(pw + plain, usedforsecurity=False).digest()
    return _der.seq(_der.seq(_der.oid(_SUN_JKS_OID), _der.null()), _der.octets(iv + body + check))


def _jce_key_and_iv(
    password: bytes, salt: bytes, iterations: int, *, old_swap: bool = False
) -> tuple[bytes, bytes]:
    """Sun's PBEWithMD5AndTripleDES key derivation (JCEKS private keys): 3DES key and IV."""
    # Java's PBEKey takes the low byte of each character.
    pw = bytes(ord(c) & 0xFF for c in java_password(password).decode("utf-16-be", "replace"))
    halves = [salt[:4], salt[4:]]
    if halves[0] == halves[1]:
        # Equal halves: the first is reversed ([a,b,c,d] -> [d,c,b,a], checked against Java 17).
        # The original JCE had a typo giving [d,a,b,d]; files from old JDKs may carry that.
        a, b, c, d = halves[0]
        halves[0] = bytes([d, a, b, d] if old_swap else [d, c, b, a])
    derived = b""
    for half in halves:
        value = half
        for _ in range(iterations):
            value = hashlib.md5(value + pw, usedforsecurity=False).digest()
        derived += value
    return derived[:24], derived[24:]


def _jce_unprotect(encrypted: bytes, password: bytes, salt: bytes, iterations: int) -> bytes | None:
    if len(salt) != 8 or not encrypted or len(encrypted) % 8:
        raise _der.DerError("bad PBEWithMD5AndTripleDES parameters")
    variants = (False, True) if salt[:4] == salt[4:] else (False,)
    for old_swap in variants:
        plain = _jce_decrypt(
            encrypted, *_jce_key_and_iv(password, salt, iterations, old_swap=old_swap)
        )
        if plain is not None:
            return plain
    return None


def _jce_decrypt(encrypted: bytes, key: bytes, iv: bytes) -> bytes | None:
    decryptor = Cipher(TripleDES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(encrypted) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= 8 or padded[-pad:] != bytes([pad]) * pad:
        return None
    plain = padded[:-pad]
    try:
        as_private_key(serialization.load_der_private_key(plain, password=None), "key")
    except PARSE_ERRORS + (UnsupportedFormatError,):
        return None  # a wrong password that happens to leave valid padding gives garbage
    return plain


def _modified_utf8(text: str) -> bytes:
    out = bytearray()
    for ch in text:
        cp = ord(ch)
        if cp == 0:
            out += b"\xc0\x80"
        elif cp > 0xFFFF:
            cp -= 0x10000
            for unit in (0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)):
                out += chr(unit).encode("utf-8", "surrogatepass")
        else:
            out += ch.encode("utf-8", "surrogatepass")
    if len(out) > 0xFFFF:
        raise ValidationError("alias is too long", field="alias")
    return struct.pack(">H", len(out)) + bytes(out)


def encode_jks(
    entries: Iterable[KeystoreEntry],
    store_password: bytes,
    key_password: bytes | None = None,
    *,
    created: datetime | None = None,
) -> bytes:
    """Write a JKS keystore that ``keytool`` and Java read.

    Aliases are lower-cased, as Java's JKS implementation does.

    Args:
        entries: Private-key entries (key plus chain, leaf first) and trusted certificates
            (no key, exactly one certificate).
        store_password: Protects the file's integrity.
        key_password: Protects the private keys; defaults to ``store_password``.
        created: Creation date written for every entry (default: now).

    Returns:
        The keystore bytes.

    Raises:
        ValidationError: Empty password, bad or repeated alias, or an entry without certificates.
        KeyMismatchError: A key does not belong to the first certificate of its chain.
    """
    if not store_password:
        raise ValidationError("a JKS keystore needs a store password", field="store_password")
    kpw = store_password if key_password is None else key_password
    if not kpw:
        raise ValidationError("a JKS keystore needs a key password", field="key_password")
    stamp = int((created or datetime.now(UTC)).timestamp() * 1000)
    body = bytearray()
    seen: set[str] = set()
    count = 0
    for entry in entries:
        alias = entry.alias.strip().lower()
        if not alias or alias in seen:
            raise ValidationError(f"alias {entry.alias!r} is empty or repeated", field="alias")
        seen.add(alias)
        if not entry.chain:
            raise ValidationError(f"entry {alias!r} has no certificate", field="chain")
        head = _modified_utf8(alias) + struct.pack(">Q", stamp)
        if entry.key is None:
            if len(entry.chain) != 1:
                raise ValidationError(
                    f"trusted entry {alias!r} must hold one certificate", field="chain"
                )
            body += struct.pack(">I", 2) + head + _cert_bytes(entry.chain[0])
        else:
            ensure_key_matches(entry.key, entry.chain[0])
            protected = _jks_protect(private_key_to_pkcs8_der(entry.key), kpw)
            body += struct.pack(">I", 1) + head + struct.pack(">I", len(protected)) + protected
            body += struct.pack(">I", len(entry.chain)) + b"".join(
                _cert_bytes(c) for c in entry.chain
            )
        count += 1
    data = struct.pack(">III", JKS_MAGIC, 2, count) + bytes(body)
    return data + _store_digest(store_password, data)


def _store_digest(password: bytes, data: bytes) -> bytes:
    return hashlib.sha1(java_password(password) + _WHITENER + data, usedforsecurity=False).digest()


def _cert_bytes(cert: x509.Certificate) -> bytes:
    der = cert.public_bytes(serialization.Encoding.DER)
    return _modified_utf8("X.509") + struct.pack(">I", len(der)) + der
