"""Install targets (DESIGN section 5): one plugin per server software, one orchestrator.

Use :func:`get_target` to build a target from its name and a parameter dict, then
:func:`install` it (synchronous and blocking: the agent calls it through ``asyncio.to_thread``).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from certmgr.shared.errors import ValidationError
from certmgr.shared.targets._host import FileInfo, HostOps, RealHost
from certmgr.shared.targets._install import ensure_within, install
from certmgr.shared.targets._params import check_absolute, choices, parse_params, type_label
from certmgr.shared.targets._policy import (
    LocalOnlyParamError,
    NoAllowedPathsError,
    default_allowed_paths,
    local_only_params,
    package_params,
    param_source,
    refuse_local_only,
    target_for_package,
)
from certmgr.shared.targets._txn import FileTransaction
from certmgr.shared.targets.apache import ApacheParams, ApacheTarget
from certmgr.shared.targets.base import (
    Availability,
    AvailabilityState,
    InstalledCert,
    InstallResult,
    Material,
    ParamSource,
    Plan,
    PlannedFile,
    Target,
    TargetParams,
)
from certmgr.shared.targets.files import FilesParams, FilesTarget
from certmgr.shared.targets.haproxy import HaproxyParams, HaproxyTarget
from certmgr.shared.targets.java_keystore import (
    JavaKeystoreParams,
    JavaKeystoreTarget,
    KeystoreType,
)
from certmgr.shared.targets.nginx import ChainMode, NginxParams, NginxTarget

TARGETS: Mapping[str, type[Target]] = MappingProxyType(
    {
        t.name: t
        for t in (
            NginxTarget,
            ApacheTarget,
            HaproxyTarget,
            JavaKeystoreTarget,
            FilesTarget,
        )
    }
)
"""Every target, by name. Read-only: the set of targets is closed (STYLE section 2)."""


def get_target(
    name: str,
    params: Mapping[str, object],
    host: HostOps,
    *,
    allowed_paths: tuple[str, ...] | None = None,
) -> Target:
    """Build the target ``name`` with parameters parsed from a JSON-like dict.

    Args:
        name: A key of :data:`TARGETS`.
        params: Parameter values (JSON types; ``Secret`` values are accepted for passwords).
        host: The host seam (``RealHost()`` in production).
        allowed_paths: The receiver's own write allow-list. When given it replaces any
            ``allowed_paths`` in ``params``. This builds a target from trusted values (local
            configuration, tests); receivers of a package use :func:`target_for_package`,
            which refuses what a package may not say.

    Returns:
        The ready-to-use target.

    Raises:
        ValidationError: Unknown target, unknown or missing parameter, wrong type, or a path
            that is not absolute and normal (``field`` names the parameter).
    """
    cls = TARGETS.get(name)
    if cls is None:
        raise ValidationError(
            f"unknown target type {name!r} (use one of {', '.join(TARGETS)})", field="target_type"
        )
    parsed = parse_params(cls.params_type, params)
    if allowed_paths is not None:
        for path in allowed_paths:
            check_absolute("allowed_paths", path)
        parsed = dataclasses.replace(parsed, allowed_paths=tuple(allowed_paths))
    return cls(parsed, host)


@dataclass(frozen=True)
class ParamInfo:
    """One parameter of a target, for forms and ``--help`` (from the dataclass field metadata)."""

    name: str
    type: str
    required: bool
    default: object
    help: str
    secret: bool
    choices: tuple[str, ...] = ()
    local_only: bool = True  # only the receiving host sets it; a package carrying it is refused


def describe_params(name: str) -> list[ParamInfo]:
    """The parameters of target ``name`` with their help text, in declaration order.

    Raises:
        ValidationError: Unknown target.
    """
    cls = TARGETS.get(name)
    if cls is None:
        raise ValidationError(f"unknown target type {name!r}", field="target_type")
    hints = typing.get_type_hints(cls.params_type)
    out = []
    for f in dataclasses.fields(cls.params_type):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out.append(
            ParamInfo(
                name=f.name,
                type=type_label(hints[f.name]),
                required=required,
                default=None if required else f.default,
                help=str(f.metadata.get("help", "")),
                secret=bool(f.metadata.get("secret")),
                choices=choices(hints[f.name]),
                local_only=param_source(f) is not ParamSource.PACKAGE,
            )
        )
    return out


__all__ = [
    "TARGETS",
    "ApacheParams",
    "ApacheTarget",
    "Availability",
    "AvailabilityState",
    "ChainMode",
    "FileInfo",
    "FileTransaction",
    "FilesParams",
    "FilesTarget",
    "HaproxyParams",
    "HaproxyTarget",
    "HostOps",
    "InstallResult",
    "InstalledCert",
    "JavaKeystoreParams",
    "JavaKeystoreTarget",
    "KeystoreType",
    "LocalOnlyParamError",
    "Material",
    "NginxParams",
    "NginxTarget",
    "NoAllowedPathsError",
    "ParamInfo",
    "ParamSource",
    "Plan",
    "PlannedFile",
    "RealHost",
    "Target",
    "TargetParams",
    "default_allowed_paths",
    "describe_params",
    "ensure_within",
    "get_target",
    "install",
    "local_only_params",
    "package_params",
    "param_source",
    "refuse_local_only",
    "target_for_package",
]
