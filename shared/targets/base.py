"""The install-target contract (DESIGN section 5, STYLE section 2): data types and the plugin ABC.

Plugins supply :meth:`Target.plan` (pure), :meth:`Target.inventory` and, when needed, their own
:meth:`Target.validate` and :meth:`Target.reload`. Writing, rollback and the order of steps live
once, in :func:`certmgr.shared.targets.install`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import posixpath
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Final

from cryptography import x509

from certmgr.shared.errors import (
    ReloadFailedError,
    TargetMisconfiguredError,
    ValidationError,
    ValidationFailedError,
)
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.pki.keys import PrivateKey
from certmgr.shared.pki.load import load
from certmgr.shared.targets._host import RC_NOT_FOUND, HostOps

CERT_MODE: Final = 0o644
KEY_MODE: Final = 0o600
KEY_MODE_WITH_GROUP: Final = 0o640
_OUTPUT_TAIL: Final = 2000


class ParamSource(StrEnum):
    """Who may set a target parameter (DESIGN section 8, "What a package may say").

    Every field of every :class:`TargetParams` names one; :mod:`certmgr.shared.targets._policy`
    turns the classification into the receivers' refusal.
    """

    PACKAGE = "package"
    """Data a package may carry: file contents' form, entry names, passwords, and the paths of
    the files the target writes (checked against the receiver's own allow-list)."""
    LOCAL = "local"
    """Commands, programs, files the target reads or hands to a program, owners, modes, the
    allow-list and other host policy: only the receiving host's own configuration (or the
    plugin's fixed default) sets them; a package that carries one is refused."""


def param(
    help: str,  # noqa: A002 - the natural name for field help text
    *,
    source: ParamSource,
    default: Any = dataclasses.MISSING,
    path: bool = False,
    absolute: bool = False,
    octal: bool = False,
    secret: bool = False,
) -> Any:
    """A :class:`TargetParams` field with its help text (the console builds its form from these).

    Args:
        help: One line for the form and ``--help``.
        source: Whether a package may set it, or only the receiving host (required: every
            parameter is classified).
        default: Default value; omit for a required field.
        path: The value is a file the target writes (checked absolute, counted as declared).
        absolute: The value is a path the target reads or passes on (checked absolute).
        octal: An integer that may be written as an octal string (file modes).
        secret: The value is a password (a ``Secret``; never shown).

    Returns:
        A ``dataclasses.field``.
    """
    meta = {
        "help": help,
        "source": ParamSource(source),
        "path": path,
        "absolute": absolute,
        "octal": octal,
        "secret": secret,
    }
    if default is dataclasses.MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class TargetParams:
    """Parameters every target shares. Subclasses add theirs (frozen, keyword-only)."""

    owner: str | None = param(
        "User that owns the written files (default: keep the old owner)",
        source=ParamSource.LOCAL,
        default=None,
    )
    group: str | None = param(
        "Group of the written files; keys then get mode 0640",
        source=ParamSource.LOCAL,
        default=None,
    )
    allowed_paths: tuple[str, ...] = param(
        "Files or directories the target may write (default: exactly the files it declares)",
        source=ParamSource.LOCAL,
        default=(),
        absolute=True,
    )
    timeout: float = param(
        "Seconds each validate or reload command may take", source=ParamSource.LOCAL, default=60.0
    )
    keep_backups: bool = param(
        "Keep the replaced files next to the new ones", source=ParamSource.LOCAL, default=False
    )

    def declared_paths(self) -> tuple[str, ...]:
        """Every file this target is configured to write (fields marked ``path=True`` that are set)."""
        out: list[str] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("path") and value:
                out.append(value)
        return tuple(out)

    def allowed(self) -> tuple[str, ...]:
        """The effective write allow-list: ``allowed_paths``, else the declared files."""
        return self.allowed_paths or self.declared_paths()

    def private_key_mode(self) -> int:
        """Mode for files holding a private key: 0600, or 0640 when a group is configured."""
        return KEY_MODE_WITH_GROUP if self.group else KEY_MODE


class AvailabilityState(StrEnum):
    """Whether a target can be used on this host (certbot ``prepare()``)."""

    READY = "ready"
    MISCONFIGURED = "misconfigured"
    ABSENT = "absent"


@dataclass(frozen=True)
class Availability:
    """READY, MISCONFIGURED (shown flagged, with a reason) or ABSENT (hidden)."""

    state: AvailabilityState
    reason: str = ""

    @classmethod
    def ready(cls) -> Availability:
        """The target can install."""
        return cls(AvailabilityState.READY)

    @classmethod
    def misconfigured(cls, reason: str) -> Availability:
        """The software is present but not usable as configured."""
        return cls(AvailabilityState.MISCONFIGURED, reason)

    @classmethod
    def absent(cls, reason: str) -> Availability:
        """The software is not installed here."""
        return cls(AvailabilityState.ABSENT, reason)


@dataclass(frozen=True)
class Material:
    """What to install: the leaf, its chain (leaf's issuer first, no root needed) and the key."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()
    key: PrivateKey | None = field(default=None, repr=False)

    @classmethod
    def load(
        cls,
        certificate: bytes,
        chain: bytes = b"",
        key: bytes | None = None,
        *,
        key_password: bytes | None = None,
    ) -> Material:
        """Build material from file bytes (PEM or DER; e.g. a manifest's files).

        Args:
            certificate: The leaf first (more certificates after it are taken as chain).
            chain: Intermediates, issuer of the leaf first.
            key: The private key (PKCS#8 DER or any PEM key), or None.
            key_password: Password of an encrypted key.

        Returns:
            The material; the key is not checked against the certificate here (validation does).

        Raises:
            UnsupportedFormatError: A part cannot be read.
            WrongPasswordError: The key is encrypted and the password is missing or wrong.
            ValidationError: ``key`` holds no private key, or ``certificate`` no certificate.
        """
        leaf_and_more = load(certificate, name="certificate").certificates
        if not leaf_and_more:
            raise ValidationError("the certificate file holds no certificate", field="certificate")
        extra = load(chain, name="chain").certificates if chain.strip() else ()
        seen = {sha256_fingerprint(leaf_and_more[0])}
        ordered: list[x509.Certificate] = []
        for cert in (*leaf_and_more[1:], *extra):
            if sha256_fingerprint(cert) not in seen:
                seen.add(sha256_fingerprint(cert))
                ordered.append(cert)
        private = None
        if key is not None:
            keys = load(key, password=key_password, name="private key").keys
            if not keys:
                raise ValidationError("the key file holds no private key", field="key")
            private = keys[0]
        return cls(leaf_and_more[0], tuple(ordered), private)

    @property
    def sha256(self) -> str:
        """SHA-256 fingerprint of the leaf."""
        return sha256_fingerprint(self.certificate)

    def require_key(self, target: str) -> PrivateKey:
        """The key, or an error saying that ``target`` needs one.

        Raises:
            ValidationError: No key was supplied.
        """
        if self.key is None:
            raise ValidationError(f"the {target} target needs the private key", field="key")
        return self.key


@dataclass(frozen=True)
class PlannedFile:
    """One file a plan writes. ``data`` never appears in a repr."""

    path: str
    data: bytes = field(repr=False)
    mode: int = CERT_MODE
    owner: str | None = None
    group: str | None = None
    secret: bool = False  # holds a private key: shown as such in dry runs

    def describe(self) -> str:
        """One line for ``--dry-run``."""
        who = (
            ":".join(x or "-" for x in (self.owner, self.group))
            if (self.owner or self.group)
            else ""
        )
        what = "private key material" if self.secret else f"{len(self.data)} bytes"
        return f"write {self.path} (mode {self.mode:04o}{' owner ' + who if who else ''}, {what})"


@dataclass(frozen=True)
class Plan:
    """What an install will do: pure data, computed without touching the host."""

    target: str
    sha256: str  # the leaf the target will hold afterwards
    files: tuple[PlannedFile, ...]
    validate: tuple[str, ...] = ()  # argv run after writing; empty: none
    reload: tuple[str, ...] = ()  # argv run after validating; empty: none
    checks: tuple[str, ...] = ()  # in-process validation steps, described
    signal: str = ""  # in-process reload step (e.g. a signal), described

    @property
    def reloads(self) -> bool:
        """True when the plan reloads the server at all."""
        return bool(self.reload or self.signal)

    def describe(self) -> list[str]:
        """Human lines for ``--dry-run`` and the console (no secrets)."""
        lines = [f"target {self.target}: install certificate sha256 {self.sha256}"]
        lines += [f.describe() for f in self.files]
        lines += [f"check: {c}" for c in self.checks]
        if self.validate:
            lines.append("validate: " + " ".join(self.validate))
        if self.reload:
            lines.append("reload: " + " ".join(self.reload))
        if self.signal:
            lines.append(f"reload: {self.signal}")
        return lines


@dataclass(frozen=True)
class InstalledCert:
    """A certificate found on the host by :meth:`Target.inventory`."""

    location: str  # file path, or ``path#alias`` for keystores
    sha256: str
    subject: str
    not_after: dt.datetime


@dataclass(frozen=True)
class InstallResult:
    """What :func:`~certmgr.shared.targets.install` did."""

    target: str
    sha256: str
    files: tuple[str, ...]
    backups: tuple[str, ...]  # kept copies of replaced files (empty once committed and discarded)
    validated: bool
    reloaded: bool
    messages: tuple[str, ...] = ()


class Target(ABC):
    """An install-target plugin. Construct through :func:`~certmgr.shared.targets.get_target`."""

    name: ClassVar[str]
    params_type: ClassVar[type[TargetParams]]
    summary: ClassVar[str]
    default_allowed_paths: ClassVar[tuple[str, ...]] = ()
    """Where a receiver without its own allow-list lets a package's file paths point (the
    one-click installer run without ``--allow-path``); empty: nowhere unless the host says so."""

    def __init__(self, params: TargetParams, host: HostOps) -> None:
        """Bind parameters and the host seam.

        Raises:
            ValidationError: ``params`` is not this target's parameter type.
        """
        if not isinstance(params, self.params_type):
            raise ValidationError(f"{self.name} needs {self.params_type.__name__}", field="params")
        self.params = params
        self.host = host

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"

    def binaries(self) -> tuple[str, ...]:
        """Programs that must exist for the target to be present."""
        return ()

    def config_check(self) -> tuple[str, ...]:
        """An argv that checks the current configuration (empty: none)."""
        return ()

    def availability(self) -> Availability:
        """READY, MISCONFIGURED(reason) or ABSENT for this host.

        ABSENT when a program from :meth:`binaries` is missing; MISCONFIGURED when a directory
        of a declared file is missing or :meth:`config_check` fails on the current configuration.
        """
        for program in self.binaries():
            if self.host.which(program) is None:
                return Availability.absent(f"{program} is not installed")
        for path in self.params.declared_paths():
            directory = posixpath.dirname(path)
            info = self.host.lstat(directory)
            if info is None or info.is_file:
                return Availability.misconfigured(f"directory {directory} does not exist")
        check = self.config_check()
        if check:
            rc, output = self.host.run(check, self.params.timeout)
            if rc != 0:
                return Availability.misconfigured(f"{' '.join(check)} failed: {tail(output)}")
        return Availability.ready()

    @abstractmethod
    def plan(self, material: Material) -> Plan:
        """What installing ``material`` means here. Pure: reads nothing, writes nothing.

        Raises:
            ValidationError: The material does not suit this target (e.g. no key).
        """

    def validate(self, plan: Plan) -> None:
        """Check the server accepts the NEW files (run after they are written).

        Raises:
            ValidationFailedError: The check failed.
        """
        if plan.validate:
            self.run_checked(plan.validate, ValidationFailedError, "configuration test")

    def reload(self, plan: Plan) -> None:
        """Make the server use the files now on disk.

        Raises:
            ReloadFailedError: The reload failed.
        """
        if plan.reload:
            self.run_checked(plan.reload, ReloadFailedError, "reload")

    @abstractmethod
    def inventory(self) -> list[InstalledCert]:
        """The certificates installed now, read from the host.

        Raises:
            TargetError: A file cannot be read.
        """

    def run_checked(
        self,
        argv: tuple[str, ...],
        error: type[ValidationFailedError] | type[ReloadFailedError],
        what: str,
    ) -> str:
        """Run ``argv``; raise ``error`` with the output tail unless it exits 0.

        Raises:
            ValidationFailedError: When ``error`` is that type and the command failed.
            ReloadFailedError: When ``error`` is that type and the command failed.
            TargetMisconfiguredError: The program is not installed.
        """
        rc, output = self.host.run(argv, self.params.timeout)
        if rc == RC_NOT_FOUND:
            raise TargetMisconfiguredError(f"{self.name} {what}: {tail(output)}")
        if rc != 0:
            raise error(f"{self.name} {what} failed (exit {rc}): {tail(output)}", output)
        return output


def tail(output: str) -> str:
    """The last part of a command's output, stripped, for messages."""
    text = output.strip()
    return text if len(text) <= _OUTPUT_TAIL else "..." + text[-_OUTPUT_TAIL:]
