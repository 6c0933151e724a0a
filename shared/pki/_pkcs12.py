"""PKCS#12 beyond cryptography: cost checks before decryption, and files whose keys use their own password.

cryptography's ``load_pkcs12`` uses one password for the MAC, the certificates and the keys, and
returns only the first key. Java (``KeyStore.setKeyEntry`` with a key password) and
``openssl pkcs12 -twopass`` write files where the key bags use another password, and Java
keystores often hold several keys. :func:`load_split` handles those: it checks the MAC with the
store password, decrypts each shrouded key bag with cryptography (key password first), and lets
cryptography read the certificate bags from a re-assembled file without the keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from certmgr.shared.errors import InputTooLargeError, UnsupportedFormatError, WrongPasswordError
from certmgr.shared.pki import _der
from certmgr.shared.pki._common import (
    MAX_ENTRIES,
    PARSE_ERRORS,
    as_private_key,
    check_iterations,
    load_der_key,
)
from certmgr.shared.pki.keys import PrivateKey

_DATA = "1.2.840.113549.1.7.1"
_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
_KEY_BAG = "1.2.840.113549.1.12.10.1.1"
_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_SCRYPT = "1.3.6.1.4.1.11591.4.11"
_PBES1_PREFIXES = ("1.2.840.113549.1.12.1.", "1.2.840.113549.1.5.")
_MAC_HASHES = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}

CertWithName = tuple[x509.Certificate, str | None]


@dataclass
class _Pfx:
    auth_safe: bytes
    content_infos: list[tuple[str, bytes]]
    mac: tuple[str, bytes, bytes, int] | None  # hash oid, digest, salt, iterations


def looks_like_pfx(data: bytes) -> bool:
    """True for ``SEQUENCE { INTEGER 3, SEQUENCE { ...`` in DER or BER."""
    if len(data) < 8 or data[0] != _der.SEQUENCE:
        return False
    first = data[1]
    header = 2 if first <= 0x80 else 2 + (first & 0x7F)
    return data[header : header + 4] == b"\x02\x01\x03\x30"


def _parse(data: bytes) -> _Pfx:
    top = _der.expect(data, 0, len(data), _der.SEQUENCE)
    items = _der.child_list(data, top, minimum=2)
    if _der.decode_int(data, items[0]) != 3:
        raise _der.DerError("not PKCS#12 version 3")
    ctype, body = _content_info(data, items[1])
    if ctype != _DATA:
        raise _der.DerError("public-key integrity mode is not supported")
    auth_safe = _octet_string_content(data, body)
    asafe_top = _der.expect(auth_safe, 0, len(auth_safe), _der.SEQUENCE)
    infos = [
        (_content_info(auth_safe, ci)[0], _der.element(auth_safe, ci))
        for ci in _der.children(auth_safe, asafe_top)
    ]
    mac = None
    if len(items) > 2:
        mac_items = _der.child_list(data, items[2], minimum=2)
        digest_info = _der.child_list(data, mac_items[0], minimum=2)
        alg = _der.child_list(data, digest_info[0], minimum=1)
        iterations = _der.decode_int(data, mac_items[2]) if len(mac_items) > 2 else 1
        mac = (
            _der.decode_oid(data, alg[0]),
            _der.contents(data, digest_info[1]),
            _der.contents(data, mac_items[1]),
            iterations,
        )
    return _Pfx(auth_safe, infos, mac)


def _content_info(data: bytes, tlv: _der.Tlv) -> tuple[str, _der.Tlv]:
    items = _der.child_list(data, tlv, minimum=2)
    if items[1].tag != _der.CONTEXT_0:
        raise _der.DerError("content is not [0]")
    return _der.decode_oid(data, items[0]), items[1]


def _octet_string_content(data: bytes, explicit: _der.Tlv) -> bytes:
    inner = _der.expect(data, explicit.content_start, explicit.end, _der.OCTET_STRING)
    return _der.contents(data, inner)


def _bags(safe_contents: bytes) -> list[tuple[str, _der.Tlv, _der.Tlv]]:
    """(bag type, whole bag, bag value) for each SafeBag."""
    top = _der.expect(safe_contents, 0, len(safe_contents), _der.SEQUENCE)
    out = []
    for bag in _der.children(safe_contents, top):
        items = _der.child_list(safe_contents, bag, minimum=2)
        if items[1].tag != _der.CONTEXT_0:
            raise _der.DerError("bag value is not [0]")
        value = _der.read_tlv(safe_contents, items[1].content_start, items[1].end)
        out.append((_der.decode_oid(safe_contents, items[0]), bag, value))
        if len(out) > MAX_ENTRIES:
            raise InputTooLargeError(f"PKCS#12 file holds more than {MAX_ENTRIES} bags")
    return out


def check_pbe_parameters(data: bytes, alg: _der.Tlv, name: str) -> None:
    """Refuse absurd PBES1/PBES2 cost parameters in an AlgorithmIdentifier.

    Raises:
        InputTooLargeError: Too many iterations or too much scrypt memory.
        UnsupportedFormatError: Malformed parameters.
    """
    try:
        items = _der.child_list(data, alg, minimum=1)
        algorithm = _der.decode_oid(data, items[0])
        if len(items) < 2:
            return
        if algorithm == _PBES2:
            kdf = _der.child_list(data, _der.child_list(data, items[1], minimum=2)[0], minimum=2)
            kdf_oid = _der.decode_oid(data, kdf[0])
            params = _der.child_list(data, kdf[1], minimum=2)
            if kdf_oid == _PBKDF2:
                check_iterations(_der.decode_int(data, params[1]), name)
            elif kdf_oid == _SCRYPT and len(params) >= 4:
                n, r, p = (_der.decode_int(data, t) for t in params[1:4])
                if not (0 < n <= 2**20 and 0 < r <= 32 and 0 < p <= 16 and n * r <= 2**21):
                    raise InputTooLargeError(
                        f"{name} asks for scrypt parameters that cost too much memory or time"
                    )
        elif algorithm.startswith(_PBES1_PREFIXES):
            params = _der.child_list(data, items[1], minimum=2)
            check_iterations(_der.decode_int(data, params[1]), name)
    except _der.DerError as err:
        raise UnsupportedFormatError(f"{name} has malformed encryption parameters") from err


def check_costs(data: bytes, name: str) -> int | None:
    """Check the cost parameters visible before decryption.

    Returns:
        The number of key bags visible without decryption, or None when the file is not DER
        this reader understands (cryptography then judges it alone).

    Raises:
        InputTooLargeError: Absurd iteration counts or too many bags.
        UnsupportedFormatError: Malformed encryption parameters.
    """
    try:
        pfx = _parse(data)
        if pfx.mac:
            check_iterations(pfx.mac[3], name)
        keys = 0
        for ctype, element in pfx.content_infos:
            _, body = _content_info(element, _der.read_tlv(element))
            if ctype == _ENCRYPTED_DATA:
                enc = _der.child_list(
                    element, _der.read_tlv(element, body.content_start, body.end), minimum=2
                )
                eci = _der.child_list(element, enc[1], minimum=2)
                check_pbe_parameters(element, eci[1], name)
            elif ctype == _DATA:
                safe = _octet_string_content(element, body)
                for bag_type, _, value in _bags(safe):
                    if bag_type == _SHROUDED_KEY_BAG:
                        check_pbe_parameters(safe, _der.child_list(safe, value, minimum=2)[0], name)
                    keys += bag_type in (_SHROUDED_KEY_BAG, _KEY_BAG)
    except _der.DerError:
        return None
    return keys


def _bmp_password(password: bytes | None) -> bytes:
    if password is None:
        return b""
    try:
        text = password.decode("utf-8")
    except UnicodeDecodeError:
        text = password.decode("latin-1")
    return text.encode("utf-16-be") + b"\x00\x00"


def _fill(value: bytes, v: int) -> bytes:
    if not value:
        return b""
    size = v * ((len(value) + v - 1) // v)
    return (value * (size // len(value) + 1))[:size]


def _kdf(
    hash_name: str, password: bytes, salt: bytes, purpose: int, iterations: int, size: int
) -> bytes:
    """RFC 7292 appendix B.2 key derivation."""
    u = hashlib.new(hash_name).digest_size
    v = hashlib.new(hash_name).block_size

    i_block = bytearray(_fill(salt, v) + _fill(password, v))
    out = b""
    while len(out) < size:
        a = hashlib.new(hash_name, bytes([purpose]) * v + bytes(i_block)).digest()
        for _ in range(iterations - 1):
            a = hashlib.new(hash_name, a).digest()
        out += a
        b = int.from_bytes((a * (v // u + 1))[:v], "big") + 1
        for j in range(0, len(i_block), v):
            chunk = (int.from_bytes(i_block[j : j + v], "big") + b) % (1 << (8 * v))
            i_block[j : j + v] = chunk.to_bytes(v, "big")
    return out[:size]


def _mac(
    hash_name: str, password: bytes | None, salt: bytes, iterations: int, message: bytes
) -> bytes:
    size = hashlib.new(hash_name).digest_size
    key = _kdf(hash_name, _bmp_password(password), salt, 3, iterations, size)
    return hmac.new(key, message, hash_name).digest()


def load_split(
    data: bytes, store_password: bytes | None, key_password: bytes | None, name: str
) -> tuple[list[PrivateKey], list[CertWithName]]:
    """Read every key (key password first, then store password) and every certificate.

    Raises:
        WrongPasswordError: The store password fails the MAC, or no password opens a key.
        UnsupportedFormatError: A structure this reader does not handle.
        InputTooLargeError: Too many bags.
    """
    try:
        pfx = _parse(data)
    except _der.DerError as err:
        raise UnsupportedFormatError(f"{name} is a PKCS#12 file that cannot be read") from err
    if pfx.mac is not None:
        hash_oid, digest, salt, iterations = pfx.mac
        hash_name = _MAC_HASHES.get(hash_oid)
        if hash_name is None:
            raise UnsupportedFormatError(
                f"{name} uses an unsupported PKCS#12 integrity algorithm ({hash_oid})"
            )
        check_iterations(iterations, name)
        # An empty password is hashed as two zero bytes by some tools and as nothing by others.
        tries = [store_password] if store_password else [None, b""]
        macs = (_mac(hash_name, p, salt, iterations, pfx.auth_safe) for p in tries)
        if not any(hmac.compare_digest(m, digest) for m in macs):
            if store_password is None:
                raise WrongPasswordError(f"{name} is encrypted: a passphrase is needed")
            raise WrongPasswordError(f"wrong passphrase for {name}")
    passwords = [p for p in dict.fromkeys((key_password, store_password, b"")) if p is not None]
    keys: list[PrivateKey] = []
    kept: list[bytes] = []
    try:
        for ctype, element in pfx.content_infos:
            if ctype != _DATA:
                kept.append(element)
                continue
            safe = _octet_string_content(element, _content_info(element, _der.read_tlv(element))[1])
            others: list[bytes] = []
            for bag_type, bag, value in _bags(safe):
                if bag_type == _SHROUDED_KEY_BAG:
                    keys.append(_open_key(_der.element(safe, value), passwords, name))
                elif bag_type == _KEY_BAG:
                    keys.append(load_der_key(_der.element(safe, value), name))
                else:
                    others.append(_der.element(safe, bag))
            if others:
                kept.append(
                    _der.seq(
                        _der.oid(_DATA), _der.encode(_der.CONTEXT_0, _der.octets(_der.seq(*others)))
                    )
                )
    except _der.DerError as err:
        raise UnsupportedFormatError(f"{name} is a PKCS#12 file that cannot be read") from err
    return keys, _certificates(kept, passwords, name)


def _open_key(epki: bytes, passwords: list[bytes], name: str) -> PrivateKey:
    for password in passwords:
        try:
            return as_private_key(serialization.load_der_private_key(epki, password=password), name)
        except (ValueError, TypeError, UserWarning):
            continue
        except UnsupportedAlgorithm as err:
            raise UnsupportedFormatError(
                f"{name} protects a key with an unsupported algorithm"
            ) from err
    raise WrongPasswordError(
        f"wrong passphrase for {name}: the private key needs its own passphrase (key password)"
    )


def _certificates(
    content_infos: list[bytes], passwords: list[bytes], name: str
) -> list[CertWithName]:
    if not content_infos:
        return []
    auth_safe = _der.seq(*content_infos)
    salt = os.urandom(16)
    for password in passwords:
        # The key-free copy is re-sealed with a throw-away MAC so cryptography can read its bags.
        mac = _der.seq(
            _der.seq(
                _der.seq(_der.oid("2.16.840.1.101.3.4.2.1"), _der.null()),
                _der.octets(_mac("sha256", password, salt, 1, auth_safe)),
            ),
            _der.octets(salt),  # iterations: DEFAULT 1, so left out (DER)
        )
        pfx = _der.seq(
            _der.integer(3),
            _der.seq(_der.oid(_DATA), _der.encode(_der.CONTEXT_0, _der.octets(auth_safe))),
            mac,
        )
        try:
            loaded = pkcs12.load_pkcs12(pfx, password)
        except PARSE_ERRORS:
            continue
        items = ([loaded.cert] if loaded.cert else []) + list(loaded.additional_certs)
        return [
            (c.certificate, c.friendly_name.decode("utf-8", "replace") if c.friendly_name else None)
            for c in items
        ]
    raise WrongPasswordError(f"wrong passphrase for {name}: the certificates do not open")
