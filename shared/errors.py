"""The one exception tree of certmgr.

Every public function of certmgr raises only these (third-party errors are
translated at the boundary with ``raise ... from err``)::

    CertmgrError
    ├── InputError                  user-fixable input (a file, form, API body, manifest)
    │   ├── UnsupportedFormatError  not a file format we read (says what it looks like)
    │   ├── WrongPasswordError      passphrase missing or wrong for an encrypted file
    │   ├── KeyMismatchError        private key does not match the certificate
    │   ├── IncompleteChainError    the chain cannot be built up to a CA
    │   ├── InputTooLargeError      size or complexity cap exceeded
    │   └── ValidationError         a field value is wrong (carries the field name)
    │       └── FieldsError         several fields are wrong (carries one ValidationError each)
    ├── NotFoundError               the named object does not exist
    ├── ConflictError               conflicts with the current state
    │   └── InvalidTransitionError  a state change the state machine forbids
    ├── PermissionDeniedError       the actor may not do this
    ├── EnvelopeError               install package refused; never retried
    │   ├── BadSignatureError
    │   ├── StalePackageError
    │   ├── ExpiredPackageError
    │   └── PathNotAllowedError
    ├── TargetError                 install target failed
    │   ├── TargetAbsentError
    │   ├── TargetMisconfiguredError
    │   ├── ValidationFailedError
    │   ├── ReloadFailedError
    │   ├── InventoryMismatchError
    │   └── RollbackFailedError     critical: the host was left changed
    ├── ProbeError                  TLS probe failed
    │   ├── TemporaryProbeError
    │   │   ├── ResolveError
    │   │   ├── ConnectTimeoutError
    │   │   └── PeerRefusedError
    │   └── HandshakeError          reachable, but TLS failed (a finding, not an outage)
    ├── UpstreamError               ACME / SMTP / vendor
    │   ├── TemporaryUpstreamError
    │   └── UpstreamRejectedError
    └── ConfigurationError          the home folder or config.toml is unusable

Construction has no side effects (no logging); ``str()`` never contains secrets. The errors
know nothing of transports: each surface maps them once, HTTP in ``controller/web/errors.py``
and the exit codes of all three command lines in ``certmgr.shared.exitcodes``.
"""

from __future__ import annotations

from collections.abc import Sequence


class CertmgrError(Exception):
    """Root of every certmgr error."""


class InputError(CertmgrError):
    """Input the user can fix: a file, a form field, an API body, a manifest."""


class UnsupportedFormatError(InputError):
    """The data is not in any format certmgr reads."""


class WrongPasswordError(InputError):
    """A passphrase is missing or wrong."""


class KeyMismatchError(InputError):
    """A private key does not belong to the certificate."""


class IncompleteChainError(InputError):
    """A certificate chain cannot be completed or is out of order."""


class InputTooLargeError(InputError):
    """The input exceeds a size or complexity cap."""


class ValidationError(InputError):
    """A field has a wrong value."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        """Create the error.

        Args:
            message: What is wrong, in plain words.
            field: The name of the offending field, when there is one.
        """
        super().__init__(message)
        self.field = field


class FieldsError(ValidationError):
    """Several fields have wrong values: every one is named, so a form can show them all at once."""

    def __init__(self, errors: Sequence[ValidationError]) -> None:
        """Create the error.

        Args:
            errors: One error per wrong field (at least one).
        """
        super().__init__("; ".join(str(e) for e in errors), field=errors[0].field)
        self.errors = tuple(errors)


def raise_collected(errors: Sequence[ValidationError]) -> None:
    """Raise nothing for no error, the error itself for one, :class:`FieldsError` for more.

    Raises:
        ValidationError: One field is wrong.
        FieldsError: Several are.
    """
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise FieldsError(errors)


class NotFoundError(CertmgrError):
    """The named object does not exist."""


class ConflictError(CertmgrError):
    """The request conflicts with the current state."""


class InvalidTransitionError(ConflictError):
    """A state machine refused a transition."""

    def __init__(
        self, entity: str, from_state: str, to_state: str, message: str | None = None
    ) -> None:
        """Create the error.

        Args:
            entity: What changes state, e.g. ``deployment 7``.
            from_state: Its current state.
            to_state: The state that was asked for.
            message: The refusal in words (what it is now, what to do); default: the states.
        """
        super().__init__(message or f"{entity} cannot go from {from_state!r} to {to_state!r}")
        self.entity = entity
        self.from_state = from_state
        self.to_state = to_state


class PermissionDeniedError(CertmgrError):
    """The actor may not do this."""

    def __init__(
        self, message: str, *, actor: str | None = None, permission: str | None = None
    ) -> None:
        """Create the error.

        Args:
            message: What was refused.
            actor: Who asked.
            permission: The permission that was missing.
        """
        super().__init__(message)
        self.actor = actor
        self.permission = permission


class EnvelopeError(CertmgrError):
    """An install package was refused."""


class BadSignatureError(EnvelopeError):
    """The package signature or authentication tag is wrong."""


class StalePackageError(EnvelopeError):
    """The package's sequence number is lower than the one installed."""

    def __init__(self, seq: int, installed_seq: int) -> None:
        """Create the error.

        Args:
            seq: The package's sequence number.
            installed_seq: The sequence already installed.
        """
        super().__init__(f"package sequence {seq} is older than installed sequence {installed_seq}")
        self.seq = seq
        self.installed_seq = installed_seq


class ExpiredPackageError(EnvelopeError):
    """The package has expired."""


class PathNotAllowedError(EnvelopeError):
    """A package wants to write outside the target's declared paths."""

    def __init__(self, path: str) -> None:
        """Create the error.

        Args:
            path: The refused path.
        """
        super().__init__(f"path not allowed by the target: {path}")
        self.path = path


class TargetError(CertmgrError):
    """An install target failed."""


class TargetAbsentError(TargetError):
    """The server software is not installed here."""


class TargetMisconfiguredError(TargetError):
    """The server software is present but its configuration is broken."""


class ValidationFailedError(TargetError):
    """The server's configuration test failed with the new files."""

    def __init__(self, message: str, output: str = "") -> None:
        """Create the error.

        Args:
            message: What failed.
            output: The validator's output.
        """
        super().__init__(message)
        self.output = output


class ReloadFailedError(TargetError):
    """The server reload failed."""

    def __init__(self, message: str, output: str = "") -> None:
        """Create the error.

        Args:
            message: What failed.
            output: The reload command's output.
        """
        super().__init__(message)
        self.output = output


class InventoryMismatchError(TargetError):
    """After install, the target does not hold the expected certificate."""


class RollbackFailedError(TargetError):
    """Rollback failed: the host is left changed. Needs a human."""


class ProbeError(CertmgrError):
    """A TLS probe failed."""


class TemporaryProbeError(ProbeError):
    """The peer could not be reached; try again later."""


class ResolveError(TemporaryProbeError):
    """The host name does not resolve."""


class ConnectTimeoutError(TemporaryProbeError):
    """Connecting or handshaking took too long."""


class PeerRefusedError(TemporaryProbeError):
    """The connection was refused or reset."""


class HandshakeError(ProbeError):
    """The peer was reached but the TLS handshake failed."""


class UpstreamError(CertmgrError):
    """An upstream service (ACME CA, SMTP server, vendor) failed."""


class TemporaryUpstreamError(UpstreamError):
    """Retry later with backoff."""


class UpstreamRejectedError(UpstreamError):
    """The upstream refused the request for good."""


class ConfigurationError(CertmgrError):
    """The home folder or configuration is unusable."""
