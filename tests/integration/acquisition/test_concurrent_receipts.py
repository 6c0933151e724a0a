"""Certificates received at the same moment whose chains share a CA certificate nobody stored
yet (a CA's new intermediate on the first renewals after it appeared): every request ends
``done`` with its own certificate current and the CA stored once (SQLite and PostgreSQL; on
PostgreSQL the losing insert's transaction is redone)."""

from __future__ import annotations

import asyncio
import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy import func, select

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate, CertificateDefinition
from certmgr.controller.domain.actors import cli_actor
from certmgr.controller.domain.values import CertificateSource
from certmgr.controller.services.acquisition.definitions import DefinitionSpec, create_definition
from certmgr.controller.services.acquisition.receiving import receive_issued
from certmgr.controller.services.acquisition.requests import start_request
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import SystemClock
from certmgr.shared.pki import load_csr
from tests.factories.pki import make_ca, make_intermediate
from tests.factories.pki_builders import name


async def test_same_new_intermediate_received_concurrently(db: Database, vault: MasterKey) -> None:
    clock, actor = SystemClock(), cli_actor()
    root_key, root = await asyncio.to_thread(make_ca, "Race Root")
    int_key, intermediate = await asyncio.to_thread(
        make_intermediate, root_key, root, "Race Intermediate"
    )
    now = dt.datetime.now(dt.UTC)

    def leaf_for(csr_pem: str, cn: str) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(intermediate.subject)
            .public_key(load_csr(csr_pem.encode(), "CSR").public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(int_key, hashes.SHA256())
        )

    leaves: list[tuple[int, x509.Certificate]] = []
    for i in range(6):
        spec = DefinitionSpec(name=f"race{i}", common_name=f"race{i}.certmgr.test")
        await create_definition(db, actor, spec, clock=clock)
        req = await start_request(db, vault, actor, f"race{i}", clock)
        leaf = await asyncio.to_thread(leaf_for, req.csr_pem, f"race{i}.certmgr.test")
        leaves.append((req.id, leaf))
    done = await asyncio.gather(
        *(
            receive_issued(
                db,
                actor,
                req_id,
                leaf,
                [intermediate],
                clock,
                source=CertificateSource.RECEIVED,
                require_complete=False,
            )
            for req_id, leaf in leaves
        )
    )
    assert [r.status for r in done] == ["done"] * len(leaves)
    async with db.reader() as s:
        for req in done:
            d = await s.get(CertificateDefinition, req.definition_id)
            assert d is not None and d.current_certificate_id == req.certificate_id
        stored = await s.scalar(
            select(func.count()).select_from(Certificate).where(Certificate.is_ca.is_(True))
        )
    assert stored == 1
