"""PKCS#7 certificate bundles (``.p7b``/``.p7c``), read in file order."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7

from certmgr.shared.errors import UnsupportedFormatError
from certmgr.shared.pki import _der
from certmgr.shared.pki._common import PARSE_ERRORS, check_certificate_count, load_der_certificate
from certmgr.shared.pki.fingerprint import cert_der

SIGNED_DATA = "1.2.840.113549.1.7.2"


def pkcs7_certificates(der: bytes, where: str) -> list[x509.Certificate]:
    """The certificates of a DER PKCS#7 SignedData.

    Raises:
        UnsupportedFormatError: Not readable, or no certificates.
        InputTooLargeError: Too many certificates.
    """
    try:
        ders = _pkcs7_certificate_ders(der)
    except _der.DerError:
        # BER or otherwise unusual: let cryptography try (it warns when it falls back to BER).
        try:
            ders = [cert_der(c) for c in pkcs7.load_der_pkcs7_certificates(der)]
        except PARSE_ERRORS as err:
            raise UnsupportedFormatError(
                f"{where} is a PKCS#7 structure that cannot be read"
            ) from err
    if not ders:
        raise UnsupportedFormatError(f"{where} is a PKCS#7 structure without certificates")
    check_certificate_count(len(ders), where)
    return [load_der_certificate(d, where) for d in ders]


def _pkcs7_certificate_ders(der: bytes) -> list[bytes]:
    """The certificates of a DER SignedData, in file order.

    Read directly because ``openssl crl2pkcs7`` writes the SET OF certificates unsorted, which
    cryptography only accepts through its BER fallback (with a warning).
    """
    top = _der.whole(der, _der.SEQUENCE)
    items = _der.child_list(der, top, minimum=2)
    if _der.decode_oid(der, items[0]) != SIGNED_DATA or items[1].tag != _der.CONTEXT_0:
        raise _der.DerError("not PKCS#7 signed data")
    signed = _der.expect(der, items[1].content_start, items[1].end, _der.SEQUENCE)
    for part in _der.children(der, signed):
        if part.tag == _der.CONTEXT_0:
            return [
                _der.element(der, c) for c in _der.children(der, part) if c.tag == _der.SEQUENCE
            ]
    return []
