"""The one-click installer's command line: one executable, two kinds of stamped package.

Usage (the stamped executable reads its own stamp; ``--package FILE`` reads another file's)::

    INSTALLER [--passphrase-file FILE] [--dry-run] [--yes] [--config FILE] [--allow-path PATH]...
              [--controller-key-id ID] [--check-timeout SECONDS] [--log FILE | --no-log]
    UNPACKER --unpack DIR [--passphrase-file FILE] [--dry-run] [--controller-key-id ID]
    CA-INSTALLER [--uninstall] [--root DIR] [--no-update] [--java-cacerts PATH
              [--java-storepass PASS | --java-storepass-file FILE]] [--dry-run] [--yes]

Exit codes (the table shared with ``certmgr`` and ``certmgr-agent``, ``certmgr.shared.exitcodes``):
0 installed and checked (or the check was not asked for), 1 installed but the local check
failed, 2 bad input (options, passphrase, no package, cancelled), 7 package refused (damaged,
truncated, altered, expired, not for this host, paths outside the allowed ones, a command,
program or other parameter only this host's configuration may set), 8 install failed and rolled
back (unpacking: the files could not be written; none are left), 11 rollback failed (the host
was left changed), 130 interrupted. ``--unpack`` into a folder that already holds one of the
package's files is bad input (2): nothing is overwritten.
Each step turns what went wrong into an error of the family that says so; ``main`` maps it to
the code, once.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TextIO

from certmgr.oneclick import __version__, report
from certmgr.oneclick.bundle import open_package, package_path, read_carried
from certmgr.oneclick.bundle import read_passphrase_file as _read_passphrase_file
from certmgr.oneclick.cacert import DEFAULT_STOREPASS, apply_ca, load_ca, plan_ca
from certmgr.oneclick.install import CHECK_TIMEOUT, apply, local_check, prepare
from certmgr.oneclick.localconf import DEFAULT_CONFIG, ENV_CONFIG, config_path, load_local_config
from certmgr.oneclick.unpack import plan_unpack, write_unpacked
from certmgr.shared import exitcodes
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.deploycheck import CheckOutcome
from certmgr.shared.envelope import Manifest
from certmgr.shared.errors import (
    CertmgrError,
    ConflictError,
    EnvelopeError,
    InputError,
    RollbackFailedError,
    TargetError,
    WrongPasswordError,
)
from certmgr.shared.packagefiles import UNPACK_TARGET
from certmgr.shared.pki.summary import summarize
from certmgr.shared.receipt import CheckResult, make_receipt, result_of
from certmgr.shared.secret import Secret
from certmgr.shared.stamp import CaCertPayload, DeployPayload, NoStampError
from certmgr.shared.targets import HostOps, RealHost

EXIT_OK: Final = exitcodes.OK
EXIT_CHECK_FAILED: Final = exitcodes.PROBLEMS_FOUND
EXIT_INPUT: Final = exitcodes.BAD_INPUT
EXIT_REFUSED: Final = exitcodes.PACKAGE_REFUSED
EXIT_INSTALL_FAILED: Final = exitcodes.INSTALL_FAILED
EXIT_ROLLBACK_FAILED: Final = exitcodes.ROLLBACK_FAILED

_DEPLOY_ONLY: Final = (
    "passphrase_file",
    "config",
    "allow_path",
    "controller_key_id",
    "check_timeout",
    "unpack",
)
_INSTALL_ONLY: Final = ("config", "allow_path", "check_timeout")
_CACERT_ONLY: Final = (
    "uninstall",
    "root",
    "no_update",
    "java_cacerts",
    "java_storepass",
    "java_storepass_file",
)


@contextmanager
def _refusals(kind: type[CertmgrError]) -> Iterator[None]:
    """Report a certmgr error of this step as ``kind``; a wrong passphrase or no package stays bad input."""
    try:
        yield
    except (WrongPasswordError, NoStampError, kind):
        raise
    except CertmgrError as err:
        raise kind(str(err)) from err


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 600")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (its defaults tell which options were given)."""
    p = argparse.ArgumentParser(
        prog="certmgr-oneclick",
        description="Install the certificate (or CA certificate) this installer carries.",
    )
    p.add_argument("--version", action="version", version=f"certmgr-oneclick {__version__}")
    p.add_argument(
        "--package",
        type=Path,
        metavar="FILE",
        help="read the package stamped onto FILE (tests, dev)",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would be done; write nothing")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--log",
        type=Path,
        metavar="FILE",
        help="log file (default: <installer name>.log beside it)",
    )
    p.add_argument("--no-log", action="store_true", help="write no log file")
    d = p.add_argument_group("certificate packages")
    d.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help="read the passphrase from FILE (-: stdin)",
    )
    d.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="this host's settings for the target: commands, programs, allowed paths "
        f"(default: ${ENV_CONFIG}, else {DEFAULT_CONFIG} if present)",
    )
    d.add_argument(
        "--allow-path",
        action="append",
        metavar="PATH",
        help="only allow writing this file or below this folder (repeatable; replaces "
        "allowed_paths of --config and the target's default folders)",
    )
    d.add_argument(
        "--unpack",
        type=Path,
        metavar="DIR",
        help="protected conventional package: write its files into DIR (install nothing)",
    )
    d.add_argument(
        "--controller-key-id",
        metavar="ID",
        help="refuse a package signed by another controller key",
    )
    d.add_argument(
        "--check-timeout",
        type=_positive,
        metavar="SECONDS",
        help=f"seconds for the local TLS check ({CHECK_TIMEOUT:g})",
    )
    c = p.add_argument_group("CA-certificate packages")
    c.add_argument("--uninstall", action="store_true", help="remove the CA certificate again")
    c.add_argument(
        "--root", type=Path, metavar="DIR", help="file-system root prefix of the trust store"
    )
    c.add_argument("--no-update", action="store_true", help="do not run the store refresh command")
    c.add_argument(
        "--java-cacerts", type=Path, metavar="PATH", help="also add it to this Java keystore"
    )
    pw = c.add_mutually_exclusive_group()
    pw.add_argument(
        "--java-storepass",
        metavar="PASS",
        help=f"Java keystore password (default {DEFAULT_STOREPASS})",
    )
    pw.add_argument(
        "--java-storepass-file", type=Path, metavar="FILE", help="read the Java keystore password"
    )
    return p


def main(
    argv: Sequence[str] | None = None,
    *,
    clock: Clock | None = None,
    host: HostOps | None = None,
    out: TextIO | None = None,
) -> int:
    """Run the installer and return its exit code.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).
        clock: Time source (tests inject a fake).
        host: Host seam for a deploy package (default: the real system).
        out: Where messages go (default: standard output).

    Returns:
        The exit code (see the module docstring).
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error (argparse printed it)
        return exit_.code if isinstance(exit_.code, int) else EXIT_INPUT
    _restore_child_environment()
    stream = out or sys.stdout
    clock = clock or SystemClock()
    rep = report.Report(stream, None, clock)
    try:
        with _refusals(EnvelopeError):
            path = package_path(args.package)
            carried = read_carried(path)
        if not args.no_log:
            rep = report.Report(stream, args.log or report.default_log_path(path), clock)
        payload = carried.payload
        rep.log(f"--- certmgr-oneclick {__version__}: {path}")
        if isinstance(payload, CaCertPayload):
            _only(args, _DEPLOY_ONLY, "a CA-certificate package")
            return _run_cacert(args, carried.name, payload, rep)
        _only(args, _CACERT_ONLY, "a certificate package")
        return _run_deploy(args, carried.name, payload, rep, clock, host or RealHost())
    except KeyboardInterrupt:
        message, code = "interrupted", exitcodes.INTERRUPTED
    except CertmgrError as err:
        message, code = str(err), exitcodes.exit_code_for(err)
    sys.stderr.write(f"certmgr-oneclick: {message}\n")
    rep.log(f"stopped (exit {code}): {message}")
    return code


def _run_deploy(
    args: argparse.Namespace,
    name: str,
    deploy: DeployPayload,
    rep: report.Report,
    clock: Clock,
    host: HostOps,
) -> int:
    if args.unpack is not None:
        _only(args, _INSTALL_ONLY, "--unpack")
        return _run_unpack(args, name, deploy, rep, clock)
    rep.say(f"certmgr one-click installer: {name}")
    _, manifest = _open(args, deploy, clock)
    if manifest.target_type == UNPACK_TARGET:
        raise InputError(
            "this package holds files to install by hand: run it with --unpack DIR (see README.txt)"
        )
    receipt_key = manifest.receipt_key
    if receipt_key is None:
        raise EnvelopeError(
            "the package carries no receipt key: it was not made for the one-click installer"
        )
    with _refusals(InputError):
        local = load_local_config(config_path(args.config))
    with _refusals(EnvelopeError):
        allowed = tuple(args.allow_path) if args.allow_path else None
        prepared = prepare(
            manifest,
            host,
            allowed_paths=allowed,
            local=local.params_for(manifest.target_type),
        )
    rep.say(*report.describe(prepared))
    if args.dry_run:
        rep.say("dry run: nothing was written")
        return EXIT_OK
    _confirm(args.yes, "Install this certificate now?")
    try:
        result = apply(prepared)
    except KeyboardInterrupt as err:  # install() has put the old files back before re-raising
        raise TargetError("interrupted; the previous files are back") from err
    except RollbackFailedError as err:
        raise RollbackFailedError(
            f"install failed AND rollback failed; fix by hand: {err}"
        ) from err
    except CertmgrError as err:
        raise TargetError(f"install failed; the previous files are back: {err}") from err
    rep.say(*report.install_lines(result))
    outcome: CheckOutcome | None = None
    verdict = CheckResult.SKIPPED
    if prepared.check is not None:
        rep.say(f"checking: {report.check_text(prepared.check)}")
        try:
            outcome = local_check(
                prepared.check,
                prepared.material,
                clock,
                timeout=args.check_timeout or CHECK_TIMEOUT,
            )
            verdict = result_of(outcome)
        except CertmgrError as err:
            rep.say(f"local check could not run: {err}")
            verdict = CheckResult.FAILED
        except KeyboardInterrupt:
            rep.say("local check interrupted")
            verdict = CheckResult.FAILED
    rep.say(*report.outcome_lines(outcome, verdict))
    code = make_receipt(
        deployment_id=manifest.deployment_id,
        sequence=manifest.sequence,
        sha256=result.sha256,
        result=verdict,
        at=clock.now(),
        receipt_key=receipt_key,
    )
    ok = verdict in (CheckResult.OK, CheckResult.SKIPPED)
    rep.say(*report.receipt_lines(code, ok, manifest.deployment_id))
    if rep.log_path is not None:
        rep.say(f"(log: {rep.log_path})")
    return EXIT_OK if ok else EXIT_CHECK_FAILED


def _open(
    args: argparse.Namespace, deploy: DeployPayload, clock: Clock
) -> tuple[Secret[bytes], Manifest]:
    """Ask for the passphrase and open the package (the caller checks what kind it is)."""
    passphrase = _passphrase(args.passphrase_file)
    with _refusals(EnvelopeError):
        manifest = open_package(
            deploy,
            passphrase,
            now=clock.now(),
            expected_key_id=args.controller_key_id,
            needs_receipt_key=False,
        )
    return passphrase, manifest


def _run_unpack(
    args: argparse.Namespace,
    name: str,
    deploy: DeployPayload,
    rep: report.Report,
    clock: Clock,
) -> int:
    rep.say(f"certmgr package unpacker: {name}")
    passphrase, manifest = _open(args, deploy, clock)
    try:
        plan = plan_unpack(manifest, args.unpack.absolute(), passphrase)
    except InputError:
        raise
    except ConflictError as err:  # the folder already holds a file: nothing is overwritten
        raise InputError(str(err)) from err
    except CertmgrError as err:
        raise EnvelopeError(str(err)) from err
    rep.say(*plan.describe())
    if args.dry_run:
        rep.say("dry run: nothing was written")
        return EXIT_OK
    try:
        written = write_unpacked(plan)
    except ConflictError as err:  # a file appeared meanwhile: the folder is the problem
        raise InputError(str(err)) from err
    except CertmgrError as err:
        raise TargetError(str(err)) from err
    rep.say(
        f"wrote {len(written)} files; follow README.txt to install them, then delete the package"
    )
    return EXIT_OK


def _run_cacert(
    args: argparse.Namespace, name: str, payload: CaCertPayload, rep: report.Report
) -> int:
    rep.say(f"certmgr CA-certificate installer: {name}")
    if args.root is not None and not args.root.is_dir():
        raise InputError(f"--root {args.root} is not a folder")
    storepass = _storepass(args)
    with _refusals(EnvelopeError):
        cert = load_ca(payload.certificate_pem)
        host = RealHost(args.root)
        plan = plan_ca(
            cert,
            host,
            root=args.root,
            refresh=not args.no_update,
            java_cacerts=args.java_cacerts,
            uninstall=args.uninstall,
        )
    s = summarize(cert)
    rep.say(f"CA certificate: {s.subject}", f"  sha256: {s.sha256}")
    rep.say(f"  valid until: {s.not_after:%Y-%m-%d}", *report.indent(plan.describe()))
    if args.dry_run:
        rep.say("dry run: nothing was changed")
        return EXIT_OK
    _confirm(args.yes, "Remove this CA certificate?" if args.uninstall else "Trust this CA?")
    try:
        done = apply_ca(plan, host, storepass)
    except RollbackFailedError as err:
        raise RollbackFailedError(f"failed AND undoing failed: {err}") from err
    except CertmgrError as err:
        raise TargetError(f"failed; earlier steps were undone: {err}") from err
    rep.say(*done, "done")
    return EXIT_OK


def _only(args: argparse.Namespace, names: tuple[str, ...], kind: str) -> None:
    for name in names:
        if getattr(args, name) not in (None, False):
            option = "--" + name.replace("_", "-")
            raise InputError(f"{option} does not apply to {kind}")


def _passphrase(path: Path | None) -> Secret[bytes]:
    with _refusals(InputError):
        if path is not None:
            return _read_passphrase_file(path)
        if not sys.stdin.isatty():
            raise InputError("no terminal to ask for the passphrase: use --passphrase-file")
        typed = getpass.getpass("Passphrase: ")
        if not typed:
            raise InputError("no passphrase given")
        return Secret(typed.encode("utf-8"))


def _storepass(args: argparse.Namespace) -> Secret[str]:
    if args.java_storepass_file is not None:
        with _refusals(InputError):
            raw = _read_passphrase_file(args.java_storepass_file).reveal()
            return Secret(raw.decode("utf-8", errors="replace"))
    return Secret(args.java_storepass or DEFAULT_STOREPASS)


def _confirm(yes: bool, question: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise InputError("no terminal to confirm on: pass --yes")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise InputError("cancelled; nothing was changed")


def _restore_child_environment() -> None:
    # A one-file PyInstaller bootloader points LD_LIBRARY_PATH at its bundled libraries; nginx,
    # keytool or update-ca-certificates started from here must load the system's own.
    if not getattr(sys, "frozen", False):
        return
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)
