"""Receiving a certificate for a request: checks, chain, storing, switching the current certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CertificateRequest, PrivateKeyRecord
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.states import REQUEST_STATE_WORDS, RequestStatus
from certmgr.controller.domain.values import CertificateSource
from certmgr.controller.services._events import CERTIFICATE_SWITCHED, CertificateSwitched
from certmgr.controller.services.acquisition.current import hold_certificate
from certmgr.controller.services.acquisition.definitions import find_definition
from certmgr.controller.services.acquisition.requests import (
    add_event,
    find_request,
    move,
    switch_current,
)
from certmgr.controller.services.certificates.store import (
    known_ca_certificates,
    set_chain,
    store_certificate,
)
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConflictError, InputError, KeyMismatchError
from certmgr.shared.pki import ChainResult, build_chain, key_matches_certificate, load, load_csr
from certmgr.shared.pki.names import san_text
from certmgr.shared.tlstrust import load_system_roots

_STORE_ATTEMPTS = 3


async def after_switch(
    db: Database, vault: MasterKey, actor: Actor, req: CertificateRequest, clock: Clock
) -> None:
    """Tell the subscribers of "current certificate switched" (agent auto-install) and note what they did."""
    if req.status != RequestStatus.DONE.value:
        return
    # the subscribers (agent auto-install) report their failures instead of raising
    done = await CERTIFICATE_SWITCHED.publish(
        db, vault, CertificateSwitched(req.definition_id, actor), clock
    )
    queued, failures = done.queued, done.failures
    if not queued and not failures:
        return  # nothing to note in the request's history
    async with db.transaction() as s:
        row = await find_request(s, req.id)
        if queued:
            add_event(
                s,
                row,
                actor,
                "auto-install",
                f"new certificate queued for {queued} agent deployment(s)",
                clock,
            )
        for message in failures:
            add_event(s, row, actor, "auto-install-failed", message[:2000], clock)


async def receive_certificate(
    db: Database,
    actor: Actor,
    request_id: int,
    data: bytes,
    clock: Clock,
    *,
    name: str = "certificate",
    chain_data: Sequence[bytes] = (),
    password: bytes | None = None,
    vault: MasterKey,
    hold_until: dt.datetime | None = None,
) -> CertificateRequest:
    """Receive a vendor's certificate (any importable format) for a request.

    The vault unseals the key for the agents that get the new certificate (auto-deploy).
    With ``hold_until`` (or when the certificate is valid only from a later date) it is stored
    but held back: the scheduler makes it current at that time.

    Raises:
        KeyMismatchError: It is for another key.
        InputError: Names differ from the CSR, not valid now, or the chain cannot be completed.
    """
    bundle = load(data, password=password, name=name)
    extra: list[x509.Certificate] = []
    for i, c in enumerate(chain_data):
        extra.extend(load(c, name=f"chain {i + 1}").certificates)
    async with db.reader() as s:
        req = await find_request(s, request_id)
        if req.status not in (RequestStatus.KEY_AND_CSR.value, RequestStatus.ORDERED.value):
            raise ConflictError(
                f"request {req.id} is {REQUEST_STATE_WORDS.get(req.status, req.status)}: a "
                "certificate is received only for a request waiting to be ordered, or ordered; "
                "open a new request on the definition instead"
            )
        krow = await s.get(PrivateKeyRecord, req.private_key_id) if req.private_key_id else None
    if krow is None or not req.csr_pem:
        raise ConflictError("the request has no key and CSR yet")
    csr = load_csr(req.csr_pem.encode(), name="request CSR")
    mine = [c for c in bundle.certificates if key_matches_certificate(csr.public_key(), c)]  # type: ignore[arg-type]
    if not mine:
        subj = bundle.certificates[0].subject.rfc4514_string() if bundle.certificates else "(none)"
        raise KeyMismatchError(f"the certificate ({subj}) does not match the request's private key")
    cert = mine[0]
    others = [c for c in [*bundle.certificates, *extra] if c is not cert]
    done = await receive_issued(
        db,
        actor,
        request_id,
        cert,
        others,
        clock,
        source=CertificateSource.RECEIVED,
        check_names=csr,
        hold_until=hold_until,
    )
    await after_switch(db, vault, actor, done, clock)
    return done


async def receive_issued(
    db: Database,
    actor: Actor,
    request_id: int,
    cert: x509.Certificate,
    chain_candidates: list[x509.Certificate],
    clock: Clock,
    *,
    source: str,
    check_names: x509.CertificateSigningRequest | None = None,
    require_complete: bool = True,
    hold_until: dt.datetime | None = None,
) -> CertificateRequest:
    """Store ``cert`` (with the chain built from ``chain_candidates``) as the request's certificate and make it current.

    A certificate valid only from a later date, or one received with ``hold_until``, is held
    instead: the request stays ``received`` and the scheduler switches at that time.

    Raises:
        InputError: Expired, names differ from ``check_names``, or (``require_complete``)
            the chain cannot be completed.
    """
    now = clock.now()
    if hold_until is not None and hold_until.tzinfo is None:
        raise InputError("the hold time needs a time zone (UTC)")
    if cert.not_valid_before_utc > now + dt.timedelta(minutes=5):
        hold_until = max(hold_until or now, cert.not_valid_before_utc)
    if cert.not_valid_after_utc <= now:
        raise InputError(f"the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    if check_names is not None:
        _same_names(check_names, cert)
    async with db.reader() as s:
        known = await known_ca_certificates(s)
    # chain building verifies signatures and may read the system trust store: off the loop
    chain = await asyncio.to_thread(
        _chain_for, cert, [*chain_candidates, *known], require_complete=require_complete
    )
    if require_complete and not chain.complete:
        raise InputError(
            f"the chain is incomplete: issuer {chain.missing_issuer or '?'} was not supplied; add the intermediate certificates"
        )
    # Two requests storing the same new CA certificate at once (PostgreSQL has no writer lock):
    # one insert loses on the unique fingerprint; its transaction is rolled back and redone,
    # and then finds the certificate the other stored.
    for attempt in range(1, _STORE_ATTEMPTS + 1):
        try:
            async with db.transaction() as s:
                return await _store_and_switch(
                    s, actor, request_id, cert, chain, clock, source, hold_until, now
                )
        except IntegrityError:
            if attempt == _STORE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _store_and_switch(
    s: AsyncSession,
    actor: Actor,
    request_id: int,
    cert: x509.Certificate,
    chain: ChainResult,
    clock: Clock,
    source: str,
    hold_until: dt.datetime | None,
    now: dt.datetime,
) -> CertificateRequest:
    req = await find_request(s, request_id)
    d = await find_definition(s, req.definition_id)
    row, created = await store_certificate(
        s, cert, source=source, now=now, definition_id=d.id, private_key_id=req.private_key_id
    )
    row.definition_id = d.id  # also when the certificate was known already
    row.private_key_id = req.private_key_id
    ca_rows = [
        (await store_certificate(s, c, source=CertificateSource.IMPORTED, now=now))[0]
        for c in chain.chain
    ]
    await set_chain(
        s,
        row,
        [c for c in ca_rows if not c.self_signed]
        if source == CertificateSource.RECEIVED
        else ca_rows,
        replace=not created,
    )
    req.certificate_id = row.id
    req.last_error = ""
    req.next_attempt_at = None
    move(
        s,
        req,
        actor,
        RequestStatus.RECEIVED,
        f"certificate received: serial {row.serial_hex}, expires {row.not_after:%Y-%m-%d}, SHA-256 {row.sha256}",
        clock,
        {"certificate": row.id},
    )
    if hold_until is not None and hold_until > now:
        await hold_certificate(s, actor, d, row, hold_until, clock)
        add_event(
            s,
            req,
            actor,
            "held",
            f"certificate #{row.id} is held; it becomes current at {d.switch_at:%Y-%m-%d %H:%M} UTC",
            clock,
            {"certificate": row.id},
        )
        return req
    await switch_current(s, actor, d, row, clock)
    move(
        s,
        req,
        actor,
        RequestStatus.CURRENT_SWITCHED,
        f"certificate #{row.id} is now current",
        clock,
    )
    move(s, req, actor, RequestStatus.DONE, "done", clock)
    return req


def _chain_for(
    cert: x509.Certificate, candidates: list[x509.Certificate], *, require_complete: bool
) -> ChainResult:
    roots = load_system_roots() if require_complete else ()
    return build_chain(cert, candidates, trusted=roots)


def _same_names(csr: x509.CertificateSigningRequest, cert: x509.Certificate) -> None:
    def names(obj: x509.Certificate | x509.CertificateSigningRequest) -> set[str]:
        try:
            return {
                san_text(g).lower()
                for g in obj.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            }
        except x509.ExtensionNotFound:
            return set()

    want, got = names(csr), names(cert)
    if want - got:
        raise InputError(
            f"the certificate lacks names the request asked for: {', '.join(sorted(want - got))}"
        )
    cn = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    got_cn = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if (
        cn
        and got_cn
        and str(cn[0]).lower() != str(got_cn[0]).lower()
        and str(cn[0]).lower() not in got
    ):
        raise InputError(
            f"the certificate's common name {got_cn[0]!r} differs from the request's {cn[0]!r}"
        )
