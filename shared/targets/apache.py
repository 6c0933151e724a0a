"""Apache httpd 2.4: certificate and key files, our own key/certificate check, ``-t``, ``-k graceful``.

``apache2 -t`` accepts a key that does not match the certificate (and even a garbage certificate
file), and a graceful restart with such files stops the whole server. So :meth:`ApacheTarget.validate`
reads the new files back and checks the pair before the configuration test, and the reload
only happens once both passed (RECIPES-SERVERS section 3).
"""

from __future__ import annotations

from dataclasses import dataclass

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

_PAIR_CHECK = "the new private key matches the new certificate (apache2 -t does not check this)"


@dataclass(frozen=True, kw_only=True)
class ApacheParams(TargetParams):
    """Where Apache reads its certificate and key, and how to run it."""

    cert_path: str = param(
        "SSLCertificateFile (leaf and intermediates unless chain_path is set)",
        source=ParamSource.PACKAGE,
        path=True,
    )
    key_path: str = param("SSLCertificateKeyFile", source=ParamSource.PACKAGE, path=True)
    chain_path: str | None = param(
        "SSLCertificateChainFile; when set, cert_path holds the leaf alone",
        source=ParamSource.PACKAGE,
        default=None,
        path=True,
    )
    apache_binary: str = param(
        "apache2, httpd or apachectl program", source=ParamSource.LOCAL, default="apache2"
    )
    config_file: str | None = param(
        "Main configuration file passed as -f",
        source=ParamSource.LOCAL,
        default=None,
        absolute=True,
    )
    server_root: str | None = param(
        "ServerRoot passed as -d", source=ParamSource.LOCAL, default=None, absolute=True
    )


class ApacheTarget(Target):
    """Apache httpd 2.4 with mod_ssl."""

    name = "apache"
    default_allowed_paths = ("/etc/apache2", "/etc/httpd")
    params_type = ApacheParams
    summary = "Apache httpd 2.4 (mod_ssl)"
    params: ApacheParams

    def _args(self) -> tuple[str, ...]:
        p = self.params
        out: list[str] = []
        if p.config_file:
            out += ["-f", p.config_file]
        if p.server_root:
            out += ["-d", p.server_root]
        return tuple(out)

    def binaries(self) -> tuple[str, ...]:
        """The Apache program."""
        return (self.params.apache_binary,)

    def config_check(self) -> tuple[str, ...]:
        """``apache2 -t`` on the current configuration."""
        return (self.params.apache_binary, "-t", *self._args())

    def plan(self, material: Material) -> Plan:
        """Certificate (full chain, or leaf plus chain file), key, pair check, ``-t``, graceful.

        Raises:
            ValidationError: No private key in ``material``.
        """
        p = self.params
        key = material.require_key(self.name)
        if p.chain_path:
            cert_data = _codec.certs_pem([material.certificate])
        else:
            cert_data = _codec.certs_pem([material.certificate, *material.chain])
        files = [PlannedFile(p.cert_path, cert_data, owner=p.owner, group=p.group)]
        if p.chain_path:
            files.append(
                PlannedFile(
                    p.chain_path, _codec.certs_pem(material.chain), owner=p.owner, group=p.group
                )
            )
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
            checks=(_PAIR_CHECK,),
            validate=self.config_check(),
            reload=(p.apache_binary, "-k", "graceful", *self._args()),
        )

    def validate(self, plan: Plan) -> None:
        """Check the written key against the written certificate, then run ``apache2 -t``.

        Raises:
            ValidationFailedError: Unreadable files, a key/certificate mismatch, or ``-t`` failed.
        """
        _codec.check_pair_files(self.host, self.params.cert_path, self.params.key_path)
        super().validate(plan)

    def inventory(self) -> list[InstalledCert]:
        """The leaf in ``cert_path``.

        Raises:
            TargetError: The file cannot be read.
        """
        return _codec.pem_leaf_inventory(self.host, self.params.cert_path)
