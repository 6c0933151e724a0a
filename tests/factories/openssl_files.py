"""Make PKI test files at run time with the real ``openssl``, ``keytool`` and ``java`` commands.

Every file here is produced by the tools people actually use, so the readers are tested against
real output, not against our own writer. Fingerprints and public keys are also taken from the
tools, as the independent truth the tests compare with.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

P12_PASS = "p12-pass"
PEM_PASS = "pem-pass"
STORE_PASS = "store-pass"
KEY_PASS = "key-pass-2"

ROOT_SUBJECT = "/O=certmgr tests/CN=certmgr Test Root CA"
INT_SUBJECT = "/O=certmgr tests/CN=certmgr Test Intermediate CA"
LEAF_EC_CN = "leaf-ec.example.test"
LEAF_RSA_CN = "leaf-rsa.example.test"
GENKEY_CN = "genkey.example.test"

_EXTENSIONS = """
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf_ec]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:leaf-ec.example.test, DNS:www.leaf-ec.example.test, IP:192.0.2.10
[leaf_rsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:leaf-rsa.example.test, IP:2001:db8::10, email:admin@example.test
"""

# Java's own PKCS12 keystore lets a key have its own password (keytool refuses to write that).
_TWO_PASS_JAVA = """
import java.io.*;
import java.security.*;
import java.security.cert.Certificate;
public class TwoPass {
    public static void main(String[] a) throws Exception {
        KeyStore src = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(a[0])) { src.load(in, a[1].toCharArray()); }
        String alias = src.aliases().nextElement();
        Key key = src.getKey(alias, a[1].toCharArray());
        Certificate[] chain = src.getCertificateChain(alias);
        KeyStore dst = KeyStore.getInstance("PKCS12");
        dst.load(null, null);
        dst.setKeyEntry(alias, key, a[4].toCharArray(), chain);
        dst.setCertificateEntry("second-root", chain[chain.length - 1]);
        try (OutputStream out = new FileOutputStream(a[2])) { dst.store(out, a[3].toCharArray()); }
    }
}
"""


@dataclass
class PkiFiles:
    """The generated files plus the tools' own view of them."""

    root: Path
    fingerprints: dict[str, str] = field(
        default_factory=dict
    )  # cert name -> sha256 hex (openssl/keytool)
    public_keys: dict[str, bytes] = field(default_factory=dict)  # key name -> SPKI DER (openssl)

    def path(self, name: str) -> Path:
        return self.root / name

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()


def run(args: Sequence[str | Path], cwd: Path, stdin: bytes | None = None) -> bytes:
    """Run a tool; a failure raises with its output."""
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, input=stdin, capture_output=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{args[0]} failed ({proc.returncode}): {' '.join(map(str, args))}\n{proc.stderr.decode(errors='replace')}"
        )
    return proc.stdout


def normalize_fp(text: str) -> str:
    """``sha256 Fingerprint=AB:CD:..`` or ``SHA256: AB:CD..`` -> ``abcd..``."""
    value = text.split("=", 1)[1] if "=" in text else text.split(":", 1)[1]
    return "".join(ch for ch in value.lower() if ch in "0123456789abcdef")


def _openssl_steps(d: Path, openssl: str) -> None:
    o = openssl
    (d / "ext.cnf").write_text(_EXTENSIONS)
    ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    run([o, "genpkey", *ec, "-out", "root.key"], d)
    run([o, "req", "-x509", "-new", "-key", "root.key", "-subj", ROOT_SUBJECT, "-days", "3650", "-sha256",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-out", "root.pem"], d)  # fmt: skip
    run([o, "genpkey", *ec, "-out", "int.key"], d)
    run([o, "req", "-new", "-key", "int.key", "-subj", INT_SUBJECT, "-out", "int.csr"], d)
    run([o, "x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "0x1001",
         "-days", "1825", "-sha256", "-extfile", "ext.cnf", "-extensions", "ca", "-out", "int.pem"], d)  # fmt: skip
    run([o, "genpkey", *ec, "-out", "leaf-ec.key"], d)
    run(
        [
            o,
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "leaf-rsa.key",
        ],
        d,
    )
    for kind, cn in (("ec", LEAF_EC_CN), ("rsa", LEAF_RSA_CN)):
        run(
            [
                o,
                "req",
                "-new",
                "-key",
                f"leaf-{kind}.key",
                "-subj",
                f"/O=certmgr tests/CN={cn}",
                "-out",
                f"leaf-{kind}.csr",
            ],
            d,
        )
        run([o, "x509", "-req", "-in", f"leaf-{kind}.csr", "-CA", "int.pem", "-CAkey", "int.key", "-set_serial",
             "0x2002" if kind == "ec" else "0x2003", "-days", "90", "-sha256", "-extfile", "ext.cnf",
             "-extensions", f"leaf_{kind}", "-out", f"leaf-{kind}.pem"], d)  # fmt: skip
    pem = {n: (d / f"{n}.pem").read_bytes() for n in ("root", "int", "leaf-ec", "leaf-rsa")}
    (d / "chain.pem").write_bytes(pem["int"] + pem["root"])
    (d / "fullchain-ec.pem").write_bytes(pem["leaf-ec"] + pem["int"] + pem["root"])
    (d / "fullchain-rsa.pem").write_bytes(pem["leaf-rsa"] + pem["int"])
    (d / "fullchain-shuffled.pem").write_bytes(
        b"Here is your certificate bundle.\n\n" + pem["root"] + b"\n# intermediate follows\n"
        + pem["int"] + b"subject=CN = leaf\n" + pem["leaf-ec"] + b"\n-- end of mail --\n"
    )  # fmt: skip
    (d / "fullchain-crlf.pem").write_bytes(
        (pem["leaf-ec"] + pem["int"] + pem["root"]).replace(b"\n", b"\r\n")
    )
    run([o, "x509", "-in", "leaf-ec.pem", "-outform", "DER", "-out", "leaf-ec.der"], d)
    run(
        [
            o,
            "x509",
            "-in",
            "root.pem",
            "-trustout",
            "-addtrust",
            "serverAuth",
            "-out",
            "root-trusted.pem",
        ],
        d,
    )
    # Keys in every shape tools write.
    run([o, "rsa", "-in", "leaf-rsa.key", "-traditional", "-out", "leaf-rsa-trad.key"], d)
    run([o, "ec", "-in", "leaf-ec.key", "-out", "leaf-ec-trad.key"], d)
    run(
        [
            o,
            "rsa",
            "-in",
            "leaf-rsa.key",
            "-des3",
            "-traditional",
            "-passout",
            f"pass:{PEM_PASS}",
            "-out",
            "leaf-rsa-des3.key",
        ],
        d,
    )
    run(
        [
            o,
            "ec",
            "-in",
            "leaf-ec.key",
            "-aes256",
            "-passout",
            f"pass:{PEM_PASS}",
            "-out",
            "leaf-ec-aes.key",
        ],
        d,
    )
    run(
        [
            o,
            "pkcs8",
            "-topk8",
            "-in",
            "leaf-ec.key",
            "-v2",
            "aes-256-cbc",
            "-passout",
            f"pass:{PEM_PASS}",
            "-out",
            "leaf-ec-enc.key",
        ],
        d,
    )
    run([o, "pkey", "-in", "leaf-rsa.key", "-outform", "DER", "-out", "leaf-rsa-key.der"], d)
    run(
        [
            o,
            "rsa",
            "-in",
            "leaf-rsa.key",
            "-traditional",
            "-outform",
            "DER",
            "-out",
            "leaf-rsa-trad-key.der",
        ],
        d,
    )
    run(
        [
            o,
            "pkcs8",
            "-topk8",
            "-in",
            "leaf-rsa.key",
            "-v2",
            "aes-128-cbc",
            "-outform",
            "DER",
            "-passout",
            f"pass:{PEM_PASS}",
            "-out",
            "leaf-rsa-enc-key.der",
        ],
        d,
    )
    run([o, "ecparam", "-name", "prime256v1", "-genkey", "-out", "ecparam-key.pem"], d)
    run([o, "req", "-in", "leaf-ec.csr", "-outform", "DER", "-out", "leaf-ec-csr.der"], d)
    # PKCS#7 and PKCS#12.
    run([o, "crl2pkcs7", "-nocrl", "-certfile", "fullchain-ec.pem", "-out", "chain.p7b"], d)
    run(
        [
            o,
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            "fullchain-ec.pem",
            "-outform",
            "DER",
            "-out",
            "chain.p7c",
        ],
        d,
    )
    p12 = [o, "pkcs12", "-export", "-certfile", "chain.pem"]
    run(
        [
            *p12,
            "-inkey",
            "leaf-ec.key",
            "-in",
            "leaf-ec.pem",
            "-name",
            "leaf-ec",
            "-passout",
            f"pass:{P12_PASS}",
            "-out",
            "leaf-ec.p12",
        ],
        d,
    )
    run(
        [
            *p12,
            "-inkey",
            "leaf-rsa.key",
            "-in",
            "leaf-rsa.pem",
            "-name",
            "leaf-rsa",
            "-passout",
            f"pass:{P12_PASS}",
            "-out",
            "leaf-rsa.p12",
        ],
        d,
    )
    run(
        [
            *p12,
            "-legacy",
            "-inkey",
            "leaf-rsa.key",
            "-in",
            "leaf-rsa.pem",
            "-name",
            "leaf-rsa",
            "-passout",
            f"pass:{P12_PASS}",
            "-out",
            "leaf-rsa-legacy.p12",
        ],
        d,
    )
    run(
        [
            *p12,
            "-inkey",
            "leaf-ec.key",
            "-in",
            "leaf-ec.pem",
            "-name",
            "leaf-ec",
            "-passout",
            "pass:",
            "-out",
            "leaf-ec-nopass.p12",
        ],
        d,
    )
    run(
        [
            o,
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            "fullchain-ec.pem",
            "-passout",
            f"pass:{P12_PASS}",
            "-out",
            "certs-only.p12",
        ],
        d,
    )
    run(
        [
            o,
            "pkcs12",
            "-in",
            "leaf-ec.p12",
            "-nodes",
            "-passin",
            f"pass:{P12_PASS}",
            "-out",
            "bag-attributes.pem",
        ],
        d,
    )


# Short-lived JVMs start several times faster without the optimising compiler.
_FAST_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def _java_jobs(d: Path, keytool: str, java: str) -> list[list[list[str]]]:
    """Independent sequences of JVM commands (each list runs in order; the lists run in parallel)."""
    kt = [keytool, *(f"-J{flag}" for flag in _FAST_JVM)]
    imp = [
        *kt,
        "-importkeystore",
        "-srcstoretype",
        "PKCS12",
        "-srcstorepass",
        P12_PASS,
        "-noprompt",
        "-deststorepass",
        STORE_PASS,
    ]
    return [
        [
            [*imp, "-srckeystore", "leaf-rsa.p12", "-srcalias", "leaf-rsa", "-destalias", "leaf-rsa",
             "-destkeystore", "keystore.jks", "-deststoretype", "JKS", "-destkeypass", KEY_PASS],
            [*kt, "-importcert", "-noprompt", "-alias", "test-root", "-file", "root.pem", "-keystore", "keystore.jks",
             "-storetype", "JKS", "-storepass", STORE_PASS],
        ],
        [[*imp, "-srckeystore", "leaf-ec.p12", "-srcalias", "leaf-ec", "-destalias", "leaf-ec",
          "-destkeystore", "keystore.jceks", "-deststoretype", "JCEKS", "-destkeypass", KEY_PASS]],
        [[*imp, "-srckeystore", "leaf-ec.p12", "-destkeystore", "keystore-keytool.p12", "-deststoretype", "PKCS12"]],
        [
            [*kt, "-genkeypair", "-alias", "gen", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", f"CN={GENKEY_CN}",
             "-validity", "30", "-keystore", "genkey.jks", "-storetype", "JKS", "-storepass", STORE_PASS, "-keypass", STORE_PASS],
            [*kt, "-exportcert", "-rfc", "-alias", "gen", "-keystore", "genkey.jks", "-storetype", "JKS",
             "-storepass", STORE_PASS, "-file", "genkey.pem"],
        ],
        [[java, *_FAST_JVM, "TwoPass.java", "leaf-rsa.p12", P12_PASS, "twopass.p12", STORE_PASS, KEY_PASS]],
    ]  # fmt: skip


def make_pki_files(
    directory: Path, *, openssl: str = "openssl", keytool: str = "keytool", java: str = "java"
) -> PkiFiles:
    """Create the whole set in ``directory`` (about 3 seconds; the JVM runs are parallel)."""
    d = directory
    _openssl_steps(d, openssl)
    (d / "TwoPass.java").write_text(_TWO_PASS_JAVA)
    with ThreadPoolExecutor(max_workers=5) as pool:
        for future in [
            pool.submit(lambda cmds: [run(c, d) for c in cmds], job)
            for job in _java_jobs(d, keytool, java)
        ]:
            future.result()
    files = PkiFiles(d)
    for cert in ("root", "int", "leaf-ec", "leaf-rsa", "genkey"):
        out = run([openssl, "x509", "-noout", "-fingerprint", "-sha256", "-in", f"{cert}.pem"], d)
        files.fingerprints[cert] = normalize_fp(out.decode())
    for key in ("root", "int", "leaf-ec", "leaf-rsa"):
        files.public_keys[key] = run(
            [openssl, "pkey", "-in", f"{key}.key", "-pubout", "-outform", "DER"], d
        )
    files.public_keys["ecparam"] = run(
        [openssl, "pkey", "-in", "ecparam-key.pem", "-pubout", "-outform", "DER"], d
    )
    return files
