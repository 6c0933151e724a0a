r"""The agent API (DESIGN section 6): paths, typed messages, enrolment tokens and request signing.

Transport: HTTPS to the controller, JSON bodies (``application/json``, UTF-8). The agent trusts
exactly one CA for TLS, the one whose SHA-256 the enrolment token carries (partial chains are
accepted, so the pin may be an intermediate), and checks the host name of the URL it connects
to against the controller's certificate. That CA also issues every definition's certificate, so
TLS alone does not prove the controller: its identity is its Ed25519 signing key, whose SHA-256
the token also carries (``ck``), and every answer the agent acts on is signed by that key over
the answer bound to the request's own nonce (see :mod:`certmgr.shared._protoanswer`). Binary
values travel as standard base64 with padding; times as ISO 8601 strings with a UTC offset;
fingerprints as 64 lower-case hex digits; ids of deployments and sequences as JSON integers;
the agent id as an opaque string (:data:`AGENT_ID_PATTERN`, e.g. the decimal database id).

==========================  ======  ==========  ================================================
path                        method  signed      body -> answer
==========================  ======  ==========  ================================================
``/pki/ca.pem``             GET     no          the controller's CA certificate(s), PEM
``/api/agent/v1/enroll``    POST    no (token)  :class:`EnrollRequest` -> :class:`EnrollResponse`
``/api/agent/v1/work``      GET     yes         ``?wait=N`` long-poll -> :class:`WorkResponse`
``/api/agent/v1/report``    POST    yes         :class:`Report` -> any 2xx (body ignored)
``/api/agent/v1/inventory`` POST    yes         :class:`InventoryUpload` -> any 2xx
``/api/agent/v1/csr``       POST    yes         :class:`CsrUpload` -> any 2xx
``/api/agent/v1/discovery`` POST    yes         :class:`DiscoveryUpload` -> any 2xx
==========================  ======  ==========  ================================================

Every 2xx answer to a signed call carries ``X-Certmgr-Controller-Signature`` (and, after a key
rotation, ``X-Certmgr-Controller-Rotation``); the agent drops answers that do not verify.

Enrolment: the agent fetches ``/pki/ca.pem`` without trusting anything, keeps the certificate
whose SHA-256 the token names (or stops), and posts :class:`EnrollRequest` over a connection
pinned to it. The controller checks the token secret (unknown, used or expired: 403), stores
both public keys and answers with the agent id, the Ed25519 key that signs its packages and
answers, and the long-poll wait. The agent refuses a key whose SHA-256 is not the token's
``ck``.

Work: the controller answers ``GET /work?wait=N`` (N in 0..:data:`MAX_POLL_WAIT`) as soon as
there is work, else after about N seconds with an empty :class:`WorkResponse`; at most 16
packages and 16 key requests per answer, and at most :data:`MAX_WORK_RESPONSE_SIZE` bytes. It
keeps sending a package until a :class:`Report` for that deployment and sequence arrives, and a
key request until a :class:`CsrUpload` arrives (the agent answers repeats idempotently).
``revoked: true`` makes the agent stop for good (exit code 5), only in a signed answer. An
agent enrolled with a token that needs approval gets empty answers on ``/work`` until an admin
approves it; ``/report``, ``/inventory`` and ``/csr`` refuse it (403) until then. A CSR is taken
only for a key request the controller sent to this very agent, and only once.

Status codes the agent acts on: 2xx success; 401/403 refused (a revoked or unknown agent, a bad
signature, a replayed nonce, a clock skew): the agent waits its longest backoff and retries;
408, 425, 429 and 5xx: retried with exponential backoff; other 4xx: that message is rejected for
good and dropped. Error bodies are free-form (the agent shows the first 200 characters).

Signing (every call after enrolment; see :func:`sign_request`): Ed25519 over
``f"{METHOD}\n{path_with_query}\n{timestamp}\n{nonce}\n{sha256hex(body)}"`` sent in
``X-Certmgr-Agent``, ``X-Certmgr-Timestamp``, ``X-Certmgr-Nonce`` and ``X-Certmgr-Signature``.
The controller reads the claimed id with :func:`agent_id_of`, verifies with that agent's key
through :func:`verify_request` (aiohttp: ``request.raw_path`` and the raw body), and refuses a
``(agent_id, nonce)`` pair it has seen within ``2 * max_skew`` seconds.

Packages: :class:`WorkPackage` ``blob`` is a :func:`certmgr.shared.envelope.seal_for_agent`
package whose manifest repeats ``deployment_id`` and ``sequence``. Its ``target_params`` may
carry :data:`TARGET_LABEL_PARAM` naming the agent's local target label (as reported in
:class:`TargetReport` ``name``); without it the agent uses its only local target of the
manifest's ``target_type``. The agent's configuration wins: a package may fill in parameters,
but is refused (``param-not-allowed``) when it sets a program, command, configuration or pid
file, owner, group, file mode, timeout or the allow-list differently from the local value, and
(``path-not-allowed``) when it would write outside the target's local ``allowed_paths``. A
package without ``private_key_pkcs8`` is installed with the agent-generated key whose public key
matches the certificate (``key-missing`` when there is none). A sequence lower than the one
installed is refused (``stale-package``); the same sequence again is confirmed with ``ok`` and
no change when the target still holds its certificate. Every refusal changes nothing on the host.

Zeroconf: controllers advertise :data:`ZEROCONF_SERVICE_TYPE` with TXT properties
:data:`ZEROCONF_TXT_PATH` (``/api/agent/v1``) and :data:`ZEROCONF_TXT_CA_SHA256` (the same
fingerprint the tokens carry); the agent connects to ``https://<address>:<port>`` and checks
that address against the controller's certificate, so the console certificate must name the
advertised addresses (``certmgr init --listen ADDRESS:PORT`` puts the listen address in it).
Nothing the advert says is trusted beyond choosing where to connect.

Every ``from_json`` is strict: unknown, missing or wrongly typed fields, over-long strings and
lists raise :class:`~certmgr.shared.errors.ValidationError` (an ``InputError``) whose ``field``
is the dotted path of the value; values are never echoed. Only these may be absent: the
subject fields, ``common_name`` and ``sans`` of :class:`KeygenRequest`, and the nullable
``error_kind`` and ``installed_sha256``. ``to_json`` always writes every field.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Final, Protocol, Self, TypeVar

from certmgr.shared import errors as _e
from certmgr.shared._protoanswer import (
    HEADER_ANSWER_SIGNATURE,
    HEADER_KEY_ROTATION,
    MAX_ROTATIONS,
    KeyRotation,
    answer_signing_string,
    answer_verifies,
    controller_key_sha256,
    follow_rotations,
    format_rotations,
    parse_rotations,
    rotations_of,
    sign_answer,
    sign_rotation,
)
from certmgr.shared._protodiscovery import (
    MAX_DISCOVERY_SIZE,
    DiscoveredListener,
    DiscoveryUpload,
)
from certmgr.shared._protojson import HEX64, Fields, dumps, loads
from certmgr.shared._protomsg import (
    DEFAULT_POLL_WAIT,
    LABEL,
    MAX_POLL_WAIT,
    SECRET,
    EnrollRequest,
    EnrollResponse,
    ErrorKind,
    InstalledItem,
    InventoryUpload,
    TargetReport,
)
from certmgr.shared._protosign import (
    AGENT_ID_PATTERN,
    DEFAULT_MAX_SKEW,
    HEADER_AGENT,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    agent_id_of,
    new_nonce,
    sign_request,
    signing_string,
    verify_request,
)
from certmgr.shared._protowork import CsrUpload, KeygenRequest, Report, WorkPackage, WorkResponse
from certmgr.shared.envelope import (
    AlreadyInstalledPackageError,
    MalformedPackageError,
    UnsupportedPackageVersionError,
)
from certmgr.shared.errors import ValidationError
from certmgr.shared.secret import Secret

__all__ = [
    "AGENT_API_PREFIX",
    "AGENT_ID_PATTERN",
    "DEFAULT_MAX_SKEW",
    "DEFAULT_POLL_WAIT",
    "HEADER_AGENT",
    "HEADER_ANSWER_SIGNATURE",
    "HEADER_KEY_ROTATION",
    "HEADER_NONCE",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "LABEL",
    "MAX_DISCOVERY_SIZE",
    "MAX_MESSAGE_SIZE",
    "MAX_POLL_WAIT",
    "MAX_ROTATIONS",
    "MAX_WORK_RESPONSE_SIZE",
    "PATH_CA_CERT",
    "PATH_CSR",
    "PATH_DISCOVERY",
    "PATH_ENROLL",
    "PATH_INVENTORY",
    "PATH_REPORT",
    "PATH_WORK",
    "TARGET_LABEL_PARAM",
    "TOKEN_PREFIX",
    "ZEROCONF_SERVICE_TYPE",
    "ZEROCONF_TXT_CA_SHA256",
    "ZEROCONF_TXT_PATH",
    "CsrUpload",
    "DiscoveredListener",
    "DiscoveryUpload",
    "EnrollRequest",
    "EnrollResponse",
    "EnrollmentToken",
    "ErrorKind",
    "InstalledItem",
    "InventoryUpload",
    "KeyMissingError",
    "KeyRotation",
    "KeygenRequest",
    "ParamNotAllowedError",
    "Report",
    "TargetNotConfiguredError",
    "TargetReport",
    "WorkPackage",
    "WorkResponse",
    "agent_id_of",
    "answer_signing_string",
    "answer_verifies",
    "check_controller_url",
    "controller_key_sha256",
    "decode",
    "encode",
    "error_kind_for",
    "follow_rotations",
    "format_rotations",
    "format_token",
    "new_nonce",
    "parse_rotations",
    "parse_token",
    "rotations_of",
    "sign_answer",
    "sign_request",
    "sign_rotation",
    "signing_string",
    "verify_request",
    "work_path",
]

AGENT_API_PREFIX: Final = "/api/agent/v1"
PATH_ENROLL: Final = AGENT_API_PREFIX + "/enroll"
PATH_WORK: Final = AGENT_API_PREFIX + "/work"
PATH_REPORT: Final = AGENT_API_PREFIX + "/report"
PATH_INVENTORY: Final = AGENT_API_PREFIX + "/inventory"
PATH_CSR: Final = AGENT_API_PREFIX + "/csr"
PATH_DISCOVERY: Final = AGENT_API_PREFIX + "/discovery"
PATH_CA_CERT: Final = "/pki/ca.pem"
"""Fetched without trust at enrolment; the agent keeps the certificate whose SHA-256 the token names."""

MAX_MESSAGE_SIZE: Final = 1024 * 1024
"""Largest body of any message except :class:`WorkResponse`."""
MAX_WORK_RESPONSE_SIZE: Final = 64 * 1024 * 1024
"""Largest :class:`WorkResponse` body; the controller sends fewer packages per answer to stay below."""

ZEROCONF_SERVICE_TYPE: Final = "_certmgr._tcp.local."
ZEROCONF_TXT_PATH: Final = "path"
ZEROCONF_TXT_CA_SHA256: Final = "ca_sha256"

TOKEN_PREFIX: Final = "cmenroll1."  # noqa: S105 - a format marker, not a secret
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]{1,4000}")
_OPTIONAL_HEX64: Final = re.compile(f"|{HEX64.pattern}")
TARGET_LABEL_PARAM: Final = "agent_target"
"""Manifest ``target_params`` key naming the agent's local target label (removed before use)."""


class TargetNotConfiguredError(_e.EnvelopeError):
    """The package names a target label or type the agent's configuration does not have."""


class ParamNotAllowedError(_e.EnvelopeError):
    """The package sets a parameter only the agent's local configuration may set."""

    def __init__(self, param: str) -> None:
        """Create the error.

        Args:
            param: The parameter name.
        """
        super().__init__(f"parameter {param!r} may only be set in the agent's configuration")
        self.param = param


class KeyMissingError(_e.EnvelopeError):
    """The package has no private key and the agent holds none for its certificate."""


_KINDS: Final[tuple[tuple[type[BaseException], ErrorKind], ...]] = (
    (MalformedPackageError, ErrorKind.MALFORMED_PACKAGE),
    (UnsupportedPackageVersionError, ErrorKind.UNSUPPORTED_VERSION),
    (_e.BadSignatureError, ErrorKind.BAD_SIGNATURE),
    (AlreadyInstalledPackageError, ErrorKind.ALREADY_INSTALLED),
    (_e.StalePackageError, ErrorKind.STALE_PACKAGE),
    (_e.ExpiredPackageError, ErrorKind.EXPIRED_PACKAGE),
    (_e.PathNotAllowedError, ErrorKind.PATH_NOT_ALLOWED),
    (TargetNotConfiguredError, ErrorKind.TARGET_NOT_CONFIGURED),
    (ParamNotAllowedError, ErrorKind.PARAM_NOT_ALLOWED),
    (KeyMissingError, ErrorKind.KEY_MISSING),
    (_e.KeyMismatchError, ErrorKind.KEY_MISMATCH),
    (_e.InputError, ErrorKind.INVALID_INPUT),
    (_e.EnvelopeError, ErrorKind.MALFORMED_PACKAGE),
    (_e.TargetAbsentError, ErrorKind.TARGET_ABSENT),
    (_e.TargetMisconfiguredError, ErrorKind.TARGET_MISCONFIGURED),
    (_e.ValidationFailedError, ErrorKind.VALIDATION_FAILED),
    (_e.ReloadFailedError, ErrorKind.RELOAD_FAILED),
    (_e.InventoryMismatchError, ErrorKind.INVENTORY_MISMATCH),
    (_e.RollbackFailedError, ErrorKind.ROLLBACK_FAILED),
    (_e.TargetError, ErrorKind.TARGET_ERROR),
)


def error_kind_for(err: BaseException) -> ErrorKind:
    """The :class:`ErrorKind` of an exception (the most specific match; else internal-error)."""
    for cls, kind in _KINDS:
        if isinstance(err, cls):
            return kind
    return ErrorKind.INTERNAL_ERROR


def work_path(wait: int) -> str:
    """``/api/agent/v1/work?wait=N``: the exact request target to sign and send.

    Raises:
        ValidationError: ``wait`` is outside 0..:data:`MAX_POLL_WAIT`.
    """
    if isinstance(wait, bool) or not 0 <= wait <= MAX_POLL_WAIT:
        raise ValidationError(f"wait must be 0 to {MAX_POLL_WAIT} seconds", field="wait")
    return f"{PATH_WORK}?wait={wait}"


class _Message(Protocol):
    def to_json(self) -> dict[str, Any]: ...

    @classmethod
    def from_json(cls, doc: object, where: str = "") -> Self: ...


M = TypeVar("M", bound=_Message)


def encode(message: _Message) -> bytes:
    """The JSON body of ``message``."""
    return dumps(message.to_json())


def decode(cls: type[M], data: bytes, *, max_size: int = MAX_MESSAGE_SIZE) -> M:
    """Parse a JSON body into ``cls`` strictly.

    Raises:
        InputTooLargeError: More than ``max_size`` bytes.
        ValidationError: Not JSON, or a field is unknown, missing or wrong (``field`` names it).
    """
    return cls.from_json(loads(data, max_size=max_size))


# --- enrolment token ---------------------------------------------------------------------------
@dataclass(frozen=True)
class EnrollmentToken:
    """What ``certmgr agent-token`` prints: where the controller is, what to pin, a secret.

    ``controller_key_sha256`` is the SHA-256 of the controller's signing key
    (:func:`controller_key_sha256`); the agent refuses to enrol with a token without it.
    """

    controller_url: str  # "" when the agent must discover the controller by zeroconf
    ca_sha256: str
    secret: Secret[str]
    expires_at: dt.datetime
    controller_key_sha256: str = ""

    def expired(self, now: dt.datetime) -> bool:
        """True at or after ``expires_at``."""
        return now >= self.expires_at


def check_controller_url(url: str, where: str = "controller_url") -> str:
    """An ``https://host[:port]`` origin without a trailing slash.

    Raises:
        ValidationError: Not an https origin (userinfo, path, query or fragment present).
    """
    parts = urllib.parse.urlsplit(url.strip())
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if (
        parts.scheme != "https"
        or not parts.hostname
        or "@" in parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or not port_ok
        or len(url) > 2048
    ):
        raise ValidationError("controller URL must look like https://host[:port]", field=where)
    return f"https://{parts.netloc}"


def format_token(token: EnrollmentToken) -> str:
    """``cmenroll1.`` + base64url (no padding) of ``{"u", "fp", "s", "exp", "ck"}`` JSON.

    ``ck`` (the controller key's SHA-256) is left out when empty.

    Raises:
        ValidationError: A field has the wrong form.
    """
    doc = {
        "u": token.controller_url,
        "fp": token.ca_sha256,
        "s": token.secret.reveal(),
        "exp": int(token.expires_at.timestamp()),
    }
    if token.controller_key_sha256:
        doc["ck"] = token.controller_key_sha256
    text = TOKEN_PREFIX + base64.urlsafe_b64encode(dumps(doc)).decode("ascii").rstrip("=")
    parse_token(text)  # the same checks as the receiving side
    return text


def parse_token(text: str) -> EnrollmentToken:
    """Parse an enrolment token (see :func:`format_token`); expiry is not checked here.

    Raises:
        ValidationError: Not a token, or a field is missing, unknown or malformed.
    """
    text = text.strip()
    if not text.startswith(TOKEN_PREFIX) or len(text) > 4096:
        raise ValidationError(f"an enrolment token starts with {TOKEN_PREFIX}", field="token")
    body = text[len(TOKEN_PREFIX) :]
    if not _B64URL.fullmatch(body):
        raise ValidationError("the enrolment token is damaged", field="token")
    try:
        doc = loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), max_size=4096)
    except (binascii.Error, ValueError, _e.InputError) as err:
        raise ValidationError("the enrolment token is damaged", field="token") from err
    f = Fields(doc, "token")
    url = f.text("u", max_len=2048)
    token = EnrollmentToken(
        controller_url=check_controller_url(url, "token.u") if url else "",
        ca_sha256=f.text("fp", max_len=64, pattern=HEX64),
        secret=Secret(f.text("s", max_len=128, pattern=SECRET)),
        expires_at=dt.datetime.fromtimestamp(f.integer("exp", lo=1, hi=2**40), dt.UTC),
        controller_key_sha256=f.text("ck", max_len=64, pattern=_OPTIONAL_HEX64, default=""),
    )
    f.done()
    return token
