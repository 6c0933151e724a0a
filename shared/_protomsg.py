"""Agent-API messages of enrolment and inventory (re-exported, and documented, by :mod:`certmgr.shared.protocol`).

Each message is a frozen dataclass with ``to_json()`` (a JSON-ready dict) and a strict
``from_json(doc, where="")`` that raises :class:`~certmgr.shared.errors.ValidationError` naming
the dotted path of the first wrong, missing or unknown field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Self

from certmgr.shared._protojson import HEX64, Fields, b64encode, time_text
from certmgr.shared._protosign import AGENT_ID_PATTERN
from certmgr.shared.secret import Secret

DEFAULT_POLL_WAIT: Final = 25
MAX_POLL_WAIT: Final = 300
MAX_TARGETS: Final = 64
MAX_INSTALLED: Final = 64
MAX_MESSAGES: Final = 64
MAX_ERROR_TEXT: Final = 4000
MAX_LINE: Final = 1000
_KEY_SIZE: Final = 32

LABEL: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""Agent names, local target labels and key request ids."""
TARGET_TYPE: Final = re.compile(r"[a-z][a-z0-9-]{0,31}")
SECRET: Final = re.compile(r"[A-Za-z0-9_-]{16,128}")
"""An enrolment token secret."""
_HOSTNAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")
_VERSION: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]{0,31}")
TEXT: Final = re.compile(r"[^\x00]*")
LINE: Final = re.compile(r"[^\x00-\x1f\x7f]*")
_AVAILABILITY: Final = re.compile(r"ready|misconfigured|absent")


class ErrorKind(StrEnum):
    """Why a package or key request failed (:attr:`Report.error_kind`, :attr:`CsrUpload.error_kind`)."""

    MALFORMED_PACKAGE = "malformed-package"
    UNSUPPORTED_VERSION = "unsupported-version"
    BAD_SIGNATURE = "bad-signature"
    STALE_PACKAGE = "stale-package"
    ALREADY_INSTALLED = "already-installed"
    EXPIRED_PACKAGE = "expired-package"
    PATH_NOT_ALLOWED = "path-not-allowed"
    TARGET_NOT_CONFIGURED = "target-not-configured"
    PARAM_NOT_ALLOWED = "param-not-allowed"
    KEY_MISSING = "key-missing"
    KEY_MISMATCH = "key-mismatch"
    INVALID_INPUT = "invalid-input"
    TARGET_ABSENT = "target-absent"
    TARGET_MISCONFIGURED = "target-misconfigured"
    VALIDATION_FAILED = "validation-failed"
    RELOAD_FAILED = "reload-failed"
    INVENTORY_MISMATCH = "inventory-mismatch"
    ROLLBACK_FAILED = "rollback-failed"
    TARGET_ERROR = "target-error"
    INTERNAL_ERROR = "internal-error"


KIND: Final = re.compile("|".join(re.escape(k.value) for k in ErrorKind))


# --- inventory ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class InstalledItem:
    """One certificate found on a target: file path (``path#alias`` in keystores)."""

    path: str
    sha256: str
    not_after: dt.datetime

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {"path": self.path, "sha256": self.sha256, "not_after": time_text(self.not_after)}

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self:
        """Parse ``doc`` strictly (``where`` is its dotted path inside the message).

        Raises:
            ValidationError: A field is unknown, missing or wrong (``field`` names it).
        """
        f = Fields(doc, where)
        out = cls(
            path=f.text("path", max_len=4096, min_len=1, pattern=LINE),
            sha256=f.text("sha256", max_len=64, pattern=HEX64),
            not_after=f.time("not_after"),
        )
        f.done()
        return out


@dataclass(frozen=True, kw_only=True)
class TargetReport:
    """One local target: label, type, availability (``ready|misconfigured|absent``) and contents."""

    name: str
    type: str
    availability: str
    reason: str = ""
    installed: tuple[InstalledItem, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "name": self.name,
            "type": self.type,
            "availability": self.availability,
            "reason": self.reason,
            "installed": [i.to_json() for i in self.installed],
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self:
        """Parse ``doc`` strictly (``where`` is its dotted path inside the message).

        Raises:
            ValidationError: A field is unknown, missing or wrong (``field`` names it).
        """
        f = Fields(doc, where)
        out = cls(
            name=f.text("name", max_len=64, pattern=LABEL),
            type=f.text("type", max_len=32, pattern=TARGET_TYPE),
            availability=f.text("availability", max_len=16, pattern=_AVAILABILITY),
            reason=f.text("reason", max_len=MAX_LINE, pattern=TEXT),
            installed=f.items("installed", InstalledItem.from_json, max_items=MAX_INSTALLED),
        )
        f.done()
        return out


def _targets(f: Fields) -> tuple[TargetReport, ...]:
    return f.items("targets", TargetReport.from_json, max_items=MAX_TARGETS)


@dataclass(frozen=True, kw_only=True)
class InventoryUpload:
    """``POST /inventory``: every local target and what it holds now."""

    agent_version: str
    targets: tuple[TargetReport, ...]

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "agent_version": self.agent_version,
            "targets": [t.to_json() for t in self.targets],
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self:
        """Parse ``doc`` strictly (``where`` is its dotted path inside the message).

        Raises:
            ValidationError: A field is unknown, missing or wrong (``field`` names it).
        """
        f = Fields(doc, where)
        out = cls(
            agent_version=f.text("agent_version", max_len=32, pattern=_VERSION),
            targets=_targets(f),
        )
        f.done()
        return out


# --- enrolment ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class EnrollRequest:
    """``POST /enroll``: the token secret and the agent's public keys (private halves stay home)."""

    token_secret: Secret[str]
    agent_name: str
    hostname: str
    agent_version: str
    x25519_public_key: bytes  # packages are sealed to it
    ed25519_public_key: bytes  # verifies the agent's request signatures
    targets: tuple[TargetReport, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON object (``token`` holds the secret: never log it)."""
        return {
            "token": self.token_secret.reveal(),
            "agent_name": self.agent_name,
            "hostname": self.hostname,
            "agent_version": self.agent_version,
            "x25519_public_key": b64encode(self.x25519_public_key),
            "ed25519_public_key": b64encode(self.ed25519_public_key),
            "targets": [t.to_json() for t in self.targets],
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self:
        """Parse ``doc`` strictly (``where`` is its dotted path inside the message).

        Raises:
            ValidationError: A field is unknown, missing or wrong (``field`` names it).
        """
        f = Fields(doc, where)
        out = cls(
            token_secret=Secret(f.text("token", max_len=128, pattern=SECRET)),
            agent_name=f.text("agent_name", max_len=64, pattern=LABEL),
            hostname=f.text("hostname", max_len=253, pattern=_HOSTNAME),
            agent_version=f.text("agent_version", max_len=32, pattern=_VERSION),
            x25519_public_key=f.binary("x25519_public_key", max_size=_KEY_SIZE, size=_KEY_SIZE),
            ed25519_public_key=f.binary("ed25519_public_key", max_size=_KEY_SIZE, size=_KEY_SIZE),
            targets=_targets(f),
        )
        f.done()
        return out


@dataclass(frozen=True, kw_only=True)
class EnrollResponse:
    """The controller's answer: the agent id, the package-signing key, the poll wait."""

    agent_id: str
    controller_verify_key: bytes  # raw Ed25519 public key that signs packages
    poll_wait_seconds: int = DEFAULT_POLL_WAIT

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "agent_id": self.agent_id,
            "controller_verify_key": b64encode(self.controller_verify_key),
            "poll_wait_seconds": self.poll_wait_seconds,
        }

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self:
        """Parse ``doc`` strictly (``where`` is its dotted path inside the message).

        Raises:
            ValidationError: A field is unknown, missing or wrong (``field`` names it).
        """
        f = Fields(doc, where)
        out = cls(
            agent_id=f.text("agent_id", max_len=64, pattern=AGENT_ID_PATTERN),
            controller_verify_key=f.binary(
                "controller_verify_key", max_size=_KEY_SIZE, size=_KEY_SIZE
            ),
            poll_wait_seconds=f.integer("poll_wait_seconds", lo=1, hi=MAX_POLL_WAIT),
        )
        f.done()
        return out
