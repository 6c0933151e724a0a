"""What the installer carries: find its own stamp, read the passphrase, open the sealed package.

**Why verify a signature whose key travels in the same file.** The stamped ``deploy`` payload
holds the controller's Ed25519 verify key next to the passphrase-sealed package
(:func:`certmgr.shared.stamp.deploy_payload`). Whoever swaps the whole payload can also swap the
key, so the signature alone does not authenticate the file. The passphrase does: it reaches the
server administrator on another channel, the package only opens under a key derived from it
(Argon2id, then an authenticated ``SecretBox``), and a forger who does not know it cannot make a
package that opens. The signature still matters: it proves that the controller made the
manifest, not merely someone who learned the passphrase (such as a server administrator
re-sealing a package for another host); the key id is printed so it can be compared with the
one the console shows; and ``--controller-key-id`` pins it outright.

**Agreed keys in ``target_params``** (the controller adds them to oneclick packages; the installer
removes them before the parameters reach the target plugin, whose parser refuses unknown names):

- ``check_host``: host name or address of the local TLS check after the install (absent: no
  check; the receipt then says ``skipped``);
- ``check_port``: its TCP port (default 443);
- ``check_sni``: the server name to send (absent: the check host when it is a name, none for an
  address; ``""``: send none).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import nacl.exceptions
import nacl.signing

from certmgr.shared.envelope import (
    JsonValue,
    MalformedPackageError,
    Manifest,
    key_id,
    open_with_passphrase,
)
from certmgr.shared.errors import BadSignatureError, InputError, ValidationError
from certmgr.shared.secret import Secret
from certmgr.shared.stamp import (
    KIND_CACERT,
    KIND_DEPLOY,
    CaCertPayload,
    DamagedStampError,
    DeployPayload,
    NoStampError,
    parse_cacert_payload,
    parse_deploy_payload,
    read_stamp,
)
from certmgr.shared.text import passphrase_line

CHECK_KEYS: Final = ("check_host", "check_port", "check_sni")
_MAX_PASSPHRASE: Final = 4096
_MAX_READ: Final = 2 * _MAX_PASSPHRASE + 8  # UTF-16 with its byte-order mark and line end


@dataclass(frozen=True)
class CheckSpec:
    """Where the local TLS check connects after the install."""

    host: str
    port: int = 443
    sni: str | None = None  # None: the probe's default; "": send no server name


@dataclass(frozen=True)
class Carried:
    """The stamped payload of this installer: a deploy package or a CA certificate."""

    path: Path
    payload: DeployPayload | CaCertPayload

    @property
    def name(self) -> str:
        """The display name the controller stamped (the file name when there is none)."""
        return self.payload.name or self.path.name


def package_path(option: Path | None) -> Path:
    """The file whose stamp to read: ``--package`` if given, else the frozen executable itself.

    Raises:
        NoStampError: Not frozen and no ``--package`` given.
    """
    if option is not None:
        return option
    if getattr(sys, "frozen", False):
        return Path(sys.executable)
    raise NoStampError(
        "this installer carries no package (run a stamped installer, or pass --package FILE)"
    )


def read_carried(path: Path) -> Carried:
    """Read and decode the stamp of ``path``.

    Raises:
        NoStampError: The file carries no package.
        DamagedStampError: The file is truncated or damaged, or of an unknown kind.
        InputError: The file cannot be read.
    """
    found = read_stamp(path)
    if found.kind == KIND_DEPLOY:
        return Carried(path, parse_deploy_payload(found.payload))
    if found.kind == KIND_CACERT:
        return Carried(path, parse_cacert_payload(found.payload))
    raise DamagedStampError(
        f"this installer carries a {found.kind!r} package, which this version cannot install"
    )


def read_passphrase_file(path: Path) -> Secret[bytes]:
    """The passphrase from the first line of ``path`` (``-``: standard input).

    Only the line ending is removed; other spaces are part of the passphrase.

    Raises:
        InputError: The file cannot be read or holds no passphrase.
    """
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(_MAX_READ)
        else:
            with open(path, "rb") as fh:
                data = fh.read(_MAX_READ)
    except OSError as err:
        raise InputError(f"cannot read the passphrase file {path}: {err.strerror}") from err
    line = passphrase_line(data)
    if not line:
        raise InputError(f"the passphrase file {path} is empty")
    if len(line) > _MAX_PASSPHRASE:
        raise InputError("the passphrase is too long")
    return Secret(line)


def open_package(
    deploy: DeployPayload,
    passphrase: Secret[bytes],
    *,
    now: dt.datetime,
    expected_key_id: str | None = None,
    needs_receipt_key: bool = True,
) -> Manifest:
    """Decrypt the package, verify its signature and expiry.

    The installer keeps no state, so there is no installed sequence to compare with: replays
    are caught by the package's expiry and by the controller, which accepts a receipt only for
    the deployment's current sequence, once.

    Args:
        deploy: The stamped payload.
        passphrase: The passphrase the administrator was given.
        now: The current time (aware).
        expected_key_id: Refuse unless the carried controller key has this id.
        needs_receipt_key: Refuse a package without a receipt key (an installer needs one; a
            protected conventional package, which is only unpacked, has none).

    Returns:
        The verified manifest.

    Raises:
        WrongPasswordError: Empty or wrong passphrase.
        BadSignatureError: Damaged, altered, or signed by another key than the pinned one.
        ExpiredPackageError: The package has expired.
        MalformedPackageError: Not an installer package, or no receipt key.
        UnsupportedPackageVersionError: A newer package format.
    """
    try:
        verify_key = nacl.signing.VerifyKey(deploy.verify_key)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as err:
        raise BadSignatureError("the carried controller key is not an Ed25519 key") from err
    carried_id = key_id(verify_key)
    if expected_key_id is not None and expected_key_id.strip().lower() != carried_id:
        raise BadSignatureError(
            f"the package is signed by controller key {carried_id}, not {expected_key_id.strip()}"
        )
    manifest = open_with_passphrase(
        deploy.package,
        passphrase,
        verify_key,
        installed_sequence=None,
        now=now,
    )
    if needs_receipt_key and manifest.receipt_key is None:
        raise MalformedPackageError(
            "the package carries no receipt key: it was not made for the one-click installer"
        )
    return manifest


def split_check_params(
    params: Mapping[str, JsonValue],
) -> tuple[dict[str, JsonValue], CheckSpec | None]:
    """Separate the check keys from the target's own parameters.

    Returns:
        The parameters for the target plugin, and the check to run (None: none).

    Raises:
        ValidationError: A check key has a wrong type or value.
    """
    rest = {k: v for k, v in params.items() if k not in CHECK_KEYS}
    host = params.get("check_host")
    port = params.get("check_port", 443)
    sni = params.get("check_sni")
    if host is None:
        if "check_port" in params or "check_sni" in params:
            raise ValidationError("check_port and check_sni need check_host", field="check_host")
        return rest, None
    if not isinstance(host, str) or not host.strip() or len(host) > 255:
        raise ValidationError("check_host must be a host name or address", field="check_host")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValidationError("check_port must be a TCP port number", field="check_port")
    if sni is not None and (not isinstance(sni, str) or len(sni) > 255):
        raise ValidationError("check_sni must be a server name or empty", field="check_sni")
    return rest, CheckSpec(host.strip(), port, sni)
