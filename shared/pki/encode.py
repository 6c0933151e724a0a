"""Write certificates and keys: PEM bundles, encrypted PKCS#8, PKCS#12 and JKS."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from certmgr.shared.errors import ValidationError
from certmgr.shared.pki.jks import KeystoreEntry, encode_jks
from certmgr.shared.pki.keys import PrivateKey, ensure_key_matches

PKCS12_ITERATIONS = 10_000  # what Java 17+ writes; 2048 (OpenSSL's default) for the legacy format
LEGACY_PKCS12_ITERATIONS = 2048


def pem_bundle(certs: Iterable[x509.Certificate]) -> bytes:
    """Certificates as concatenated PEM, in the given order."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


MAX_PASSPHRASE = 1023  # OpenSSL's PEM/PKCS#12 password buffer


def _require(passphrase: bytes, what: str) -> None:
    if not passphrase:
        raise ValidationError(f"{what} needs a non-empty passphrase", field="passphrase")
    if len(passphrase) > MAX_PASSPHRASE:
        raise ValidationError(
            f"the passphrase for {what} is longer than {MAX_PASSPHRASE} bytes", field="passphrase"
        )


def encrypted_pkcs8_pem(key: PrivateKey, passphrase: bytes) -> bytes:
    """The key as ``ENCRYPTED PRIVATE KEY`` PEM (best available encryption).

    Raises:
        ValidationError: Empty passphrase.
    """
    _require(passphrase, "an encrypted key")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def pkcs12_bytes(
    key: PrivateKey | None,
    cert: x509.Certificate,
    chain: Sequence[x509.Certificate],
    passphrase: bytes,
    friendly_name: str,
    legacy: bool = False,
) -> bytes:
    """A PKCS#12 (``.p12``/``.pfx``) file.

    Args:
        key: The private key, or None for a certificate-only file.
        cert: The certificate (leaf).
        chain: Its issuers, intermediate first.
        passphrase: Protects the file; required.
        friendly_name: The alias shown by keytool and Windows.
        legacy: Use PBE-SHA1-3DES with a SHA-1 MAC for old Windows and Java 8 (before 8u301);
            the default is AES-256-CBC with PBKDF2 and a SHA-256 MAC.

    Returns:
        The file bytes.

    Raises:
        ValidationError: Empty passphrase.
        KeyMismatchError: The key does not belong to ``cert``.
    """
    _require(passphrase, "a PKCS#12 file")
    if key is not None:
        ensure_key_matches(key, cert)
    builder = serialization.PrivateFormat.PKCS12.encryption_builder()
    if legacy:
        builder = (
            builder.kdf_rounds(LEGACY_PKCS12_ITERATIONS)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())  # noqa: S303 - the legacy format is the point
        )
    else:
        builder = (
            builder.kdf_rounds(PKCS12_ITERATIONS)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
        )
    return pkcs12.serialize_key_and_certificates(
        friendly_name.encode("utf-8"), key, cert, list(chain) or None, builder.build(passphrase)
    )


def jks_bytes(
    key: PrivateKey,
    cert: x509.Certificate,
    chain: Sequence[x509.Certificate],
    store_password: bytes,
    key_password: bytes | None = None,
    *,
    alias: str = "certmgr",
    trusted: Iterable[tuple[str, x509.Certificate]] = (),
) -> bytes:
    """A JKS keystore with one private-key entry (and optional trusted certificates).

    Raises:
        ValidationError: Empty password or bad alias.
        KeyMismatchError: The key does not belong to ``cert``.
    """
    entries = [KeystoreEntry(alias, key, (cert, *chain))]
    entries += [KeystoreEntry(a, None, (c,)) for a, c in trusted]
    return encode_jks(entries, store_password, key_password)
