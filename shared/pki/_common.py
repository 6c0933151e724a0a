"""Caps and small helpers shared by the pki readers."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from certmgr.shared.errors import InputTooLargeError, UnsupportedFormatError
from certmgr.shared.pki.keys import PrivateKey

MAX_INPUT_BYTES = 16 * 1024 * 1024
MAX_CERTIFICATES = 1000
MAX_ENTRIES = 1000
# PBKDF2/PKCS#12/JCE iteration counts above this are refused before any work is done:
# real tools use 1 to 600 000, and a hostile file could otherwise pin a CPU for hours.
MAX_ITERATIONS = 2_000_000

# What cryptography's parsers raise on bad input. UserWarning is here because cryptography warns
# when it falls back to BER parsing; where warnings are errors (the test suite, ``-W error``) the
# warning arrives as an exception, and it must still become a certmgr error.
PARSE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    UserWarning,
    x509.InvalidVersion,  # an X.509 version other than 1 or 3: not a ValueError
)


def check_size(data: bytes, name: str) -> None:
    """Refuse inputs over :data:`MAX_INPUT_BYTES`.

    Raises:
        InputTooLargeError: The input is too large.
    """
    if len(data) > MAX_INPUT_BYTES:
        raise InputTooLargeError(
            f"{name} is {len(data)} bytes; certificate files larger than "
            f"{MAX_INPUT_BYTES // (1024 * 1024)} MiB are refused"
        )


def check_iterations(count: int, name: str) -> None:
    """Refuse absurd key-derivation iteration counts.

    Raises:
        InputTooLargeError: More than :data:`MAX_ITERATIONS`.
        UnsupportedFormatError: Zero or negative.
    """
    if count < 1:
        raise UnsupportedFormatError(f"{name} is corrupt: invalid key-derivation iteration count")
    if count > MAX_ITERATIONS:
        raise InputTooLargeError(
            f"{name} asks for {count} key-derivation iterations (at most {MAX_ITERATIONS} are allowed)"
        )


def as_private_key(key: object, name: str) -> PrivateKey:
    """Narrow a key cryptography loaded to the key types certmgr supports.

    Raises:
        UnsupportedFormatError: A DSA, X25519 or other unsupported key.
    """
    if isinstance(
        key,
        rsa.RSAPrivateKey
        | ec.EllipticCurvePrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey,
    ):
        return key
    kind = type(key).__name__.replace("PrivateKey", "").lstrip("_") or "this"
    raise UnsupportedFormatError(
        f"{name} holds a {kind} private key; only RSA, EC, Ed25519 and Ed448 keys are supported"
    )


def load_der_key(der: bytes, name: str) -> PrivateKey:
    """Load an unencrypted PKCS#8 or traditional DER private key.

    Raises:
        UnsupportedFormatError: Not a key, or an unsupported key type.
    """
    try:
        key = serialization.load_der_private_key(der, password=None)
    except PARSE_ERRORS as err:
        raise UnsupportedFormatError(f"{name} holds a private key that cannot be read") from err
    return as_private_key(key, name)


def load_der_certificate(der: bytes, name: str) -> x509.Certificate:
    """Load one DER certificate and check the parts later code relies on.

    Raises:
        UnsupportedFormatError: Not a certificate, or a certificate cryptography refuses.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
        # Parsed lazily by cryptography: touch them now so a broken certificate fails here,
        # with a clear message, and not later in summaries or chain building.
        cert.extensions  # noqa: B018
        cert.subject  # noqa: B018
        cert.issuer  # noqa: B018
    except PARSE_ERRORS + (x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as err:
        raise UnsupportedFormatError(
            f"{name} holds a certificate that cannot be read: {_reason(err)}"
        ) from err
    return cert


def _reason(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]


def dedupe(certs: list[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """Drop repeated certificates (same DER), keeping the first occurrence."""
    if len(certs) < 2:  # the common single-certificate file: nothing to compare
        return tuple(certs)
    seen: set[bytes] = set()
    out: list[x509.Certificate] = []
    for cert in certs:
        der = cert.public_bytes(serialization.Encoding.DER)
        if der not in seen:
            seen.add(der)
            out.append(cert)
    return tuple(out)


def check_certificate_count(count: int, name: str) -> None:
    """Refuse more than :data:`MAX_CERTIFICATES` certificates.

    Raises:
        InputTooLargeError: Too many certificates.
    """
    if count > MAX_CERTIFICATES:
        raise InputTooLargeError(f"{name} holds more than {MAX_CERTIFICATES} certificates")
