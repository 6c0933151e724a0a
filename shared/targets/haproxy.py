"""HAProxy: one PEM file with leaf, chain and key; ``haproxy -c``; SIGUSR2 to the master (or a command).

``haproxy -c`` catches a key that does not match the certificate. After SIGUSR2 with a bad file
the old worker keeps serving (RECIPES-SERVERS section 4), so a failed validate never gets that far.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from certmgr.shared.errors import ReloadFailedError, TargetError, ValidationError
from certmgr.shared.targets import _codec
from certmgr.shared.targets.base import (
    InstalledCert,
    Material,
    ParamSource,
    Plan,
    PlannedFile,
    Target,
    TargetParams,
    param,
)

_MAX_PID = 2**22


@dataclass(frozen=True, kw_only=True)
class HaproxyParams(TargetParams):
    """The combined PEM file, the configuration, and how to reload."""

    pem_path: str = param(
        "File named by 'crt' on the bind line (leaf, chain and key)",
        source=ParamSource.PACKAGE,
        path=True,
    )
    config_file: str = param(
        "haproxy.cfg, checked with haproxy -c -f", source=ParamSource.LOCAL, absolute=True
    )
    haproxy_binary: str = param("haproxy program", source=ParamSource.LOCAL, default="haproxy")
    master_pid_file: str | None = param(
        "Pid file of the master-worker master (-W -p); reload sends it SIGUSR2",
        source=ParamSource.LOCAL,
        default=None,
        absolute=True,
    )
    reload_cmd: tuple[str, ...] = param(
        "Reload command as an argument list (instead of the pid file)",
        source=ParamSource.LOCAL,
        default=(),
    )

    def __post_init__(self) -> None:
        """Require exactly one way to reload.

        Raises:
            ValidationError: Neither or both of ``master_pid_file`` and ``reload_cmd``.
        """
        if bool(self.master_pid_file) == bool(self.reload_cmd):
            raise ValidationError(
                "set either master_pid_file or reload_cmd", field="master_pid_file"
            )


class HaproxyTarget(Target):
    """HAProxy 2.x in master-worker mode (or reloaded by a service manager)."""

    name = "haproxy"
    default_allowed_paths = ("/etc/haproxy",)
    params_type = HaproxyParams
    summary = "HAProxy load balancer"
    params: HaproxyParams

    def binaries(self) -> tuple[str, ...]:
        """The haproxy program."""
        return (self.params.haproxy_binary,)

    def config_check(self) -> tuple[str, ...]:
        """``haproxy -c -f cfg`` on the current configuration (``-q`` would hide the errors too)."""
        return (self.params.haproxy_binary, "-c", "-f", self.params.config_file)

    def plan(self, material: Material) -> Plan:
        """One PEM file (leaf, chain, key; key mode), ``haproxy -c``, then the reload.

        Raises:
            ValidationError: No private key in ``material``.
        """
        p = self.params
        key = material.require_key(self.name)
        data = _codec.certs_pem([material.certificate, *material.chain]) + _codec.key_pem(key)
        return Plan(
            target=self.name,
            sha256=material.sha256,
            files=(
                PlannedFile(
                    p.pem_path,
                    data,
                    mode=p.private_key_mode(),
                    owner=p.owner,
                    group=p.group,
                    secret=True,
                ),
            ),
            validate=self.config_check(),
            reload=p.reload_cmd,
            signal=""
            if p.reload_cmd
            else f"send SIGUSR2 to the master whose pid is in {p.master_pid_file}",
        )

    def reload(self, plan: Plan) -> None:
        """Run ``reload_cmd``, or send SIGUSR2 to the master named in the pid file.

        Raises:
            ReloadFailedError: The command failed, or the pid file is missing, bad or stale.
        """
        if plan.reload:
            super().reload(plan)
            return
        pid_file = self.params.master_pid_file
        if not pid_file:  # pragma: no cover - excluded by HaproxyParams
            raise ReloadFailedError("no way to reload haproxy is configured")
        try:
            raw = self.host.read_file(pid_file)
        except TargetError as err:
            raise ReloadFailedError(f"cannot read {pid_file}: {err}") from err
        text = (raw or b"").decode("ascii", errors="replace").split()
        if not text or not text[0].isdigit() or not 1 < int(text[0]) < _MAX_PID:
            raise ReloadFailedError(f"{pid_file} does not hold a process id")
        try:
            self.host.send_signal(int(text[0]), signal.SIGUSR2)
        except TargetError as err:
            raise ReloadFailedError(
                f"haproxy master (pid {text[0]}) did not take SIGUSR2: {err}"
            ) from err

    def inventory(self) -> list[InstalledCert]:
        """The leaf in ``pem_path``.

        Raises:
            TargetError: The file cannot be read.
        """
        return _codec.pem_leaf_inventory(self.host, self.params.pem_path)
