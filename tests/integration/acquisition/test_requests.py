"""Acquisition end to end: private CA, the manual vendor flow, ACME against real Pebble (HTTP-01) and BIND (DNS-01)."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from tests.conftest import require_tool
from tests.factories.acme_servers import BindServer, PebbleServer
from tests.factories.homes import make_home, run_cli


def _cli_ok(*args: str) -> dict:  # type: ignore[type-arg]
    res = run_cli(list(args))
    assert res.code == 0, res.out + res.err
    return res.json() if "--json" in args else {}


def test_private_ca_new_and_renewal(tmp_path: Path, database_url: str) -> None:
    home = str(make_home(tmp_path, database_url))
    _cli_ok(
        "definition",
        "new",
        "--home",
        home,
        "--name",
        "intranet",
        "--cn",
        "intranet.example.test",
        "--san",
        "wiki.example.test",
    )
    first = _cli_ok("request", "new", "intranet", "--wait", "--home", home, "--json")
    assert first["status"] == "done" and first["kind"] == "new"
    show = _cli_ok("request", "show", str(first["id"]), "--home", home, "--json")
    assert [e["event"] for e in show["history"]] == [
        "created",
        "key-and-csr",
        "received",
        "current-switched",
        "done",
    ]
    d1 = _cli_ok("definition", "show", "intranet", "--home", home, "--json")
    second = _cli_ok("request", "new", "intranet", "--wait", "--home", home, "--json")
    assert second["kind"] == "renewal"
    d2 = _cli_ok("definition", "show", "intranet", "--home", home, "--json")
    assert d2["current"]["sha256"] != d1["current"]["sha256"]
    assert {c["sha256"] for c in d2["certificates"]} >= {
        d1["current"]["sha256"],
        d2["current"]["sha256"],
    }
    # one open request at a time; a reused key
    vendor_like = run_cli(["request", "new", "intranet", "--home", home, "--reuse-key", "99999"])
    assert vendor_like.code == 3


@pytest.fixture
def vendor_ca(tmp_path: Path) -> Path:
    o = require_tool("openssl")
    d = tmp_path / "vendor"
    d.mkdir()
    subprocess.run(
        [
            o,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(d / "root.key"),
            "-subj",
            "/CN=Vendor Root",
            "-days",
            "30",
            "-out",
            str(d / "root.pem"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            o,
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(d / "int.key"),
            "-subj",
            "/CN=Vendor DV CA",
            "-out",
            str(d / "int.csr"),
        ],
        check=True,
        capture_output=True,
    )
    (d / "ca.ext").write_text(
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
    )
    subprocess.run(
        [
            o,
            "x509",
            "-req",
            "-in",
            str(d / "int.csr"),
            "-CA",
            str(d / "root.pem"),
            "-CAkey",
            str(d / "root.key"),
            "-set_serial",
            "5",
            "-days",
            "30",
            "-extfile",
            str(d / "ca.ext"),
            "-out",
            str(d / "int.pem"),
        ],
        check=True,
        capture_output=True,
    )
    return d


def _vendor_sign(d: Path, csr: Path, out: Path, sans: str, *, days: int = 20) -> None:
    (d / "leaf.ext").write_text(
        f"subjectAltName={sans}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    cmd = [
        require_tool("openssl"),
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(d / "int.pem"),
        "-CAkey",
        str(d / "int.key"),
        "-set_serial",
        str(abs(hash(out)) % 10**9),
        "-extfile",
        str(d / "leaf.ext"),
        "-out",
        str(out),
        "-days",
        str(days),
    ]
    subprocess.run(cmd, check=True, capture_output=True)


def _future_cert(d: Path, csr_path: Path) -> bytes:
    """Signed by the vendor CA but valid only from three days on (openssl 3.0 cannot set notBefore)."""
    from cryptography.hazmat.primitives import hashes, serialization

    csr = x509.load_pem_x509_csr(csr_path.read_bytes())
    ca = x509.load_pem_x509_certificate((d / "int.pem").read_bytes())
    key = serialization.load_pem_private_key((d / "int.key").read_bytes(), None)
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    cert = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("shop.example.test")]), critical=False
        )
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_vendor_flow_with_refusals(tmp_path: Path, database_url: str, vendor_ca: Path) -> None:
    home = str(make_home(tmp_path, database_url))
    _cli_ok(
        "definition",
        "new",
        "--home",
        home,
        "--name",
        "shop",
        "--cn",
        "shop.example.test",
        "--issuer",
        "vendor",
    )
    req = _cli_ok("request", "new", "shop", "--home", home, "--json")
    assert req["status"] == "key-and-csr"
    csr = tmp_path / "shop.csr"
    csr.write_text(run_cli(["request", "csr", str(req["id"]), "--home", home]).out)
    good = tmp_path / "good.pem"
    _vendor_sign(vendor_ca, csr, good, "DNS:shop.example.test")
    # another key
    other_csr = tmp_path / "other.csr"
    subprocess.run(
        [
            require_tool("openssl"),
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(tmp_path / "o.key"),
            "-subj",
            "/CN=shop.example.test",
            "-out",
            str(other_csr),
        ],
        check=True,
        capture_output=True,
    )
    other = tmp_path / "other.pem"
    _vendor_sign(vendor_ca, other_csr, other, "DNS:shop.example.test")
    res = run_cli(
        [
            "request",
            "receive",
            str(req["id"]),
            str(other),
            "--chain",
            str(vendor_ca / "int.pem"),
            "--home",
            home,
        ]
    )
    assert res.code == 2 and "does not match the request's private key" in res.err
    # missing chain
    res = run_cli(["request", "receive", str(req["id"]), str(good), "--home", home])
    assert res.code == 2 and "chain is incomplete" in res.err and "Vendor DV CA" in res.err
    # wrong names
    wrong = tmp_path / "wrong.pem"
    _vendor_sign(vendor_ca, csr, wrong, "DNS:other.example.test")
    res = run_cli(
        [
            "request",
            "receive",
            str(req["id"]),
            str(wrong),
            "--chain",
            str(vendor_ca / "int.pem"),
            "--chain",
            str(vendor_ca / "root.pem"),
            "--home",
            home,
        ]
    )
    assert res.code == 2 and "lacks names" in res.err
    # a certificate valid only from a later date is held, not refused (test_lifecycle)
    assert _cli_ok("definition", "show", "shop", "--home", home, "--json")["current"] is None
    _cli_ok(
        "request",
        "order",
        str(req["id"]),
        "--number",
        "ORD-4711",
        "--notes",
        "paid by card",
        "--home",
        home,
    )
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(
        good.read_text()
        + (vendor_ca / "int.pem").read_text()
        + (vendor_ca / "root.pem").read_text()
    )
    _cli_ok("request", "receive", str(req["id"]), str(bundle), "--home", home)
    d = _cli_ok("definition", "show", "shop", "--home", home, "--json")
    assert (
        d["current"]["sha256"]
        == x509.load_pem_x509_certificate(good.read_bytes())
        .fingerprint(
            __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256()
        )
        .hex()
    )
    show = _cli_ok("request", "show", str(req["id"]), "--home", home, "--json")
    assert show["status"] == "done" and show["order_number"] == "ORD-4711"
    assert [e["event"] for e in show["history"]][-4:] == [
        "ordered",
        "received",
        "current-switched",
        "done",
    ]


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    with PebbleServer(tmp_path_factory.mktemp("pebble")) as server:
        yield server


def _acme_home(tmp_path: Path, pebble: PebbleServer, database_url: str) -> str:
    home = str(make_home(tmp_path, database_url))
    bundle = tmp_path / "pebble-ca.pem"
    bundle.write_bytes(pebble.ca_bundle_pem)
    res = run_cli(
        [
            "acme",
            "account",
            "add",
            "pebble",
            "--directory",
            pebble.directory_url,
            "--ca-bundle",
            str(bundle),
            "--email",
            "ops@example.test",
            "--home",
            home,
        ]
    )
    assert res.code == 0, res.err
    return home


def test_acme_http01_and_failure(
    tmp_path: Path, database_url: str, pebble: PebbleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _acme_home(tmp_path, pebble, database_url)
    _cli_ok(
        "definition",
        "new",
        "--home",
        home,
        "--name",
        "public",
        "--cn",
        "www.public.test",
        "--san",
        "public.test",
        "--issuer",
        "acme",
        "--acme-account",
        "pebble",
    )
    # nobody answers the challenges: the failure is recorded, the current certificate untouched
    monkeypatch.setenv("CERTMGR_HTTP01_LISTEN", "127.0.0.1:1")
    res = run_cli(["request", "new", "public", "--wait", "--home", home, "--json"])
    assert res.code == 10, res.out + res.err
    failed = res.json()
    assert (
        failed["status"] == "ordered"
        and failed["attempts"] == 1
        and "http-01" in failed["last_error"].lower()
    )
    assert _cli_ok("definition", "show", "public", "--home", home, "--json")["current"] is None
    # answer on the port Pebble validates and retry the same request
    monkeypatch.setenv("CERTMGR_HTTP01_LISTEN", f"127.0.0.1:{pebble.http_port}")
    res = run_cli(["request", "retry", str(failed["id"]), "--home", home, "--json"])
    assert res.code == 0, res.out + res.err
    d = _cli_ok("definition", "show", "public", "--home", home, "--json")
    assert d["current"] is not None
    pem = run_cli(["certificate", "show", d["current"]["sha256"], "--pem", "--home", home]).out
    certs = x509.load_pem_x509_certificates(pem.encode())
    san = (
        certs[0]
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value.get_values_for_type(x509.DNSName)
    )
    assert sorted(san) == ["public.test", "www.public.test"]
    assert len(certs) >= 2  # the intermediate is stored with it


def test_acme_wildcard_dns01_bind(tmp_path: Path, pebble: PebbleServer) -> None:
    with (
        BindServer(tmp_path / "bind") as bind,
        PebbleServer(tmp_path / "pebble-dns", dns_server=bind.address) as pb,
    ):
        home = str(make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db'}"))
        (tmp_path / "ca.pem").write_bytes(pb.ca_bundle_pem)
        (tmp_path / "tsig").write_text(bind.tsig_secret + "\n")
        res = run_cli(
            [
                "acme",
                "account",
                "add",
                "dns",
                "--directory",
                pb.directory_url,
                "--ca-bundle",
                str(tmp_path / "ca.pem"),
                "--dns-server",
                bind.address,
                "--dns-zone",
                bind.zone,
                "--dns-key-name",
                bind.tsig_key_name,
                "--dns-key-file",
                str(tmp_path / "tsig"),
                "--home",
                home,
            ]
        )
        assert res.code == 0, res.err
        _cli_ok(
            "definition",
            "new",
            "--home",
            home,
            "--name",
            "wild",
            "--cn",
            f"*.{bind.zone}",
            "--issuer",
            "acme",
            "--acme-account",
            "dns",
        )
        res = run_cli(["request", "new", "wild", "--wait", "--home", home, "--json"])
        assert res.code == 0, res.out + res.err
        d = _cli_ok("definition", "show", "wild", "--home", home, "--json")
        assert d["certificates"][0]["sans"] == [f"*.{bind.zone}"]
