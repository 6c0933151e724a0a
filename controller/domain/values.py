"""Value objects and literal vocabularies of the domain."""

from __future__ import annotations

from enum import StrEnum


class IssuerKind(StrEnum):
    """Where a definition's certificates come from."""

    PRIVATE_CA = "private-ca"
    ACME = "acme"
    VENDOR = "vendor"


class CertificateSource(StrEnum):
    """How a certificate entered the repository."""

    ISSUED = "issued"
    RECEIVED = "received"
    IMPORTED = "imported"
    DISCOVERED = "discovered"


class KeyOrigin(StrEnum):
    """Where a private key was made."""

    GENERATED = "generated"
    IMPORTED = "imported"
    GENERATED_ON_AGENT = "generated-on-agent"
