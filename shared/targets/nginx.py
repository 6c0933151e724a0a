"""nginx: certificate (full chain by default) and key files, ``nginx -t``, ``nginx -s reload``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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


class ChainMode(StrEnum):
    """What goes into ``cert_path``."""

    FULLCHAIN = "fullchain"  # leaf then intermediates: what nginx should serve
    LEAF = "leaf"  # the leaf alone (chain served from elsewhere, or not at all)


@dataclass(frozen=True, kw_only=True)
class NginxParams(TargetParams):
    """Where nginx reads its certificate and key, and how to run nginx."""

    cert_path: str = param("ssl_certificate file", source=ParamSource.PACKAGE, path=True)
    key_path: str = param("ssl_certificate_key file", source=ParamSource.PACKAGE, path=True)
    chain: ChainMode = param(
        "fullchain: leaf and intermediates in cert_path; leaf: the leaf alone",
        source=ParamSource.PACKAGE,
        default=ChainMode.FULLCHAIN,
    )
    nginx_binary: str = param("nginx program", source=ParamSource.LOCAL, default="nginx")
    prefix: str | None = param(
        "Prefix directory passed as -p", source=ParamSource.LOCAL, default=None, absolute=True
    )
    conf: str | None = param(
        "Configuration file passed as -c", source=ParamSource.LOCAL, default=None, absolute=True
    )
    error_log: str | None = param(
        "Early error log passed as -e (nginx >= 1.19.5)", source=ParamSource.LOCAL, default="stderr"
    )


class NginxTarget(Target):
    """nginx: the configuration test catches a key that does not match the certificate."""

    name = "nginx"
    default_allowed_paths = ("/etc/nginx",)
    params_type = NginxParams
    summary = "nginx web server"
    params: NginxParams

    def _args(self) -> tuple[str, ...]:
        p = self.params
        out: list[str] = []
        if p.prefix:
            out += ["-p", p.prefix]
        if p.conf:
            out += ["-c", p.conf]
        if p.error_log:
            out += ["-e", p.error_log]
        return tuple(out)

    def binaries(self) -> tuple[str, ...]:
        """The nginx program."""
        return (self.params.nginx_binary,)

    def config_check(self) -> tuple[str, ...]:
        """``nginx -t`` on the current configuration."""
        return (self.params.nginx_binary, "-t", "-q", *self._args())

    def plan(self, material: Material) -> Plan:
        """Certificate file (full chain or leaf), key file, ``nginx -t``, ``nginx -s reload``.

        Raises:
            ValidationError: No private key in ``material``.
        """
        p = self.params
        key = material.require_key(self.name)
        certs = (
            (material.certificate, *material.chain)
            if p.chain is ChainMode.FULLCHAIN
            else (material.certificate,)
        )
        return Plan(
            target=self.name,
            sha256=material.sha256,
            files=(
                PlannedFile(p.cert_path, _codec.certs_pem(certs), owner=p.owner, group=p.group),
                PlannedFile(
                    p.key_path,
                    _codec.key_pem(key),
                    mode=p.private_key_mode(),
                    owner=p.owner,
                    group=p.group,
                    secret=True,
                ),
            ),
            validate=self.config_check(),
            reload=(p.nginx_binary, "-s", "reload", *self._args()),
        )

    def inventory(self) -> list[InstalledCert]:
        """The leaf in ``cert_path``.

        Raises:
            TargetError: The file cannot be read.
        """
        return _codec.pem_leaf_inventory(self.host, self.params.cert_path)
