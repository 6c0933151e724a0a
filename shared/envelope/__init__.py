"""Install packages (DESIGN section 4): a signed manifest, encrypted to an agent or a passphrase.

Refusals raise :mod:`certmgr.shared.errors` types (``EnvelopeError`` family, and
``WrongPasswordError`` for a wrong passphrase); no ``nacl`` or ``json`` error escapes.
"""

from certmgr.shared.envelope._wire import MAX_PACKAGE_SIZE, KdfLimits, PackageKind, key_id
from certmgr.shared.envelope.manifest import (
    FORMAT_VERSION,
    RECEIPT_KEY_SIZE,
    AlreadyInstalledPackageError,
    JsonValue,
    MalformedPackageError,
    Manifest,
    UnsupportedPackageVersionError,
    check_freshness,
    decode_manifest,
    encode_manifest,
)
from certmgr.shared.envelope.seal import DEFAULT_KDF_LIMITS, seal_for_agent, seal_with_passphrase
from certmgr.shared.envelope.verify import open_for_agent, open_with_passphrase, package_kind

__all__ = [
    "DEFAULT_KDF_LIMITS",
    "FORMAT_VERSION",
    "MAX_PACKAGE_SIZE",
    "RECEIPT_KEY_SIZE",
    "AlreadyInstalledPackageError",
    "JsonValue",
    "KdfLimits",
    "MalformedPackageError",
    "Manifest",
    "PackageKind",
    "UnsupportedPackageVersionError",
    "check_freshness",
    "decode_manifest",
    "encode_manifest",
    "key_id",
    "open_for_agent",
    "open_with_passphrase",
    "package_kind",
    "seal_for_agent",
    "seal_with_passphrase",
]
