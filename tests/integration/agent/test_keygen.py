"""Keys made on the agent: the CSR goes up, the key stays in the state directory."""

from __future__ import annotations

import datetime as dt
import stat

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certmgr.agent.settings import AgentSettings
from certmgr.shared.pki import load, load_csr, public_key_sha256, sha256_fingerprint
from certmgr.shared.protocol import KeygenRequest
from tests.factories.fake_controller import FakeController
from tests.factories.pki import TestPki

from .conftest import Site, running


def _issue(csr: x509.CertificateSigningRequest, pki: TestPki) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(pki.intermediate.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(pki.int_key, hashes.SHA256())
    )


async def test_keygen_uploads_a_csr_and_the_key_never_leaves(
    enrolled: AgentSettings, controller: FakeController, site: Site, pki: TestPki
) -> None:
    request = KeygenRequest(
        request_id="req-1",
        key_type="ec-p256",
        common_name="www.example.test",
        sans=("www.example.test", "example.test"),
        organization="Example",
        country="DE",
    )
    async with running(enrolled):
        controller.push_keygen(request)
        (upload,) = await controller.wait_for(lambda: controller.csrs)
        controller.push_keygen(request)  # sent again: the same CSR, no new key
        await controller.wait_for(lambda: len(controller.csrs) == 2)
        csr = load_csr(upload.csr_pem.encode())
        certificate = _issue(csr, pki)
        controller.push(
            controller.seal(
                deployment_id=4, sequence=1, certificate=certificate, chain=[pki.intermediate]
            )
        )
        report = await controller.wait_for(lambda: controller.reports)
    assert controller.csrs[1] == upload and upload.error_kind is None
    assert public_key_sha256(csr.public_key()) == upload.public_key_sha256  # type: ignore[arg-type]
    assert csr.subject.rfc4514_string() == "CN=www.example.test,O=Example,C=DE"

    key_file = enrolled.state_dir / "keys" / "req-1.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    (key,) = load(key_file.read_bytes()).keys
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    secret_forms = [
        key.private_numbers().private_value.to_bytes(32, "big"),
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        key_file.read_bytes(),
        b"PRIVATE KEY",
    ]
    for body in controller.raw_bodies:
        assert not any(form in body for form in secret_forms)

    # the certificate issued from the CSR is installed with the agent's own key
    assert report[0].ok, report[0].error
    assert report[0].installed_sha256 == sha256_fingerprint(certificate)
    (installed_key,) = load(site.key.read_bytes()).keys
    assert public_key_sha256(installed_key) == upload.public_key_sha256


async def test_bad_key_request_is_answered_with_an_error(
    enrolled: AgentSettings, controller: FakeController
) -> None:
    async with running(enrolled):
        controller.push_keygen(
            KeygenRequest(
                request_id="req-2", key_type="ec-p256", common_name="a.test", country="XYZ"
            )
        )
        (upload,) = await controller.wait_for(lambda: controller.csrs)
    assert upload.csr_pem == "" and upload.error_kind == "invalid-input"
    assert "country" in upload.error
    assert not (enrolled.state_dir / "keys").exists()


async def test_package_without_key_and_no_agent_key_is_refused(
    enrolled: AgentSettings, controller: FakeController, site: Site, pki: TestPki
) -> None:
    async with running(enrolled):
        controller.push(controller.seal(deployment_id=5, sequence=1, certificate=pki.leaf_a))
        (report,) = await controller.wait_for(lambda: controller.reports)
    assert report.error_kind == "key-missing"
    assert site.snapshot() == {}
