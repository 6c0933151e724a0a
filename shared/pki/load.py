"""Read certificates and keys from whatever file a user has: PEM, DER, PKCS#7, PKCS#12, JKS, JCEKS."""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from certmgr.shared.errors import UnsupportedFormatError, WrongPasswordError
from certmgr.shared.pki import _der, _pkcs12
from certmgr.shared.pki._common import (
    PARSE_ERRORS,
    as_private_key,
    check_certificate_count,
    check_size,
    dedupe,
    load_der_certificate,
)
from certmgr.shared.pki._pem import PemBlock, find_blocks, has_pem
from certmgr.shared.pki._pkcs7 import SIGNED_DATA, pkcs7_certificates
from certmgr.shared.pki.chain import build_chain
from certmgr.shared.pki.fingerprint import cert_der
from certmgr.shared.pki.jks import KeystoreEntry, decode_keystore, is_java_keystore
from certmgr.shared.pki.keys import PrivateKey, key_matches_certificate

SOURCE_FORMATS = ("pem", "der", "pkcs7-pem", "pkcs7-der", "pkcs12", "jks", "jceks")

_CERT_LABELS = {"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"}
_PKCS7_LABELS = {"PKCS7", "PKCS #7 SIGNED DATA", "CERTIFICATE CHAIN"}
_KEY_LABELS = {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"}
_UNSUPPORTED_KEYS = {
    "DSA PRIVATE KEY": "a DSA private key (not supported)",
    "OPENSSH PRIVATE KEY": "an OpenSSH private key (convert it with 'ssh-keygen -p -m PKCS8 -f FILE')",
}
_ONLY = {
    "CERTIFICATE REQUEST": "is a certificate signing request, not a certificate",
    "NEW CERTIFICATE REQUEST": "is a certificate signing request, not a certificate",
    "X509 CRL": "is a certificate revocation list, not a certificate",
    "PUBLIC KEY": "holds only a public key, not a certificate or private key",
    "RSA PUBLIC KEY": "holds only a public key, not a certificate or private key",
    "EC PARAMETERS": "holds only EC key parameters, not a certificate or private key",
    "DH PARAMETERS": "holds only DH parameters, not a certificate or private key",
}
_BASE64_ONLY = re.compile(rb"[A-Za-z0-9+/=\s]+")
_MAGIC = (
    (b"PK\x03\x04", "the file is a ZIP archive (unpack it and load the files inside)"),
    (b"PK\x05\x06", "the file is an empty ZIP archive"),
    (b"\x1f\x8b", "the file is gzip-compressed (unpack it first)"),
    (b"%PDF", "the file is a PDF document"),
    (b"Rar!", "the file is a RAR archive"),
    (b"7z\xbc\xaf", "the file is a 7-Zip archive"),
    (b"ssh-", "the file is an SSH public key"),
    (b"PuTTY-User-Key-File", "the file is a PuTTY key (export it as OpenSSL PEM)"),
)


@dataclass(frozen=True)
class LoadedBundle:
    """What a file held. Keys never appear in ``repr``.

    ``entries`` is filled for keystores (PKCS#12, JKS, JCEKS): one per private key (with its
    chain, leaf first) or trusted certificate.
    """

    certificates: tuple[x509.Certificate, ...]
    keys: tuple[PrivateKey, ...] = field(repr=False)
    entries: tuple[KeystoreEntry, ...]
    source_format: str

    def key_for(self, cert: x509.Certificate) -> PrivateKey | None:
        """The loaded private key that belongs to ``cert``, if any."""
        return next((k for k in self.keys if key_matches_certificate(k, cert)), None)


def load(
    data: bytes,
    *,
    password: bytes | None = None,
    key_password: bytes | None = None,
    name: str = "input",
) -> LoadedBundle:
    """Read certificates and private keys from a file of any supported format.

    Args:
        data: The file contents.
        password: The file or store password (PKCS#12, JKS, JCEKS, encrypted PEM/DER keys).
        key_password: A separate password for private keys (Java keystores, ``-twopass`` PKCS#12);
            tried before ``password``.
        name: What to call the input in messages (usually the file name).

    Returns:
        The certificates (file order, without repeats), keys and keystore entries.

    Raises:
        UnsupportedFormatError: Empty, corrupt, or not a certificate/key/keystore (the message says
            what the data looks like).
        WrongPasswordError: A needed password is missing or wrong.
        InputTooLargeError: Over 16 MiB, too many certificates or entries, or absurd KDF costs.
        KeyMismatchError: A keystore entry's key does not belong to its certificate.
    """
    check_size(data, name)
    data = _strip_text_encoding(data, name)
    if not data.strip(b" \t\r\n\x00"):
        raise UnsupportedFormatError(f"{name} is empty")
    for magic, what in _MAGIC:  # first: an uncompressed ZIP can contain PEM text
        if data.startswith(magic):
            raise UnsupportedFormatError(f"{name} is not a certificate: {what}")
    if is_java_keystore(data):
        store_type, entries = decode_keystore(data, password, key_password, name=name)
        return _from_entries(entries, store_type, name)
    if has_pem(data):
        return _load_pem(data, password, key_password, name)
    if data[0] == _der.SEQUENCE:
        return _load_der(data, password, key_password, name, "der")
    stripped = data.strip()
    if len(stripped) >= 64 and _BASE64_ONLY.fullmatch(stripped):
        try:
            der = binascii.a2b_base64(b"".join(stripped.split()), strict_mode=True)
        except binascii.Error:
            der = b""
        if der[:1] == bytes([_der.SEQUENCE]):
            return _load_der(der, password, key_password, name, "der")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")):
        raise UnsupportedFormatError(
            f"{name} is not a certificate: the file is an HTML or XML page (a web page saved instead of the file?)"
        )
    raise UnsupportedFormatError(f"{name} is not a recognised certificate, key or keystore format")


def _strip_text_encoding(data: bytes, name: str) -> bytes:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").encode("ascii")
        except (UnicodeDecodeError, UnicodeEncodeError) as err:
            raise UnsupportedFormatError(f"{name} is UTF-16 text that is not a PEM file") from err
    return data


def _passwords(password: bytes | None, key_password: bytes | None) -> list[bytes]:
    return [p for p in dict.fromkeys((key_password, password)) if p is not None]


def _load_pem(
    data: bytes, password: bytes | None, key_password: bytes | None, name: str
) -> LoadedBundle:
    blocks = find_blocks(data, name)
    certs: list[x509.Certificate] = []
    keys: list[PrivateKey] = []
    from_pkcs7 = from_cert_blocks = False
    for block in blocks:
        where = f"{name} (PEM block {block.label} #{block.number})"
        if block.label in _CERT_LABELS:
            certs.append(load_der_certificate(_first_element(block.der, where), where))
            from_cert_blocks = True
        elif block.label in _PKCS7_LABELS:
            certs.extend(pkcs7_certificates(block.der, where))
            from_pkcs7 = True
        elif block.label in _KEY_LABELS:
            keys.append(_pem_key(block, _passwords(password, key_password), name))
        elif block.label in _UNSUPPORTED_KEYS:
            raise UnsupportedFormatError(f"{name} holds {_UNSUPPORTED_KEYS[block.label]}")
        check_certificate_count(len(certs), name)
    if not certs and not keys:
        labels = [b.label for b in blocks]
        for label in labels:
            if label in _ONLY:
                raise UnsupportedFormatError(f"{name} {_ONLY[label]}")
        found = ", ".join(dict.fromkeys(labels)) or "none"
        raise UnsupportedFormatError(
            f"{name} holds no certificate or private key (PEM blocks: {found[:200]})"
        )
    fmt = "pkcs7-pem" if from_pkcs7 and not from_cert_blocks else "pem"
    return LoadedBundle(dedupe(certs), tuple(keys), (), fmt)


def _first_element(der: bytes, where: str) -> bytes:
    """The certificate itself (``TRUSTED CERTIFICATE`` blocks append OpenSSL trust settings)."""
    try:
        return der[: _der.read_tlv(der).end]
    except _der.DerError as err:
        raise UnsupportedFormatError(f"{where} is truncated or corrupt: {err}") from err


def _pem_key(block: PemBlock, passwords: list[bytes], name: str) -> PrivateKey:
    proc_type = block.header("Proc-Type") or ""
    if "ENCRYPTED" in proc_type.upper():
        return _decrypt_key(block.to_pem(), passwords, name, pem=True)
    if block.label == "ENCRYPTED PRIVATE KEY":
        _check_epki_costs(block.der, name)
        return _decrypt_key(block.der, passwords, name, pem=False)
    return _plain_key(block.der, name)


def _plain_key(der: bytes, name: str) -> PrivateKey:
    try:
        key = serialization.load_der_private_key(der, password=None)
    except TypeError as err:  # encrypted after all
        raise WrongPasswordError(f"{name} is encrypted: a passphrase is needed") from err
    except (ValueError, UnsupportedAlgorithm, UserWarning) as err:
        raise UnsupportedFormatError(f"{name} holds a private key that cannot be read") from err
    return as_private_key(key, name)


def _decrypt_key(blob: bytes, passwords: list[bytes], name: str, *, pem: bool) -> PrivateKey:
    if not passwords:
        raise WrongPasswordError(f"{name} is encrypted: a passphrase is needed")
    loader = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    for password in passwords:
        try:
            return as_private_key(loader(blob, password=password), name)
        except (ValueError, TypeError, UserWarning):
            continue
        except UnsupportedAlgorithm as err:
            raise UnsupportedFormatError(
                f"{name} is encrypted with an unsupported algorithm"
            ) from err
    raise WrongPasswordError(f"wrong passphrase for {name}")


def _check_epki_costs(der: bytes, name: str) -> None:
    try:
        top = _der.expect(der, 0, len(der), _der.SEQUENCE)
        alg = _der.expect(der, top.content_start, top.end, _der.SEQUENCE)
    except _der.DerError as err:
        raise UnsupportedFormatError(
            f"{name} holds an encrypted private key that is corrupt"
        ) from err
    _pkcs12.check_pbe_parameters(der, alg, name)


def _load_der(
    data: bytes, password: bytes | None, key_password: bytes | None, name: str, fmt: str
) -> LoadedBundle:
    if data[1:2] == b"\x80":  # BER indefinite length: only PKCS#12 and PKCS#7 writers use it
        if _pkcs12.looks_like_pfx(data):
            return _load_pkcs12(data, password, key_password, name)
        if data[2:13] == _der.oid(SIGNED_DATA):
            return LoadedBundle(dedupe(pkcs7_certificates(data, name)), (), (), "pkcs7-der")
        raise UnsupportedFormatError(f"{name} is BER-encoded data that is not PKCS#12 or PKCS#7")
    try:
        top = _der.read_tlv(data)
    except _der.DerError as err:
        raise UnsupportedFormatError(f"{name} is truncated or corrupt DER data ({err})") from err
    if data[top.end :].strip(b" \t\r\n\x00"):
        raise UnsupportedFormatError(f"{name} has unexpected bytes after its DER data")
    der = data[: top.end]
    if _pkcs12.looks_like_pfx(der):
        return _load_pkcs12(der, password, key_password, name)
    kind = _der_kind(der, top)
    if kind == "pkcs7":
        return LoadedBundle(dedupe(pkcs7_certificates(der, name)), (), (), "pkcs7-der")
    if kind == "signed":
        return LoadedBundle((_der_signed_object(der, name),), (), (), fmt)
    if kind == "encrypted-key":
        _check_epki_costs(der, name)
        return LoadedBundle(
            (), (_decrypt_key(der, _passwords(password, key_password), name, pem=False),), (), fmt
        )
    try:
        key = serialization.load_der_private_key(der, password=None)
    except PARSE_ERRORS as err:
        raise UnsupportedFormatError(
            f"{name} is not a recognised certificate, key or keystore format"
        ) from err
    return LoadedBundle((), (as_private_key(key, name),), (), fmt)


def _der_kind(der: bytes, top: _der.Tlv) -> str:
    """``pkcs7``, ``signed`` (certificate, CSR or CRL), ``encrypted-key`` or ``other``."""
    try:
        items = _der.child_list(der, top)
        if (
            len(items) >= 2
            and items[0].tag == _der.OID
            and _der.decode_oid(der, items[0]) == SIGNED_DATA
        ):
            return "pkcs7"
        if (
            len(items) == 3
            and items[0].tag == items[1].tag == _der.SEQUENCE
            and items[2].tag == 0x03
        ):
            return "signed"
        if len(items) == 2 and items[0].tag == _der.SEQUENCE and items[1].tag == _der.OCTET_STRING:
            return "encrypted-key"
    except _der.DerError:
        pass
    return "other"


def _der_signed_object(der: bytes, name: str) -> x509.Certificate:
    try:
        return load_der_certificate(der, name)
    except UnsupportedFormatError as cert_error:
        for loader, what in (
            (x509.load_der_x509_csr, _ONLY["CERTIFICATE REQUEST"]),
            (x509.load_der_x509_crl, _ONLY["X509 CRL"]),
        ):
            try:
                loader(der)
            except PARSE_ERRORS:
                continue
            raise UnsupportedFormatError(f"{name} {what}") from None
        raise cert_error from None


def _load_pkcs12(
    data: bytes, password: bytes | None, key_password: bytes | None, name: str
) -> LoadedBundle:
    key_bags = _pkcs12.check_costs(data, name)
    loaded = None
    if key_bags is None or key_bags <= 1:
        tries = [password] if password else [None, b""]  # tools differ on "no password"
        for attempt in tries:
            try:
                loaded = pkcs12.load_pkcs12(data, attempt)
                break
            except (ValueError, TypeError, UserWarning):
                continue
            except UnsupportedAlgorithm as err:
                raise UnsupportedFormatError(
                    f"{name} is a PKCS#12 file with an unsupported algorithm"
                ) from err
    if loaded is not None:
        items = ([loaded.cert] if loaded.cert else []) + list(loaded.additional_certs)
        named = [(c.certificate, _friendly(c.friendly_name)) for c in items]
        keys = [as_private_key(loaded.key, name)] if loaded.key is not None else []
    elif key_bags is None:  # not DER this module can take apart: the password is the likely cause
        if password is None:
            raise WrongPasswordError(f"{name} is encrypted: a passphrase is needed")
        raise WrongPasswordError(f"wrong passphrase for {name}")
    else:
        keys, named = _pkcs12.load_split(data, password, key_password, name)
    check_certificate_count(len(named), name)
    named = [(load_der_certificate(cert_der(c), name), alias) for c, alias in named]
    return _from_entries(_pkcs12_entries(keys, named), "pkcs12", name, order=[c for c, _ in named])


def _friendly(raw: bytes | None) -> str | None:
    return raw.decode("utf-8", "replace") if raw else None


def _pkcs12_entries(
    keys: list[PrivateKey], named: list[tuple[x509.Certificate, str | None]]
) -> tuple[KeystoreEntry, ...]:
    """Key entries (leaf plus the chain found among the other certificates), then the rest.

    A certificate that is not a key's leaf becomes a trusted entry unless it belongs to a key's
    chain and has no friendly name of its own (Java names chain certificates by their subject).
    """
    entries: list[KeystoreEntry] = []
    leaves: set[bytes] = set()
    in_chains: set[bytes] = set()
    for number, key in enumerate(keys, 1):
        match = next((i for i, (c, _) in enumerate(named) if key_matches_certificate(key, c)), None)
        if match is None:
            entries.append(KeystoreEntry(f"key-{number}", key, ()))
            continue
        leaf, alias = named[match]
        others = [c for i, (c, _) in enumerate(named) if i != match]
        chain = (leaf, *build_chain(leaf, others).chain)
        leaves.add(cert_der(leaf))
        in_chains.update(cert_der(c) for c in chain)
        entries.append(KeystoreEntry(alias or f"key-{number}", key, chain))
    seen: set[bytes] = set()
    for number, (cert, alias) in enumerate(named, 1):
        der = cert_der(cert)
        chain_member = der in in_chains and (not alias or alias == _subject_text(cert))
        if der in leaves or der in seen or chain_member:
            continue
        seen.add(der)
        entries.append(KeystoreEntry(alias or f"cert-{number}", None, (cert,)))
    return tuple(entries)


def _subject_text(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string()
    except ValueError:
        return ""


def _from_entries(
    entries: tuple[KeystoreEntry, ...],
    fmt: str,
    name: str,
    *,
    order: Sequence[x509.Certificate] = (),
) -> LoadedBundle:
    certs = list(order) or [c for e in entries for c in e.chain]
    check_certificate_count(len(certs), name)
    keys = tuple(e.key for e in entries if e.key is not None)
    return LoadedBundle(dedupe(certs), keys, entries, fmt)
