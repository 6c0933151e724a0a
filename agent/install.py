"""Package -> target glue: open the envelope, apply the local policy, install, make the report.

Local policy, on top of what the envelope checks (signature, sequence, expiry):

- the package addresses a target label configured in ``agent.toml`` (or the only target of its
  type), and the types agree;
- parameters that choose commands, programs, configuration or pid files, owners, groups, file
  modes or the allow-list (the local-only parameters of :mod:`certmgr.shared.targets`, the one
  classification the one-click installer uses too) are refused when the package carries them at
  all: they come from ``agent.toml`` or the plugin's defaults;
- every write stays inside the target's local ``allowed_paths`` (checked by ``install()``).

Everything here blocks: the runner calls :func:`process_package` through ``asyncio.to_thread``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from certmgr.agent.inventory import clip, collect_inventory
from certmgr.agent.settings import AgentSettings, TargetConfig
from certmgr.agent.state import AgentState, Enrollment
from certmgr.shared.clock import Clock
from certmgr.shared.envelope import MalformedPackageError, Manifest, open_for_agent
from certmgr.shared.errors import CertmgrError, ValidationError
from certmgr.shared.pki import public_key_sha256
from certmgr.shared.protocol import (
    TARGET_LABEL_PARAM,
    KeyMissingError,
    ParamNotAllowedError,
    Report,
    TargetNotConfiguredError,
    WorkPackage,
    error_kind_for,
)
from certmgr.shared.secret import Secret
from certmgr.shared.targets import (
    TARGETS,
    HostOps,
    LocalOnlyParamError,
    Material,
    Target,
    install,
    refuse_local_only,
    target_for_package,
)

logger = logging.getLogger(__name__)

MAX_MESSAGES: Final = 64
MAX_ERROR: Final = 4000


@dataclass(frozen=True)
class InstallContext:
    """What processing a package needs."""

    settings: AgentSettings
    state: AgentState
    enrollment: Enrollment
    host: HostOps
    clock: Clock


def process_package(ctx: InstallContext, package: WorkPackage) -> Report:
    """Open, check and install one package; never raises, the outcome is the report.

    On refusal or failure nothing is left changed on the host (``install()`` rolls back), and
    the recorded sequence stays as it was.
    """
    label = ""
    try:
        manifest = open_package(ctx, package)
        cfg, target, params = resolve_target(ctx.settings, manifest, ctx.host)
        label = cfg.label
        sha256, messages = _apply(ctx, manifest, cfg, target, params)
    except CertmgrError as err:
        logger.warning(
            "package for deployment %s sequence %s refused or failed: %s",
            package.deployment_id,
            package.sequence,
            err,
        )
        return _report(ctx, package, label, error=err)
    except Exception as err:  # noqa: BLE001 - a plugin bug must become a report, not stop the agent
        logger.exception("package for deployment %s failed unexpectedly", package.deployment_id)
        return _report(ctx, package, label, error=err)
    logger.info(
        "installed deployment %s sequence %s into target %s (sha256 %s)",
        package.deployment_id,
        package.sequence,
        label,
        sha256,
    )
    return _report(ctx, package, label, sha256=sha256, messages=messages)


def open_package(ctx: InstallContext, package: WorkPackage) -> Manifest:
    """Decrypt and verify ``package``; refuse it when stale, expired or mislabelled.

    An equal sequence is opened (a re-sent package whose report was lost); :func:`_apply` then
    changes nothing if the target already holds its certificate.

    Raises:
        EnvelopeError: Malformed, bad signature, older than installed, or expired.
        ConfigurationError: The state directory is damaged.
    """
    installed = ctx.state.installed_sequence(package.deployment_id)
    manifest = open_for_agent(
        package.blob,
        ctx.enrollment.x25519,
        ctx.enrollment.controller_verify_key,
        installed_sequence=installed,
        now=ctx.clock.now(),
        allow_same=True,
    )
    if (manifest.deployment_id, manifest.sequence) != (package.deployment_id, package.sequence):
        raise MalformedPackageError(
            "the signed deployment id or sequence differs from the work item's"
        )
    return manifest


def resolve_target(
    settings: AgentSettings, manifest: Manifest, host: HostOps
) -> tuple[TargetConfig, Target, dict[str, Any]]:
    """The local target a manifest addresses, built with the merged parameters.

    Returns:
        The target's configuration, the target, and the parameters it was built with.

    Raises:
        TargetNotConfiguredError: No such label, no unique target of the type, or another type.
        ParamNotAllowedError: The package changes a local-only parameter.
        ValidationError: Unknown, missing or wrong parameters.
    """
    params = dict(manifest.target_params)
    label = params.pop(TARGET_LABEL_PARAM, None)
    if label is not None and not isinstance(label, str):
        raise TargetNotConfiguredError(f"{TARGET_LABEL_PARAM} must be a target label")
    if label:
        cfg = settings.target(label)
        if cfg is None:
            raise TargetNotConfiguredError(f"this agent has no target {label!r}")
    else:
        same = [t for t in settings.targets if t.type == manifest.target_type]
        if len(same) != 1:
            raise TargetNotConfiguredError(
                f"this agent has {len(same)} {manifest.target_type} targets; "
                f"the package must name one in {TARGET_LABEL_PARAM}"
            )
        cfg = same[0]
    if cfg.type != manifest.target_type:
        raise TargetNotConfiguredError(
            f"target {cfg.label!r} is a {cfg.type} target, the package is for {manifest.target_type}"
        )
    check_local_only(cfg, params)
    # Only agent.toml and this package: parameters remembered from earlier packages serve the
    # inventory, never an install (a key_path dropped by the controller must stay dropped).
    merged = {**cfg.params, **params}
    target = target_for_package(
        cfg.type, params, host, local=cfg.params, allowed_paths=cfg.allowed_paths
    )
    return cfg, target, merged


def check_local_only(cfg: TargetConfig, params: Mapping[str, object]) -> None:
    """Refuse a package that carries a local-only parameter, whatever its value.

    Raises:
        ParamNotAllowedError: The first such parameter.
    """
    try:
        refuse_local_only(cfg.type, params)
    except LocalOnlyParamError as err:
        raise ParamNotAllowedError(err.param) from err


def build_material(state: AgentState, manifest: Manifest) -> Material:
    """Certificate, chain and key of a manifest; without a key, the agent-generated one.

    Raises:
        InputError: A file in the package cannot be read.
        ConfigurationError: A generated key on disk is damaged.
    """
    material = Material.load(
        manifest.certificate_pem, manifest.chain_pem, manifest.private_key_pkcs8
    )
    if material.key is None:
        key = state.find_generated_key(public_key_sha256(material.certificate.public_key()))  # type: ignore[arg-type]
        if key is not None:
            material = dataclasses.replace(material, key=key)
    return material


def _apply(
    ctx: InstallContext,
    manifest: Manifest,
    cfg: TargetConfig,
    target: Target,
    params: dict[str, Any],
) -> tuple[str, tuple[str, ...]]:
    material = build_material(ctx.state, manifest)
    try:
        target.plan(material)
    except ValidationError as err:
        if err.field == "key":
            raise KeyMissingError(
                "the package carries no private key and this agent holds none for its certificate"
            ) from err
        raise
    if ctx.state.installed_sequence(manifest.deployment_id) == manifest.sequence and (
        material.sha256 in {c.sha256 for c in target.inventory()}
    ):
        return material.sha256, (
            f"sequence {manifest.sequence} is already installed; nothing changed",
        )
    result = install(target, material)
    ctx.state.record_sequence(manifest.deployment_id, manifest.sequence)
    ctx.state.remember_target_params(cfg.label, _non_secret(cfg.type, params))
    return result.sha256, result.messages


def _non_secret(kind: str, params: Mapping[str, object]) -> dict[str, Any]:
    secret = {
        f.name for f in dataclasses.fields(TARGETS[kind].params_type) if f.metadata.get("secret")
    }
    return {
        k: v
        for k, v in params.items()
        if k not in secret and k != "allowed_paths" and not isinstance(v, Secret)
    }


def _report(
    ctx: InstallContext,
    package: WorkPackage,
    label: str,
    *,
    sha256: str | None = None,
    messages: tuple[str, ...] = (),
    error: BaseException | None = None,
) -> Report:
    try:
        inventory = collect_inventory(ctx.settings, ctx.state, ctx.host)
    except CertmgrError:
        inventory = ()
    return Report(
        deployment_id=package.deployment_id,
        sequence=package.sequence,
        ok=error is None,
        target=label,
        error_kind=None if error is None else error_kind_for(error).value,
        error="" if error is None else _error_text(error),
        installed_sha256=sha256,
        messages=tuple(clip(m) for m in messages[:MAX_MESSAGES]),
        inventory=inventory,
    )


def _error_text(error: BaseException) -> str:
    if isinstance(error, CertmgrError):
        return clip(str(error) or type(error).__name__, MAX_ERROR)
    # Unexpected exceptions may quote arbitrary data: name the type only; the log has the rest.
    return f"internal error in the agent ({type(error).__name__}); see the agent's log"
