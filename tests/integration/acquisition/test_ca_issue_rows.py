"""Private-CA issuance in bulk writes exactly the rows the certificates call for.

The rows are written by Core executemany and handed back without reading them again; this test
reads everything back and checks it against the certificates themselves (parsed again, summarised
by the general summary), on SQLite and PostgreSQL: certificate columns, keys (sealed, linked),
chain links, current certificates, audit events.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401 - loaded now, not by the db fixture's first to_thread on the loop
import datetime as dt
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import inspect, select

from certmgr.controller.db.models import (
    AuditEvent,
    Certificate,
    CertificateDefinition,
    ChainLink,
    PrivateKeyRecord,
)
from certmgr.controller.db.queries.authorities import active_ca
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.domain.values import CertificateSource, KeyOrigin
from certmgr.controller.services.acquisition.definitions import DefinitionSpec, create_definition
from certmgr.controller.services.acquisition.private_ca import (
    CaContext,
    IssueRequest,
    issue_for_definitions,
    setup_root,
)
from certmgr.controller.services.certificates.store import (
    certificate_values,
    store_key,
    unseal_key,
)
from certmgr.shared.clock import FakeClock
from certmgr.shared.pki import KeyType, build_csr, generate_private_key, key_matches_certificate

ADMIN = Actor(name="admin", role=Role.ADMIN, source="test")
COLUMNS = [c.key for c in inspect(Certificate).columns]


async def test_bulk_issue_writes_what_the_certificates_say(
    db: Any, vault: Any, tmp_path: Path
) -> None:
    clock = FakeClock(dt.datetime(2026, 12, 5, 3, 0, 0, 123456, tzinfo=dt.UTC))
    ctx = CaContext(tmp_path / "ca", "http://ca.test/pki/crl.der")
    await setup_root(
        db, vault, ADMIN, ctx, subject="CN=Bulk Test CA", key_type="ec-p256", clock=clock
    )
    specs = [
        DefinitionSpec(name="web", common_name="web.example.test", sans=("www.example.test",)),
        DefinitionSpec(
            name="shop",
            common_name="shop.example.test",
            sans=("192.0.2.7", "2001:db8::1"),
            organization="Shop, Inc.",
            country="DE",
            key_type="rsa-2048",
            renewal_policy={"days": 30},
        ),
        DefinitionSpec(name="kept", common_name="kept.example.test"),
        DefinitionSpec(name="csr-known", common_name="known.example.test"),
        DefinitionSpec(name="csr-new", common_name="new.example.test"),
    ]
    for spec in specs:
        await create_definition(db, ADMIN, spec, clock=clock)
    known_key, new_key = (
        generate_private_key(KeyType.EC_P256),
        generate_private_key(KeyType.EC_P256),
    )
    async with db.transaction() as s:
        known_row, _ = await store_key(
            s, vault, known_key, origin=KeyOrigin.IMPORTED, now=clock.now()
        )
    csr = {
        k: build_csr(key, cn).public_bytes(Encoding.PEM)
        for k, key, cn in (("known", known_key, "known.example.test"), ("new", new_key, "new.x"))
    }
    clock.advance(dt.timedelta(minutes=1))
    requests = [
        IssueRequest("web"),
        IssueRequest("shop"),
        IssueRequest("web", days=10),  # the same definition twice: the later one is current
        IssueRequest("kept", make_current=False),
        IssueRequest("csr-known", csr_pem=csr["known"]),
        IssueRequest("csr-new", csr_pem=csr["new"], make_current=False),
    ]
    out = await issue_for_definitions(db, vault, ADMIN, ctx, requests, clock=clock)
    now = clock.now()

    assert len({r.id for r in out}) == len(requests)
    assert all(inspect(r).detached for r in out)
    async with db.reader() as s:
        stored = {
            r.id: r
            for r in (
                await s.execute(select(Certificate).where(Certificate.id.in_([r.id for r in out])))
            ).scalars()
        }
        defs = {d.name: d for d in (await s.execute(select(CertificateDefinition))).scalars().all()}
        keys = {k.id: k for k in (await s.execute(select(PrivateKeyRecord))).scalars().all()}
        links = (await s.execute(select(ChainLink))).scalars().all()
        events = (
            (await s.execute(select(AuditEvent).where(AuditEvent.action == "ca.issue")))
            .scalars()
            .all()
        )
        ca_cert_id = (await active_ca(s)).certificate_id
    for r, req in zip(out, requests, strict=True):
        row = stored[r.id]
        # what was handed back is what is stored, column by column
        assert {c: getattr(r, c) for c in COLUMNS} == {c: getattr(row, c) for c in COLUMNS}
        # and what is stored is what the certificate says, read by the general summary
        cert = x509.load_der_x509_certificate(row.der)
        expected = certificate_values(cert, source=CertificateSource.ISSUED, now=now)
        assert {k: getattr(row, k) for k in expected} == expected
        assert row.definition_id == defs[str(req.definition_ref)].id
        assert row.signature_problem is None
        if req.csr_pem is None:
            key_row = keys[row.private_key_id]
            assert key_row.origin == KeyOrigin.GENERATED and key_row.created_at == now
            assert key_matches_certificate(unseal_key(key_row, vault), cert)
            assert key_row.public_sha256 == row.public_key_sha256
        assert [
            (ln.position, ln.ca_certificate_id) for ln in links if ln.certificate_id == r.id
        ] == [(0, ca_cert_id)]
    web1, shop, web2, kept, csr_known, csr_new = out
    assert csr_known.private_key_id == known_row.id and csr_new.private_key_id is None
    assert shop.key_label == "RSA 2048" and shop.sans == [
        "shop.example.test",
        "192.0.2.7",
        "2001:db8::1",
    ]
    assert (shop.not_after - shop.not_before).days == 30
    assert (web2.not_after - web2.not_before).days == 10
    assert defs["web"].current_certificate_id == web2.id and defs["web"].updated_at == now
    assert defs["shop"].current_certificate_id == shop.id
    assert defs["csr-known"].current_certificate_id == csr_known.id
    assert defs["kept"].current_certificate_id is None
    assert defs["csr-new"].current_certificate_id is None
    # one audit event per certificate, naming it
    assert sorted(
        (e.entity_id, e.detail["definition"], e.detail["sha256"], e.detail["serial"])
        for e in events
    ) == sorted(
        (str(r.id), str(req.definition_ref), r.sha256, r.serial_hex)
        for r, req in zip(out, requests, strict=True)
    )
    assert {(e.actor, e.source, e.entity_type, e.at) for e in events} == {
        ("admin", "test", "certificate", now)
    }
    assert kept.definition_id == defs["kept"].id
    assert web1.id != web2.id
