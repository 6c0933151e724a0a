"""Conventional install packages: a zip with certificate, chain, key under a passphrase, README.

PKCS#12 and JKS are added where the server software needs them.
"""

from __future__ import annotations

import io
import secrets
import zipfile
from dataclasses import dataclass, field
from importlib.resources import files

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from certmgr.controller.domain.software import SOFTWARE, Software
from certmgr.controller.services.material import CurrentMaterial
from certmgr.controller.services.users import check_password_policy
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import encrypted_pkcs8_pem, jks_bytes, pem_bundle, pkcs12_bytes, summarize


def text_templates() -> Environment:
    """Jinja2 for plain-text files (README, e-mail): no HTML escaping, undefined names are errors."""
    root = files("certmgr.webui").joinpath("templates")
    return Environment(
        loader=FileSystemLoader(str(root)),
        autoescape=False,  # noqa: S701 - plain text (README, e-mail), never HTML
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )  # noqa: S701 - plain text


@dataclass(frozen=True)
class Package:
    """A built package."""

    filename: str
    data: bytes = field(repr=False)
    passphrase: str = field(repr=False)
    members: tuple[str, ...]


def new_passphrase() -> str:
    """A random passphrase: 4 groups of 5 characters, easy to type."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def build_conventional(
    m: CurrentMaterial,
    software: str,
    *,
    deployment_name: str,
    server: str,
    passphrase: str | None = None,
) -> Package:
    """The zip for a server administrator.

    Raises:
        ValidationError: Weak chosen passphrase, unknown software, or no key.
    """
    sw: Software | None = SOFTWARE.get(software)
    if sw is None:
        raise ValidationError(f"unknown server software {software!r}", field="software")
    if m.key is None:
        raise ValidationError(
            "the key is kept on the server's agent; a conventional package cannot carry it",
            field="delivery",
        )
    if passphrase is None:
        passphrase = new_passphrase()
    else:
        check_password_policy(passphrase, field="passphrase")
    pw = passphrase.encode()
    name = m.name
    members: dict[str, bytes] = {
        "cert.pem": pem_bundle([m.certificate]),
        "chain.pem": pem_bundle(list(m.chain)) if m.chain else b"",
        "fullchain.pem": pem_bundle([m.certificate, *m.chain]),
        "key.pem": encrypted_pkcs8_pem(m.key, pw),
    }
    if sw.pkcs12:
        # Windows before Server 2019 cannot open AES-encrypted PKCS#12: the .pfx uses 3DES for IIS.
        members[f"{name}.pfx" if sw.key == "iis" else f"{name}.p12"] = pkcs12_bytes(
            m.key, m.certificate, list(m.chain), pw, name, legacy=sw.key == "iis"
        )
    if sw.jks:
        members[f"{name}.jks"] = jks_bytes(
            m.key, m.certificate, list(m.chain), pw, pw, alias="tomcat"
        )
    s = summarize(m.certificate)
    readme = (
        text_templates()
        .get_template(f"packages/{sw.key}.txt")
        .render(
            name=name,
            deployment=deployment_name,
            server=server,
            subject=s.subject,
            sans=", ".join(s.sans),
            not_after=s.not_after.strftime("%Y-%m-%d %H:%M UTC"),
            sha256=s.sha256,
            members=sorted(members),
            has_chain=bool(m.chain),
            software=sw.label,
        )
    )
    members["README.txt"] = readme.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for member, data in members.items():
            if data:
                z.writestr(
                    zipfile.ZipInfo(f"{name}/{member}", date_time=(2020, 1, 1, 0, 0, 0)), data
                )
    return Package(
        f"{name}-{deployment_name}.zip".replace("/", "_"),
        buf.getvalue(),
        passphrase,
        tuple(sorted(k for k, v in members.items() if v)),
    )
