"""Judge a served chain apart from the handshake: host-name match (RFC 6125) and web-PKI trust.

Pure and synchronous; :func:`load_system_roots` and :func:`verify_chain` read files, so async
callers run them in a thread (as :mod:`certmgr.shared.tlsprobe` does).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import warnings
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import (
    PolicyBuilder,
    Store,
    VerificationError,
)

__all__ = ["load_system_roots", "name_matches", "parse_ip", "verify_chain"]

_SHA256 = SHA256()
_SAN_ERRORS = (
    x509.ExtensionNotFound,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    ValueError,
)


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address in ``value`` (brackets and a zone id allowed), or None for a name."""
    try:
        return ipaddress.ip_address(value.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def name_matches(cert: x509.Certificate, name: str) -> bool:
    """True when ``cert``'s subject alternative names cover ``name`` (RFC 6125 / RFC 9525).

    IP addresses match IP SANs only. DNS names match case-insensitively (IDNA-encoded, trailing
    dot ignored); a wildcard is honoured only as the whole left-most label of a name with at least
    three labels (``*.example.com`` covers ``www.example.com``, not ``example.com`` or
    ``a.b.example.com``). The subject CN is not consulted.
    """
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (
        x509.ExtensionNotFound,
        x509.DuplicateExtension,
        x509.UnsupportedGeneralNameType,
        ValueError,
    ):
        return False
    ip = parse_ip(name)
    if ip is not None:
        return ip in sans.get_values_for_type(x509.IPAddress)
    try:
        ref = name.strip().rstrip(".").lower().encode("idna").decode("ascii")
    except UnicodeError:
        return False
    head, _, rest = ref.partition(".")
    for pattern in sans.get_values_for_type(x509.DNSName):
        presented = pattern.strip().rstrip(".").lower()
        if presented == ref:
            return True
        if (
            presented.startswith("*.")
            and presented.count(".") >= 2
            and head
            and rest == presented[2:]
        ):
            return True
    return False


def _read_bundle(data: bytes) -> list[x509.Certificate]:
    marker = b"-----BEGIN CERTIFICATE-----"
    certs = []
    with warnings.catch_warnings():
        # Some shipped roots break RFC 5280 (e.g. negative serials); they are still anchors.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for part in data.split(marker)[1:]:
            try:
                certs.append(x509.load_pem_x509_certificate(marker + part))
            except (ValueError, x509.InvalidVersion):
                continue  # one odd entry must not hide the rest of the store
    return certs


def load_system_roots() -> tuple[x509.Certificate, ...]:
    """The operating system's trust anchors (``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured).

    Blocking file I/O: call it in a thread and pass the result as ``trust_roots``. The parsed
    store is remembered while its files are unchanged (same path, inode, size and modification
    time), so a repeat call costs a ``stat`` per file and returns the same tuple, whose verifier
    store :func:`verify_chain` has then built already. A store replaced or edited on disk is read
    again on the next call. Returns an empty tuple when no store is found.
    """
    paths = ssl.get_default_verify_paths()
    for name in (os.environ.get(paths.openssl_cafile_env), paths.cafile, paths.openssl_cafile):
        if name and Path(name).is_file():
            return _remembered(Path(name), (Path(name),))
    for name in (os.environ.get(paths.openssl_capath_env), paths.capath, paths.openssl_capath):
        if name and Path(name).is_dir():
            return _remembered(
                Path(name), tuple(f for f in sorted(Path(name).iterdir()) if f.is_file())
            )
    return ()


_MAX_STORES = 8
_ROOTS: dict[Path, tuple[tuple[tuple[int, ...], ...], tuple[x509.Certificate, ...]]] = {}


def _remembered(where: Path, files: tuple[Path, ...]) -> tuple[x509.Certificate, ...]:
    """The anchors in ``files`` (a bundle, or a directory's files), parsed again only when one changed."""
    try:
        stamp = tuple(
            (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) for st in (f.stat() for f in files)
        )
    except OSError:
        return _read_files(files)  # a file went away while listed: read what is there
    hit = _ROOTS.get(where)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    roots = _read_files(files)
    if len(_ROOTS) >= _MAX_STORES:
        _ROOTS.clear()
    _ROOTS[where] = (stamp, roots)
    return roots


def _read_files(files: tuple[Path, ...]) -> tuple[x509.Certificate, ...]:
    found = [c for f in files if f.is_file() for c in _read_bundle(f.read_bytes())]
    return tuple({c.fingerprint(_SHA256): c for c in found}.values())


_STORES: dict[tuple[int, ...], tuple[tuple[x509.Certificate, ...], Store]] = {}


def _store_of(roots: tuple[x509.Certificate, ...]) -> Store:
    """The verifier's store of these anchors, built once (about 0.4 ms for the system's 140).

    Monitoring judges every chain against the same anchor objects. The cache is keyed by the
    objects' identities and holds the objects themselves, so no identity can be reused by
    another certificate while its entry lives; equal anchors in new objects just build a store
    of their own. (Hashing the certificates instead costs as much as building the store.)
    """
    key = tuple(map(id, roots))
    hit = _STORES.get(key)
    if hit is not None:
        return hit[1]
    store = Store(list(roots))
    if len(_STORES) >= _MAX_STORES:
        _STORES.clear()
    _STORES[key] = (roots, store)
    return store


def _plain_verify_error(text: str) -> str:
    low = text.lower()
    if "not valid at validation time" in low or "expired" in low:
        return "a certificate in the chain has expired or is not valid yet"
    if "candidates exhausted" in low:
        return "the chain does not lead to a trusted root (unknown issuer or missing intermediate)"
    return f"the chain is not valid ({text})"


def _subjects(leaf: x509.Certificate, name: str) -> list[str]:
    """Names to verify against: ``name`` when it matches, else the names the leaf holds.

    Trust is judged apart from the host name (that is :func:`name_matches`' job), so a wrong-name
    certificate from a trusted CA still counts as trusted here.
    """
    found = [name] if name_matches(leaf, name) else []
    try:
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except _SAN_ERRORS:
        return [*found, name]
    found += [str(v) for v in sans.get_values_for_type(x509.IPAddress)]
    found += [
        f"probe{v[1:]}" if v.startswith("*.") else v for v in sans.get_values_for_type(x509.DNSName)
    ]
    return [*found, name]


def verify_chain(
    chain: Sequence[x509.Certificate],
    trust_roots: Sequence[x509.Certificate] | None = None,
    name: str = "",
    *,
    now: dt.datetime | None = None,
) -> tuple[bool | None, str | None]:
    """Check that the served chain leads from its leaf to a trust anchor (web-PKI rules).

    Blocking (may read the system store): run it in a thread from async code.

    Args:
        chain: Leaf first, then what the server sent.
        trust_roots: Anchors to use; None means the operating system's store.
        name: The host name or IP the leaf is meant for (only used to pick the check's subject).
        now: The validation time (default: now).

    Returns:
        ``(True, None)``, ``(False, reason)``, or ``(None, reason)`` when it cannot be judged.
    """
    if not chain:
        return None, "no certificate to verify"
    roots = tuple(load_system_roots() if trust_roots is None else trust_roots)
    if not roots:
        return None, "no trust roots available"
    builder = PolicyBuilder().store(_store_of(roots)).time(now or dt.datetime.now(dt.UTC))
    for subject in _subjects(chain[0], name):
        ip = parse_ip(subject)
        try:
            verifier = builder.build_server_verifier(
                x509.IPAddress(ip) if ip else x509.DNSName(subject)
            )
        except ValueError:
            continue  # not a name the verifier accepts; try the next one
        try:
            verifier.verify(chain[0], list(chain[1:]))
        except VerificationError as err:
            return False, _plain_verify_error(str(err))
        except ValueError:  # the verifier reads every field strictly; loading read them lazily
            return False, "a certificate in the chain is malformed (a field cannot be read)"
        return True, None
    return False, "the certificate names no host the check can use"
