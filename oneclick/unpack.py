"""``--unpack DIR``: turn a protected conventional package back into its files.

The controller seals the files of a conventional package (certificate, chain, full chain, key,
keystores) under the package passphrase and stamps them onto the runtime instead of zipping them
in the clear (:mod:`certmgr.shared.packagefiles`). Unpacking writes exactly the files an ordinary
package holds, so the package's README applies unchanged: the key stays encrypted under the same
passphrase, the keystores are protected by it.

Nothing is overwritten: every file is checked before the first is written, files are created
exclusively (a symlink planted in the folder is not followed), and a failure part-way removes
what this run wrote.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from certmgr.shared.envelope import MalformedPackageError, Manifest
from certmgr.shared.errors import CertmgrError, ConflictError, InputError
from certmgr.shared.packagefiles import UNPACK_TARGET, Layout, is_secret, package_files
from certmgr.shared.pki import key_matches_certificate, private_key_from_pkcs8_der
from certmgr.shared.pki.summary import summarize
from certmgr.shared.secret import Secret

__all__ = ["Unpacked", "plan_unpack", "write_unpacked"]


@dataclass(frozen=True)
class Unpacked:
    """The files to write, where, and the certificate they carry."""

    folder: Path
    files: dict[str, bytes]
    subject: str
    sha256: str

    def describe(self) -> list[str]:
        """Lines for the terminal and the log (names and modes, never contents)."""
        lines = [f"certificate: {self.subject}", f"  sha256: {self.sha256}", f"into {self.folder}:"]
        for name in sorted(self.files):
            mode = "0600, protected by the passphrase" if is_secret(name) else "0644"
            lines.append(f"  {name} ({mode})")
        return lines


def plan_unpack(manifest: Manifest, folder: Path, passphrase: Secret[bytes]) -> Unpacked:
    """The files of a protected conventional package, checked against what ``folder`` holds.

    Raises:
        MalformedPackageError: Not a protected conventional package, or its contents do not parse.
        ConflictError: A file of the package is already in ``folder``.
        InputError: ``folder`` is not a folder, or its parent does not exist.
    """
    if manifest.target_type != UNPACK_TARGET:
        raise MalformedPackageError(
            "this is a one-click installer, not a package to unpack: run it without --unpack"
        )
    if manifest.private_key_pkcs8 is None:
        raise MalformedPackageError("the package carries no private key")
    try:
        layout = Layout.from_params(manifest.target_params)
        certs = x509.load_pem_x509_certificates(manifest.certificate_pem)
        chain = (
            x509.load_pem_x509_certificates(manifest.chain_pem)
            if manifest.chain_pem.strip()
            else []
        )
        key = private_key_from_pkcs8_der(manifest.private_key_pkcs8)
    except (ValueError, CertmgrError) as err:
        raise MalformedPackageError(f"the package contents do not parse: {err}") from err
    if len(certs) != 1:
        raise MalformedPackageError("the package must carry exactly one server certificate")
    cert = certs[0]
    if not key_matches_certificate(key, cert):
        raise MalformedPackageError("the package's key does not belong to its certificate")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--unpack {folder} is not a folder")
    if not folder.exists() and not folder.parent.is_dir():
        raise InputError(f"--unpack {folder}: {folder.parent} does not exist")
    files = package_files(layout, cert, chain, key, passphrase.reveal())
    clashes = [n for n in files if os.path.lexists(folder / n)]
    if clashes:
        raise ConflictError(
            f"{', '.join(sorted(clashes))} already in {folder}; nothing was written "
            "(unpack into another folder, or remove them)"
        )
    s = summarize(cert)
    return Unpacked(folder, files, s.subject, s.sha256)


def write_unpacked(plan: Unpacked) -> list[Path]:
    """Write the files (owner-only for keys and keystores); undo this run's files on failure.

    Raises:
        ConflictError: A file appeared in the meantime (nothing of this run is left).
        InputError: The folder cannot be written.
    """
    written: list[Path] = []
    try:
        plan.folder.mkdir(mode=0o700, exist_ok=True)
        for name in sorted(plan.files):
            path = plan.folder / name
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(path, flags, 0o600 if is_secret(name) else 0o644)
            written.append(path)
            with os.fdopen(fd, "wb") as fh:
                fh.write(plan.files[name])
                fh.flush()
                os.fsync(fh.fileno())
    except FileExistsError as err:
        _undo(written)
        raise ConflictError(f"{err.filename} appeared while unpacking; nothing was left") from err
    except OSError as err:
        _undo(written)
        raise InputError(f"cannot write into {plan.folder}: {err.strerror}") from err
    except BaseException:  # interrupted (Ctrl-C): leave no half set behind
        _undo(written)
        raise
    return written


def _undo(paths: list[Path]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()
