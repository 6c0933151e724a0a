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


def run(args: Sequence[str | Path], cwd: Path, *, with_stderr: bool = False) -> bytes:
    """Run a tool and return its output (stdout, plus stderr when asked); a failure raises."""
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        command = " ".join(map(str, args))
        raise RuntimeError(
            f"{command} failed ({proc.returncode}):\n{proc.stderr.decode(errors='replace')}"
        )
    return proc.stdout + proc.stderr if with_stderr else proc.stdout


def normalize_fp(text: str) -> str:
    """``sha256 Fingerprint=AB:CD:..`` or ``SHA256: AB:CD..`` -> ``abcd..``."""
    value = text.split("=", 1)[1] if "=" in text else text.split(":", 1)[1]
    return "".join(ch for ch in value.lower() if ch in "0123456789abcdef")


def _openssl_steps(d: Path, openssl: str) -> None:
    def o(args: str, *extra: str) -> bytes:
        return run([openssl, *args.split(), *extra], d)

    (d / "ext.cnf").write_text(_EXTENSIONS)
    ec = "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
    o(f"{ec} -out root.key")
    o("req -x509 -new -key root.key -days 3650 -sha256 -out root.pem", "-subj", ROOT_SUBJECT,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    o(f"{ec} -out int.key")
    o("req -new -key int.key -out int.csr -subj", INT_SUBJECT)
    o("x509 -req -in int.csr -CA root.pem -CAkey root.key -set_serial 0x1001 -days 1825 -sha256"
      " -extfile ext.cnf -extensions ca -out int.pem")  # fmt: skip
    o(f"{ec} -out leaf-ec.key")
    o("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out leaf-rsa.key")
    for kind, cn, serial in (("ec", LEAF_EC_CN, "0x2002"), ("rsa", LEAF_RSA_CN, "0x2003")):
        o(f"req -new -key leaf-{kind}.key -out leaf-{kind}.csr -subj", f"/O=certmgr tests/CN={cn}")
        o(f"x509 -req -in leaf-{kind}.csr -CA int.pem -CAkey int.key -set_serial {serial} -days 90 -sha256"
          f" -extfile ext.cnf -extensions leaf_{kind} -out leaf-{kind}.pem")  # fmt: skip
    pem = {n: (d / f"{n}.pem").read_bytes() for n in ("root", "int", "leaf-ec", "leaf-rsa")}
    (d / "chain.pem").write_bytes(pem["int"] + pem["root"])
    (d / "fullchain-ec.pem").write_bytes(pem["leaf-ec"] + pem["int"] + pem["root"])
    (d / "fullchain-shuffled.pem").write_bytes(
        b"Here is your certificate bundle.\n\n" + pem["root"] + b"\n# intermediate follows\n"
        + pem["int"] + b"subject=CN = leaf\n" + pem["leaf-ec"] + b"\n-- end of mail --\n"
    )  # fmt: skip
    (d / "fullchain-crlf.pem").write_bytes(
        (pem["leaf-ec"] + pem["int"] + pem["root"]).replace(b"\n", b"\r\n")
    )
    o("x509 -in leaf-ec.pem -outform DER -out leaf-ec.der")
    o("x509 -in root.pem -trustout -addtrust serverAuth -out root-trusted.pem")
    # Keys in every shape tools write.
    pw = f"pass:{PEM_PASS}"
    o("rsa -in leaf-rsa.key -traditional -out leaf-rsa-trad.key")
    o("ec -in leaf-ec.key -out leaf-ec-trad.key")
    o("rsa -in leaf-rsa.key -des3 -traditional -out leaf-rsa-des3.key -passout", pw)
    o("ec -in leaf-ec.key -aes256 -out leaf-ec-aes.key -passout", pw)
    o("pkcs8 -topk8 -in leaf-ec.key -v2 aes-256-cbc -out leaf-ec-enc.key -passout", pw)
    o("pkey -in leaf-rsa.key -outform DER -out leaf-rsa-key.der")
    o("rsa -in leaf-rsa.key -traditional -outform DER -out leaf-rsa-trad-key.der")
    o(
        "pkcs8 -topk8 -in leaf-rsa.key -v2 aes-128-cbc -outform DER -out leaf-rsa-enc-key.der -passout",
        pw,
    )
    o("ecparam -name prime256v1 -genkey -out ecparam-key.pem")
    o("req -in leaf-ec.csr -outform DER -out leaf-ec-csr.der")
    # PKCS#7 and PKCS#12.
    o("crl2pkcs7 -nocrl -certfile fullchain-ec.pem -out chain.p7b")
    o("crl2pkcs7 -nocrl -certfile fullchain-ec.pem -outform DER -out chain.p7c")
    p12 = f"pkcs12 -export -certfile chain.pem -passout pass:{P12_PASS}"
    o(f"{p12} -inkey leaf-ec.key -in leaf-ec.pem -name leaf-ec -out leaf-ec.p12")
    o(f"{p12} -inkey leaf-rsa.key -in leaf-rsa.pem -name leaf-rsa -out leaf-rsa.p12")
    o(f"{p12} -legacy -inkey leaf-rsa.key -in leaf-rsa.pem -name leaf-rsa -out leaf-rsa-legacy.p12")
    o(
        "pkcs12 -export -certfile chain.pem -passout pass: -inkey leaf-ec.key -in leaf-ec.pem -name leaf-ec -out leaf-ec-nopass.p12"
    )
    o(f"pkcs12 -export -nokeys -in fullchain-ec.pem -passout pass:{P12_PASS} -out certs-only.p12")
    o(f"pkcs12 -in leaf-ec.p12 -nodes -passin pass:{P12_PASS} -out bag-attributes.pem")


# Short-lived JVMs start several times faster without the optimising compiler.
_FAST_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def _java_jobs(d: Path, keytool: str, java: str) -> list[list[list[str]]]:
    """Independent sequences of JVM commands (each list runs in order; the lists run in parallel)."""

    def kt(args: str) -> list[str]:
        return [keytool, *(f"-J{flag}" for flag in _FAST_JVM), *args.split()]

    imp = f"-importkeystore -noprompt -srcstoretype PKCS12 -srcstorepass {P12_PASS} -deststorepass {STORE_PASS}"
    return [
        [
            kt(f"{imp} -srckeystore leaf-rsa.p12 -srcalias leaf-rsa -destalias leaf-rsa"
               f" -destkeystore keystore.jks -deststoretype JKS -destkeypass {KEY_PASS}"),
            kt(f"-importcert -noprompt -alias test-root -file root.pem -keystore keystore.jks -storetype JKS"
               f" -storepass {STORE_PASS}"),
        ],
        [kt(f"{imp} -srckeystore leaf-ec.p12 -srcalias leaf-ec -destalias leaf-ec"
            f" -destkeystore keystore.jceks -deststoretype JCEKS -destkeypass {KEY_PASS}")],
        [kt(f"{imp} -srckeystore leaf-ec.p12 -destkeystore keystore-keytool.p12 -deststoretype PKCS12")],
        [
            kt(f"-genkeypair -alias gen -keyalg EC -groupname secp256r1 -dname CN={GENKEY_CN} -validity 30"
               f" -keystore genkey.jks -storetype JKS -storepass {STORE_PASS} -keypass {STORE_PASS}"),
            kt(f"-exportcert -rfc -alias gen -keystore genkey.jks -storetype JKS -storepass {STORE_PASS} -file genkey.pem"),
        ],
        [[java, *_FAST_JVM, "TwoPass.java", "leaf-rsa.p12", P12_PASS, "twopass.p12", STORE_PASS, KEY_PASS]],
    ]  # fmt: skip


def make_pki_files(
    directory: Path, *, openssl: str = "openssl", keytool: str = "keytool", java: str = "java"
) -> PkiFiles:
    """Create the whole set in ``directory`` (a few seconds; the JVM runs are parallel)."""
    d = directory
    _openssl_steps(d, openssl)
    (d / "TwoPass.java").write_text(_TWO_PASS_JAVA)

    def run_all(commands: list[list[str]]) -> None:
        for command in commands:
            run(command, d)

    with ThreadPoolExecutor(max_workers=5) as pool:
        for future in [pool.submit(run_all, job) for job in _java_jobs(d, keytool, java)]:
            future.result()
    files = PkiFiles(d)
    for cert in ("root", "int", "leaf-ec", "leaf-rsa", "genkey"):
        out = run([openssl, *f"x509 -noout -fingerprint -sha256 -in {cert}.pem".split()], d)
        files.fingerprints[cert] = normalize_fp(out.decode())
    for key, file in (
        *((k, f"{k}.key") for k in ("root", "int", "leaf-ec", "leaf-rsa")),
        ("ecparam", "ecparam-key.pem"),
    ):
        files.public_keys[key] = run([openssl, *f"pkey -in {file} -pubout -outform DER".split()], d)
    return files
