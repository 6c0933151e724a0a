"""What the installer tells the person running it, and the log file it leaves next to itself.

The log (``<executable name>.log``, appended to) records what was done and the receipt code; it
never holds the passphrase, the private key or keystore passwords (plans describe key files as
"private key material", manifests hide their parameters from ``repr``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from certmgr.oneclick.bundle import CheckSpec
from certmgr.oneclick.install import Prepared
from certmgr.shared.clock import Clock
from certmgr.shared.deploycheck import CheckOutcome
from certmgr.shared.envelope import Manifest
from certmgr.shared.pki.summary import summarize
from certmgr.shared.receipt import CheckResult
from certmgr.shared.targets import InstallResult, Material


class Report:
    """Writes lines to the terminal and, time-stamped, to the log file."""

    def __init__(self, out: TextIO, log_path: Path | None, clock: Clock) -> None:
        """Start a report.

        Args:
            out: Where the person sees messages (standard output).
            log_path: The log file to append to, or None for no log.
            clock: Time source for the log's time stamps.
        """
        self._out = out
        self._log_path = log_path
        self._clock = clock
        self.log_error: str | None = None

    @property
    def log_path(self) -> Path | None:
        """The log file, or None once writing it failed (or when there is none)."""
        return self._log_path

    def say(self, *lines: str) -> None:
        """Show ``lines`` and log them."""
        for line in lines:
            self._out.write(line + "\n")
        self._out.flush()
        self.log(*lines)

    def log(self, *lines: str) -> None:
        """Log ``lines`` only. A log that cannot be written is given up, not fatal."""
        if self._log_path is None:
            return
        stamp = self._clock.now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            with open(self._log_path, "a", encoding="utf-8") as fh:
                fh.writelines(f"{stamp} {line}\n" for line in lines)
        except OSError as err:
            self.log_error = f"cannot write the log file {self._log_path}: {err.strerror}"
            self._log_path = None
            self._out.write(f"warning: {self.log_error}\n")


def default_log_path(package: Path) -> Path:
    """``<name>.log`` next to the installer."""
    return package.with_name(package.name + ".log")


def describe(prepared: Prepared) -> list[str]:
    """What the install will do: the package, the certificate, the plan and the check."""
    m = prepared.manifest
    lines = [*package_lines(m), *certificate_lines(prepared.material, m)]
    lines.append("plan:")
    lines += [f"  {line}" for line in prepared.plan.describe()]
    lines.append(f"  then check: {check_text(prepared.check)}")
    lines += [f"note: {n}" for n in prepared.notes]
    return lines


def package_lines(m: Manifest) -> list[str]:
    """The manifest's public facts."""
    return [
        f"deployment {m.deployment_id}, package sequence {m.sequence}",
        f"signed by controller key {m.controller_key_id}",
        f"package made {_when(m.created_at)}, valid until {_when(m.expires_at)}",
        f"target: {m.target_type}",
    ]


def certificate_lines(material: Material, manifest: Manifest | None = None) -> list[str]:
    """Subject, names, issuer, validity and fingerprint of the leaf."""
    s = summarize(material.certificate)
    lines = [
        f"certificate: {s.subject}",
        f"  names: {', '.join(s.sans) if s.sans else '(none)'}",
        f"  issuer: {s.issuer}",
        f"  valid: {_when(s.not_before)} to {_when(s.not_after)}",
        f"  sha256: {s.sha256}",
        f"  chain: {len(material.chain)} certificate(s)",
    ]
    if manifest is not None and manifest.private_key_pkcs8 is not None:
        lines.append("  private key: included (encrypted in the package)")
    return lines


def check_text(check: CheckSpec | None) -> str:
    """The local check in words."""
    if check is None:
        return "none (the package names no check host)"
    sni = "default" if check.sni is None else (check.sni or "none")
    return f"TLS handshake with {check.host} port {check.port} (server name: {sni})"


def outcome_lines(outcome: CheckOutcome | None, result: CheckResult) -> list[str]:
    """The local check's verdict."""
    if outcome is None:
        return ["local check: skipped"]
    head = "passed" if outcome.ok else f"FAILED ({result.value})"
    lines = [f"local check: {head}"]
    if outcome.served_sha256:
        lines.append(f"  served sha256: {outcome.served_sha256}")
    if outcome.protocol:
        lines.append(f"  protocol: {outcome.protocol} {outcome.cipher or ''}".rstrip())
    lines += [f"  problem: {p}" for p in outcome.problems]
    return lines


def install_lines(result: InstallResult) -> list[str]:
    """What the orchestrator did."""
    lines = [f"installed: {', '.join(result.files)}"]
    if result.validated:
        lines.append("  the new files passed the target's checks")
    if result.reloaded:
        lines.append("  the server was reloaded")
    lines += [f"  kept backup: {b}" for b in result.backups]
    return lines


def receipt_lines(code: str, ok: bool, deployment_id: int) -> list[str]:
    """The receipt code, framed so it is easy to copy, with the command that records it."""
    closing = (
        f"Paste it into deployment #{deployment_id} in the certmgr console, or run this where "
        "certmgr runs, to close the deployment:\n\n"
        f"    certmgr deployment receipt {deployment_id} {code}"
    )
    warn = [] if ok else ["The local check failed: say so when you hand in the code."]
    return ["", "Receipt code:", "", f"    {code}", "", closing, *warn]


def indent(lines: Iterable[str]) -> list[str]:
    """Lines indented by two spaces."""
    return [f"  {line}" for line in lines]


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
