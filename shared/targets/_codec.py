"""The encodings targets write and read back, delegated to :mod:`certmgr.shared.pki`.

Format lives in ``pki`` (PEM bundle, PKCS#12, JKS); targets only decide where bytes go
(Lemur's export-versus-destination split). This module is the single place targets call it.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certmgr.shared.errors import InputError, KeyMismatchError, ValidationFailedError
from certmgr.shared.pki import encode
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.pki.keys import PrivateKey, ensure_key_matches
from certmgr.shared.pki.load import load
from certmgr.shared.targets._host import HostOps
from certmgr.shared.targets.base import InstalledCert


def certs_pem(certs: Sequence[x509.Certificate]) -> bytes:
    """Certificates as concatenated PEM, in the given order."""
    return encode.pem_bundle(list(certs))


def key_pem(key: PrivateKey) -> bytes:
    """An unencrypted PKCS#8 PEM private key (for servers that read plain key files)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def encrypted_key_pem(key: PrivateKey, password: bytes) -> bytes:
    """An encrypted PKCS#8 PEM private key."""
    return encode.encrypted_pkcs8_pem(key, password)


def check_pair_files(
    host: HostOps, cert_path: str, key_path: str, key_password: bytes | None = None
) -> None:
    """Read a written certificate file and key file back and check that they belong together.

    Raises:
        ValidationFailedError: A file is missing or unreadable, or the key is another key.
        TargetError: The host cannot read a file.
    """
    cert_data = host.read_file(cert_path)
    key_data = host.read_file(key_path)
    if not cert_data or not key_data:
        raise ValidationFailedError(
            f"{cert_path if not cert_data else key_path} is missing or empty"
        )
    try:
        cert = load(cert_data, name=cert_path).certificates[0]
        keys = load(key_data, password=key_password, name=key_path).keys
    except (InputError, IndexError) as err:
        raise ValidationFailedError(f"cannot read the new files back: {err}") from err
    if not keys:
        raise ValidationFailedError(f"{key_path} holds no private key")
    try:
        ensure_key_matches(keys[0], cert)
    except KeyMismatchError as err:
        raise ValidationFailedError(
            f"{key_path} does not match the certificate in {cert_path}"
        ) from err


def installed(location: str, cert: x509.Certificate) -> InstalledCert:
    """Describe one installed certificate."""
    return InstalledCert(
        location=location,
        sha256=sha256_fingerprint(cert),
        subject=cert.subject.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
    )


def pem_leaf_inventory(host: HostOps, path: str) -> list[InstalledCert]:
    """The first certificate of a PEM file (the leaf, by the layout targets write).

    A missing file or one without a readable certificate gives an empty list.

    Raises:
        TargetError: The file exists but cannot be read.
    """
    data = host.read_file(path)
    if not data:
        return []
    try:
        certs = x509.load_pem_x509_certificates(data)
    except (ValueError, x509.InvalidVersion):
        return []
    return [installed(path, certs[0])]
