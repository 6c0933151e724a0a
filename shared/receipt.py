"""Receipt codes and check codes: short texts a person carries from a server back to the controller.

**Receipt code** (``CMR1-...``): printed by the one-click installer after it installed a package,
pasted into the deployment (console or ``certmgr deployment receipt``). 40 bytes in base32
(RFC 4648 alphabet, no padding), eight characters per group::

    format (1) | deployment id (u32) | sequence (u32) | leaf SHA-256, first 16 bytes
    | check result (1) | time (u32, Unix seconds) | HMAC-SHA256 tag, first 10 bytes

The tag is keyed with the package's ``receipt_key`` (32 bytes the controller put in the sealed
manifest and can produce again), over a domain string and the 30 bytes before it. Only the installer
that opened the package knows that key, so a valid code says: this package was opened, a leaf with
this fingerprint prefix was installed, and the local check ended like this. 128 bits of the
fingerprint are enough: the controller compares them with the deployment's certificate, which it
holds in full, and finding another certificate with the same prefix is a 2**128 search. An 80-bit
tag makes a guessed code hopeless even without rate limits.

**What the controller must still check** (the installer keeps no state; see ``oneclick``): that
the deployment id is the deployment it is pasted into, that the sequence is the deployment's
current one (an older installer run again, or an old receipt replayed, carries an older sequence),
and that the same code was not accepted before (store the tag, or the sequence, once accepted).

**Check code** (``CMC1-...``): the result of a manual ``certmgr-agent check`` on a host the
controller cannot reach (issue 5), 40 bytes laid out as::

    format (1) | deployment id (u32) | check result (1) | served leaf SHA-256, first 16 bytes
    (zeros: none) | days left (i16; -32768: none) | port (u16) | time (u32) | tag (10)

Its key is a per-deployment **check key**: 32 secret bytes the controller keeps for the
deployment (random and sealed, or derived from the master key and the deployment id) and shows
in the manual-check instructions as ``CMK1-...`` text (:func:`check_key_text`); the person running
the check passes it on the command line. The tag then proves the pasted code was not mistyped or edited and was made for
this deployment; it cannot prove anything against the person who ran the check (they hold the
key), which is the trust a manual confirmation has anyway.

Parsing tolerates spaces, line breaks, lower case, missing or extra dashes, and the look-alikes
``0``/``1``/``8`` for ``O``/``I``/``B``. Anything else wrong - a typo, an edit, a code of another
deployment - is a :class:`~certmgr.shared.errors.BadSignatureError` with a plain message.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import secrets
import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from certmgr.shared.deploycheck import CheckOutcome
from certmgr.shared.errors import BadSignatureError, ValidationError
from certmgr.shared.pki.fingerprint import normalize_fingerprint

__all__ = [
    "CHECK_CODE_PREFIX",
    "CHECK_KEY_PREFIX",
    "RECEIPT_PREFIX",
    "CheckCode",
    "CheckResult",
    "Receipt",
    "check_code_deployment_id",
    "check_key_text",
    "make_check_code",
    "make_receipt",
    "new_check_key",
    "parse_check_code",
    "parse_check_key",
    "parse_receipt",
    "receipt_deployment_id",
    "result_of",
]

RECEIPT_PREFIX: Final = "CMR1"
CHECK_CODE_PREFIX: Final = "CMC1"
CHECK_KEY_PREFIX: Final = "CMK1"
_FORMAT: Final = 1
_TAG_SIZE: Final = 10
_FP_SIZE: Final = 16
_MIN_KEY: Final = 16
_GROUP: Final = 8
_RECEIPT: Final = struct.Struct(f"!BII{_FP_SIZE}sBI")
_CHECK: Final = struct.Struct(f"!BIB{_FP_SIZE}shHI")
_NO_DAYS: Final = -32768
_RECEIPT_DOMAIN: Final = b"certmgr receipt code v1\x00"
_CHECK_DOMAIN: Final = b"certmgr check code v1\x00"
_LOOKALIKES: Final = str.maketrans({"0": "O", "1": "I", "8": "B"})
_SEPARATORS: Final = re.compile(r"[\s\-_.]+")


class CheckResult(StrEnum):
    """How a local TLS check ended, as carried in a code (one byte on the wire)."""

    OK = "ok"
    SKIPPED = "skipped"  # no check was run (the package names no check host)
    UNREACHABLE = "unreachable"
    TLS_FAILED = "tls-failed"
    WRONG_CERTIFICATE = "wrong-certificate"
    EXPIRED = "expired"
    CHAIN_INCOMPLETE = "chain-incomplete"
    CHAIN_ORDER = "chain-order"
    NAME_MISMATCH = "name-mismatch"
    FAILED = "failed"  # any other problem

    @property
    def passed(self) -> bool:
        """True for :attr:`OK` only."""
        return self is CheckResult.OK


_WIRE: Final = tuple(CheckResult)  # wire value = index; append new members at the end only


def result_of(outcome: CheckOutcome | None) -> CheckResult:
    """The one result that best names what an outcome found first (None: no check ran)."""
    if outcome is None:
        return CheckResult.SKIPPED
    if outcome.ok:
        return CheckResult.OK
    if not outcome.reachable:
        return CheckResult.UNREACHABLE
    if outcome.served_sha256 is None:
        return CheckResult.TLS_FAILED
    if not outcome.matches_current:
        return CheckResult.WRONG_CERTIFICATE
    if outcome.days_left is not None and outcome.days_left < 0:
        return CheckResult.EXPIRED
    if not outcome.chain_complete:
        return CheckResult.CHAIN_INCOMPLETE
    if not outcome.chain_in_order:
        return CheckResult.CHAIN_ORDER
    if not outcome.hostname_matches:
        return CheckResult.NAME_MISMATCH
    return CheckResult.FAILED


@dataclass(frozen=True)
class Receipt:
    """A verified receipt code."""

    deployment_id: int
    sequence: int
    sha256_prefix: str  # first 32 hex digits of the installed leaf's SHA-256
    result: CheckResult
    at: dt.datetime

    def matches(self, sha256: str) -> bool:
        """True when ``sha256`` (hex, colons allowed) starts with the carried prefix."""
        return normalize_fingerprint(sha256).startswith(self.sha256_prefix)


@dataclass(frozen=True)
class CheckCode:
    """A verified check code."""

    deployment_id: int
    result: CheckResult
    served_sha256_prefix: str | None  # None: no certificate was served
    days_left: int | None
    port: int
    at: dt.datetime

    def matches(self, sha256: str) -> bool:
        """True when a certificate was served and ``sha256`` starts with its prefix."""
        prefix = self.served_sha256_prefix
        return prefix is not None and normalize_fingerprint(sha256).startswith(prefix)


def make_receipt(
    *,
    deployment_id: int,
    sequence: int,
    sha256: str,
    result: CheckResult,
    at: dt.datetime,
    receipt_key: bytes,
) -> str:
    """The receipt code for an installed package.

    Args:
        deployment_id: The manifest's deployment id.
        sequence: The manifest's sequence number.
        sha256: SHA-256 of the installed leaf (hex; colons allowed).
        result: How the local check ended.
        at: When the install finished (aware).
        receipt_key: The manifest's ``receipt_key``.

    Returns:
        ``CMR1-`` and eight groups of eight characters.

    Raises:
        ValidationError: A number is out of range, the fingerprint is not a SHA-256, ``at`` is
            naive or out of range, or the key is shorter than 16 bytes.
    """
    body = _RECEIPT.pack(
        _FORMAT,
        _u32("deployment_id", deployment_id),
        _u32("sequence", sequence),
        _fingerprint_prefix(sha256),
        _WIRE.index(result),
        _seconds(at),
    )
    return _encode(RECEIPT_PREFIX, body + _tag(_RECEIPT_DOMAIN, _key(receipt_key), body))


def parse_receipt(text: str, receipt_key: bytes) -> Receipt:
    """Verify and decode a receipt code.

    Args:
        text: The pasted code (spaces, case and dashes do not matter).
        receipt_key: The ``receipt_key`` of the package the deployment was sent.

    Returns:
        The receipt.

    Raises:
        ValidationError: The text is not a receipt code at all, or the key is too short.
        BadSignatureError: A typo, an edit, or a code made with another key (another
            deployment or another package).
    """
    raw = _decode(text, RECEIPT_PREFIX, "receipt", _RECEIPT.size)
    body, tag = raw[: _RECEIPT.size], raw[_RECEIPT.size :]
    if not hmac.compare_digest(tag, _tag(_RECEIPT_DOMAIN, _key(receipt_key), body)):
        raise BadSignatureError(
            "the receipt code does not check out: it has a typo, or it belongs to another "
            "deployment or an older package"
        )
    fmt, dep, seq, prefix, result, seconds = _RECEIPT.unpack(body)
    return Receipt(
        deployment_id=dep,
        sequence=seq,
        sha256_prefix=prefix.hex(),
        result=_result(fmt, result, "receipt"),
        at=dt.datetime.fromtimestamp(seconds, dt.UTC),
    )


def receipt_deployment_id(text: str) -> int:
    """The deployment id a receipt code names, NOT verified: use it only to find the key.

    Raises:
        ValidationError: Not a receipt code.
        BadSignatureError: Wrong length or characters.
    """
    raw = _decode(text, RECEIPT_PREFIX, "receipt", _RECEIPT.size)
    return int(_RECEIPT.unpack(raw[: _RECEIPT.size])[1])


def make_check_code(
    outcome: CheckOutcome,
    key: bytes,
    *,
    deployment_id: int,
    port: int,
    now: dt.datetime,
) -> str:
    """The check code for a manual deploy check.

    Args:
        outcome: The verdict from :func:`certmgr.shared.deploycheck.evaluate`.
        key: The deployment's check key (:func:`parse_check_key`).
        deployment_id: The deployment the check was made for.
        port: The port that was probed.
        now: When the check ran (aware).

    Returns:
        ``CMC1-`` and eight groups of eight characters.

    Raises:
        ValidationError: A number is out of range, ``now`` is naive, or the key is too short.
    """
    served = _fingerprint_prefix(outcome.served_sha256) if outcome.served_sha256 else bytes(16)
    days = _NO_DAYS if outcome.days_left is None else max(-32767, min(32767, outcome.days_left))
    if not 0 < port < 65536:
        raise ValidationError(f"port {port} is out of range", field="port")
    body = _CHECK.pack(
        _FORMAT,
        _u32("deployment_id", deployment_id),
        _WIRE.index(result_of(outcome)),
        served,
        days,
        port,
        _seconds(now),
    )
    return _encode(CHECK_CODE_PREFIX, body + _tag(_CHECK_DOMAIN, _key(key), body))


def parse_check_code(text: str, key: bytes) -> CheckCode:
    """Verify and decode a check code.

    Args:
        text: The pasted code (spaces, case and dashes do not matter).
        key: The deployment's check key.

    Returns:
        The check code.

    Raises:
        ValidationError: The text is not a check code at all, or the key is too short.
        BadSignatureError: A typo, an edit, or a code made with another deployment's key.
    """
    raw = _decode(text, CHECK_CODE_PREFIX, "check", _CHECK.size)
    body, tag = raw[: _CHECK.size], raw[_CHECK.size :]
    if not hmac.compare_digest(tag, _tag(_CHECK_DOMAIN, _key(key), body)):
        raise BadSignatureError(
            "the check code does not check out: it has a typo, or it was made with another "
            "deployment's check key"
        )
    fmt, dep, result, served, days, port, seconds = _CHECK.unpack(body)
    return CheckCode(
        deployment_id=dep,
        result=_result(fmt, result, "check"),
        served_sha256_prefix=None if served == bytes(_FP_SIZE) else served.hex(),
        days_left=None if days == _NO_DAYS else days,
        port=port,
        at=dt.datetime.fromtimestamp(seconds, dt.UTC),
    )


def check_code_deployment_id(text: str) -> int:
    """The deployment id a check code names, NOT verified: use it only to find the key.

    Raises:
        ValidationError: Not a check code.
        BadSignatureError: Wrong length or characters.
    """
    raw = _decode(text, CHECK_CODE_PREFIX, "check", _CHECK.size)
    return int(_CHECK.unpack(raw[: _CHECK.size])[1])


def new_check_key() -> bytes:
    """32 random bytes: a fresh per-deployment check key."""
    return secrets.token_bytes(32)


def check_key_text(key: bytes) -> str:
    """A check key as ``CMK1-...`` text, with a 2-byte checksum that catches typos.

    Raises:
        ValidationError: The key is shorter than 16 bytes.
    """
    raw = _key(key)
    return _encode(CHECK_KEY_PREFIX, raw + hashlib.sha256(raw).digest()[:2])


def parse_check_key(text: str) -> bytes:
    """Read a check key written by :func:`check_key_text`.

    Raises:
        ValidationError: Not a check key, or a typo (the checksum does not match).
    """
    try:
        raw = _decode(text, CHECK_KEY_PREFIX, "check key", None)
    except BadSignatureError as err:
        raise ValidationError(str(err), field="check_key") from err
    key, check = raw[:-2], raw[-2:]
    if len(key) < _MIN_KEY or hashlib.sha256(key).digest()[:2] != check:
        raise ValidationError("the check key has a typo (its checksum does not match)", field="key")
    return key


# --- helpers -------------------------------------------------------------------------------------


def _u32(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise ValidationError(f"{name} must be an integer from 0 to 2**32-1", field=name)
    return value


def _fingerprint_prefix(sha256: str) -> bytes:
    hexed = normalize_fingerprint(sha256)
    if len(hexed) != 64:
        raise ValidationError("the fingerprint is not a SHA-256", field="sha256")
    return bytes.fromhex(hexed)[:_FP_SIZE]


def _seconds(at: dt.datetime) -> int:
    if at.utcoffset() is None:
        raise ValidationError("the time must be timezone-aware", field="at")
    return _u32("at", int(at.timestamp()))


def _key(key: bytes) -> bytes:
    if not isinstance(key, bytes) or len(key) < _MIN_KEY:
        raise ValidationError(f"the key must be at least {_MIN_KEY} bytes", field="key")
    return key


def _tag(domain: bytes, key: bytes, body: bytes) -> bytes:
    return hmac.new(key, domain + body, hashlib.sha256).digest()[:_TAG_SIZE]


def _encode(prefix: str, raw: bytes) -> str:
    text = base64.b32encode(raw).decode("ascii").rstrip("=")
    groups = [text[i : i + _GROUP] for i in range(0, len(text), _GROUP)]
    return "-".join([prefix, *groups])


def _decode(text: str, prefix: str, what: str, body_size: int | None) -> bytes:
    if not isinstance(text, str):
        raise ValidationError(f"a {what} code must be text", field="code")
    flat = _SEPARATORS.sub("", text).upper()
    if not flat.startswith(prefix):
        others = {RECEIPT_PREFIX: "a receipt code", CHECK_CODE_PREFIX: "a check code"}
        for other, name in others.items():
            if other != prefix and flat.startswith(other):
                raise ValidationError(f"this is {name}, not a {what} code", field="code")
        raise ValidationError(
            f"this is not a certmgr {what} code (those start with {prefix}-)", field="code"
        )
    body = flat[len(prefix) :].translate(_LOOKALIKES)
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except (binascii.Error, ValueError) as err:
        raise BadSignatureError(
            f"the {what} code has a typo (a character that cannot appear in it, or one too many "
            "or too few)"
        ) from err
    if body_size is not None and len(raw) != body_size + _TAG_SIZE:
        raise BadSignatureError(
            f"the {what} code is incomplete or too long (check that it was copied whole)"
        )
    return raw


def _result(fmt: int, wire: int, what: str) -> CheckResult:
    # Only reached after the tag matched: a mismatch here means a newer format, not a typo.
    if fmt != _FORMAT or wire >= len(_WIRE):
        raise BadSignatureError(f"this {what} code was made by a newer certmgr version")
    return _WIRE[wire]
