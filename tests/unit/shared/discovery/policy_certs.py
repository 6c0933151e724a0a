"""Certificates of every trust-policy verdict, made two ways: with `cryptography` and with `openssl`.

The `cryptography` builders mirror :mod:`tests.factories.pki` (root -> intermediate -> leaf with
the extensions real CAs set) with knobs for the bad variants: key kind and size, signature hash,
validity, names, issuer. The openssl side drives ``openssl req``/``openssl ca`` (the tools people
use), so the policy is also judged on certificates our own code did not write.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | dsa.DSAPrivateKey


def key(kind: str = "ec", size: int = 256) -> Key:
    """``ec`` (P-256 or, with size 192, P-192), ``rsa`` or ``dsa`` of ``size`` bits."""
    if kind == "rsa":
        return rsa.generate_private_key(65537, size)
    if kind == "dsa":
        return dsa.generate_private_key(size)
    return ec.generate_private_key(ec.SECP192R1() if size == 192 else ec.SECP256R1())


def _san(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def cert(
    cn: str,
    subject_key: Key,
    issuer: tuple[Key, x509.Certificate] | None = None,
    *,
    ca: bool = False,
    sans: Sequence[str] = ("www.test",),
    start: dt.datetime = NOW - dt.timedelta(days=10),
    days: float = 90,
    hash_: hashes.HashAlgorithm | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """A certificate for ``subject_key``, issued by ``issuer`` (self-signed when None)."""
    signer, issuer_cert = issuer if issuer else (subject_key, None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_cert.subject if issuer_cert else name)
        .public_key(subject_key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
    )
    if not ca:
        b = b.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        if sans:
            b = b.add_extension(
                x509.SubjectAlternativeName([_san(s) for s in sans]), critical=False
            )
    if isinstance(hash_, (hashes.SHA1, hashes.MD5)):
        return _weakly_signed(b.sign(signer, hashes.SHA256()), signer, hash_)
    return b.sign(signer, hashes.SHA256() if hash_ is None else hash_)  # type: ignore[arg-type]


_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")  # OID 1.2.840.113549.1.1.11
_WEAK_RSA = {
    "sha1": bytes.fromhex("06092a864886f70d010105"),
    "md5": bytes.fromhex("06092a864886f70d010104"),
}


def _weakly_signed(
    good: x509.Certificate, signer: Key, hash_: hashes.HashAlgorithm
) -> x509.Certificate:
    """``good`` re-signed with SHA-1 or MD5 (cryptography 48+ refuses to sign certificates so).

    The signature algorithm OID has the same length, so it is swapped in place (in the TBS and
    outside it), the TBS is signed again, and the new signature of the same size replaces the old.
    """
    if not isinstance(signer, rsa.RSAPrivateKey):
        raise TypeError("weak signatures are made with RSA issuers only")
    der = good.public_bytes(Encoding.DER).replace(_SHA256_RSA, _WEAK_RSA[hash_.name])
    tbs = x509.load_der_x509_certificate(der).tbs_certificate_bytes
    signature = signer.sign(tbs, padding.PKCS1v15(), hash_)
    return x509.load_der_x509_certificate(der[: -len(signature)] + signature)


@dataclass(frozen=True)
class Pki:
    """A root, an intermediate under it, and a good leaf for ``www.test``."""

    root_key: Key
    root: x509.Certificate
    int_key: Key
    intermediate: x509.Certificate
    leaf: x509.Certificate

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """What a well-configured server sends: leaf, then intermediate."""
        return (self.leaf, self.intermediate)

    def issue(self, cn: str = "www.test", **kwargs: object) -> x509.Certificate:
        """A leaf issued by the intermediate (see :func:`cert` for the knobs)."""
        subject_key = kwargs.pop("subject_key", None) or key()
        return cert(cn, subject_key, (self.int_key, self.intermediate), **kwargs)  # type: ignore[arg-type]


def make(root_cn: str = "Policy Root") -> Pki:
    """A fresh :class:`Pki` valid long before and after :data:`NOW` (RSA CAs, EC leaves)."""
    rk = key("rsa", 2048)
    root = cert(root_cn, rk, ca=True, start=NOW - dt.timedelta(days=400), days=3650)
    ik = key("rsa", 2048)
    inter = cert(
        f"{root_cn} Intermediate",
        ik,
        (rk, root),
        ca=True,
        start=NOW - dt.timedelta(days=300),
        days=1800,
    )
    return Pki(rk, root, ik, inter, cert("www.test", key(), (ik, inter)))


_CA_CONF = """
[ca]
default_ca = CA_default
[CA_default]
dir = .
database = ./index.txt
new_certs_dir = ./newcerts
serial = ./serial
default_md = sha256
policy = policy_any
unique_subject = no
default_crl_days = 30
[policy_any]
commonName = supplied
[leaf]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = $ENV::SAN
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ")


class OpensslCa:
    """A root and an intermediate made by ``openssl``, issuing leaves with ``openssl ca``."""

    def __init__(self, folder: Path, name: str = "OpenSSL Root") -> None:
        """Make the root (``ca -selfsign``) and an intermediate it signs (``ca``)."""
        self.dir = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ca.cnf").write_text(_CA_CONF)
        (folder / "newcerts").mkdir(exist_ok=True)
        (folder / "index.txt").write_text("")
        (folder / "serial").write_text("1000\n")
        self._n = 0
        self.run(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "root.key", "-out", "root.csr", "-subj", f"/CN={name}",
        )  # fmt: skip
        # self-signed by ``openssl ca -selfsign`` so that its validity can start before NOW
        self._ca(
            "root", "root.csr", "root.pem", "root", NOW - dt.timedelta(days=400), 3650, "sha256"
        )
        self.run(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "int.key", "-out", "int.csr", "-subj", f"/CN={name} Intermediate",
        )  # fmt: skip
        self._ca(
            "root",
            "int.csr",
            "int.pem",
            "intermediate",
            NOW - dt.timedelta(days=300),
            1800,
            "sha256",
        )
        self.root = self.load("root.pem")
        self.intermediate = self.load("int.pem")

    def run(self, *args: str, san: str = "DNS:www.test") -> bytes:
        """Run ``openssl`` in the CA folder; a failure raises with its stderr."""
        proc = subprocess.run(
            ["openssl", *args],
            cwd=self.dir,
            capture_output=True,
            timeout=60,
            check=False,
            env={**os.environ, "SAN": san},
        )
        if proc.returncode:
            raise RuntimeError(f"openssl {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
        return proc.stdout

    def _ca(
        self, signer: str, csr: str, out: str, ext: str, start: dt.datetime, days: float, md: str,
        san: str = "DNS:www.test",
    ) -> None:  # fmt: skip
        who = ["-selfsign"] if ext == "root" else ["-cert", f"{signer}.pem"]
        self.run(
            "ca", "-batch", "-config", "ca.cnf", *who, "-keyfile", f"{signer}.key",
            "-in", csr, "-out", out, "-extensions", ext, "-md", md, "-notext",
            "-startdate", _stamp(start), "-enddate", _stamp(start + dt.timedelta(days=days)),
            san=san,
        )  # fmt: skip

    def load(self, name: str) -> x509.Certificate:
        """A PEM certificate of the folder."""
        return x509.load_pem_x509_certificate((self.dir / name).read_bytes())

    def issue(
        self,
        *,
        newkey: str = "ec:-",
        san: str = "DNS:www.test",
        start: dt.datetime = NOW - dt.timedelta(days=10),
        days: float = 90,
        md: str = "sha256",
    ) -> x509.Certificate:
        """A leaf from ``openssl req -newkey`` signed by the intermediate with ``openssl ca``.

        ``newkey`` is ``rsa:BITS`` or ``ec:-`` (P-256).
        """
        self._n += 1
        tag = f"leaf{self._n}"
        if newkey.startswith("ec"):
            keyargs = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        else:
            keyargs = ["-newkey", newkey]
        self.run("req", "-new", *keyargs, "-nodes", "-keyout", f"{tag}.key", "-out", f"{tag}.csr",
                 "-subj", "/CN=www.test")  # fmt: skip
        self._ca("int", f"{tag}.csr", f"{tag}.pem", "leaf", start, days, md, san)
        return self.load(f"{tag}.pem")

    def revoke(self, leaf: x509.Certificate) -> x509.CertificateRevocationList:
        """Revoke ``leaf`` (``openssl ca -revoke``) and return the intermediate's new CRL."""
        path = self.dir / "revoke.pem"
        path.write_bytes(leaf.public_bytes(Encoding.PEM))
        args = ["-config", "ca.cnf", "-cert", "int.pem", "-keyfile", "int.key"]
        self.run("ca", *args, "-revoke", "revoke.pem")
        self.run("ca", *args, "-gencrl", "-out", "crl.pem")
        return x509.load_pem_x509_crl((self.dir / "crl.pem").read_bytes())
