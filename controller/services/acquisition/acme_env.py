"""Wiring an ACME account to its challenge solver and its renewal information."""

from __future__ import annotations

import logging
from typing import Any

from cryptography import x509

from certmgr.controller.db.models import AcmeAccount, Certificate
from certmgr.controller.issuers.acme import (
    DEFAULT_REQUEST_TIMEOUT,
    AccountRecord,
    AcmeConnections,
    directory_features,
)
from certmgr.controller.issuers.acme_ari import ari_cert_id
from certmgr.controller.issuers.acme_dns01 import Dns01Rfc2136Solver
from certmgr.controller.issuers.acme_solvers import ChallengeSolver, CombinedSolver
from certmgr.controller.services.acquisition.acme_accounts import DNS_SECRET_PURPOSE
from certmgr.controller.vault import MasterKey
from certmgr.shared.errors import InputError, UpstreamError
from certmgr.shared.secret import Secret

logger = logging.getLogger(__name__)


def solver_for(
    account: AcmeAccount, vault: MasterKey, http01: ChallengeSolver | None
) -> ChallengeSolver:
    """The solver an account's orders use: DNS-01 by RFC 2136 when configured (wildcards), HTTP-01 otherwise.

    Raises:
        InputError: Nothing can answer the account's challenges.
    """
    solvers: list[ChallengeSolver] = []
    if account.challenge == "dns-01" and account.sealed_dns_secret:
        dns: dict[str, Any] = account.dns
        secret = vault.unseal(account.sealed_dns_secret, DNS_SECRET_PURPOSE).decode()
        solvers.append(
            Dns01Rfc2136Solver(
                str(dns["server"]),
                str(dns["zone"]),
                str(dns["key_name"]),
                Secret(secret),
                algorithm=str(dns.get("algorithm", "hmac-sha256")),
            )
        )
    if http01 is not None:
        solvers.append(http01)
    if not solvers:
        raise InputError(
            "no challenge responder: set [acme] http01_listen in config.toml or give the account DNS-01 settings"
        )
    return solvers[0] if len(solvers) == 1 else CombinedSolver(*solvers)


async def ari_replaces(
    old: Certificate | None,
    record: AccountRecord,
    connections: AcmeConnections | None = None,
) -> str | None:
    """The ARI id of ``old`` (the certificate a renewal replaces), when the CA offers renewal information.

    With ``connections`` the directory comes from a kept-open connection of the account.
    """
    if old is None or old.source == "issued":
        return None
    try:
        if connections is not None:
            features = await connections.directory_features(record, DEFAULT_REQUEST_TIMEOUT)
        else:
            features = await directory_features(
                record.directory_url, ca_bundle_pem=record.ca_bundle_pem
            )
    except UpstreamError as err:
        logger.info("no renewal information for %s: %s", record.directory_url, err)
        return None
    if not features.has_ari:
        return None
    try:
        return ari_cert_id(x509.load_der_x509_certificate(old.der))
    except InputError:
        return None
