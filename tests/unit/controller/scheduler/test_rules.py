"""Findings and readiness rules without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from certmgr.controller.db.models import (
    CertificateDefinition,
    CertificateRequest,
    CheckResult,
    Deployment,
)
from certmgr.controller.services.monitoring.config import MonitorConfig
from certmgr.controller.services.monitoring.findings import (
    certificate_findings,
    deployment_findings,
    request_findings,
)
from certmgr.controller.services.monitoring.readiness import (
    AUTOMATIC,
    MANUAL,
    PARTLY,
    classify,
    renewal_interval_days,
    scenarios_for,
)

NOW = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
CFG = MonitorConfig()


def _d(**kw: object) -> CertificateDefinition:
    return CertificateDefinition(id=7, name="web", renewal_policy={}, **kw)


def _dep(**kw: object) -> Deployment:
    base: dict[str, object] = {
        "id": 3,
        "server_name": "www.example.test",
        "check_host": "192.0.2.1",
        "check_port": 443,
        "production": True,
        "consecutive_failures": 0,
    }
    base.update(kw)
    return Deployment(**base)


def _check(**kw: object) -> CheckResult:
    base: dict[str, object] = {
        "ok": True,
        "reachable": True,
        "served_sha256": "ab" * 32,
        "matches_current": True,
        "chain_complete": True,
        "chain_in_order": True,
        "days_left": 50,
        "error": "",
        "detail": {},
    }
    base.update(kw)
    return CheckResult(**base)


def test_deployment_findings() -> None:
    assert deployment_findings(_dep(), _d(), _check(), CFG) == []
    assert deployment_findings(_dep(), _d(), None, CFG) == []
    (f,) = deployment_findings(_dep(), _d(), _check(ok=False, matches_current=False), CFG)
    assert (f.key, f.severity) == ("mismatch:3", "critical")
    (f,) = deployment_findings(
        _dep(production=False), _d(), _check(ok=False, matches_current=False), CFG
    )
    assert f.severity == "warning"
    (f,) = deployment_findings(
        _dep(),
        _d(),
        _check(chain_complete=False, detail={"missing_intermediates": ["CN=Int"]}),
        CFG,
    )
    assert f.key == "chain:3" and "CN=Int" in f.message
    down = _check(ok=False, reachable=False, served_sha256="", error="refused")
    assert deployment_findings(_dep(consecutive_failures=2), _d(), down, CFG) == []
    (f,) = deployment_findings(_dep(consecutive_failures=3), _d(), down, CFG)
    assert f.key == "unreachable:3" and "3 checks in a row" in f.message
    keys = {x.key for x in deployment_findings(_dep(), _d(), _check(ok=False, days_left=-2), CFG)}
    assert keys == {"expired:dep:3"}
    # serving the certificate it was given before a renewal: waiting, not a mismatch
    waiting = _check(
        ok=False, matches_current=False, days_left=12, detail={"serves_assigned": True}
    )
    (f,) = deployment_findings(_dep(), _d(), waiting, CFG)
    assert f.key == "expiring:dep:3" and "deploy the current one" in f.message


@pytest.mark.parametrize(
    ("lifetime", "left", "expected"),
    [
        (398, 70, set()),
        (398, 60, {"renewal-overdue:7"}),  # due at a third (133 d) left, overdue at half that
        (398, 30, {"expiring:def:7", "renewal-overdue:7"}),
        (47, 20, set()),  # 30 days left is most of a 47-day life: no nagging
        (47, 15, {"expiring:def:7"}),
        (90, 29, {"expiring:def:7"}),
        (90, 10, {"expiring:def:7", "renewal-overdue:7"}),
        (90, 0, {"expired:def:7"}),
    ],
)
def test_certificate_findings(lifetime: int, left: int, expected: set[str]) -> None:
    na = NOW + dt.timedelta(days=left)
    nb = na - dt.timedelta(days=lifetime)
    assert {f.key for f in certificate_findings(_d(), nb, na, NOW, CFG)} == expected


def test_request_findings() -> None:
    req = CertificateRequest(id=5, attempts=0, last_error="")
    assert request_findings(_d(), req) == []
    req = CertificateRequest(id=5, attempts=2, last_error="rate limited", next_attempt_at=NOW)
    (f,) = request_findings(_d(), req)
    assert f.key == "renewal-failed:7" and "rate limited" in f.message and "2 time(s)" in f.message


def test_readiness_rules() -> None:
    assert classify("acme", {"agent": 2}) == ("automatic", AUTOMATIC, 0)
    assert classify("acme", {"agent": 1, "conventional": 1}) == ("automatic", PARTLY, 1)
    assert classify("vendor", {"conventional": 2}) == ("manual", MANUAL, 3)
    assert classify("vendor", {"agent": 1}) == ("manual", PARTLY, 1)
    assert classify("private-ca", {}) == ("automatic", AUTOMATIC, 0)
    assert renewal_interval_days(90, {}) == pytest.approx(60)
    assert renewal_interval_days(47, {"days_before": 30}) == 17
    assert renewal_interval_days(47, {"days_before": 60}) == pytest.approx(47 * 2 / 3)
    today, in_2027, in_2029 = scenarios_for("vendor", 365, {}, steps=3)
    assert today.renewals_per_year == pytest.approx(365.25 / (365 * 2 / 3))
    assert in_2027.lifetime_days == 100 and in_2029.lifetime_days == 47
    assert in_2029.manual_steps_per_year == pytest.approx(3 * 365.25 / (47 * 2 / 3))
    private = scenarios_for("private-ca", 365, {}, steps=0)
    assert {s.lifetime_days for s in private} == {365}
