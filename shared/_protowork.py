"""Agent-API messages of the work cycle: packages, key requests, reports, CSR uploads.

Re-exported and documented by :mod:`certmgr.shared.protocol`; same conventions as
:mod:`certmgr.shared._protomsg`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, Self

from certmgr.shared._protojson import HEX64, Fields, b64encode
from certmgr.shared._protomsg import (
    KIND,
    LABEL,
    LINE,
    MAX_ERROR_TEXT,
    MAX_LINE,
    MAX_MESSAGES,
    MAX_TARGETS,
    TEXT,
    TargetReport,
)
from certmgr.shared.envelope import MAX_PACKAGE_SIZE
from certmgr.shared.errors import ValidationError

MAX_PACKAGES: Final = 16
MAX_KEYGEN: Final = 16
MAX_SANS: Final = 100
_ID_MAX: Final = 2**63 - 1
_SAN: Final = re.compile(r"[!-~]{1,260}")
_KEY_TYPE: Final = re.compile(r"ec-p256|ec-p384|rsa-2048|rsa-3072|rsa-4096")
_OPTIONAL_LABEL: Final = re.compile(f"|{LABEL.pattern}")
_OPTIONAL_HEX64: Final = re.compile(f"|{HEX64.pattern}")
_CSR_PEM: Final = re.compile(
    r"|-----BEGIN CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE REQUEST-----\n?"
)


# --- work ---------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class WorkPackage:
    """One sealed package. ``deployment_id`` and ``sequence`` repeat the (signed) manifest's."""

    deployment_id: int
    sequence: int
    blob: bytes = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "deployment_id": self.deployment_id,
            "sequence": self.sequence,
            "blob": b64encode(self.blob),
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self:
        """Parse ``doc`` strictly (``where`` is its dotted path inside the message).

        Raises:
            ValidationError: A field is unknown, missing or wrong (``field`` names it).
        """
        f = Fields(doc, where)
        out = cls(
            deployment_id=f.integer("deployment_id", lo=0, hi=_ID_MAX),
            sequence=f.integer("sequence", lo=0, hi=_ID_MAX),
            blob=f.binary("blob", max_size=MAX_PACKAGE_SIZE),
        )
        f.done()
        return out


@dataclass(frozen=True, kw_only=True)
class KeygenRequest:
    """Make a key on the agent and upload a CSR for it (the key never leaves the host).

    ``key_type`` is a :class:`~certmgr.shared.pki.KeyType` value (``ec-p256``, ``rsa-2048`` ...).
    Sent again until the CSR arrives; the agent answers a repeated ``request_id`` with the same CSR.
    """

    request_id: str
    key_type: str
    common_name: str = ""
    sans: tuple[str, ...] = ()
    organization: str = ""
    organizational_unit: str = ""
    locality: str = ""
    state: str = ""
    country: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "request_id": self.request_id,
            "key_type": self.key_type,
            "common_name": self.common_name,
            "sans": list(self.sans),
            "organization": self.organization,
            "organizational_unit": self.organizational_unit,
            "locality": self.locality,
            "state": self.state,
            "country": self.country,
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self:
        """Parse ``doc`` strictly; absent subject fields and ``sans`` are empty.

        Raises:
            ValidationError: A field is unknown, missing or wrong (``field`` names it).
        """
        f = Fields(doc, where)

        def subject(name: str) -> str:
            return f.text(name, max_len=64, pattern=LINE, default="")

        out = cls(
            request_id=f.text("request_id", max_len=64, pattern=LABEL),
            key_type=f.text("key_type", max_len=16, pattern=_KEY_TYPE),
            common_name=f.text("common_name", max_len=64, pattern=LINE, default=""),
            sans=f.texts("sans", max_items=MAX_SANS, max_len=260, pattern=_SAN, default=()),
            organization=subject("organization"),
            organizational_unit=subject("organizational_unit"),
            locality=subject("locality"),
            state=subject("state"),
            country=subject("country"),
        )
        f.done()
        return out


@dataclass(frozen=True, kw_only=True)
class WorkResponse:
    """``GET /work``: packages to install, keys to make, and whether this agent is revoked."""

    packages: tuple[WorkPackage, ...] = ()
    keygen: tuple[KeygenRequest, ...] = ()
    revoked: bool = False

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "packages": [p.to_json() for p in self.packages],
            "keygen": [k.to_json() for k in self.keygen],
            "revoked": self.revoked,
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self:
        """Parse ``doc`` strictly (``where`` is its dotted path inside the message).

        Raises:
            ValidationError: A field is unknown, missing or wrong (``field`` names it).
        """
        f = Fields(doc, where)
        out = cls(
            packages=f.items("packages", WorkPackage.from_json, max_items=MAX_PACKAGES),
            keygen=f.items("keygen", KeygenRequest.from_json, max_items=MAX_KEYGEN),
            revoked=f.boolean("revoked"),
        )
        f.done()
        return out


# --- results ------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Report:
    """``POST /report``: the outcome of one package, with the inventory after it.

    ``ok`` true: ``error_kind`` null and ``error`` empty, ``installed_sha256`` the leaf the
    target now holds. ``ok`` false: ``error_kind`` set (an :class:`ErrorKind` value) and nothing
    changed on the host (except ``rollback-failed``, which needs a human). ``target`` is the local
    label, "" when the package was refused before a target was chosen.
    """

    deployment_id: int
    sequence: int
    ok: bool
    target: str = ""
    error_kind: str | None = None
    error: str = ""
    installed_sha256: str | None = None
    messages: tuple[str, ...] = ()
    inventory: tuple[TargetReport, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "deployment_id": self.deployment_id,
            "sequence": self.sequence,
            "ok": self.ok,
            "target": self.target,
            "error_kind": self.error_kind,
            "error": self.error,
            "installed_sha256": self.installed_sha256,
            "messages": list(self.messages),
            "inventory": [t.to_json() for t in self.inventory],
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self:
        """Parse ``doc`` strictly (``where`` is its dotted path inside the message).

        Raises:
            ValidationError: A field is unknown, missing or wrong (``field`` names it), or
                contradicts ``ok``.
        """
        f = Fields(doc, where)
        out = cls(
            deployment_id=f.integer("deployment_id", lo=0, hi=_ID_MAX),
            sequence=f.integer("sequence", lo=0, hi=_ID_MAX),
            ok=f.boolean("ok"),
            target=f.text("target", max_len=64, pattern=_OPTIONAL_LABEL),
            error_kind=f.optional_text("error_kind", max_len=32, pattern=KIND),
            error=f.text("error", max_len=MAX_ERROR_TEXT, pattern=TEXT),
            installed_sha256=f.optional_text("installed_sha256", max_len=64, pattern=HEX64),
            messages=f.texts("messages", max_items=MAX_MESSAGES, max_len=MAX_LINE, pattern=TEXT),
            inventory=f.items("inventory", TargetReport.from_json, max_items=MAX_TARGETS),
        )
        f.done()
        if out.ok and (out.error_kind is not None or out.error):
            raise ValidationError("a successful report carries no error", field="error_kind")
        if not out.ok and out.error_kind is None:
            raise ValidationError("a failed report needs error_kind", field="error_kind")
        return out


@dataclass(frozen=True, kw_only=True)
class CsrUpload:
    """``POST /csr``: the CSR for a :class:`KeygenRequest`, or why none could be made.

    Success: ``csr_pem`` and ``public_key_sha256`` (hex SHA-256 of the DER SubjectPublicKeyInfo)
    set, ``error`` empty. Failure: both empty, ``error_kind`` and ``error`` set.
    """

    request_id: str
    csr_pem: str = ""
    public_key_sha256: str = ""
    error_kind: str | None = None
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "request_id": self.request_id,
            "csr_pem": self.csr_pem,
            "public_key_sha256": self.public_key_sha256,
            "error_kind": self.error_kind,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self:
        """Parse ``doc`` strictly (``where`` is its dotted path inside the message).

        Raises:
            ValidationError: A field is unknown, missing or wrong (``field`` names it), or
                both or neither of a CSR and an error are given.
        """
        f = Fields(doc, where)

        def subject(name: str) -> str:
            return f.text(name, max_len=64, pattern=LINE, default="")

        out = cls(
            request_id=f.text("request_id", max_len=64, pattern=LABEL),
            csr_pem=f.text("csr_pem", max_len=64 * 1024, pattern=_CSR_PEM),
            public_key_sha256=f.text("public_key_sha256", max_len=64, pattern=_OPTIONAL_HEX64),
            error_kind=f.optional_text("error_kind", max_len=32, pattern=KIND),
            error=f.text("error", max_len=MAX_ERROR_TEXT, pattern=TEXT),
        )
        f.done()
        made = bool(out.csr_pem) and bool(out.public_key_sha256)
        failed = out.error_kind is not None and bool(out.error)
        if made == failed or (not made and (out.csr_pem or out.public_key_sha256)):
            raise ValidationError(
                "send either csr_pem and public_key_sha256, or error_kind and error",
                field="csr_pem",
            )
        return out
