"""A definition's life after creation, in the CLI and the API: edit, switch, roll back, hold, archive, restore, delete; deployments edited, monitored or not, retired."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from certmgr.controller.db.engine import Database
from certmgr.controller.domain.actors import SYSTEM
from certmgr.controller.services.acquisition.current import switch_held_due
from certmgr.controller.settings import load_settings
from certmgr.controller.vault import read_master_key
from certmgr.shared.clock import FakeClock
from tests.factories.homes import make_home, run_cli
from tests.integration.acquisition.test_requests import _future_cert, vendor_ca  # noqa: F401


def _ok(*args: str) -> Any:
    res = run_cli(list(args))
    assert res.code == 0, res.out + res.err
    return res.json() if "--json" in args else res.out


def test_definition_lifecycle_cli(tmp_path: Path, database_url: str) -> None:
    home = str(make_home(tmp_path, database_url))
    h = ("--home", home)
    _ok(
        "definition",
        "new",
        *h,
        "--name",
        "web",
        "--cn",
        "web.example.test",
        "--product",
        "sectigo-ov",
    )
    # requirements are shown, and the chosen product's level is what product select honours
    shown = _ok("definition", "show", "web", *h, "--json")
    assert shown["requirements"] == {"validation": None, "vendor": None, "product": "sectigo-ov"}
    assert "product      sectigo-ov" in _ok("definition", "show", "web", *h)
    offered = _ok("product", "select", "web", *h, "--json")
    assert offered and {p["validation"] for p in offered} == {"OV"}
    assert "sectigo-ov" in {p["id"] for p in offered}

    first = _ok("request", "new", "web", "--wait", *h, "--json")["certificate_id"]
    second = _ok("request", "new", "web", "--wait", *h, "--json")["certificate_id"]
    assert _ok("definition", "show", "web", *h, "--json")["current_certificate_id"] == second
    # roll back in one action, then switch by hand; both in the history
    _ok("definition", "rollback", "web", *h)
    assert _ok("definition", "show", "web", *h, "--json")["current_certificate_id"] == first
    _ok("definition", "switch", "web", str(second), *h)
    assert _ok("definition", "show", "web", *h, "--json")["current_certificate_id"] == second
    res = run_cli(["definition", "switch", "web", str(second), *h])
    assert res.code == 4 and "already current" in res.err
    res = run_cli(["definition", "switch", "web", "99999", *h])
    assert res.code == 3 and "no certificate 99999" in res.err

    # hold: the scheduler's job switches at the chosen time, not before
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    held = _ok("definition", "hold", "web", str(first), "--until", until, *h, "--json")
    assert held["held_certificate_id"] == first and held["switch_at"].startswith(until[:10])
    assert asyncio.run(_run_held(Path(home), dt.timedelta(days=1))) == {"switched": 0, "waiting": 0}
    assert _ok("definition", "show", "web", *h, "--json")["current_certificate_id"] == second
    assert asyncio.run(_run_held(Path(home), dt.timedelta(days=3))) == {"switched": 1, "waiting": 0}
    after = _ok("definition", "show", "web", *h, "--json")
    assert after["current_certificate_id"] == first and after["held_certificate_id"] is None

    # edit: names, requirements, renewal policy; a bad field is named and nothing changes
    res = run_cli(["definition", "edit", "web", "--country", "Germany", *h])
    assert res.code == 2 and "country" in res.err
    edited = _ok(
        "definition",
        "edit",
        "web",
        *h,
        "--json",
        "--name",
        "web-shop",
        "--san",
        "shop.example.test",
        "--validation",
        "EV",
        "--vendor",
        "Sectigo",
        "--renew-days-before",
        "20",
        "--key-type",
        "rsa-2048",
    )
    assert edited["name"] == "web-shop" and edited["key_type"] == "rsa-2048"
    assert edited["requirements"]["validation"] == "EV" and edited["renewal_policy"] == {
        "days_before": 20
    }
    assert "shop.example.test" in edited["sans"]
    assert "EV" in _ok("definition", "show", "web-shop", *h)

    # delete is refused while anything refers to it, with what does
    res = run_cli(["definition", "delete", "web-shop", *h])
    assert res.code == 4 and "2 certificates" in res.err and "2 requests" in res.err
    # archive: off the daily list, history kept; restore brings it back
    _ok("definition", "archive", "web-shop", "--reason", "shop closed", *h)
    assert "web-shop" not in _ok("definition", "list", *h)
    assert "web-shop" in _ok("definition", "list", "--all", *h)
    assert _ok("definition", "show", "web-shop", *h, "--json")["archived"] is True
    res = run_cli(["request", "new", "web-shop", *h])
    assert res.code == 4 and "archived" in res.err
    _ok("definition", "restore", "web-shop", *h)
    assert "web-shop" in _ok("definition", "list", *h)
    # an unused definition goes
    _ok("definition", "new", *h, "--name", "spare", "--cn", "spare.example.test")
    _ok("definition", "delete", "spare", *h)
    assert run_cli(["definition", "show", "spare", *h]).code == 3
    actions = [e["action"] for e in _history(home, "web-shop")]
    for a in (
        "definition.rollback",
        "definition.switch-current",
        "definition.hold",
        "definition.edit",
        "definition.archive",
        "definition.restore",
    ):
        assert a in actions, a
    rollback = next(e for e in _history(home, "web-shop") if e["action"] == "definition.rollback")
    assert rollback["detail"]["from"] == second and rollback["detail"]["to"] == first


def _history(home: str, ref: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = _ok("definition", "show", ref, "--home", home, "--json")["history"]
    return out


async def _run_held(home: Path, ahead: dt.timedelta) -> dict[str, int]:
    settings = await asyncio.to_thread(load_settings, home)
    vault = await asyncio.to_thread(read_master_key, settings.master_key_path)
    db = Database(settings.database_url)
    try:
        clock = FakeClock(dt.datetime.now(dt.UTC) + ahead)
        return (await switch_held_due(db, vault, SYSTEM, clock)).to_json()
    finally:
        await db.dispose()


def test_future_certificate_is_held_until_valid(
    tmp_path: Path,
    database_url: str,
    vendor_ca: Path,  # noqa: F811
) -> None:
    home = str(make_home(tmp_path, database_url))
    h = ("--home", home)
    _ok(
        "definition", "new", *h, "--name", "shop", "--cn", "shop.example.test", "--issuer", "vendor"
    )
    req = _ok("request", "new", "shop", *h, "--json")
    csr = tmp_path / "shop.csr"
    csr.write_text(run_cli(["request", "csr", str(req["id"]), *h]).out)
    future = tmp_path / "future.pem"
    future.write_bytes(_future_cert(vendor_ca, csr))
    out = _ok(
        "request",
        "receive",
        str(req["id"]),
        str(future),
        "--chain",
        str(vendor_ca / "int.pem"),
        "--chain",
        str(vendor_ca / "root.pem"),
        *h,
    )
    assert "held" in out
    d = _ok("definition", "show", "shop", *h, "--json")
    assert d["current"] is None and d["held_certificate_id"] is not None
    assert _ok("request", "show", str(req["id"]), *h, "--json")["status"] == "received"
    # not valid yet: stays held; once valid (three days on) the job makes it current
    assert asyncio.run(_run_held(Path(home), dt.timedelta(days=1))) == {"switched": 0, "waiting": 0}
    assert asyncio.run(_run_held(Path(home), dt.timedelta(days=4))) == {"switched": 1, "waiting": 0}
    d = _ok("definition", "show", "shop", *h, "--json")
    assert (
        d["current_certificate_id"] == d["certificates"][0]["id"]
        and d["held_certificate_id"] is None
    )
    show = _ok("request", "show", str(req["id"]), *h, "--json")
    assert show["status"] == "done"
    assert [e["event"] for e in show["history"]][-4:] == [
        "received",
        "held",
        "current-switched",
        "done",
    ]


def test_deployment_edit_monitoring_retire_cli(tmp_path: Path, database_url: str) -> None:
    home = str(make_home(tmp_path, database_url))
    h = ("--home", home)
    _ok("definition", "new", *h, "--name", "site", "--cn", "site.example.test")
    dep = _ok("deployment", "new", "site", "--server", "old.example.test", *h, "--json")
    dep_id = str(dep["id"])
    res = run_cli(["deployment", "edit", dep_id, "--admin-email", "not-an-address", *h])
    assert res.code == 2 and "'not-an-address' is not an e-mail address" in res.err
    res = run_cli(["deployment", "edit", dep_id, "--check", "127.0.0.1:70000", *h])
    assert res.code == 2 and "port 1-65535" in res.err
    res = run_cli(["deployment", "edit", dep_id, *h])
    assert res.code == 2 and "nothing to change" in res.err
    edited = _ok(
        "deployment", "edit", dep_id, *h, "--json",
        "--server", "new.example.test", "--check", "127.0.0.2:8443", "--sni", "site.example.test",
        "--admin-email", "ops@example.test", "--delivery", "oneclick",
    )  # fmt: skip
    assert (edited["server_name"], edited["check_host"], edited["check_port"]) == (
        "new.example.test",
        "127.0.0.2",
        8443,
    )
    assert edited["sni"] == "site.example.test" and edited["delivery"] == "oneclick"
    assert edited["admin_email"] == "ops@example.test"
    # a bare host keeps the port
    assert (
        _ok("deployment", "edit", dep_id, "--check", "127.0.0.3", *h, "--json")["check_port"]
        == 8443
    )
    assert _ok("deployment", "monitoring", dep_id, "off", *h, "--json")["monitoring"] is False
    assert _ok("deployment", "monitoring", dep_id, "on", *h, "--json")["monitoring"] is True
    retired = _ok("deployment", "retire", dep_id, "--reason", "decommissioned", *h, "--json")
    assert retired["status"] == "retired" and retired["monitoring"] is False
    for again in (
        ["retire", dep_id],
        ["monitoring", dep_id, "on"],
        ["edit", dep_id, "--sni", "x.example.test"],
    ):
        res = run_cli(["deployment", *again, *h])
        assert res.code == 4, (again, res.err)
    events = [e["event"] for e in _ok("deployment", "show", dep_id, *h, "--json")["history"]]
    assert {"edited", "monitoring-off", "monitoring-on", "retired"} <= set(events)
    # the definition's monitoring switch reaches its (not retired) deployments
    other = _ok("deployment", "new", "site", "--server", "two.example.test", *h, "--json")
    _ok("definition", "edit", "site", "--monitoring", "off", *h)
    assert _ok("deployment", "show", str(other["id"]), *h, "--json")["monitoring"] is False
    assert _ok("deployment", "show", dep_id, *h, "--json")["status"] == "retired"
