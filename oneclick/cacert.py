"""The CA-certificate installer: add the carried CA certificate to the trust stores, or remove it.

Operating-system store, detected by its anchor folder (under ``--root`` when given):

- Debian/Ubuntu: ``/usr/local/share/ca-certificates/certmgr-<fp>.crt``, then
  ``update-ca-certificates`` (``--fresh`` on removal, so the dangling link goes too). With
  ``--root`` the command gets every path option it has (``--certsconf``, ``--certsdir``,
  ``--localcertsdir``, ``--etccertsdir``, ``--hooksdir``) pointing under the root, which confines
  it completely: the test suite runs the real command against a temporary folder.
- RHEL/Fedora: ``/etc/pki/ca-trust/source/anchors/certmgr-<fp>.crt``, then
  ``update-ca-trust extract``. That command cannot be pointed at another root, so under ``--root``
  the refresh is skipped (and said so).

Java: with ``--java-cacerts PATH`` the certificate is imported as alias ``certmgr-<fp>`` with
``keytool -importcert -noprompt`` (removed with ``keytool -delete``). The store password goes to
keytool through ``-storepass:file`` with a private temporary file, never on its command line.

``<fp>`` is the first 16 hex digits of the certificate's SHA-256. Every command is an argument
list run through :class:`~certmgr.shared.targets.HostOps` (never a shell). The steps are
all-or-nothing: when a later step fails, the earlier ones are undone.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certmgr.shared.errors import (
    RollbackFailedError,
    TargetAbsentError,
    TargetError,
    ValidationError,
)
from certmgr.shared.pki.chain import is_ca
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.pki.load import load
from certmgr.shared.secret import Secret
from certmgr.shared.targets import FileTransaction, HostOps, PlannedFile

DEBIAN_ANCHORS: Final = "/usr/local/share/ca-certificates"
RHEL_ANCHORS: Final = "/etc/pki/ca-trust/source/anchors"
DEFAULT_STOREPASS: Final = "changeit"
_TIMEOUT: Final = 120.0
_DEBIAN_PATHS: Final = (
    ("--certsconf", "/etc/ca-certificates.conf"),
    ("--certsdir", "/usr/share/ca-certificates"),
    ("--localcertsdir", DEBIAN_ANCHORS),
    ("--etccertsdir", "/etc/ssl/certs"),
    ("--hooksdir", "/etc/ca-certificates/update.d"),
)


@dataclass(frozen=True)
class TrustStore:
    """An operating-system trust store: its family and anchor folder (as the system sees it)."""

    family: str  # "debian" or "rhel"
    anchor_dir: str


@dataclass(frozen=True)
class CaPlan:
    """What installing or removing the CA certificate will do."""

    certificate: x509.Certificate
    store: TrustStore | None  # None: leave the operating system's store alone
    anchor_path: str | None
    refresh: tuple[str, ...] | None  # None: no refresh command (skipped or not possible)
    undo_refresh: tuple[str, ...] | None  # the refresh that undoes this plan's file change
    java_cacerts: Path | None
    keytool: str | None  # the keytool program found for ``java_cacerts``
    alias: str
    uninstall: bool

    def describe(self) -> list[str]:
        """Human lines for ``--dry-run`` and the confirmation."""
        verb = "remove" if self.uninstall else "add"
        lines = []
        if self.store is not None and self.anchor_path is not None:
            action = "remove" if self.uninstall else "write"
            lines.append(f"{action} {self.anchor_path} ({self.store.family} trust store)")
            if self.refresh:
                lines.append("run: " + " ".join(self.refresh))
            else:
                lines.append("refresh: skipped")
        if self.java_cacerts is not None:
            lines.append(f"{verb} alias {self.alias} in Java keystore {self.java_cacerts}")
        return lines


def load_ca(pem: bytes) -> x509.Certificate:
    """The one CA certificate of a ``cacert`` payload.

    Raises:
        UnsupportedFormatError: Not a certificate.
        ValidationError: Not exactly one certificate, or not a CA certificate.
    """
    certs = load(pem, name="CA certificate").certificates
    if len(certs) != 1:
        raise ValidationError("the package must carry exactly one certificate", field="certificate")
    if not is_ca(certs[0]):
        raise ValidationError(
            "the carried certificate is not a CA certificate", field="certificate"
        )
    return certs[0]


def fingerprint_prefix(cert: x509.Certificate) -> str:
    """The first 16 hex digits of the SHA-256: names the anchor file and the Java alias."""
    return sha256_fingerprint(cert)[:16]


def detect_store(host: HostOps) -> TrustStore:
    """The trust store this host has (Debian family first).

    Raises:
        TargetAbsentError: Neither anchor folder exists.
    """
    for family, directory in (("debian", DEBIAN_ANCHORS), ("rhel", RHEL_ANCHORS)):
        info = host.lstat(directory)
        if info is not None and not info.is_file:
            return TrustStore(family, directory)
    raise TargetAbsentError(
        f"no supported trust store here (neither {DEBIAN_ANCHORS} nor {RHEL_ANCHORS} exists)"
    )


def refresh_argv(
    store: TrustStore, root: Path | None, *, uninstall: bool
) -> tuple[str, ...] | None:
    """The command that rebuilds the store's bundle (None: cannot be confined to ``root``)."""
    if store.family == "rhel":
        return None if root is not None else ("update-ca-trust", "extract")
    argv = ["update-ca-certificates"]
    if root is not None:
        base = str(root.resolve())
        for option, path in _DEBIAN_PATHS:
            argv += [option, base + path]
    if uninstall:
        argv.append("--fresh")
    return tuple(argv)


def keytool_argv(
    action: str, cacerts: Path, alias: str, passfile: Path, cert_file: Path | None = None
) -> tuple[str, ...]:
    """``keytool`` for ``import``, ``delete`` or ``list`` of one alias (password from a file)."""
    common = ("-alias", alias, "-keystore", str(cacerts), "-storepass:file", str(passfile))
    if action == "import":
        if cert_file is None:
            raise ValidationError("importing needs the certificate file", field="cert_file")
        return ("keytool", "-importcert", "-noprompt", *common, "-file", str(cert_file))
    if action == "delete":
        return ("keytool", "-delete", *common)
    return ("keytool", "-list", *common)


def plan_ca(
    cert: x509.Certificate,
    host: HostOps,
    *,
    root: Path | None,
    system: bool = True,
    refresh: bool = True,
    java_cacerts: Path | None = None,
    uninstall: bool = False,
) -> CaPlan:
    """Decide what to do. Reads the host (which store it has, where keytool is), writes nothing.

    Raises:
        TargetAbsentError: ``system`` is set and no supported store exists, or ``java_cacerts``
            is given and keytool is not installed.
    """
    fp = fingerprint_prefix(cert)
    store = detect_store(host) if system else None
    anchor = posixpath.join(store.anchor_dir, f"certmgr-{fp}.crt") if store else None
    argv = refresh_argv(store, root, uninstall=uninstall) if store and refresh else None
    undo = refresh_argv(store, root, uninstall=not uninstall) if store and refresh else None
    keytool = _keytool(host) if java_cacerts is not None else None
    return CaPlan(
        cert, store, anchor, argv, undo, java_cacerts, keytool, f"certmgr-{fp}", uninstall
    )


def apply_ca(plan: CaPlan, host: HostOps, storepass: Secret[str]) -> list[str]:
    """Carry out ``plan``, undoing earlier steps when a later one fails.

    Returns:
        What was done, in words.

    Raises:
        TargetError: A step failed; the earlier steps were undone.
        RollbackFailedError: A step failed and undoing an earlier one failed too.
    """
    done: list[str] = []
    undo: list[Callable[[], object]] = []
    pem = plan.certificate.public_bytes(Encoding.PEM)
    with tempfile.TemporaryDirectory(prefix="certmgr-ca-") as private:
        passfile = Path(private) / "storepass"
        passfile.write_text(storepass.reveal(), encoding="utf-8")
        cert_file = Path(private) / "ca.pem"
        cert_file.write_bytes(pem)
        try:
            if plan.anchor_path is not None:
                _system_step(plan, plan.anchor_path, host, pem, done, undo)
            if plan.java_cacerts is not None and plan.keytool is not None:
                java = _Java(host, plan.keytool, plan.java_cacerts, plan.alias, passfile, cert_file)
                _java_step(plan, java, done, undo)
        except TargetError as err:
            for step in reversed(undo):
                try:
                    step()
                except TargetError as again:
                    raise RollbackFailedError(f"{err}; undoing failed too: {again}") from err
            raise
    return done


def _system_step(
    plan: CaPlan,
    path: str,
    host: HostOps,
    pem: bytes,
    done: list[str],
    undo: list[Callable[[], object]],
) -> None:
    if plan.uninstall:
        old = host.read_file(path)
        if old is None:
            done.append(f"{path} was not there")
        else:
            host.unlink(path)
            undo.append(lambda: _put_back(host, path, old, plan.undo_refresh))
            done.append(f"removed {path}")
    else:
        before = host.read_file(path)
        _write(host, path, pem)
        if before is None:
            undo.append(lambda: _take_out(host, path, plan.undo_refresh))
        else:
            undo.append(lambda: _put_back(host, path, before, plan.refresh))
        done.append(f"wrote {path}")
    if plan.refresh:
        _run(host, plan.refresh, "refreshing the trust store")
        done.append("ran " + " ".join(plan.refresh[:1]))


def _write(host: HostOps, path: str, data: bytes) -> None:
    txn = FileTransaction(host)
    txn.write_all([PlannedFile(path, data, mode=0o644)])
    txn.commit()


def _put_back(host: HostOps, path: str, data: bytes, refresh: tuple[str, ...] | None) -> None:
    _write(host, path, data)
    if refresh:
        _run(host, refresh, "refreshing the trust store again")


def _take_out(host: HostOps, path: str, refresh: tuple[str, ...] | None) -> None:
    host.unlink(path)
    if refresh:
        _run(host, refresh, "refreshing the trust store again")


@dataclass(frozen=True)
class _Java:
    host: HostOps
    keytool: str
    cacerts: Path
    alias: str
    passfile: Path
    cert_file: Path

    def argv(self, action: str) -> tuple[str, ...]:
        args = keytool_argv(action, self.cacerts, self.alias, self.passfile, self.cert_file)
        return (self.keytool, *args[1:])

    def present(self) -> bool:
        if not self.cacerts.exists():
            return False
        rc, output = self.host.run(self.argv("list"), _TIMEOUT)
        if rc == 0:
            return True
        if "does not exist" in output:
            return False
        raise TargetError(f"cannot read the Java keystore {self.cacerts}: {output.strip()[-300:]}")

    def run(self, action: str, what: str) -> None:
        _run(self.host, self.argv(action), what)


def _java_step(
    plan: CaPlan, java: _Java, done: list[str], undo: list[Callable[[], object]]
) -> None:
    where = f"alias {java.alias} {{}} {java.cacerts}"
    present = java.present()
    if plan.uninstall:
        if not present:
            done.append(where.format("was not in"))
            return
        java.run("delete", "removing the certificate from the Java keystore")
        undo.append(lambda: java.run("import", "restoring the Java keystore entry"))
        done.append("removed " + where.format("from"))
    elif present:
        done.append(where.format("is already in"))
    else:
        java.run("import", "adding the certificate to the Java keystore")
        undo.append(lambda: java.run("delete", "undoing the Java keystore import"))
        done.append("added " + where.format("to"))


def _keytool(host: HostOps) -> str:
    found = host.which("keytool")
    if found is None and os.environ.get("JAVA_HOME"):
        candidate = str(Path(os.environ["JAVA_HOME"]) / "bin" / "keytool")
        found = host.which(candidate)
    if found is None:
        raise TargetAbsentError("keytool is not installed (needed for --java-cacerts)")
    return found


def _run(host: HostOps, argv: tuple[str, ...], what: str) -> str:
    rc, output = host.run(argv, _TIMEOUT)
    if rc != 0:
        raise TargetError(f"{what} failed (exit {rc}): {output.strip()[-500:]}")
    return output
