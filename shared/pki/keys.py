"""Private keys: the supported types, generation, description and matching."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias, cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from certmgr.shared.errors import KeyMismatchError, ValidationError

PrivateKey: TypeAlias = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)
PublicKey: TypeAlias = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)


class KeyType(StrEnum):
    """Key types certmgr generates (the CLI and API spell them this way)."""

    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"

    @classmethod
    def parse(cls, value: str) -> KeyType:
        """Parse a key-type name.

        Raises:
            ValidationError: Unknown key type.
        """
        try:
            return cls(value.strip().lower())
        except ValueError:
            allowed = ", ".join(k.value for k in cls)
            raise ValidationError(
                f"unknown key type {value!r} (use one of {allowed})", field="key_type"
            ) from None


@dataclass(frozen=True)
class KeyInfo:
    """What a key is, without its secret."""

    algorithm: str  # "RSA", "EC", "Ed25519", "Ed448"
    size: int  # bits (RSA modulus, EC curve size)
    curve: str | None
    public_sha256: str  # hex SHA-256 of the DER SubjectPublicKeyInfo

    @property
    def label(self) -> str:
        """A short label such as ``EC P-256`` or ``RSA 2048``."""
        if self.algorithm == "EC" and self.curve:
            return f"EC {_CURVE_LABELS.get(self.curve, self.curve)}"
        if self.algorithm == "RSA":
            return f"RSA {self.size}"
        return self.algorithm


_CURVE_LABELS = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def generate_private_key(key_type: KeyType | str) -> PrivateKey:
    """Generate a new private key. RSA generation is slow: call it off the event loop.

    Raises:
        ValidationError: Unknown key type.
    """
    kt = key_type if isinstance(key_type, KeyType) else KeyType.parse(key_type)
    if kt is KeyType.EC_P256:
        return ec.generate_private_key(ec.SECP256R1())
    if kt is KeyType.EC_P384:
        return ec.generate_private_key(ec.SECP384R1())
    bits = int(kt.value.split("-")[1])
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


_PRIVATE_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)
_PUBLIC_TYPES = (
    ("RSA", rsa.RSAPublicKey),
    ("EC", ec.EllipticCurvePublicKey),
    ("Ed25519", ed25519.Ed25519PublicKey),
    ("Ed448", ed448.Ed448PublicKey),
)


# isinstance() on cryptography's key ABCs walks the ABC machinery on every call (a dozen times
# per certificate summary); a key's class answers the same every time, so it is asked once.
_PRIVATE_BY_CLASS: dict[type, bool] = {}
_ALGORITHM_BY_CLASS: dict[type, str | None] = {}


def _is_private(key: object) -> bool:
    cls = type(key)
    found = _PRIVATE_BY_CLASS.get(cls)
    if found is None:
        found = _PRIVATE_BY_CLASS[cls] = issubclass(cls, _PRIVATE_TYPES)
    return found


def public_key_algorithm(key: object) -> str | None:
    """``RSA``, ``EC``, ``Ed25519`` or ``Ed448`` for a supported public key; None for any other object."""
    cls = type(key)
    if cls not in _ALGORITHM_BY_CLASS:
        _ALGORITHM_BY_CLASS[cls] = next(
            (name for name, abc in _PUBLIC_TYPES if issubclass(cls, abc)), None
        )
    return _ALGORITHM_BY_CLASS[cls]


def public_half(key: PrivateKey | PublicKey) -> PublicKey:
    """The public key of a private key (a public key is returned as it is)."""
    if _is_private(key):
        return cast(PrivateKey, key).public_key()
    return cast(PublicKey, key)


def public_key_der(key: PrivateKey | PublicKey) -> bytes:
    """DER SubjectPublicKeyInfo of a key (private keys give their public half)."""
    return public_half(key).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_sha256(key: PrivateKey | PublicKey) -> str:
    """Hex SHA-256 of the key's SubjectPublicKeyInfo (the key's fingerprint)."""
    return hashlib.sha256(public_key_der(key)).hexdigest()


def describe_key(key: PrivateKey | PublicKey) -> KeyInfo:
    """Describe a key (algorithm, size, curve, public fingerprint)."""
    pub = public_half(key)
    fp = public_key_sha256(pub)
    algorithm = public_key_algorithm(pub)
    if algorithm == "RSA":
        return KeyInfo("RSA", cast(rsa.RSAPublicKey, pub).key_size, None, fp)
    if algorithm == "EC":
        curve = cast(ec.EllipticCurvePublicKey, pub).curve
        return KeyInfo("EC", curve.key_size, curve.name, fp)
    if algorithm == "Ed25519":
        return KeyInfo("Ed25519", 256, None, fp)
    return KeyInfo("Ed448", 456, None, fp)


def key_type_of(key: PrivateKey | PublicKey) -> str:
    """The :class:`KeyType` value closest to ``key`` (``ec-p256``, ``rsa-2048`` ...) or its label."""
    return key_type_of_info(describe_key(key))


def key_type_of_info(info: KeyInfo) -> str:
    """:func:`key_type_of` from a key's description (when :func:`describe_key` was already called)."""
    if info.algorithm == "EC" and info.curve == "secp256r1":
        return KeyType.EC_P256.value
    if info.algorithm == "EC" and info.curve == "secp384r1":
        return KeyType.EC_P384.value
    if info.algorithm == "RSA" and info.size in (2048, 3072, 4096):
        return f"rsa-{info.size}"
    return info.label.lower().replace(" ", "-")


def key_matches_certificate(key: PrivateKey | PublicKey, cert: x509.Certificate) -> bool:
    """True when ``key`` (or its public half) belongs to ``cert``."""
    return public_key_der(key) == public_key_der(cert.public_key())  # type: ignore[arg-type]


def ensure_key_matches(key: PrivateKey | PublicKey, cert: x509.Certificate) -> None:
    """Raise unless ``key`` belongs to ``cert``.

    Raises:
        KeyMismatchError: The key is another key.
    """
    if not key_matches_certificate(key, cert):
        raise KeyMismatchError(
            f"private key does not match certificate {cert.subject.rfc4514_string()}"
        )


def private_key_to_pkcs8_der(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 DER. Seal it at once; never store or log the result."""
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def private_key_from_pkcs8_der(data: bytes) -> PrivateKey:
    """Load an unencrypted PKCS#8 DER key (as produced by :func:`private_key_to_pkcs8_der`).

    Raises:
        ValidationError: The bytes are not a supported private key.
    """
    try:
        key = serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise ValidationError("stored private key is not a valid PKCS#8 key") from err
    if not isinstance(
        key,
        rsa.RSAPrivateKey
        | ec.EllipticCurvePrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey,
    ):
        raise ValidationError("unsupported private key type")
    return key
