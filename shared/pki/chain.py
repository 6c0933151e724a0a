"""Certificate chains: who issued whom, chain building from a pile of certificates, served-order checks."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa

MAX_DEPTH = 10
# Below this many signatures a batch is checked on the calling thread (threads cost more than
# they save); above it, on up to _MAX_THREADS threads.
_PARALLEL_FROM = 256
_MAX_THREADS = 8


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _name_text(name_of: x509.Certificate, *, issuer: bool) -> str:
    try:
        return (name_of.issuer if issuer else name_of.subject).rfc4514_string()
    except ValueError:
        return "<unreadable name>"


def _ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except (
        x509.ExtensionNotFound,
        ValueError,
        x509.DuplicateExtension,
        x509.UnsupportedGeneralNameType,
    ):
        return None


def _names_match(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        return child.issuer == parent.subject
    except ValueError:
        return False


def _key_ids_match(child: x509.Certificate, parent: x509.Certificate) -> bool:
    aki = _ext(child, x509.AuthorityKeyIdentifier)
    ski = _ext(parent, x509.SubjectKeyIdentifier)
    if (
        isinstance(aki, x509.AuthorityKeyIdentifier)
        and aki.key_identifier
        and isinstance(ski, x509.SubjectKeyIdentifier)
    ):
        return aki.key_identifier == ski.digest
    return True


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """True when ``parent`` issued ``child``: names, key identifiers and the signature agree."""
    if not _names_match(child, parent) or not _key_ids_match(child, parent):
        return False
    return _signature_ok(child, parent)


@functools.lru_cache(maxsize=8192)
def _signature_ok(child: x509.Certificate, parent: x509.Certificate) -> bool:
    # Certificates hash and compare by their DER, so a repeated pair (the same intermediate under
    # the same root, checked on every probe of a fleet) is verified once.
    return _check_signature(child, parent)


def _check_signature(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, UnsupportedAlgorithm):
        return _legacy_signature_ok(child, parent)
    except (TypeError, InvalidSignature):
        return False
    return True


def issued_by_many(pairs: Sequence[tuple[x509.Certificate, x509.Certificate]]) -> list[bool]:
    """:func:`issued_by` of many (child, parent) pairs, in their order.

    cryptography releases the GIL while it verifies a signature, so the signatures of a large
    batch (an import of thousands of certificates) are checked on several threads at once: the
    same checks, spread over the machine's cores. Small batches stay on the calling thread.
    """
    claimed = [i for i, (c, p) in enumerate(pairs) if _names_match(c, p) and _key_ids_match(c, p)]
    out = [False] * len(pairs)
    threads = min(os.cpu_count() or 1, _MAX_THREADS)
    if len(claimed) < _PARALLEL_FROM or threads < 2:
        for i in claimed:
            out[i] = _signature_ok(*pairs[i])
        return out
    # Not through the cache: a batch this size would only push out the pairs probes repeat.
    step = -(-len(claimed) // (threads * 4))  # a few chunks per thread even out slow ones
    chunks = [claimed[i : i + step] for i in range(0, len(claimed), step)]

    def run(chunk: list[int]) -> list[bool]:
        return [_check_signature(*pairs[i]) for i in chunk]

    with ThreadPoolExecutor(threads, thread_name_prefix="certmgr-verify") as pool:
        for chunk, oks in zip(chunks, pool.map(run, chunks), strict=True):
            for i, ok in zip(chunk, oks, strict=True):
                out[i] = ok
    return out


def _legacy_signature_ok(child: x509.Certificate, parent: x509.Certificate) -> bool:
    # cryptography refuses SHA-1 and MD5 signatures in verify_directly_issued_by. A chain signed
    # so is still a chain (who issued whom); judging the hash is the trust policy's job, not a
    # reason to call the certificate forged.
    try:
        key = parent.public_key()
        algo = child.signature_hash_algorithm
        data, signature = child.tbs_certificate_bytes, child.signature
        if algo is None or algo.name not in ("sha1", "md5"):
            return False
        # (cryptography gives no signature_algorithm_parameters for these: they are implied)
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algo)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algo))
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(signature, data, algo)
        else:
            return False
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def forged_by(
    child: x509.Certificate, candidates: Iterable[x509.Certificate]
) -> x509.Certificate | None:
    """The candidate that ``child`` names as its issuer but whose key does not verify its signature.

    Names (and key identifiers, when present) point at the issuer, yet the signature fails: the
    certificate is corrupted or forged. ``child`` itself counts as a candidate (a self-signed
    certificate whose signature is broken). None when a candidate does verify it, or none claims it.

    Args:
        child: The certificate whose signature is checked.
        candidates: Possible issuers.

    Returns:
        The claimed issuer that fails, or None.
    """
    claimed = [
        c for c in (child, *candidates) if _names_match(child, c) and _key_ids_match(child, c)
    ]
    if not claimed or any(_signature_ok(child, c) for c in claimed):
        return None
    return claimed[0]


def is_self_signed(cert: x509.Certificate) -> bool:
    """True when the certificate is signed by its own key (subject equals issuer)."""
    return issued_by(cert, cert)


def is_ca(cert: x509.Certificate) -> bool:
    """True for CA certificates: basicConstraints CA:TRUE, or a self-signed v1 certificate (old roots)."""
    bc = _ext(cert, x509.BasicConstraints)
    if isinstance(bc, x509.BasicConstraints):
        return bc.ca
    return cert.version == x509.Version.v1 and is_self_signed(cert)


@dataclass(frozen=True)
class ChainResult:
    """A chain from a leaf upward.

    ``chain`` holds the issuers (intermediates, then the root or trust anchor when found), not the
    leaf. ``complete`` is True when it ends at a self-signed root or a trusted certificate;
    otherwise ``missing_issuer`` names the issuer that was not found. When the issuer was found
    but its key does not verify the signature of the leaf or of a certificate above it,
    ``bad_signature`` is that certificate and ``bad_signature_issuer`` the name of the issuer.
    """

    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    complete: bool
    missing_issuer: str | None
    bad_signature: x509.Certificate | None = None
    bad_signature_issuer: str | None = None

    @property
    def signature_ok(self) -> bool:
        """False when a certificate on the path does not verify with the issuer it names."""
        return self.bad_signature is None


def _pick(
    child: x509.Certificate, pool: list[x509.Certificate], trusted: set[bytes]
) -> x509.Certificate | None:
    matches = [c for c in pool if issued_by(child, c)]
    if not matches:
        return None
    # Prefer a trust anchor, then the issuer valid longest (a renewed intermediate over the old one).
    return max(matches, key=lambda c: (_der(c) in trusted, c.not_valid_after_utc))


def build_chain(
    leaf: x509.Certificate,
    candidates: Iterable[x509.Certificate],
    *,
    trusted: Iterable[x509.Certificate] = (),
    max_depth: int = MAX_DEPTH,
) -> ChainResult:
    """Order the issuers of ``leaf`` found among ``candidates`` (any order, duplicates allowed).

    Args:
        leaf: The end-entity certificate.
        candidates: Certificates that may be its issuers; unrelated ones are ignored.
        trusted: Trust anchors (for example the private CA's root); reaching one completes the chain.
        max_depth: At most this many issuers are added (stops loops and absurd chains).

    Returns:
        The chain and whether it is complete.
    """
    trusted_list = list(trusted)
    trusted_der = {_der(c) for c in trusted_list}
    pool = list({_der(c): c for c in [*candidates, *trusted_list]}.values())
    chain: list[x509.Certificate] = []
    seen = {_der(leaf)}
    current = leaf
    if is_self_signed(leaf) or _der(leaf) in trusted_der:
        return ChainResult(leaf, (), True, None)
    while len(chain) < max_depth:
        parent = _pick(current, [c for c in pool if _der(c) not in seen], trusted_der)
        if parent is None:
            forged = forged_by(current, pool)
            if forged is not None:
                return ChainResult(
                    leaf, tuple(chain), False, None, current, _name_text(forged, issuer=False)
                )
            return ChainResult(leaf, tuple(chain), False, _name_text(current, issuer=True))
        chain.append(parent)
        seen.add(_der(parent))
        if _der(parent) in trusted_der or is_self_signed(parent):
            return ChainResult(leaf, tuple(chain), True, None)
        current = parent
    return ChainResult(leaf, tuple(chain), False, _name_text(current, issuer=True))


def find_leaves(certs: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    """End-entity certificates in a set, in the given order.

    A leaf issues no other certificate of the set and is not a CA. When no certificate
    qualifies (a lone self-signed server certificate made with CA:TRUE, or a lone root),
    the certificates that issue none of the others are returned.
    """
    items = list({_der(c): c for c in certs}.values())
    if len(items) < 2:  # one certificate issues no other: it is the answer either way
        return items
    by_subject: dict[bytes, list[x509.Certificate]] = {}
    for c in items:
        if (subject := _name_bytes(c, issuer=False)) is not None:
            by_subject.setdefault(subject, []).append(c)
    issuer_ids: set[int] = set()
    for c in items:
        issuer = _name_bytes(c, issuer=True)
        for parent in by_subject.get(issuer, []) if issuer is not None else []:
            if parent is not c and issued_by(c, parent):
                issuer_ids.add(id(parent))
    not_issuers = [c for c in items if id(c) not in issuer_ids]
    leaves = [c for c in not_issuers if not is_ca(c)]
    return leaves or not_issuers


def _name_bytes(cert: x509.Certificate, *, issuer: bool) -> bytes | None:
    try:
        return (cert.issuer if issuer else cert.subject).public_bytes()
    except ValueError:
        return None


@dataclass(frozen=True)
class OrderReport:
    """How a server's certificate list compares with the correct order.

    ``expected`` is the list the server should send (leaf first, then its issuers found in the
    served list, root excluded). ``ok`` means: leaf first, each certificate issued by the next,
    nothing unrelated or repeated, and no issuer missing (see :func:`check_order`).
    """

    leaf: x509.Certificate | None
    expected: tuple[x509.Certificate, ...]
    in_order: bool
    complete: bool
    missing_issuer: str | None
    unrelated: tuple[x509.Certificate, ...]
    duplicates: int
    root_included: bool
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when the served list needs no change (an included root is tolerated)."""
        return not self.problems


def check_order(
    served: Sequence[x509.Certificate],
    *,
    trusted: Iterable[x509.Certificate] = (),
) -> OrderReport:
    """Check the certificate list a TLS server sends.

    Without ``trusted``, a chain that ends in a CA certificate whose (root) issuer is not sent is
    fine, as browsers hold the roots; a chain ending at the leaf itself is reported as missing
    its issuer. With ``trusted``, the chain must reach one of those anchors or a self-signed root.

    Args:
        served: The certificates in the order the server sent them.
        trusted: Trust anchors, when known.

    Returns:
        The report; ``problems`` holds one plain sentence per finding.
    """
    if not served:
        return OrderReport(
            None, (), False, False, None, (), 0, False, ("the server sent no certificate",)
        )
    trusted_list = list(trusted)
    unique = list({_der(c): c for c in served}.values())
    duplicates = len(served) - len(unique)
    leaf = served[0]
    leaves = find_leaves(unique)
    problems: list[str] = []
    if leaves and all(_der(leaf) != _der(c) for c in leaves) and is_ca(leaf):
        leaf = leaves[0]
        problems.append("the server certificate is not sent first")
    result = build_chain(leaf, unique, trusted=trusted_list)
    on_chain = {_der(leaf)} | {_der(c) for c in result.chain}
    unrelated = tuple(c for c in unique if _der(c) not in on_chain)
    path = [leaf, *result.chain]
    served_ders = {_der(c) for c in served}
    served_order = [d for d in dict.fromkeys(_der(c) for c in served) if d in on_chain]
    in_order = _der(served[0]) == _der(leaf) and served_order == [
        _der(c) for c in path if _der(c) in served_ders
    ]
    if not in_order and not problems:
        problems.append(
            "the certificates are not in order (each one must be followed by its issuer)"
        )
    root_included = any(is_self_signed(c) for c in result.chain)
    complete = result.complete
    missing = result.missing_issuer
    if not complete and not trusted_list and path[-1] is not leaf and is_ca(path[-1]):
        complete, missing = (
            True,
            None,
        )  # the root is in the client's trust store; not sending it is right
    if result.bad_signature is not None:
        problems.append(
            f"signature does not verify: {_name_text(result.bad_signature, issuer=False)} is not "
            f"signed by the key of {result.bad_signature_issuer} (corrupted or forged certificate)"
        )
    elif not complete:
        problems.append(f"the issuer {missing} is not sent (missing intermediate certificate?)")
    if unrelated:
        problems.append(f"{len(unrelated)} certificate(s) sent that do not belong to the chain")
    if duplicates:
        problems.append(f"{duplicates} certificate(s) sent more than once")
    expected = tuple(c for c in path if not is_self_signed(c) or c is leaf)
    return OrderReport(
        leaf,
        expected,
        in_order,
        complete,
        missing,
        unrelated,
        duplicates,
        root_included,
        tuple(problems),
    )
