"""The master key: seals and unseals every secret the controller stores, with key rotation.

Sealed format (bytes): ``b"CM1" | kid_len (1) | kid | nonce (12) | AES-256-GCM(ciphertext+tag)``.
The purpose label (``"private-key"``, ``"ca-key"``, ``"smtp-password"`` ...) is the AEAD's
associated data, so a sealed value cannot be moved to another purpose unnoticed.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from certmgr.shared.errors import ConfigurationError, InputError
from certmgr.shared.secret import Secret

_MAGIC = b"CM1"
_HEADER = "# certmgr master key file: keep it secret and back it up apart from the database.\n# The first key seals new secrets; older keys only unseal.\n"


class UnsealError(InputError):
    """A sealed value cannot be opened (wrong key, tampered or wrong purpose)."""


@dataclass(frozen=True)
class MasterKey:
    """One or more 256-bit keys by id; the first is active."""

    keys: tuple[tuple[str, Secret[bytes]], ...] = field(repr=False)

    @property
    def active_kid(self) -> str:
        """Id of the key that seals new values."""
        return self.keys[0][0]

    def seal(self, plaintext: bytes, purpose: str) -> bytes:
        """Encrypt and authenticate ``plaintext`` for ``purpose`` with the active key."""
        kid, key = self.keys[0]
        nonce = os.urandom(12)
        kid_b = kid.encode()
        ct = AESGCM(key.reveal()).encrypt(nonce, plaintext, purpose.encode())
        return _MAGIC + bytes([len(kid_b)]) + kid_b + nonce + ct

    def unseal(self, sealed: bytes, purpose: str) -> bytes:
        """Decrypt a value made by :meth:`seal`.

        Raises:
            UnsealError: Unknown key id, tampered data or a different purpose.
        """
        kid, nonce, ct = self._split(sealed)
        for k, key in self.keys:
            if k == kid:
                try:
                    return AESGCM(key.reveal()).decrypt(nonce, ct, purpose.encode())
                except InvalidTag as err:
                    raise UnsealError(
                        f"sealed {purpose} failed authentication (tampered or wrong purpose)"
                    ) from err
        raise UnsealError(f"sealed {purpose} uses master key {kid!r}, which is not in the key file")

    def kid_of(self, sealed: bytes) -> str:
        """The key id a sealed value was made with."""
        return self._split(sealed)[0]

    def derive(self, label: str, length: int = 32) -> Secret[bytes]:
        """A key derived from the active master key for a fixed use (e.g. cookie encryption)."""
        hkdf = HKDF(
            algorithm=hashes.SHA256(), length=length, salt=None, info=b"certmgr:" + label.encode()
        )
        return Secret(hkdf.derive(self.keys[0][1].reveal()))

    def with_new_key(self) -> MasterKey:
        """A copy with a fresh active key in front; the old keys stay for unsealing."""
        existing = {k for k, _ in self.keys}
        while True:
            kid = "k" + secrets.token_hex(4)
            if kid not in existing:
                break
        return MasterKey(((kid, Secret(os.urandom(32))), *self.keys))

    def only_active(self) -> MasterKey:
        """A copy holding only the active key."""
        return MasterKey(self.keys[:1])

    @staticmethod
    def _split(sealed: bytes) -> tuple[str, bytes, bytes]:
        if len(sealed) < 4 + 12 + 16 or not sealed.startswith(_MAGIC):
            raise UnsealError("not a sealed value")
        n = sealed[3]
        if len(sealed) < 4 + n + 12 + 16:
            raise UnsealError("truncated sealed value")
        kid = sealed[4 : 4 + n].decode("ascii", "replace")
        nonce = sealed[4 + n : 4 + n + 12]
        return kid, nonce, sealed[4 + n + 12 :]

    @classmethod
    def generate(cls) -> MasterKey:
        """A new master key with one random key."""
        return cls((("k" + secrets.token_hex(4), Secret(os.urandom(32))),))

    def to_text(self) -> str:
        """File contents (secret!)."""
        lines = [
            f"{kid} {base64.urlsafe_b64encode(key.reveal()).decode()}" for kid, key in self.keys
        ]
        return _HEADER + "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str, *, source: str = "master key file") -> MasterKey:
        """Parse file contents.

        Raises:
            ConfigurationError: Malformed file.
        """
        keys: list[tuple[str, Secret[bytes]]] = []
        for lineno, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2:
                raise ConfigurationError(f"{source}: line {lineno} is not '<id> <key>'")
            try:
                raw = base64.urlsafe_b64decode(parts[1])
            except ValueError:
                raise ConfigurationError(f"{source}: line {lineno} has a malformed key") from None
            if len(raw) != 32:
                raise ConfigurationError(f"{source}: line {lineno} key is not 256 bits")
            keys.append((parts[0], Secret(raw)))
        if not keys:
            raise ConfigurationError(f"{source} holds no key")
        return cls(tuple(keys))


def write_master_key(path: Path, key: MasterKey) -> None:
    """Write the key file atomically with mode 0600."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a leftover temporary file keeps its old mode through O_CREAT
        os.write(fd, key.to_text().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_master_key(path: Path) -> MasterKey:
    """Read the key file, refusing one that others can read.

    Raises:
        ConfigurationError: Missing, unreadable, too open or malformed.
    """
    try:
        st = path.stat()
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise ConfigurationError(f"master key file {path} is missing") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigurationError(
            f"cannot read master key file {path}: {err.__class__.__name__}"
        ) from err
    if st.st_mode & 0o077:
        raise ConfigurationError(
            f"master key file {path} is readable by others (mode {st.st_mode & 0o777:o}); chmod 600 it"
        )
    return MasterKey.from_text(text, source=str(path))
