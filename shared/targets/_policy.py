"""What a package may say (DESIGN section 8): the one classification agent and installer share.

Every field of every target's parameter dataclass is marked :attr:`ParamSource.PACKAGE` (data a
package may carry; the paths among them are files the target writes, checked against the
receiver's allow-list) or :attr:`ParamSource.LOCAL` (commands, programs, files read or handed to
a program, owners, modes, the allow-list: only the receiving host's configuration or the
plugin's default). :func:`target_for_package` is the receivers' single entry point: it refuses a
package that carries a local-only parameter, whatever its value, before anything is read,
written or run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from certmgr.shared.errors import EnvelopeError, ValidationError
from certmgr.shared.targets._host import HostOps
from certmgr.shared.targets.base import ParamSource, Target, TargetParams


class LocalOnlyParamError(EnvelopeError):
    """A package carries a parameter that only the receiving host may set."""

    def __init__(self, target_type: str, param: str) -> None:
        """Create the error.

        Args:
            target_type: The package's target type.
            param: The refused parameter name.
        """
        super().__init__(
            f"the package sets the {target_type} parameter {param!r}, which only this host's "
            "own configuration may set (commands, programs, configuration files, owners, modes "
            "and allowed paths never come from a package); nothing was written or run"
        )
        self.target_type = target_type
        self.param = param


class NoAllowedPathsError(EnvelopeError):
    """The receiver has no allow-list for a target whose file paths come from the package."""

    def __init__(self, target_type: str) -> None:
        """Create the error.

        Args:
            target_type: The package's target type.
        """
        super().__init__(
            f"this host names no folders the {target_type} target may write: give them in its "
            "local configuration (allowed_paths); nothing was written or run"
        )
        self.target_type = target_type


def _params_type(target_type: str) -> type[TargetParams]:
    from certmgr.shared.targets import TARGETS  # lazy: the registry imports this module

    cls = TARGETS.get(target_type)
    if cls is None:
        raise ValidationError(f"unknown target type {target_type!r}", field="target_type")
    return cls.params_type


def param_source(field: dataclasses.Field[object]) -> ParamSource | None:
    """The classification of one parameter field (None: unclassified, a bug the tests catch)."""
    source = field.metadata.get("source")
    return source if isinstance(source, ParamSource) else None


def local_only_params(target_type: str) -> frozenset[str]:
    """Parameters of ``target_type`` a package may never carry.

    An unclassified field counts as local-only (refuse rather than trust).

    Raises:
        ValidationError: Unknown target type.
    """
    return frozenset(
        f.name
        for f in dataclasses.fields(_params_type(target_type))
        if param_source(f) is not ParamSource.PACKAGE
    )


def package_params(target_type: str) -> frozenset[str]:
    """Parameters of ``target_type`` a package may carry.

    Raises:
        ValidationError: Unknown target type.
    """
    return frozenset(
        f.name
        for f in dataclasses.fields(_params_type(target_type))
        if param_source(f) is ParamSource.PACKAGE
    )


def refuse_local_only(target_type: str, params: Mapping[str, object]) -> None:
    """Refuse package parameters that only the receiving host may set, whatever their value.

    Names that are no parameter of the target are left to the parameter parser.

    Raises:
        LocalOnlyParamError: The first local-only parameter, in sorted order.
        ValidationError: Unknown target type.
    """
    local = local_only_params(target_type)
    for key in sorted(str(k) for k in params):
        if key in local:
            raise LocalOnlyParamError(target_type, key)


def default_allowed_paths(target_type: str) -> tuple[str, ...] | None:
    """The allow-list a receiver without its own uses for ``target_type``.

    The plugin's fixed default folders; when it has none and no package parameter names a path
    (every file it writes is derived from local parameters), None: the declared files.

    Raises:
        NoAllowedPathsError: The package names the files and the plugin has no default.
        ValidationError: Unknown target type.
    """
    from certmgr.shared.targets import TARGETS  # lazy: the registry imports this module

    _params_type(target_type)
    cls = TARGETS[target_type]
    if cls.default_allowed_paths:
        return cls.default_allowed_paths
    carried_paths = [
        f
        for f in dataclasses.fields(cls.params_type)
        if param_source(f) is ParamSource.PACKAGE and f.metadata.get("path")
    ]
    if carried_paths:
        raise NoAllowedPathsError(target_type)
    return None


def target_for_package(
    target_type: str,
    package: Mapping[str, object],
    host: HostOps,
    *,
    local: Mapping[str, object] | None = None,
    allowed_paths: tuple[str, ...] | None = None,
) -> Target:
    """Build the target a package addresses, from the host's own values and the package's data.

    Args:
        target_type: The package's target type.
        package: The package's target parameters (receiver-specific keys already removed).
        host: The host seam.
        local: The host's own parameter values (agent.toml table, installer configuration);
            package data fills in beside them.
        allowed_paths: The host's own allow-list; None or empty: ``allowed_paths`` in ``local``,
            else :func:`default_allowed_paths` (an empty list never means "whatever the
            package declares").

    Returns:
        The target, whose commands, programs and allow-list come from ``local`` or the plugin.

    Raises:
        LocalOnlyParamError: The package carries a local-only parameter.
        NoAllowedPathsError: No allow-list on this host for package-named files.
        ValidationError: Unknown target, unknown, missing or wrong parameters.
    """
    from certmgr.shared.targets import get_target  # lazy: the registry imports this module

    refuse_local_only(target_type, package)
    own = dict(local or {})
    if not allowed_paths:
        listed = own.pop("allowed_paths", None)
        if listed and isinstance(listed, list | tuple) and all(isinstance(p, str) for p in listed):
            allowed_paths = tuple(str(p) for p in listed)
        elif listed:
            raise ValidationError("allowed_paths must be a list of paths", field="allowed_paths")
        else:
            allowed_paths = default_allowed_paths(target_type)
    else:
        own.pop("allowed_paths", None)
    return get_target(target_type, {**own, **package}, host, allowed_paths=allowed_paths)
