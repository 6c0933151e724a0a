"""parse_san tries IP address parsing only on text that can be one, and reads everything as before."""

from __future__ import annotations

import ipaddress
import random

from cryptography import x509

from certmgr.shared.errors import ValidationError
from certmgr.shared.pki.names import normalize_dns_name, parse_san


def _before(text: str) -> x509.GeneralName:
    """parse_san's reading of text without a DNS:/IP: prefix, as it was (every text tried as an IP)."""
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        return x509.DNSName(normalize_dns_name(text))


def _outcome(fn: object, text: str) -> object:
    try:
        return fn(text)  # type: ignore[operator]
    except ValidationError as err:
        return ("refused", str(err))


def test_parse_san_reads_random_text_as_before() -> None:
    rng = random.Random(20261205)
    alphabet = "0123456789.:abcdefABCDEF%-*_ xyz٣²\u00e9"
    samples = [
        "192.0.2.1",
        "010.0.0.1",
        "1.2.3",
        "2001:db8::1",
        "::ffff:192.0.2.1",
        "fe80::1%eth0",
        "1234",
        "١٢.٣.٤.٥",
        "host.example.test",
        "*.example.test",
        "a:b",
        "",
    ]
    samples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))) for _ in range(20000)
    ]
    for text in samples:
        text = text.strip()
        assert _outcome(parse_san, text) == _outcome(_before, text), text
