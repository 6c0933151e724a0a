"""The run loop against the fake controller: install, refusals, reports and inventory."""

from __future__ import annotations

import dataclasses
import datetime as dt

import nacl.signing

from certmgr.agent.enroll import enroll
from certmgr.agent.settings import AgentSettings, load_settings
from certmgr.agent.state import AgentState
from certmgr.shared.pki import sha256_fingerprint
from certmgr.shared.protocol import Report, WorkPackage, parse_token
from tests.factories.fake_controller import FakeController
from tests.factories.pki import TestPki

from .conftest import Site, running


async def _report_for(controller: FakeController, deployment: int, sequence: int) -> Report:
    def found() -> Report | None:
        return next(
            (
                r
                for r in controller.reports
                if (r.deployment_id, r.sequence) == (deployment, sequence)
            ),
            None,
        )

    report: Report = await controller.wait_for(found)
    return report


async def test_package_is_installed_and_reported_with_the_new_fingerprint(
    enrolled: AgentSettings, controller: FakeController, site: Site, pki: TestPki
) -> None:
    async with running(enrolled):
        # the inventory goes up on start, before any package
        first = await controller.wait_for(lambda: controller.inventories)
        assert [t.name for t in first[0].targets] == ["web"]
        assert first[0].targets[0].installed == ()
        controller.push(
            controller.seal(
                deployment_id=7,
                sequence=1,
                certificate=pki.leaf_a,
                chain=[pki.intermediate],
                key=pki.leaf_a_key,
                target_params={"agent_target": "web"},
            )
        )
        report = await _report_for(controller, 7, 1)
    sha = sha256_fingerprint(pki.leaf_a)
    assert report.ok and report.error_kind is None and report.target == "web"
    assert report.installed_sha256 == sha
    (web,) = report.inventory
    assert [i.sha256 for i in web.installed] == [sha]
    assert web.installed[0].path == str(site.cert)
    assert site.cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert (site.key.stat().st_mode & 0o777) == 0o600
    assert AgentState(enrolled.state_dir).installed_sequence(7) == 1


async def test_refused_packages_are_reported_and_change_nothing(
    enrolled: AgentSettings, controller: FakeController, site: Site, pki: TestPki
) -> None:
    def package(seq: int, **kw: object) -> WorkPackage:
        args: dict[str, object] = {
            "deployment_id": 9,
            "sequence": seq,
            "certificate": pki.leaf_b,
            "chain": [pki.intermediate],
            "key": pki.leaf_b_key,
        }
        args.update(kw)
        return controller.seal(**args)  # type: ignore[arg-type]

    now = dt.datetime.now(dt.UTC)
    async with running(enrolled):
        controller.push(package(5, certificate=pki.leaf_a, key=pki.leaf_a_key))
        assert (await _report_for(controller, 9, 5)).ok
        before = site.snapshot()

        good = package(6)
        tampered = dataclasses.replace(good, blob=good.blob[:-1] + bytes([good.blob[-1] ^ 1]))
        cases = {
            6: tampered,
            7: package(7, signing_key=nacl.signing.SigningKey.generate()),
            4: package(4),  # replay of an older sequence
            8: package(
                8,
                created_at=now - dt.timedelta(hours=2),
                expires_at=now - dt.timedelta(hours=1),
            ),
            10: package(10, target_params={"cert_path": "/etc/elsewhere/cert.pem"}),
            11: package(11, target_params={"reload_cmd": ["/bin/sh", "-c", "id"]}),
            12: package(12, target_params={"agent_target": "nope"}),
            13: package(13, target_type="nginx", target_params={"cert_path": str(site.cert)}),
        }
        for item in cases.values():
            controller.push(item)
        reports = {seq: await _report_for(controller, 9, seq) for seq in cases}
    kinds = {seq: r.error_kind for seq, r in reports.items()}
    assert kinds == {
        6: "bad-signature",
        7: "bad-signature",
        4: "stale-package",
        8: "expired-package",
        10: "path-not-allowed",
        11: "param-not-allowed",
        12: "target-not-configured",
        13: "target-not-configured",
    }
    for r in reports.values():
        assert not r.ok and r.error and r.installed_sha256 is None
        assert r.inventory[0].installed[0].sha256 == sha256_fingerprint(pki.leaf_a)
    assert site.snapshot() == before  # byte for byte
    assert AgentState(enrolled.state_dir).installed_sequence(9) == 5


async def test_resent_package_is_confirmed_without_reinstalling(
    enrolled: AgentSettings, controller: FakeController, site: Site, pki: TestPki
) -> None:
    package = controller.seal(
        deployment_id=3, sequence=2, certificate=pki.leaf_a, key=pki.leaf_a_key
    )
    async with running(enrolled):
        controller.push(package)
        await _report_for(controller, 3, 2)
        inode = site.cert.stat().st_ino
        controller.reports.clear()
        controller.push(package)  # the controller lost the first report
        again = await _report_for(controller, 3, 2)
    assert again.ok and again.installed_sha256 == sha256_fingerprint(pki.leaf_a)
    assert "already installed" in again.messages[0]
    assert site.cert.stat().st_ino == inode


async def test_paths_from_the_controller_are_remembered_for_the_inventory(
    controller: FakeController, site: Site, pki: TestPki
) -> None:
    site.config.write_text(
        f"""
state_dir = "{site.root / "state"}"
max_backoff = 0.3
request_timeout = 3

[targets.web]
type = "files"
allowed_paths = ["{site.www}"]
"""
    )
    settings = load_settings(site.config, env={})
    await enroll(settings, parse_token(controller.make_token()))
    params = {"agent_target": "web", "cert_path": str(site.cert), "key_path": str(site.key)}
    async with running(settings):
        (first,) = await controller.wait_for(lambda: controller.inventories)
        assert first.targets[0].availability == "misconfigured"  # no files known yet
        controller.push(
            controller.seal(
                deployment_id=1,
                sequence=1,
                certificate=pki.leaf_a,
                key=pki.leaf_a_key,
                target_params=params,
            )
        )
        (report,) = await controller.wait_for(lambda: controller.reports)
    assert report.ok
    (web,) = report.inventory
    assert web.availability == "ready"
    assert [i.path for i in web.installed] == [str(site.cert)]
    remembered = AgentState(settings.state_dir).target_params("web")
    assert remembered == {"cert_path": str(site.cert), "key_path": str(site.key)}
