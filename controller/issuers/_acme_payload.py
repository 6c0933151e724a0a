"""What goes into a newOrder: identifiers from the CSR, ``profile`` and ``replaces`` by feature."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from acme import messages
from cryptography import x509

from certmgr.controller.issuers.acme_solvers import DNS_01, HTTP_01, ChallengeSolver
from certmgr.shared.errors import ValidationError

logger = logging.getLogger(__name__)

_ARI_ID = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_KNOWN_KINDS = (DNS_01, HTTP_01)


class DirectoryFeatures(NamedTuple):
    """What optional ACME extensions a directory offers."""

    has_ari: bool
    profiles: dict[str, str]


def features_of(directory: messages.Directory) -> DirectoryFeatures:
    """ARI and profile support of a fetched directory."""
    try:
        has_ari = bool(directory["renewalInfo"])
    except KeyError:
        has_ari = False
    profiles = getattr(directory.meta, "profiles", None) or {}
    return DirectoryFeatures(has_ari, {str(k): str(v) for k, v in dict(profiles).items()})


def csr_identifiers(csr: x509.CertificateSigningRequest) -> list[tuple[str, str]]:
    """ACME identifiers (``("dns"|"ip", value)``) named by a CSR: SANs, then a DNS-like CN.

    Raises:
        ValidationError: The CSR names nothing ACME can certify.
    """
    found: list[tuple[str, str]] = []
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        found += [("dns", n.lower().rstrip(".")) for n in san.get_values_for_type(x509.DNSName)]
        found += [("ip", str(ip)) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    for attr in csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME):
        cn = str(attr.value).strip().lower().rstrip(".")
        try:
            ident = ("ip", str(ipaddress.ip_address(cn)))
        except ValueError:
            ident = ("dns", cn)
        if cn and ident not in found:
            found.append(ident)
    unique = list(dict.fromkeys(found))
    if not unique:
        raise ValidationError("the CSR names no DNS name or IP address", field="csr")
    return unique


def new_order_payload(
    identifiers: Sequence[tuple[str, str]],
    features: DirectoryFeatures,
    *,
    profile: str | None,
    replaces: str | None,
) -> dict[str, Any]:
    """The newOrder body: identifiers plus ``profile``/``replaces`` where the CA offers them.

    ``profile`` is sent only when the directory lists profiles, ``replaces`` only when it has
    a ``renewalInfo`` endpoint; otherwise they are left out (the CA would ignore or refuse them).

    Raises:
        ValidationError: The CA lists profiles but not this one, or ``replaces`` is not an ARI id.
    """
    body: dict[str, Any] = {"identifiers": [{"type": t, "value": v} for t, v in identifiers]}
    if profile:
        if not features.profiles:
            logger.info("ACME directory offers no profiles; not sending profile %r", profile)
        elif profile not in features.profiles:
            offered = ", ".join(sorted(features.profiles))
            raise ValidationError(
                f"the CA offers no profile {profile!r} (it offers {offered})", field="profile"
            )
        else:
            body["profile"] = profile
    if replaces:
        if not _ARI_ID.match(replaces):
            raise ValidationError(f"not an ARI certificate id: {replaces!r}", field="replaces")
        if features.has_ari:
            body["replaces"] = replaces
        else:
            logger.info("ACME directory has no renewalInfo; not sending replaces")
    return body


def kinds_for(solver: ChallengeSolver, name: str, wildcard: bool) -> list[str]:
    """Challenge kinds usable for ``name``: the solver's, restricted to DNS-01 for wildcards."""
    kinds = [k for k in solver.supports(("*." if wildcard else "") + name) if k in _KNOWN_KINDS]
    return [DNS_01] if wildcard and DNS_01 in kinds else ([] if wildcard else kinds)


def check_solvable(identifiers: Sequence[tuple[str, str]], solver: ChallengeSolver) -> None:
    """Fail before ordering when the solver cannot answer for some name.

    Raises:
        ValidationError: A name no solver kind fits (wildcards need DNS-01).
    """
    for _, value in identifiers:
        wildcard = value.startswith("*.")
        if not kinds_for(solver, value.removeprefix("*."), wildcard):
            need = "dns-01 (wildcard)" if wildcard else "http-01 or dns-01"
            raise ValidationError(
                f"no configured challenge solver can validate {value}: it needs {need}",
                field="challenge",
            )
