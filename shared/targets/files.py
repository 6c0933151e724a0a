"""Plain PEM files (any of certificate, key, chain, full chain) with optional check and reload commands."""

from __future__ import annotations

from dataclasses import dataclass

from certmgr.shared.errors import ValidationError
from certmgr.shared.targets import _codec
from certmgr.shared.targets.base import (
    CERT_MODE,
    InstalledCert,
    Material,
    ParamSource,
    Plan,
    PlannedFile,
    Target,
    TargetParams,
    param,
)

_PAIR_CHECK = "the new private key matches the new certificate"


@dataclass(frozen=True, kw_only=True)
class FilesParams(TargetParams):
    """Which files to write, their modes, and the commands to run (argument lists, no shell)."""

    cert_path: str | None = param(
        "Leaf certificate file", source=ParamSource.PACKAGE, default=None, path=True
    )
    key_path: str | None = param(
        "Private key file (unencrypted PKCS#8 PEM)",
        source=ParamSource.PACKAGE,
        default=None,
        path=True,
    )
    chain_path: str | None = param(
        "Intermediate certificates file", source=ParamSource.PACKAGE, default=None, path=True
    )
    fullchain_path: str | None = param(
        "Leaf followed by intermediates", source=ParamSource.PACKAGE, default=None, path=True
    )
    cert_mode: int = param(
        "Mode of certificate files, e.g. 0644",
        source=ParamSource.LOCAL,
        default=CERT_MODE,
        octal=True,
    )
    key_mode: int | None = param(
        "Mode of the key file (default 0600, or 0640 with a group)",
        source=ParamSource.LOCAL,
        default=None,
        octal=True,
    )
    validate_cmd: tuple[str, ...] = param(
        "Command that checks the new files, as an argument list",
        source=ParamSource.LOCAL,
        default=(),
    )
    reload_cmd: tuple[str, ...] = param(
        "Command that makes the service use them, as an argument list",
        source=ParamSource.LOCAL,
        default=(),
    )

    def __post_init__(self) -> None:
        """Require a file that holds the leaf.

        Raises:
            ValidationError: Neither ``cert_path`` nor ``fullchain_path`` is set.
        """
        if not self.cert_path and not self.fullchain_path:
            raise ValidationError("set cert_path or fullchain_path", field="cert_path")

    def private_key_mode(self) -> int:
        """``key_mode`` when set, else 0600 (0640 with a group)."""
        return self.key_mode if self.key_mode is not None else super().private_key_mode()


class FilesTarget(Target):
    """Files for any service that reads PEM (mail servers, databases, appliances)."""

    name = "files"
    params_type = FilesParams
    summary = "PEM files with optional validate and reload commands"
    params: FilesParams

    def binaries(self) -> tuple[str, ...]:
        """The programs of the configured commands."""
        return tuple(cmd[0] for cmd in (self.params.validate_cmd, self.params.reload_cmd) if cmd)

    def plan(self, material: Material) -> Plan:
        """One file per configured path, then the commands.

        Raises:
            ValidationError: ``key_path`` is set but ``material`` has no key.
        """
        p = self.params
        files: list[PlannedFile] = []

        def cert_file(path: str, data: bytes) -> None:
            files.append(PlannedFile(path, data, mode=p.cert_mode, owner=p.owner, group=p.group))

        if p.cert_path:
            cert_file(p.cert_path, _codec.certs_pem([material.certificate]))
        if p.chain_path:
            cert_file(p.chain_path, _codec.certs_pem(material.chain))
        if p.fullchain_path:
            cert_file(p.fullchain_path, _codec.certs_pem([material.certificate, *material.chain]))
        if p.key_path:
            key = material.require_key(self.name)
            files.append(
                PlannedFile(
                    p.key_path,
                    _codec.key_pem(key),
                    mode=p.private_key_mode(),
                    owner=p.owner,
                    group=p.group,
                    secret=True,
                )
            )
        return Plan(
            target=self.name,
            sha256=material.sha256,
            files=tuple(files),
            checks=(_PAIR_CHECK,) if p.key_path else (),
            validate=p.validate_cmd,
            reload=p.reload_cmd,
        )

    def validate(self, plan: Plan) -> None:
        """Check the written key against the written certificate, then run ``validate_cmd``.

        Raises:
            ValidationFailedError: Unreadable files, a key/certificate mismatch, or the command failed.
        """
        p = self.params
        leaf_file = p.cert_path or p.fullchain_path
        if p.key_path and leaf_file:
            _codec.check_pair_files(self.host, leaf_file, p.key_path)
        super().validate(plan)

    def inventory(self) -> list[InstalledCert]:
        """The leaf in ``cert_path`` (else ``fullchain_path``).

        Raises:
            TargetError: The file cannot be read.
        """
        path = self.params.cert_path or self.params.fullchain_path
        return _codec.pem_leaf_inventory(self.host, path) if path else []
