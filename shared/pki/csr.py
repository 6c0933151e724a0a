"""Certificate signing requests: build, load (signature checked) and encode."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

from certmgr.shared.errors import UnsupportedFormatError, ValidationError
from certmgr.shared.pki._common import PARSE_ERRORS, check_size
from certmgr.shared.pki._pem import find_blocks, has_pem
from certmgr.shared.pki.keys import PrivateKey
from certmgr.shared.pki.names import build_name, parse_sans
from certmgr.shared.text import escape_text

_CSR_LABELS = ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")


def build_csr(
    key: PrivateKey,
    cn: str | None = None,
    sans: Sequence[str] = (),
    *,
    organization: str = "",
    organizational_unit: str = "",
    locality: str = "",
    state: str = "",
    country: str = "",
) -> x509.CertificateSigningRequest:
    """Build and sign a CSR.

    Args:
        key: The private key the certificate is for.
        cn: The subject common name (optional: modern certificates rely on SANs).
        sans: DNS names and IP addresses (``IP:``/``DNS:`` prefixes allowed).
        organization: Subject O.
        organizational_unit: Subject OU.
        locality: Subject L.
        state: Subject ST.
        country: Subject C (two letters).

    Returns:
        The signed CSR (SHA-256; Ed25519/Ed448 sign without a separate hash).

    Raises:
        ValidationError: No name at all, a bad SAN, a bad country code, a field with control
            characters or an over-long field.
    """
    names = parse_sans(list(sans))
    common_name = (cn or "").strip()
    if not common_name and not names:
        raise ValidationError(
            "a CSR needs a common name or at least one subject alternative name", field="sans"
        )
    if country and (len(country) != 2 or not country.isalpha()):
        raise ValidationError("C must be a two-letter country code", field="country")
    for field, value in (
        ("common_name", common_name),
        ("organization", organization),
        ("organizational_unit", organizational_unit),
        ("locality", locality),
        ("state", state),
    ):
        # Imported certificates may carry such names; certmgr never puts them into a request.
        if escape_text(value) != value:
            raise ValidationError(
                f"'{escape_text(value)}' holds control characters; a CSR takes printable text only",
                field=field,
            )
    try:
        subject = build_name(
            common_name,
            organization=organization.strip(),
            organizational_unit=organizational_unit.strip(),
            locality=locality.strip(),
            state=state.strip(),
            country=country.strip(),
        )
        builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        algorithm = (
            None
            if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey)
            else hashes.SHA256()
        )
        return builder.sign(key, algorithm)
    except ValueError as err:
        raise ValidationError(f"cannot build the CSR: {err}", field="subject") from err


def load_csr(data: bytes, name: str = "input") -> x509.CertificateSigningRequest:
    """Load a PEM or DER CSR and check its signature.

    Raises:
        UnsupportedFormatError: Not a CSR (or a corrupt one).
        ValidationError: The CSR's signature is invalid.
        InputTooLargeError: Over 16 MiB.
    """
    check_size(data, name)
    if not data.strip():
        raise UnsupportedFormatError(f"{name} is empty")
    if has_pem(data):
        blocks = [b for b in find_blocks(data, name) if b.label in _CSR_LABELS]
        if not blocks:
            raise UnsupportedFormatError(f"{name} holds no certificate signing request")
        der = blocks[0].der
    else:
        der = data
    try:
        csr = x509.load_der_x509_csr(der)
        valid = csr.is_signature_valid
    except PARSE_ERRORS as err:
        raise UnsupportedFormatError(f"{name} is not a valid certificate signing request") from err
    if not valid:
        raise ValidationError(f"the signature of the CSR in {name} is invalid", field="csr")
    return csr


def csr_pem(csr: x509.CertificateSigningRequest) -> str:
    """The CSR as PEM text."""
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")
