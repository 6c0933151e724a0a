"""DNS-01 through RFC 2136 dynamic updates (TSIG-signed) to an authoritative DNS server."""

from __future__ import annotations

import asyncio
import binascii
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update

from certmgr.controller.issuers.acme_solvers import DNS_01, base_name, in_domains
from certmgr.shared.errors import (
    TemporaryUpstreamError,
    UpstreamError,
    UpstreamRejectedError,
    ValidationError,
)
from certmgr.shared.secret import Secret

logger = logging.getLogger(__name__)

_TEMPORARY_RCODES = frozenset({dns.rcode.SERVFAIL})
_TSIG_ALGORITHMS = frozenset(
    {"hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5"}
)


@dataclass(frozen=True)
class _Server:
    host: str
    port: int


def _parse_server(server: str) -> _Server:
    text = server.strip()
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValidationError(f"not a DNS server address: {server!r}", field="dns_server")
    return _Server(host, int(port))


class Dns01Rfc2136Solver:
    """Publishes ``_acme-challenge`` TXT records with TSIG-signed dynamic updates.

    ``prepare`` adds the value (other values at the same name stay: a wildcard and its base
    name share one record name) and returns once the server itself answers it; ``cleanup``
    deletes exactly that value.

    Args:
        server: The primary server, ``host``, ``host:port`` or ``[v6]:port``.
        zone: The zone the server accepts updates for.
        tsig_key_name: The TSIG key name.
        tsig_secret: The TSIG secret (base64), never shown in reprs or errors.
        algorithm: The TSIG algorithm, e.g. ``hmac-sha256``.
        ttl: TTL of the published records.
        propagation_timeout: Seconds to wait until the server answers the new record.
        query_timeout: Seconds for each DNS exchange.

    Raises:
        ValidationError: Bad server address, zone, algorithm or secret encoding.
    """

    def __init__(
        self,
        server: str,
        zone: str,
        tsig_key_name: str,
        tsig_secret: Secret[str] | str,
        algorithm: str = "hmac-sha256",
        *,
        ttl: int = 60,
        propagation_timeout: float = 30.0,
        query_timeout: float = 5.0,
    ) -> None:
        self._server = _parse_server(server)
        self.zone = base_name(zone)
        if not self.zone:
            raise ValidationError("the DNS zone is empty", field="zone")
        alg = algorithm.strip().lower().rstrip(".")
        if alg not in _TSIG_ALGORITHMS:
            raise ValidationError(f"unknown TSIG algorithm {algorithm!r}", field="algorithm")
        secret = tsig_secret.reveal() if isinstance(tsig_secret, Secret) else tsig_secret
        try:
            keyring = dns.tsigkeyring.from_text({tsig_key_name: (alg, secret)})
        except (binascii.Error, ValueError, dns.exception.DNSException) as err:
            raise ValidationError(
                "the TSIG secret is not valid base64", field="tsig_secret"
            ) from err
        self._key_name = dns.name.from_text(tsig_key_name)
        self._keyring: Secret[Any] = Secret(keyring)
        self._algorithm = alg
        self.ttl = ttl
        self.propagation_timeout = propagation_timeout
        self.query_timeout = query_timeout

    def __repr__(self) -> str:
        return (
            f"Dns01Rfc2136Solver(server={self._server.host}:{self._server.port}, "
            f"zone={self.zone!r}, key={self._key_name.to_text()!r})"
        )

    def supports(self, domain: str) -> Sequence[str]:
        """``("dns-01",)`` for names (wildcards included) inside the zone."""
        return (DNS_01,) if in_domains(domain, (self.zone,)) else ()

    def record_name(self, domain: str) -> str:
        """The absolute TXT record name for ``domain``."""
        return f"_acme-challenge.{base_name(domain)}."

    async def prepare(self, domain: str, kind: str, token: str, value: str) -> None:
        """Add the TXT value and wait until the server answers it.

        Raises:
            ValidationError: ``kind`` is not DNS-01 or ``domain`` is outside the zone.
            TemporaryUpstreamError: Server unreachable, timed out, SERVFAIL, or not answering
                the record within ``propagation_timeout``.
            UpstreamRejectedError: The server refused the update (key, zone, policy).
        """
        self._check(domain, kind)
        name = self.record_name(domain)
        await self._update("add", name, value)
        await self._wait_visible(name, value)

    async def cleanup(self, domain: str, kind: str, token: str, value: str) -> None:
        """Delete the TXT value.

        Raises:
            ValidationError: ``kind`` is not DNS-01 or ``domain`` is outside the zone.
            TemporaryUpstreamError: Server unreachable or timed out.
            UpstreamRejectedError: The server refused the update.
        """
        self._check(domain, kind)
        await self._update("delete", self.record_name(domain), value)

    def _check(self, domain: str, kind: str) -> None:
        if kind != DNS_01:
            raise ValidationError(f"the RFC 2136 solver cannot answer {kind}", field="challenge")
        if not in_domains(domain, (self.zone,)):
            raise ValidationError(f"{domain} is not in zone {self.zone}", field="challenge")

    async def _update(self, op: str, name: str, value: str) -> None:
        message = dns.update.UpdateMessage(
            self.zone + ".",
            keyring=self._keyring.reveal(),
            keyname=self._key_name,
            keyalgorithm=self._algorithm,
        )
        if op == "add":
            message.add(name, self.ttl, dns.rdatatype.TXT, f'"{value}"')
        else:
            message.delete(name, dns.rdatatype.TXT, f'"{value}"')
        what = f"DNS update ({op} TXT {name}) at {self._server.host}:{self._server.port}"
        try:
            async with asyncio.timeout(self.query_timeout + 1):
                response = await asyncio.to_thread(
                    dns.query.tcp,
                    message,
                    self._server.host,
                    timeout=self.query_timeout,
                    port=self._server.port,
                )
        except dns.tsig.PeerError as err:
            raise UpstreamRejectedError(
                f"{what}: the server rejected TSIG key {self._key_name.to_text()!r} "
                f"({type(err).__name__})"
            ) from err
        except (TimeoutError, dns.exception.Timeout) as err:
            raise TemporaryUpstreamError(f"{what}: timed out") from err
        except OSError as err:
            raise TemporaryUpstreamError(f"{what}: {err.strerror or 'network error'}") from err
        except dns.exception.DNSException as err:
            raise UpstreamRejectedError(f"{what}: {type(err).__name__}") from err
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR:
            text = dns.rcode.to_text(rcode)
            if rcode in _TEMPORARY_RCODES:
                raise TemporaryUpstreamError(f"{what}: the server answered {text}")
            raise UpstreamRejectedError(f"{what}: the server answered {text}")
        logger.debug("%s: done", what)

    async def _txt_values(self, name: str) -> set[str]:
        query = dns.message.make_query(name, dns.rdatatype.TXT)
        response = await dns.asyncquery.tcp(
            query, self._server.host, timeout=self.query_timeout, port=self._server.port
        )
        return {
            b"".join(rdata.strings).decode("ascii", "replace")
            for rrset in response.answer
            if rrset.rdtype == dns.rdatatype.TXT
            for rdata in rrset
        }

    async def _wait_visible(self, name: str, value: str) -> None:
        delay = 0.05
        last_error: UpstreamError | None = None
        try:
            async with asyncio.timeout(self.propagation_timeout):
                while True:
                    try:
                        if value in await self._txt_values(name):
                            return
                    except (dns.exception.DNSException, OSError) as err:
                        last_error = TemporaryUpstreamError(
                            f"DNS query for {name} failed: {type(err).__name__}"
                        )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
        except TimeoutError as err:
            reason = f" ({last_error})" if last_error else ""
            raise TemporaryUpstreamError(
                f"{self._server.host}:{self._server.port} did not answer the TXT record {name} "
                f"within {self.propagation_timeout:g} s{reason}"
            ) from err
