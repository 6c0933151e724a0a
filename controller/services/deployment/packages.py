"""Conventional install packages: a zip with certificate, chain, key under a passphrase, README.

PKCS#12 and JKS are added where the server software needs them. A *protected* package carries
the same files sealed inside a stamped one-click runtime that unpacks them (``--unpack``).
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
import shlex
import zipfile
from dataclasses import dataclass, field
from importlib.resources import files

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from certmgr.controller.domain.software import SOFTWARE, Software
from certmgr.controller.domain.state_labels import state_label
from certmgr.controller.services.admin.users import check_password_policy
from certmgr.controller.services.certificates.documents import PACKAGE_KIND_PREFIX
from certmgr.controller.services.certificates.material import CurrentMaterial
from certmgr.shared.errors import ValidationError
from certmgr.shared.packagefiles import Layout, is_secret, package_files, safe_stem
from certmgr.shared.pki import summarize


def package_kind(dep_id: int) -> str:
    """The document kind of a deployment's packages."""
    return f"{PACKAGE_KIND_PREFIX}:{dep_id}"


def text_templates() -> Environment:
    """Jinja2 for plain-text files (README, e-mail): no HTML escaping, undefined names are errors."""
    root = files("certmgr.webui").joinpath("templates")
    env = Environment(
        loader=FileSystemLoader(str(root)),
        autoescape=False,  # noqa: S701 - plain text (README, e-mail), never HTML
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )  # noqa: S701 - plain text
    env.globals["state_label"] = state_label  # states in words, as on the console
    return env


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


def layout_for(software: Software, name: str) -> Layout:
    """Which keystores a package for ``software`` carries, named after the definition."""
    stem = safe_stem(name)
    pkcs12 = ""
    if software.pkcs12:
        pkcs12 = f"{stem}.pfx" if software.key == "iis" else f"{stem}.p12"
    return Layout(
        name=stem,
        pkcs12=pkcs12,
        legacy_pkcs12=software.key == "iis",
        jks=f"{stem}.jks" if software.jks else "",
    )


def unpacker_name(name: str) -> str:
    """The file name of a protected package's unpacker executable."""
    return f"certmgr-unpack-{safe_stem(name)}"


@dataclass(frozen=True)
class CheckTarget:
    """Where the deployment's check connects: the README's check command uses the same."""

    host: str
    port: int = 443
    sni: str = ""
    starttls: str = ""

    def openssl_command(self) -> str:
        """The shell line that prints the SHA-256 fingerprint of what is served there."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        parts = ["echo | openssl s_client"]
        if self.starttls:
            parts.append(f"-starttls {shlex.quote(self.starttls)}")
        parts.append(f"-connect {shlex.quote(f'{host}:{self.port}')}")
        if self.sni:
            parts.append(f"-servername {shlex.quote(self.sni)}")
        return " ".join(parts) + " 2>/dev/null | openssl x509 -noout -fingerprint -sha256"


def build_conventional(
    m: CurrentMaterial,
    software: str,
    *,
    deployment_name: str,
    server: str,
    passphrase: str | None = None,
    unpacker: bytes | None = None,
    unpack_by: dt.datetime | None = None,
    check: CheckTarget | None = None,
) -> Package:
    """The zip for a server administrator.

    With ``unpacker`` (the runtime stamped with this package's files, sealed under the same
    passphrase, refused after ``unpack_by``), the zip holds only the README and that
    executable: a protected package.

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
    layout = layout_for(sw, m.name)
    stem = layout.name
    members = package_files(layout, m.certificate, list(m.chain), m.key, passphrase.encode())
    listed = sorted(members)
    zipped: dict[str, bytes] = {} if unpacker is not None else dict(members)
    if unpacker is not None:
        zipped[unpacker_name(m.name)] = unpacker
    s = summarize(m.certificate)
    readme = (
        text_templates()
        .get_template(f"packages/{sw.key}.txt")
        .render(
            name=stem,
            deployment=deployment_name,
            server=server,
            subject=s.subject,
            sans=", ".join(s.sans),
            not_after=s.not_after.strftime("%Y-%m-%d %H:%M UTC"),
            sha256=s.sha256,
            members=listed,
            has_chain=bool(m.chain),
            software=sw.label,
            unpacker=unpacker_name(m.name) if unpacker is not None else "",
            unpack_by=unpack_by.strftime("%Y-%m-%d %H:%M UTC") if unpack_by else "",
            check_command=(check or CheckTarget(server, 443, server)).openssl_command(),
        )
    )
    zipped["README.txt"] = readme.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for member, data in zipped.items():
            info = zipfile.ZipInfo(f"{stem}/{member}", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if member == unpacker_name(m.name) and unpacker is not None:
                info.compress_type = zipfile.ZIP_STORED  # already compressed: deflate gains ~1 %
                info.external_attr = (0o100755 & 0xFFFF) << 16  # unzip restores the exec bit
            else:
                info.external_attr = (0o100600 if is_secret(member) else 0o100644) << 16
            z.writestr(info, data)
    return Package(
        f"{stem}-{safe_stem(deployment_name)}{'-protected' if unpacker is not None else ''}.zip",
        buf.getvalue(),
        passphrase,
        tuple(sorted(zipped)),
    )
