"""The controller's identity: its Ed25519 signing key (sealed in the settings table) and its rotations.

The key signs install packages and every answer of the agent API; agents pin it at enrolment
(the token names its SHA-256). A rotation makes a new key and records the old key's signed
announcement of it; answers list every announcement, so agents move to the new key on their
next call (:mod:`certmgr.shared._protoanswer`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import nacl.signing
from sqlalchemy.exc import IntegrityError

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import SettingRecord
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.audit import audit
from certmgr.controller.vault import MasterKey
from certmgr.shared import protocol as p
from certmgr.shared.clock import Clock
from certmgr.shared.envelope import key_id
from certmgr.shared.errors import ConfigurationError, ValidationError

KEY = "controller-signing-key"
PURPOSE = "controller-signing-key"


@dataclass(frozen=True)
class ControllerIdentity:
    """The current signing key and the announcements of every rotation so far (oldest first)."""

    key: nacl.signing.SigningKey = field(repr=False)
    rotations: tuple[p.KeyRotation, ...] = ()

    @property
    def public_sha256(self) -> str:
        """SHA-256 of the public key (what enrolment tokens carry)."""
        return p.controller_key_sha256(self.key.verify_key)

    def answer_headers(
        self, method: str, path_with_query: str, nonce: str, status: int, body: bytes
    ) -> dict[str, str]:
        """The headers that sign one agent-API answer (and list the rotations)."""
        headers = p.sign_answer(self.key, method, path_with_query, nonce, status, body)
        if self.rotations:
            headers[p.HEADER_KEY_ROTATION] = p.format_rotations(self.rotations)
        return headers


def _value(key: nacl.signing.SigningKey, rotations: tuple[p.KeyRotation, ...]) -> dict[str, Any]:
    return {
        "key_id": key_id(key.verify_key),
        "public_key": base64.b64encode(bytes(key.verify_key)).decode(),
        "rotations": [r.text() for r in rotations],
    }


def _rotations(row: SettingRecord) -> tuple[p.KeyRotation, ...]:
    try:
        return p.parse_rotations(",".join(row.value.get("rotations", [])))
    except (ValidationError, TypeError, AttributeError) as err:
        raise ConfigurationError("the stored controller key rotations are damaged") from err


async def controller_identity(db: Database, vault: MasterKey) -> ControllerIdentity:
    """The controller's identity, made on first use.

    Raises:
        ConfigurationError: The stored rotations are damaged.
    """
    async with db.reader() as s:
        row = await s.get(SettingRecord, KEY)
    if row is not None and row.sealed and "public_key" in row.value:
        return ControllerIdentity(
            nacl.signing.SigningKey(vault.unseal(row.sealed, PURPOSE)), _rotations(row)
        )
    try:
        return await _make_identity(db, vault)
    except IntegrityError:
        # another request made the key at the same moment (two enrolments, two replicas): use it
        async with db.reader() as s:
            row = await s.get(SettingRecord, KEY)
        if row is None or not row.sealed:
            raise ConfigurationError("the controller signing key could not be stored") from None
        return ControllerIdentity(
            nacl.signing.SigningKey(vault.unseal(row.sealed, PURPOSE)), _rotations(row)
        )


ANSWER_KEY_TTL = 1.0
"""Seconds a process signs agent answers with the identity it read (a rotation made elsewhere shows after that)."""
_ANSWER_IDENTITY: weakref.WeakKeyDictionary[
    Database, tuple[float, MasterKey, ControllerIdentity]
] = weakref.WeakKeyDictionary()


def answer_identity_at_hand(db: Database, vault: MasterKey) -> bool:
    """True when :func:`answer_identity` will answer without reading the database."""
    cached = _ANSWER_IDENTITY.get(db)
    return (
        cached is not None and cached[1] is vault and time.monotonic() - cached[0] < ANSWER_KEY_TTL
    )


async def answer_identity(db: Database, vault: MasterKey) -> ControllerIdentity:
    """The identity that signs agent-API answers, read at most once a second per process.

    Every answer was a read of the key and its rotations: a third of an idle long-poll's database
    work. A rotation in this process is seen at once; one made by another process (the CLI,
    another controller) within :data:`ANSWER_KEY_TTL` seconds, until when answers carry the old
    key (still the one agents that have not called since trust; an agent that has moved on
    refuses such an answer and calls again). Packages are always signed with the key as read.

    Raises:
        ConfigurationError: The stored rotations are damaged.
    """
    now = time.monotonic()
    cached = _ANSWER_IDENTITY.get(db)
    if cached is not None and cached[1] is vault and now - cached[0] < ANSWER_KEY_TTL:
        return cached[2]
    identity = await controller_identity(db, vault)
    _ANSWER_IDENTITY[db] = (now, vault, identity)
    return identity


async def _make_identity(db: Database, vault: MasterKey) -> ControllerIdentity:
    async with db.transaction() as s:
        row = await s.get(SettingRecord, KEY)
        if row is None or not row.sealed:
            key = nacl.signing.SigningKey.generate()
            sealed = vault.seal(bytes(key), PURPOSE)
            if row is None:
                s.add(
                    SettingRecord(
                        key=KEY,
                        value=_value(key, ()),
                        sealed=sealed,
                        updated_at=dt.datetime.now(dt.UTC),
                        updated_by="system",
                    )
                )
            else:
                row.sealed = sealed
                row.value = _value(key, ())
            return ControllerIdentity(key)
        key = nacl.signing.SigningKey(vault.unseal(row.sealed, PURPOSE))
        if "public_key" not in row.value:  # stored before the public half was kept beside it
            row.value = {**row.value, **_value(key, _rotations(row))}
        return ControllerIdentity(key, _rotations(row))


async def signing_key(db: Database, vault: MasterKey) -> nacl.signing.SigningKey:
    """The controller's package signing key, made on first use.

    Raises:
        ConfigurationError: The stored rotations are damaged.
    """
    return (await controller_identity(db, vault)).key


async def controller_key_sha256(db: Database) -> str:
    """SHA-256 of the controller's public key as stored, "" when it is not known without the master key."""
    async with db.reader() as s:
        row = await s.get(SettingRecord, KEY)
    if row is None or not row.sealed:
        return ""
    raw = row.value.get("public_key") if isinstance(row.value, dict) else None
    try:
        return p.controller_key_sha256(base64.b64decode(str(raw), validate=True)) if raw else ""
    except (binascii.Error, ValueError):
        return ""


@dataclass(frozen=True)
class Rotated:
    """What a rotation did (public values only)."""

    old_sha256: str
    new_sha256: str
    rotations: int


async def rotate_controller_key(
    db: Database, vault: MasterKey, actor: Actor, clock: Clock
) -> Rotated:
    """Replace the controller's signing key; the old key signs the announcement of the new one.

    Agents move to the new key on their next call. Packages sealed before the rotation are
    signed by the old key, which agents no longer accept once they have moved: queue them again.
    Enrolment tokens made before name the old key: make new ones.

    Raises:
        PermissionDeniedError: Not an admin.
        ConfigurationError: The stored rotations are damaged.
    """
    actor.require_admin("rotating the controller's signing key")
    await controller_identity(db, vault)  # exists from here on
    new = nacl.signing.SigningKey.generate()
    async with db.transaction() as s:
        row = await s.get(SettingRecord, KEY, with_for_update=True)
        if row is None or not row.sealed:
            raise ConfigurationError("the controller signing key vanished during the rotation")
        old = nacl.signing.SigningKey(vault.unseal(row.sealed, PURPOSE))
        rotations = (*_rotations(row), p.sign_rotation(old, new.verify_key))
        rotations = rotations[-p.MAX_ROTATIONS :]
        row.sealed = vault.seal(bytes(new), PURPOSE)
        row.value = _value(new, rotations)
        row.updated_at = clock.now()
        row.updated_by = actor.name
        done = Rotated(
            p.controller_key_sha256(old.verify_key),
            p.controller_key_sha256(new.verify_key),
            len(rotations),
        )
        audit(
            s,
            actor,
            "controller.key-rotate",
            "setting",
            KEY,
            {"old": done.old_sha256, "new": done.new_sha256},
            clock=clock,
        )
    _ANSWER_IDENTITY.pop(db, None)  # committed: this process's next answer reads the new key
    return done
