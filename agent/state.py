"""The agent's state directory: pinned controller, own keys, installed sequences, generated keys.

Layout (directory 0700, every file 0600, each written atomically: temporary file, fsync,
rename, directory fsync)::

    controller-ca.pem      the pinned controller CA (the only TLS trust anchor)
    agent-x25519.key       base64 X25519 private key (packages are sealed to it)
    agent-ed25519.key      base64 Ed25519 seed (signs every request)
    enrollment.json        agent id, controller URL and the pinned controller key (written last:
                           "enrolled"; the key is replaced when the controller rotates it)
    sequences.json         last installed sequence per deployment id
    targets.json           last non-secret parameters used per target label (for inventory)
    status.json            last contact and last error (for ``certmgr-agent status``)
    run.lock               held by the one running ``certmgr-agent run``
    keys/<request>.key     keys generated here (PKCS#8 PEM); they never leave the host
    keys/<request>.json    their CSR and public-key SHA-256

All methods are blocking: the runner calls them through ``asyncio.to_thread``. Nothing here
logs, and no repr shows key material.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fcntl
import json
import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import nacl.exceptions
import nacl.public
import nacl.signing
from cryptography.hazmat.primitives import serialization

from certmgr.shared.errors import (
    CertmgrError,
    ConfigurationError,
    ConflictError,
    InputError,
    TargetError,
)
from certmgr.shared.pki import PrivateKey, load
from certmgr.shared.protocol import LABEL
from certmgr.shared.targets import RealHost

_CA: Final = "controller-ca.pem"
_X25519: Final = "agent-x25519.key"
_ED25519: Final = "agent-ed25519.key"
_ENROLLMENT: Final = "enrollment.json"
_SEQUENCES: Final = "sequences.json"
_TARGETS: Final = "targets.json"
_STATUS: Final = "status.json"
_KEYS: Final = "keys"
_LOCK: Final = "run.lock"
_MAX_FILE: Final = 1024 * 1024


@dataclass(frozen=True)
class Enrollment:
    """What enrolment established. Private keys are hidden from ``repr``."""

    agent_id: str
    controller_url: str
    ca_pem: bytes
    ca_sha256: str
    controller_verify_key: nacl.signing.VerifyKey
    x25519: nacl.public.PrivateKey = field(repr=False)
    ed25519: nacl.signing.SigningKey = field(repr=False)
    poll_wait: int
    enrolled_at: dt.datetime


@dataclass(frozen=True)
class GeneratedKey:
    """A key made on this host for a key request (the key itself stays on disk)."""

    request_id: str
    public_key_sha256: str
    csr_pem: str
    created_at: dt.datetime


@dataclass(frozen=True)
class AgentStatus:
    """What ``status`` shows about the run loop."""

    last_contact: dt.datetime | None = None
    last_error: str = ""
    last_error_at: dt.datetime | None = None


class AgentState:
    """Reads and writes the state directory (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        """Bind to ``directory`` (created 0700 on first write)."""
        self.directory = Path(directory)
        self._host = RealHost()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AgentState({str(self.directory)!r})"

    # --- enrolment -------------------------------------------------------------------------------
    def is_enrolled(self) -> bool:
        """True when ``enrollment.json`` exists."""
        return (self.directory / _ENROLLMENT).exists()

    def save_enrollment(self, e: Enrollment) -> None:
        """Write the pinned CA, both private keys, then the enrolment record (last).

        Raises:
            ConfigurationError: The directory or a file cannot be written.
        """
        self._write(_CA, e.ca_pem)
        self._write(_X25519, base64.b64encode(bytes(e.x25519)) + b"\n")
        self._write(_ED25519, base64.b64encode(bytes(e.ed25519)) + b"\n")
        record = {
            "agent_id": e.agent_id,
            "controller_url": e.controller_url,
            "ca_sha256": e.ca_sha256,
            "controller_verify_key": base64.b64encode(bytes(e.controller_verify_key)).decode(),
            "poll_wait": e.poll_wait,
            "enrolled_at": e.enrolled_at.isoformat(),
        }
        self._write_json(_ENROLLMENT, record)

    def load_enrollment(self) -> Enrollment:
        """Read what :meth:`save_enrollment` wrote.

        Raises:
            ConfigurationError: Not enrolled, a file is unreadable, damaged, or readable by
                other users.
        """
        if not self.is_enrolled():
            raise ConfigurationError(
                f"this agent is not enrolled (no {self.directory / _ENROLLMENT}); "
                "run 'certmgr-agent enroll --token ...' first"
            )
        record = self._read_json(_ENROLLMENT)
        try:
            return Enrollment(
                agent_id=str(record["agent_id"]),
                controller_url=str(record["controller_url"]),
                ca_pem=self._read(_CA),
                ca_sha256=str(record["ca_sha256"]),
                controller_verify_key=nacl.signing.VerifyKey(
                    base64.b64decode(record["controller_verify_key"], validate=True)
                ),
                x25519=nacl.public.PrivateKey(self._read_b64(_X25519)),
                ed25519=nacl.signing.SigningKey(self._read_b64(_ED25519)),
                poll_wait=int(record["poll_wait"]),
                enrolled_at=dt.datetime.fromisoformat(record["enrolled_at"]),
            )
        except (
            KeyError,
            TypeError,
            ValueError,
            binascii.Error,
            nacl.exceptions.CryptoError,
        ) as err:
            raise ConfigurationError(f"{self.directory / _ENROLLMENT} is damaged") from err

    def save_controller_key(self, key: nacl.signing.VerifyKey) -> None:
        """Pin a new controller key (after a rotation the old key announced).

        Raises:
            ConfigurationError: Not enrolled, or the record cannot be read or written.
        """
        with self._lock:
            record = self._read_json(_ENROLLMENT)
            record["controller_verify_key"] = base64.b64encode(bytes(key)).decode()
            self._write_json(_ENROLLMENT, record)

    # --- installed sequences ---------------------------------------------------------------------
    def installed_sequence(self, deployment_id: int) -> int | None:
        """The last sequence installed for ``deployment_id``, or None.

        Raises:
            ConfigurationError: ``sequences.json`` is damaged.
        """
        value = self._optional_json(_SEQUENCES).get(str(deployment_id))
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigurationError(f"{self.directory / _SEQUENCES} is damaged")
        return value

    def record_sequence(self, deployment_id: int, sequence: int) -> None:
        """Remember that ``sequence`` of ``deployment_id`` is installed (never goes down).

        Raises:
            ConfigurationError: The file cannot be read or written.
        """
        with self._lock:
            doc = self._optional_json(_SEQUENCES)
            old = doc.get(str(deployment_id))
            doc[str(deployment_id)] = max(sequence, old) if isinstance(old, int) else sequence
            self._write_json(_SEQUENCES, doc)

    # --- target parameters -----------------------------------------------------------------------
    def target_params(self, label: str) -> dict[str, Any]:
        """Non-secret parameters last installed through target ``label`` ({} if none).

        Raises:
            ConfigurationError: ``targets.json`` is damaged.
        """
        value = self._optional_json(_TARGETS).get(label, {})
        if not isinstance(value, dict):
            raise ConfigurationError(f"{self.directory / _TARGETS} is damaged")
        return value

    def remember_target_params(self, label: str, params: dict[str, Any]) -> None:
        """Store the (non-secret) parameters of the last install through ``label``.

        Raises:
            ConfigurationError: The file cannot be read or written.
        """
        with self._lock:
            doc = self._optional_json(_TARGETS)
            doc[label] = params
            self._write_json(_TARGETS, doc)

    # --- keys generated on the agent -------------------------------------------------------------
    def generated(self, request_id: str) -> GeneratedKey | None:
        """The key made for ``request_id``, or None.

        Raises:
            ConfigurationError: A damaged record or a bad request id.
        """
        name = self._key_name(request_id)
        if not (self.directory / _KEYS / f"{name}.json").exists():
            return None
        doc = self._read_json(f"{_KEYS}/{name}.json")
        try:
            return GeneratedKey(
                request_id=request_id,
                public_key_sha256=str(doc["public_key_sha256"]),
                csr_pem=str(doc["csr_pem"]),
                created_at=dt.datetime.fromisoformat(doc["created_at"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigurationError(f"key record {name}.json is damaged") from err

    def save_generated(self, record: GeneratedKey, key: PrivateKey) -> None:
        """Store a new key (PKCS#8 PEM, 0600) and then its record.

        Raises:
            ConfigurationError: A bad request id, or the files cannot be written.
        """
        name = self._key_name(record.request_id)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._write(f"{_KEYS}/{name}.key", pem)
        self._write_json(
            f"{_KEYS}/{name}.json",
            {
                "public_key_sha256": record.public_key_sha256,
                "csr_pem": record.csr_pem,
                "created_at": record.created_at.isoformat(),
            },
        )

    def find_generated_key(self, public_key_sha256: str) -> PrivateKey | None:
        """The generated key whose public key has this SHA-256, or None.

        Raises:
            ConfigurationError: A key file is damaged or readable by others.
        """
        folder = self.directory / _KEYS
        if not folder.is_dir():
            return None
        for record in sorted(folder.glob("*.json")):
            doc = self._read_json(f"{_KEYS}/{record.name}")
            if doc.get("public_key_sha256") != public_key_sha256:
                continue
            data = self._read(f"{_KEYS}/{record.stem}.key")
            try:
                keys = load(data, name=f"{record.stem}.key").keys
            except InputError as err:
                raise ConfigurationError(f"generated key {record.stem}.key is damaged") from err
            return keys[0] if keys else None
        return None

    # --- status ----------------------------------------------------------------------------------
    def read_status(self) -> AgentStatus:
        """The last status the run loop wrote (empty when it never ran)."""
        try:
            doc = self._optional_json(_STATUS)
            return AgentStatus(
                last_contact=_time_or_none(doc.get("last_contact")),
                last_error=str(doc.get("last_error", "")),
                last_error_at=_time_or_none(doc.get("last_error_at")),
            )
        except (ConfigurationError, ValueError, TypeError):
            return AgentStatus()

    def write_status(self, status: AgentStatus) -> None:
        """Record the run loop's status.

        Raises:
            ConfigurationError: The file cannot be written.
        """
        self._write_json(
            _STATUS,
            {
                "last_contact": status.last_contact.isoformat() if status.last_contact else None,
                "last_error": status.last_error,
                "last_error_at": status.last_error_at.isoformat() if status.last_error_at else None,
            },
        )

    # --- run lock ----------------------------------------------------------------------------------
    def acquire_run_lock(self) -> int:
        """Hold an exclusive lock so that one ``run`` at a time uses this directory.

        Returns:
            The lock's file descriptor (give it to :meth:`release_run_lock`).

        Raises:
            ConflictError: Another process holds the lock.
            ConfigurationError: The lock file cannot be opened.
        """
        self._ensure_dir(self.directory)
        path = self.directory / _LOCK
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise ConfigurationError(f"cannot open {path}: {err.strerror}") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            raise ConflictError(f"another certmgr-agent is running on {self.directory}") from err
        return fd

    @staticmethod
    def release_run_lock(fd: int) -> None:
        """Release what :meth:`acquire_run_lock` took."""
        os.close(fd)

    # --- files -----------------------------------------------------------------------------------
    @staticmethod
    def _key_name(request_id: str) -> str:
        if not LABEL.fullmatch(request_id) or request_id.startswith("."):
            raise ConfigurationError("a key request id has the wrong form")
        return request_id

    def _ensure_dir(self, directory: Path) -> None:
        if directory.is_dir():
            return
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._host.set_owner_and_mode(str(directory.resolve()), None, None, 0o700)
        except (OSError, TargetError) as err:
            raise ConfigurationError(f"cannot create the state directory {directory}") from err

    def _write(self, name: str, data: bytes) -> None:
        path = (self.directory / name).resolve()
        self._ensure_dir(self.directory)
        self._ensure_dir(path.parent)
        try:
            temp = self._host.write_temp(str(path.parent), path.name, data)
            try:
                self._host.replace(temp, str(path))
            except CertmgrError:
                self._host.unlink(temp)
                raise
            self._host.fsync_dir(str(path.parent))
        except TargetError as err:
            raise ConfigurationError(f"cannot write {path}: {err}") from err

    def _write_json(self, name: str, doc: object) -> None:
        self._write(name, json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n")

    def _read(self, name: str) -> bytes:
        path = self.directory / name
        try:
            with open(path, "rb") as fh:
                info = os.fstat(fh.fileno())
                if stat.S_IMODE(info.st_mode) & 0o077:
                    raise ConfigurationError(
                        f"{path} is readable by other users: run 'chmod 600 {path}'"
                    )
                data = fh.read(_MAX_FILE + 1)
        except OSError as err:
            raise ConfigurationError(f"cannot read {path}: {err.strerror}") from err
        if len(data) > _MAX_FILE:
            raise ConfigurationError(f"{path} is too large")
        return data

    def _read_b64(self, name: str) -> bytes:
        return base64.b64decode(self._read(name).strip(), validate=True)

    def _read_json(self, name: str) -> dict[str, Any]:
        try:
            doc = json.loads(self._read(name))
        except (ValueError, UnicodeDecodeError) as err:
            raise ConfigurationError(f"{self.directory / name} is damaged") from err
        if not isinstance(doc, dict):
            raise ConfigurationError(f"{self.directory / name} is damaged")
        return doc

    def _optional_json(self, name: str) -> dict[str, Any]:
        if not (self.directory / name).exists():
            return {}
        return self._read_json(name)


def _time_or_none(value: object) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
