"""The files of a conventional install package, made the same way by the controller and the unpacker.

A conventional package is a folder of files a server administrator installs by hand, following the
package's README: ``cert.pem``, ``chain.pem``, ``fullchain.pem``, ``key.pem`` (encrypted PKCS#8
under the package passphrase), and where the software needs them a PKCS#12 and a JKS keystore
under the same passphrase.

A *protected* conventional package does not carry these files in the zip: it carries a one-click
runtime stamped with a passphrase-sealed package (DESIGN section 4) whose manifest has target type
:data:`UNPACK_TARGET` and a :class:`Layout` in its parameters. ``--unpack DIR`` on that executable
rebuilds exactly the files below, so the README's steps are the same either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509

from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import (
    PrivateKey,
    encrypted_pkcs8_pem,
    jks_bytes,
    pem_bundle,
    pkcs12_bytes,
)

__all__ = ["SECRET_FILES", "UNPACK_TARGET", "Layout", "is_secret", "package_files", "safe_stem"]

UNPACK_TARGET: Final = "conventional"
"""The manifest target type of a protected conventional package (no install plugin has it)."""

SECRET_FILES: Final = frozenset({"key.pem"})
"""Files always written owner-only; keystores (``.p12``/``.pfx``/``.jks``) are as well."""

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")
_KEYS: Final = frozenset({"name", "pkcs12", "legacy_pkcs12", "jks", "jks_alias"})


@dataclass(frozen=True, kw_only=True)
class Layout:
    """Which files a package holds besides the PEM files, and under which names."""

    name: str
    pkcs12: str = ""
    legacy_pkcs12: bool = False
    jks: str = ""
    jks_alias: str = "tomcat"

    def __post_init__(self) -> None:
        """Refuse names that could leave the package folder.

        Raises:
            ValidationError: A name is not a plain file name.
        """
        for field_name in ("name", "pkcs12", "jks", "jks_alias"):
            value = getattr(self, field_name)
            if not isinstance(value, str) or (
                (value or field_name == "name") and not _NAME.fullmatch(value)
            ):
                raise ValidationError(
                    f"package {field_name} {str(value)[:40]!r} is not a plain file name",
                    field=field_name,
                )
        if not isinstance(self.legacy_pkcs12, bool):
            raise ValidationError("legacy_pkcs12 must be true or false", field="legacy_pkcs12")

    def params(self) -> dict[str, str | bool]:
        """The layout as manifest target parameters."""
        return {
            "name": self.name,
            "pkcs12": self.pkcs12,
            "legacy_pkcs12": self.legacy_pkcs12,
            "jks": self.jks,
            "jks_alias": self.jks_alias,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> Layout:
        """Read a layout from manifest target parameters.

        Raises:
            ValidationError: Unknown keys, wrong types, or unsafe names.
        """
        unknown = set(params) - _KEYS
        if unknown:
            raise ValidationError(
                f"unknown package layout keys: {', '.join(sorted(unknown))[:100]}", field="layout"
            )
        name = params.get("name")
        if not isinstance(name, str):
            raise ValidationError("the package layout has no name", field="name")
        texts = {k: params.get(k, "") for k in ("pkcs12", "jks")}
        alias = params.get("jks_alias", "tomcat")
        legacy = params.get("legacy_pkcs12", False)
        if not all(isinstance(v, str) for v in (*texts.values(), alias)) or not isinstance(
            legacy, bool
        ):
            raise ValidationError(
                "the package layout has a value of the wrong type", field="layout"
            )
        return cls(
            name=name,
            pkcs12=str(texts["pkcs12"]),
            legacy_pkcs12=legacy,
            jks=str(texts["jks"]),
            jks_alias=str(alias),
        )


STEM_MAX: Final = 80
"""Longest stem: ``<stem>.jks`` and ``certmgr-unpack-<stem>`` still fit a 100-character name."""


def safe_stem(name: str) -> str:
    """A name (a certificate's common name, a deployment's name) made into a file and folder name.

    Such names are free text ("Web shop / EU", "*.example.com"); package folders, keystore
    names and the README's commands use this instead, so no name can climb out of the folder
    or run anything when pasted into a shell.
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name.replace("*", "wildcard")).strip("._-")
    return stem[:STEM_MAX].rstrip("._-") or "certificate"


def package_files(
    layout: Layout,
    cert: x509.Certificate,
    chain: Sequence[x509.Certificate],
    key: PrivateKey,
    passphrase: bytes,
) -> dict[str, bytes]:
    """The package's files by name (without the README); empty files are left out.

    Raises:
        ValidationError: Empty passphrase.
    """
    files: dict[str, bytes] = {
        "cert.pem": pem_bundle([cert]),
        "chain.pem": pem_bundle(list(chain)) if chain else b"",
        "fullchain.pem": pem_bundle([cert, *chain]),
        "key.pem": encrypted_pkcs8_pem(key, passphrase),
    }
    if layout.pkcs12:
        # Windows before Server 2019 cannot open AES-encrypted PKCS#12: legacy (3DES) for IIS.
        files[layout.pkcs12] = pkcs12_bytes(
            key, cert, list(chain), passphrase, layout.name, legacy=layout.legacy_pkcs12
        )
    if layout.jks:
        files[layout.jks] = jks_bytes(
            key, cert, list(chain), passphrase, passphrase, alias=layout.jks_alias
        )
    return {k: v for k, v in files.items() if v}


def is_secret(filename: str) -> bool:
    """Whether a package file holds the private key (written owner-only)."""
    return filename in SECRET_FILES or filename.endswith((".p12", ".pfx", ".jks"))
