"""Bulk operations: clone a set for a test system, then move a set to another issuer and renew it."""

from __future__ import annotations

from pathlib import Path

from tests.factories.homes import make_home, run_cli


def test_clone_and_migrate(tmp_path: Path, database_url: str) -> None:
    home = str(make_home(tmp_path, database_url))
    for n in ("shop", "api"):
        assert (
            run_cli(
                [
                    "definition",
                    "new",
                    "--home",
                    home,
                    "--name",
                    f"prod-{n}",
                    "--cn",
                    f"{n}.example.com",
                    "--issuer",
                    "vendor",
                ]
            ).code
            == 0
        )
    res = run_cli(
        [
            "definition",
            "clone",
            "--home",
            home,
            "--prefix",
            "prod-",
            "--suffix",
            " (test)",
            "--map",
            "example.com=test.example.com",
            "--issuer",
            "private-ca",
            "--json",
        ]
    )
    assert res.code == 0, res.err
    clones = res.json()
    assert sorted(c["common_name"] for c in clones) == [
        "api.test.example.com",
        "shop.test.example.com",
    ]
    assert all(c["issuer"] == "private-ca" and c["name"].endswith(" (test)") for c in clones)
    again = run_cli(
        ["definition", "clone", "--home", home, "--prefix", "prod-", "--suffix", " (test)"]
    )
    assert again.code == 4  # names taken: nothing half-created
    assert len(run_cli(["definition", "list", "--home", home, "--json"]).json()) == 5
    # the test system renews on the private CA in one go
    res = run_cli(
        [
            "definition",
            "change-issuer",
            "prod-shop",
            "prod-api",
            "--home",
            home,
            "--issuer",
            "private-ca",
            "--renew",
            "--json",
        ]
    )
    assert res.code == 0, res.out + res.err
    assert [r["status"] for r in res.json()] == ["done", "done"]
    # and production goes back to the commercial vendor: renewals wait for the manual order
    res = run_cli(
        [
            "definition",
            "change-issuer",
            "prod-shop",
            "prod-api",
            "--home",
            home,
            "--issuer",
            "vendor",
            "--product",
            "sectigo-ov",
            "--renew",
            "--json",
        ]
    )
    assert res.code == 0, res.out + res.err
    assert [r["status"] for r in res.json()] == ["key-and-csr", "key-and-csr"]
    reqs = run_cli(["request", "list", "--open", "--home", home, "--json"]).json()
    assert {r["kind"] for r in reqs} == {"renewal"}
