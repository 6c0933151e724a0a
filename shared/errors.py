"""The one exception tree of certmgr.

Every public function of certmgr raises only these (third-party errors are
translated at the boundary with ``raise ... from err``)::

    CertmgrError
    ├── InputError                  user-fixable input -> HTTP 400/422, CLI exit 2
    │   ├── UnsupportedFormatError  not a file format we read (says what it looks like)
    │   ├── WrongPasswordError      passphrase missing or wrong for an encrypted file
    │   ├── KeyMismatchError        private key does not match the certificate
    │   ├── IncompleteChainError    the chain cannot be built up to a CA
    │   ├── InputTooLargeError      size or complexity cap exceeded
    │   └── ValidationError         a field value is wrong (carries the field name)
    ├── NotFoundError               -> 404, CLI exit 3
    ├── ConflictError               -> 409, CLI exit 4
    │   └── InvalidTransitionError  a state change the state machine forbids
    ├── PermissionDeniedError       -> 403, CLI exit 5
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
    └── ConfigurationError          the home folder or config.toml is unusable -> CLI exit 6

Construction has no side effects (no logging); ``str()`` never contains secrets.
"""

from __future__ import annotations


class CertmgrError(Exception):
    """Root of every certmgr error."""

    exit_code: int = 1
    http_status: int = 500
    title: str = "Internal error"


class InputError(CertmgrError):
    """Input the user can fix: a file, a form field, an API body, a manifest."""

    exit_code = 2
    http_status = 422
    title = "Invalid input"


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


class NotFoundError(CertmgrError):
    """The named object does not exist."""

    exit_code = 3
    http_status = 404
    title = "Not found"


class ConflictError(CertmgrError):
    """The request conflicts with the current state."""

    exit_code = 4
    http_status = 409
    title = "Conflict"


class InvalidTransitionError(ConflictError):
    """A state machine refused a transition."""

    def __init__(self, entity: str, from_state: str, to_state: str) -> None:
        """Create the error.

        Args:
            entity: What changes state, e.g. ``deployment 7``.
            from_state: Its current state.
            to_state: The state that was asked for.
        """
        super().__init__(f"{entity} cannot go from {from_state!r} to {to_state!r}")
        self.entity = entity
        self.from_state = from_state
        self.to_state = to_state


class PermissionDeniedError(CertmgrError):
    """The actor may not do this."""

    exit_code = 5
    http_status = 403
    title = "Forbidden"

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

    exit_code = 7
    http_status = 422
    title = "Package refused"


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

    exit_code = 8
    http_status = 502
    title = "Install target failed"


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

    exit_code = 9
    http_status = 502
    title = "Probe failed"


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

    exit_code = 10
    http_status = 502
    title = "Upstream failure"


class TemporaryUpstreamError(UpstreamError):
    """Retry later with backoff."""


class UpstreamRejectedError(UpstreamError):
    """The upstream refused the request for good."""


class ConfigurationError(CertmgrError):
    """The home folder or configuration is unusable."""

    exit_code = 6
    http_status = 500
    title = "Configuration error"
