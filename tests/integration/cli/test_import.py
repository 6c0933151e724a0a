"""certmgr import end to end, with files made by the real openssl and keytool."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.factories.homes import all_database_bytes, make_home, run_cli

PASS = "s3cret-pass"


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def fp(path: Path, form: str = "PEM") -> str:
    out = subprocess.run(
        [
            require_tool("openssl"),
            "x509",
            "-in",
            str(path),
            "-inform",
            form,
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split("=", 1)[1].strip().replace(":", "").lower()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("importfiles")
    o, kt = require_tool("openssl"), require_tool("keytool")
    (d / "pw").write_text(PASS + "\n")
    (d / "wrongpw").write_text("nope\n")
    sh(
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
        "/CN=Import Root",
        "-days",
        "30",
        "-out",
        str(d / "root.pem"),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    sh(
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
        "/CN=Import Intermediate",
        "-out",
        str(d / "int.csr"),
    )
    (d / "ca.ext").write_text(
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
    )
    sh(
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
        "2",
        "-days",
        "30",
        "-extfile",
        str(d / "ca.ext"),
        "-out",
        str(d / "int.pem"),
    )
    (d / "leaf.ext").write_text(
        "subjectAltName=DNS:www.import.test,DNS:import.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    for name, newkey in (
        ("leaf", ["-newkey", "rsa:2048"]),
        ("leaf2", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"]),
    ):
        sh(
            o,
            "req",
            "-new",
            *newkey,
            "-nodes",
            "-keyout",
            str(d / f"{name}.key"),
            "-subj",
            "/CN=www.import.test/O=Import Ltd",
            "-out",
            str(d / f"{name}.csr"),
        )
        sh(
            o,
            "x509",
            "-req",
            "-in",
            str(d / f"{name}.csr"),
            "-CA",
            str(d / "int.pem"),
            "-CAkey",
            str(d / "int.key"),
            "-set_serial",
            "0x1234" if name == "leaf" else "0x5678",
            "-days",
            "20",
            "-extfile",
            str(d / "leaf.ext"),
            "-out",
            str(d / f"{name}.pem"),
        )
    # every format
    (d / "fullchain-shuffled.pem").write_text(
        (d / "int.pem").read_text()
        + "junk text\r\n"
        + (d / "leaf.pem").read_text().replace("\n", "\r\n")
        + (d / "root.pem").read_text()
    )
    sh(o, "x509", "-in", str(d / "leaf.pem"), "-outform", "DER", "-out", str(d / "leaf.cer"))
    sh(
        o,
        "crl2pkcs7",
        "-nocrl",
        "-certfile",
        str(d / "leaf.pem"),
        "-certfile",
        str(d / "int.pem"),
        "-out",
        str(d / "chain.p7b"),
    )
    sh(
        o,
        "crl2pkcs7",
        "-nocrl",
        "-certfile",
        str(d / "leaf.pem"),
        "-certfile",
        str(d / "int.pem"),
        "-outform",
        "DER",
        "-out",
        str(d / "chain-der.p7c"),
    )
    sh(
        o,
        "pkcs12",
        "-export",
        "-in",
        str(d / "leaf.pem"),
        "-inkey",
        str(d / "leaf.key"),
        "-certfile",
        str(d / "int.pem"),
        "-name",
        "site",
        "-passout",
        f"pass:{PASS}",
        "-out",
        str(d / "site.p12"),
    )
    sh(
        o,
        "pkcs12",
        "-export",
        "-legacy",
        "-in",
        str(d / "leaf.pem"),
        "-inkey",
        str(d / "leaf.key"),
        "-certfile",
        str(d / "int.pem"),
        "-passout",
        f"pass:{PASS}",
        "-out",
        str(d / "legacy.pfx"),
    )
    sh(
        o,
        "pkcs8",
        "-topk8",
        "-in",
        str(d / "leaf.key"),
        "-v2",
        "aes-256-cbc",
        "-passout",
        f"pass:{PASS}",
        "-out",
        str(d / "leaf-enc.key"),
    )
    sh(
        o,
        "rsa",
        "-in",
        str(d / "leaf.key"),
        "-traditional",
        "-des3",
        "-passout",
        f"pass:{PASS}",
        "-out",
        str(d / "leaf-des3.key"),
    )
    sh(
        kt,
        "-importkeystore",
        "-srckeystore",
        str(d / "site.p12"),
        "-srcstoretype",
        "PKCS12",
        "-srcstorepass",
        PASS,
        "-destkeystore",
        str(d / "site.jks"),
        "-deststoretype",
        "JKS",
        "-deststorepass",
        PASS,
        "-destkeypass",
        PASS,
        "-noprompt",
    )
    sh(
        kt,
        "-importkeystore",
        "-srckeystore",
        str(d / "site.p12"),
        "-srcstoretype",
        "PKCS12",
        "-srcstorepass",
        PASS,
        "-destkeystore",
        str(d / "site.jceks"),
        "-deststoretype",
        "JCEKS",
        "-deststorepass",
        PASS,
        "-destkeypass",
        PASS,
        "-noprompt",
    )
    with zipfile.ZipFile(d / "archive.pem", "w") as z:
        z.writestr("x.txt", "hello")
    (d / "empty.pem").write_bytes(b"")
    (d / "corrupt.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nMIIB!!!notbase64\n-----END CERTIFICATE-----\n"
    )
    return d


def _import(home: Path, *args: str) -> tuple[int, list[dict[str, object]], str]:
    res = run_cli(["import", "--home", str(home), "--json", *args])
    return res.code, (res.json() if res.code == 0 else []), res.err


@pytest.mark.parametrize(
    ("name", "extra", "has_key", "chain_length"),
    [
        ("leaf.pem", [], False, 0),
        ("leaf.cer", [], False, 0),
        ("fullchain-shuffled.pem", [], False, 2),
        ("chain.p7b", [], False, 1),
        ("chain-der.p7c", [], False, 1),
        ("site.p12", ["--password-file", "pw"], True, 1),
        ("legacy.pfx", ["--password-file", "pw"], True, 1),
        ("site.jks", ["--password-file", "pw"], True, 1),
        ("site.jceks", ["--password-file", "pw"], True, 1),
    ],
)
def test_every_format_imports_with_the_right_fingerprint(
    tmp_path: Path, files: Path, name: str, extra: list[str], has_key: bool, chain_length: int
) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    args = [a if a != "pw" else str(files / "pw") for a in extra]
    code, out, err = _import(home, str(files / name), *args)
    assert code == 0, err
    leaves = [r for r in out if not r["is_ca"]]
    assert len(leaves) == 1
    leaf = leaves[0]
    assert leaf["sha256"] == fp(files / "leaf.pem")
    assert leaf["created"] is True
    assert leaf["has_private_key"] is has_key
    assert isinstance(leaf["definition_id"], int)
    assert leaf["chain_length"] == chain_length
    assert leaf["chain_complete"] is (chain_length == 2)


def test_pem_with_separate_key_and_chain_on_both_databases(
    tmp_path: Path, database_url: str, files: Path
) -> None:
    home = make_home(tmp_path, database_url)
    code, out, err = _import(
        home,
        str(files / "leaf.pem"),
        "--key",
        str(files / "leaf-enc.key"),
        "--chain",
        str(files / "int.pem"),
        "--chain",
        str(files / "root.pem"),
        "--password-file",
        str(files / "pw"),
        "--name",
        "www",
    )
    assert code == 0, err
    (leaf,) = [r for r in out if not r["is_ca"]]
    assert leaf["has_private_key"] is True
    assert leaf["chain_length"] == 2 and leaf["chain_complete"] is True
    assert leaf["definition_name"] == "www"
    shown = run_cli(["definition", "show", "www", "--home", str(home), "--json"]).json()
    assert shown["current"]["sha256"] == fp(files / "leaf.pem")
    assert shown["sans"] == ["www.import.test", "import.test"]
    assert shown["key_type"] == "rsa-2048"
    # the key is sealed: its bytes never appear in the database
    der = subprocess.run(
        [require_tool("openssl"), "pkey", "-in", str(files / "leaf.key"), "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout
    blob = all_database_bytes(database_url)
    assert der not in blob and der[-64:] not in blob
    # importing again creates nothing
    code, again, err = _import(home, str(files / "leaf.pem"))
    assert code == 0, err
    assert [r["created"] for r in again if not r["is_ca"]] == [False]
    listing = run_cli(["certificate", "list", "--home", str(home), "--json"]).json()
    assert len([c for c in listing if c["sha256"] == fp(files / "leaf.pem")]) == 1


def test_legacy_des3_key_and_bag_attributes(tmp_path: Path, files: Path) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    nodes = tmp_path / "nodes.pem"
    subprocess.run(
        [
            require_tool("openssl"),
            "pkcs12",
            "-in",
            str(files / "site.p12"),
            "-nodes",
            "-passin",
            f"pass:{PASS}",
            "-out",
            str(nodes),
        ],
        check=True,
        capture_output=True,
    )
    assert "Bag Attributes" in nodes.read_text()
    code, out, err = _import(home, str(nodes))
    assert code == 0, err
    assert [r["has_private_key"] for r in out if not r["is_ca"]] == [True]
    code, out, err = _import(home, str(files / "leaf2.pem"), "--key", str(files / "leaf2.key"))
    assert code == 0, err
    code, out, err = _import(
        home,
        str(files / "leaf.pem"),
        "--key",
        str(files / "leaf-des3.key"),
        "--password-file",
        str(files / "pw"),
    )
    assert code == 0, err
    assert [r["has_private_key"] for r in out if not r["is_ca"]] == [True]


def test_renewed_certificate_joins_its_definition(tmp_path: Path, files: Path) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    _, first, _ = _import(home, str(files / "leaf.pem"), "--chain", str(files / "int.pem"))
    _, second, _ = _import(home, str(files / "leaf2.pem"), "--chain", str(files / "int.pem"))
    a = next(r for r in first if not r["is_ca"])
    b = next(r for r in second if not r["is_ca"])
    assert a["definition_id"] == b["definition_id"]


def test_known_and_renewed_certificate_in_one_import_report_the_new_current(
    tmp_path: Path, files: Path
) -> None:
    """The renewed certificate becomes current, and the known one in the same import says it is not."""
    o = require_tool("openssl")
    renewed = tmp_path / "renewed.pem"
    sh(
        o,
        "x509",
        "-req",
        "-in",
        str(files / "leaf2.csr"),
        "-CA",
        str(files / "int.pem"),
        "-CAkey",
        str(files / "int.key"),
        "-set_serial",
        "0x9abc",
        "-days",
        "40",
        "-extfile",
        str(files / "leaf.ext"),
        "-out",
        str(renewed),
    )
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    code, first, _ = _import(home, str(files / "leaf.pem"), "--chain", str(files / "int.pem"))
    assert code == 0 and next(r for r in first if not r["is_ca"])["made_current"]
    code, out, err = _import(
        home, str(files / "leaf.pem"), str(renewed), "--chain", str(files / "int.pem")
    )
    assert code == 0, err
    known = next(r for r in out if r["sha256"] == fp(files / "leaf.pem"))
    new = next(r for r in out if r["sha256"] == fp(renewed))
    assert not known["created"] and new["created"]
    assert known["definition_id"] == new["definition_id"]
    assert new["made_current"] and not known["made_current"]


@pytest.mark.parametrize(
    ("name", "extra", "needle"),
    [
        ("archive.pem", [], "ZIP archive"),
        ("empty.pem", [], "empty"),
        ("corrupt.pem", [], "corrupt"),
        ("site.p12", ["--password-file", "wrongpw"], "wrong passphrase for site.p12"),
        ("site.p12", [], "passphrase"),
        ("site.jks", ["--password-file", "wrongpw"], "site.jks"),
        ("leaf.pem", ["--key", "leaf2.key"], "does not match certificate"),
        ("nonexistent.pem", [], "no such file"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    tmp_path: Path, files: Path, name: str, extra: list[str], needle: str
) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    before = run_cli(["certificate", "list", "--all", "--home", str(home), "--json"]).json()
    args = []
    for a in extra:
        args.append(str(files / a) if a in ("pw", "wrongpw", "leaf2.key") else a)
    # a good file next to the bad one must not be half-imported either
    res = run_cli(
        ["import", "--home", str(home), str(files / "root.pem"), str(files / name), *args]
    )
    assert res.code == 2, res.out + res.err
    assert needle.lower() in res.err.lower()
    assert "Traceback" not in res.err
    after = run_cli(["certificate", "list", "--all", "--home", str(home), "--json"]).json()
    assert after == before


def test_random_and_huge_files(tmp_path: Path) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    big = tmp_path / "big.pem"
    with big.open("wb") as fh:
        fh.write(b"\0" * (20 * 1024 * 1024))
    res = run_cli(["import", "--home", str(home), str(big)])
    assert res.code == 2 and "MiB" in res.err
    rnd = tmp_path / "random.crt"
    rnd.write_bytes(bytes(range(256)) * 40)
    res = run_cli(["import", "--home", str(home), str(rnd)])
    assert res.code == 2
    bomb = tmp_path / "bomb.der"
    bomb.write_bytes(b"\x30\x84\x7f\xff\xff\xff" + b"\x30\x80" * 1000)
    res = run_cli(["import", "--home", str(home), str(bomb)])
    assert res.code == 2


def test_name_with_several_certificates_is_refused(tmp_path: Path, files: Path) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    res = run_cli(
        [
            "import",
            "--home",
            str(home),
            str(files / "leaf.pem"),
            str(files / "leaf2.pem"),
            "--name",
            "x",
        ]
    )
    assert res.code == 2 and "a definition name applies to one certificate" in res.err


def test_folder_import_and_text_output(tmp_path: Path, files: Path) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    folder = tmp_path / "in"
    folder.mkdir()
    for n in ("leaf.pem", "leaf2.pem", "int.pem", "root.pem"):
        (folder / n).write_bytes((files / n).read_bytes())
    res = run_cli(["import", "--home", str(home), str(folder)])
    assert res.code == 0, res.err
    assert "imported: certificate" in res.out
    assert "2 new" in res.out or "4 new" in res.out


def test_openssl_self_signed_certificate_with_its_key_is_a_server_certificate(
    tmp_path: Path,
) -> None:
    # ``openssl req -x509`` marks the certificate CA:TRUE; given with its key it is the server's own
    openssl = require_tool("openssl")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
         str(tmp_path / "self.key"), "-out", str(tmp_path / "self.pem"), "-days", "30",
         "-subj", "/CN=legacy.example.com", "-addext", "subjectAltName=DNS:legacy.example.com"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'cm.db'}")
    res = run_cli(
        ["import", "--home", str(home), str(tmp_path / "self.pem"), "--key",
         str(tmp_path / "self.key"), "--name", "legacy", "--json"]
    )  # fmt: skip
    assert res.code == 0, res.err
    shown = run_cli(["definition", "show", "legacy", "--home", str(home), "--json"]).json()
    assert shown["current_certificate_id"]
    # without its key the same file stays what it says it is: a CA certificate, no definition
    other = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'other.db'}", name="other")
    alone = run_cli(["import", "--home", str(other), str(tmp_path / "self.pem"), "--json"])
    assert alone.code == 0, alone.err
    listed = run_cli(["definition", "list", "--home", str(other), "--json"]).json()
    assert "legacy.example.com" not in {d["common_name"] for d in listed}
