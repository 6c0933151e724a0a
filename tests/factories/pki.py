"""A small test PKI built at run time with `cryptography`: root -> intermediate -> leaves.

Certificates carry what real CAs put in (basicConstraints, keyUsage, SKI/AKI, serverAuth EKU)
so that `cryptography`'s web-PKI verifier and OpenSSL accept them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def make_key(kind: str = "ec") -> PrivateKey:
    """A fresh private key: ``"ec"`` (P-256, fast) or ``"rsa"`` (2048 bits)."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _validity(
    days: int, not_before: dt.datetime | None, not_after: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    start = not_before or now - dt.timedelta(hours=1)
    end = not_after or now + dt.timedelta(days=days)
    return start, end


def _ca_cert(
    subject_key: PrivateKey,
    cn: str,
    issuer_key: PrivateKey,
    issuer_cert: x509.Certificate | None,
    *,
    days: int,
    path_length: int | None,
) -> x509.Certificate:
    start, end = _validity(days, None, None)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(cn))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


def make_ca(
    cn: str = "Test Root", *, days: int = 365, key_kind: str = "ec"
) -> tuple[PrivateKey, x509.Certificate]:
    """A self-signed root CA."""
    key = make_key(key_kind)
    return key, _ca_cert(key, cn, key, None, days=days, path_length=None)


def make_intermediate(
    issuer_key: PrivateKey,
    issuer_cert: x509.Certificate,
    cn: str = "Test Intermediate",
    *,
    days: int = 180,
    key_kind: str = "ec",
) -> tuple[PrivateKey, x509.Certificate]:
    """An intermediate CA (pathlen 0) issued by ``issuer_cert``."""
    key = make_key(key_kind)
    return key, _ca_cert(key, cn, issuer_key, issuer_cert, days=days, path_length=0)


def _san(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def make_leaf(
    issuer_key: PrivateKey | None,
    issuer_cert: x509.Certificate | None,
    cn: str,
    sans: Sequence[str] = ("localhost", "127.0.0.1"),
    days: int = 30,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    key: PrivateKey | None = None,
    key_kind: str = "ec",
    extra_extensions: Sequence[x509.ExtensionType] = (),
) -> tuple[PrivateKey, x509.Certificate]:
    """A server certificate for ``sans`` (IP literals become IP SANs).

    ``issuer_cert=None`` makes it self-signed with its own key (``issuer_key`` is then ignored).
    ``not_before``/``not_after`` override the validity (e.g. an expired leaf).
    ``extra_extensions`` are added non-critical (e.g. a huge ``UnrecognizedExtension``).
    """
    leaf_key = key or make_key(key_kind)
    if issuer_cert is not None and issuer_key is None:
        raise ValueError("issuer_cert needs issuer_key")
    signer = issuer_key if issuer_cert is not None and issuer_key is not None else leaf_key
    start, end = _validity(days, not_before, not_after)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_cert.subject if issuer_cert is not None else _name(cn))
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san(s) for s in sans]), critical=False
        )
    for ext in extra_extensions:
        builder = builder.add_extension(ext, critical=False)
    return leaf_key, builder.sign(signer, hashes.SHA256())


def pem_bytes(*objs: x509.Certificate | PrivateKey) -> bytes:
    """PEM of certificates and unencrypted (PKCS#8) private keys, concatenated in order."""
    out = b""
    for obj in objs:
        if isinstance(obj, x509.Certificate):
            out += obj.public_bytes(serialization.Encoding.PEM)
        else:
            out += obj.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
    return out


def write_pem(path: Path, *objs: x509.Certificate | PrivateKey) -> Path:
    """Write certificates and keys as one PEM file (keys mode 0600); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pem_bytes(*objs))
    if any(not isinstance(o, x509.Certificate) for o in objs):
        path.chmod(0o600)
    return path


@dataclass(frozen=True)
class TestPki:
    """Root -> intermediate -> leaf A and leaf B (SANs ``localhost``, ``127.0.0.1``, ``::1``)."""

    __test__ = False  # not a pytest test class

    root_key: PrivateKey
    root: x509.Certificate
    int_key: PrivateKey
    intermediate: x509.Certificate
    leaf_a_key: PrivateKey
    leaf_a: x509.Certificate
    leaf_b_key: PrivateKey
    leaf_b: x509.Certificate

    def write(self, folder: Path) -> dict[str, Path]:
        """Write the usual files (as RECIPES-SERVERS §0 names them) and return them by name.

        ``root.pem int.pem leafA.pem leafA.key fullchainA.pem combinedA.pem`` and the B versions.
        """
        folder.mkdir(parents=True, exist_ok=True)
        files = {
            "root.pem": write_pem(folder / "root.pem", self.root),
            "int.pem": write_pem(folder / "int.pem", self.intermediate),
        }
        for tag, key, leaf in (
            ("A", self.leaf_a_key, self.leaf_a),
            ("B", self.leaf_b_key, self.leaf_b),
        ):
            files[f"leaf{tag}.pem"] = write_pem(folder / f"leaf{tag}.pem", leaf)
            files[f"leaf{tag}.key"] = write_pem(folder / f"leaf{tag}.key", key)
            files[f"fullchain{tag}.pem"] = write_pem(
                folder / f"fullchain{tag}.pem", leaf, self.intermediate
            )
            files[f"combined{tag}.pem"] = write_pem(
                folder / f"combined{tag}.pem", leaf, self.intermediate, key
            )
        return files


def make_pki(sans: Sequence[str] = ("localhost", "127.0.0.1", "::1")) -> TestPki:
    """A fresh root, intermediate and two leaves (``leaf-A``, ``leaf-B``)."""
    root_key, root = make_ca("Test Root")
    int_key, intermediate = make_intermediate(root_key, root, "Test Intermediate")
    a_key, a = make_leaf(int_key, intermediate, "leaf-A", sans)
    b_key, b = make_leaf(int_key, intermediate, "leaf-B", sans)
    return TestPki(root_key, root, int_key, intermediate, a_key, a, b_key, b)


def leaf_a_pkcs12(pki: TestPki, password: bytes, name: bytes = b"shop") -> bytes:
    """Leaf A with its key, intermediate and root as a PKCS#12 file under ``password``."""
    from cryptography.hazmat.primitives.serialization import pkcs12  # lazy: few tests need it

    return pkcs12.serialize_key_and_certificates(
        name,
        pki.leaf_a_key,
        pki.leaf_a,
        [pki.intermediate, pki.root],
        serialization.BestAvailableEncryption(password),
    )
