"""Install a verified package through ``shared.targets`` and check the result locally.

Everything that can refuse a package runs in :func:`prepare`, before a single byte is written:
the target parameters (a package never sets a command, a program or host policy), the
certificate and key, the key/certificate pair, the target's
availability on this host (program present, directories of its files present, current
configuration valid) and the containment of every planned path in the allowed paths.
:func:`apply` then calls :func:`certmgr.shared.targets.install`, the same orchestrator the agent
uses, with its temporary files, backups, validation, reload, inventory check and rollback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from certmgr.oneclick.bundle import CheckSpec, split_check_params
from certmgr.shared.clock import Clock
from certmgr.shared.deploycheck import CheckOutcome, evaluate
from certmgr.shared.envelope import Manifest
from certmgr.shared.errors import TargetAbsentError, TargetError, TargetMisconfiguredError
from certmgr.shared.pki.keys import ensure_key_matches
from certmgr.shared.targets import (
    AvailabilityState,
    HostOps,
    InstallResult,
    Material,
    Plan,
    Target,
    ensure_within,
    install,
    target_for_package,
)
from certmgr.shared.tlsprobe import probe

CHECK_TIMEOUT: Final = 15.0
"""Seconds the local check may take in all (the server may need a moment after its reload)."""
_STABLE: Final = 3  # consecutive handshakes that must serve the new leaf (draining workers)
_PROBE_TIMEOUT: Final = 5.0
_PAUSE: Final = 0.1


@dataclass(frozen=True)
class Prepared:
    """A package that passed every check and is ready to install."""

    manifest: Manifest
    target: Target
    material: Material
    plan: Plan
    check: CheckSpec | None
    notes: tuple[str, ...] = ()


def prepare(
    manifest: Manifest,
    host: HostOps,
    *,
    allowed_paths: tuple[str, ...] | None = None,
    local: Mapping[str, object] | None = None,
) -> Prepared:
    """Build the target and the material and run every pre-install check. Writes nothing.

    The package supplies data only; a package that carries a command, a program, a file the
    target reads, an owner, a mode or an allow-list is refused before anything is read or run
    (:func:`certmgr.shared.targets.target_for_package`, the agent's rule too).

    Args:
        manifest: The verified manifest.
        host: The host seam (``RealHost()``).
        allowed_paths: The operator's own allow-list (``--allow-path``); None: ``allowed_paths``
            in ``local``, else the target's default folders.
        local: This host's own parameter values for the target (the installer configuration).

    Returns:
        The prepared install.

    Raises:
        LocalOnlyParamError: The package carries a parameter only this host may set.
        NoAllowedPathsError: The target has no default folders and the host named none.
        ValidationError: Bad target parameters or check keys, or material unfit for the target.
        UnsupportedFormatError: The certificate, chain or key cannot be read.
        KeyMismatchError: The key does not belong to the certificate.
        TargetAbsentError: The server software is not installed here.
        TargetMisconfiguredError: A directory is missing or the current configuration is broken.
        PathNotAllowedError: A planned file lies outside the allowed paths.
        TargetError: The host could not be inspected.
    """
    params, check = split_check_params(manifest.target_params)
    target = target_for_package(
        manifest.target_type, params, host, local=local, allowed_paths=allowed_paths
    )
    material = Material.load(
        manifest.certificate_pem, manifest.chain_pem, manifest.private_key_pkcs8
    )
    if material.key is not None:
        ensure_key_matches(material.key, material.certificate)
    availability = target.availability()
    if availability.state is AvailabilityState.ABSENT:
        raise TargetAbsentError(f"{target.name} is not usable here: {availability.reason}")
    if availability.state is AvailabilityState.MISCONFIGURED:
        raise TargetMisconfiguredError(f"{target.name} is not ready: {availability.reason}")
    plan = target.plan(material)
    ensure_within(target, plan)
    return Prepared(manifest, target, material, plan, check, _notes(target, material))


def _notes(target: Target, material: Material) -> tuple[str, ...]:
    # The installer keeps no state: what is installed now is its only hint of a downgrade.
    try:
        installed = target.inventory()
    except TargetError as err:  # a hint only; install() reports real failures
        return (f"cannot read what is installed now: {err}",)
    new_end = material.certificate.not_valid_after_utc
    notes = []
    for cert in installed:
        if cert.sha256 == material.sha256:
            notes.append(f"{cert.location} already holds this certificate (installing it again)")
        elif cert.not_after > new_end:
            notes.append(
                f"{cert.location} holds a certificate valid until {cert.not_after:%Y-%m-%d}, "
                f"later than this package's ({new_end:%Y-%m-%d}): is this package out of date?"
            )
    return tuple(notes)


def apply(prepared: Prepared) -> InstallResult:
    """Install through the shared orchestrator (same rollback guarantees as the agent).

    Raises:
        RollbackFailedError: The install failed and restoring the old files failed too.
        TargetError: The install failed; the old files are back (ValidationFailedError,
            ReloadFailedError, InventoryMismatchError, ...).
        CertmgrError: Another refusal from the target (e.g. PathNotAllowedError).
    """
    return install(prepared.target, prepared.material)


def local_check(
    spec: CheckSpec,
    material: Material,
    clock: Clock,
    *,
    timeout: float = CHECK_TIMEOUT,
) -> CheckOutcome:
    """Probe the reloaded server until it serves the new leaf on several handshakes in a row.

    Right after a reload, old workers may serve the previous certificate for a short while, so
    one handshake proves nothing either way. The check ends as soon as ``_STABLE`` handshakes
    in a row show the new leaf, or when ``timeout`` runs out (with the last verdict).

    Args:
        spec: Where to connect.
        material: What was installed.
        clock: Time source for the verdict.
        timeout: Seconds for the whole check.

    Returns:
        The last verdict (``ok`` False when the new leaf was never stable).

    Raises:
        ValidationError: The check host, port or SNI is unusable.
    """
    return asyncio.run(_poll(spec, material, clock, timeout))


async def _poll(spec: CheckSpec, material: Material, clock: Clock, budget: float) -> CheckOutcome:
    deadline = time.monotonic() + budget
    streak = 0
    while True:
        remaining = deadline - time.monotonic()
        result = await probe(
            spec.host,
            spec.port,
            sni=spec.sni,
            timeout=max(0.5, min(_PROBE_TIMEOUT, remaining)),
            trust_roots=(),  # trust is not judged here; the controller's CA may be private
        )
        outcome = evaluate(result, material.sha256, material.chain, now=clock.now())
        streak = streak + 1 if outcome.matches_current else 0
        if streak >= _STABLE or time.monotonic() + _PAUSE >= deadline:
            return outcome
        await asyncio.sleep(_PAUSE)
