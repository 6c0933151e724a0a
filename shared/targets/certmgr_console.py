"""The controller's own console certificate: ``<home>/tls/console.pem`` and an encrypted ``console.key``.

The layout matches what ``certmgr init`` writes and ``certmgr serve`` loads: the full chain
(leaf first) in ``console.pem`` and the key as encrypted PKCS#8 PEM in ``console.key``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from certmgr.shared.secret import Secret
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

CONSOLE_CERT = "console.pem"
CONSOLE_KEY = "console.key"
_PAIR_CHECK = "decrypt the new console.key with the key password and match it to console.pem"


@dataclass(frozen=True, kw_only=True)
class CertmgrParams(TargetParams):
    """Where the controller's home is and how its key file is protected."""

    home: str = param(
        "The controller's home folder (holds tls/)", source=ParamSource.LOCAL, absolute=True
    )
    key_password: Secret[str] = param(
        "Password of the encrypted console.key", source=ParamSource.PACKAGE, secret=True
    )
    reload_cmd: tuple[str, ...] = param(
        "Command that restarts the console, as an argument list",
        source=ParamSource.LOCAL,
        default=(),
    )

    @property
    def cert_path(self) -> str:
        """``<home>/tls/console.pem``."""
        return posixpath.join(self.home, "tls", CONSOLE_CERT)

    @property
    def key_path(self) -> str:
        """``<home>/tls/console.key``."""
        return posixpath.join(self.home, "tls", CONSOLE_KEY)

    def declared_paths(self) -> tuple[str, ...]:
        """The two files under ``<home>/tls``."""
        return (self.cert_path, self.key_path)


class CertmgrConsoleTarget(Target):
    """certmgr's web console (HTTPS)."""

    name = "certmgr"
    params_type = CertmgrParams
    summary = "certmgr controller console"
    params: CertmgrParams

    def binaries(self) -> tuple[str, ...]:
        """The program of ``reload_cmd``, if any."""
        return self.params.reload_cmd[:1]

    def plan(self, material: Material) -> Plan:
        """Write the full chain and the encrypted key; check them; run ``reload_cmd``.

        Raises:
            ValidationError: No private key in ``material``.
        """
        p = self.params
        key = material.require_key(self.name)
        password = p.key_password.reveal().encode("utf-8")
        return Plan(
            target=self.name,
            sha256=material.sha256,
            files=(
                PlannedFile(
                    p.cert_path,
                    _codec.certs_pem([material.certificate, *material.chain]),
                    owner=p.owner,
                    group=p.group,
                ),
                PlannedFile(
                    p.key_path,
                    _codec.encrypted_key_pem(key, password),
                    mode=p.private_key_mode(),
                    owner=p.owner,
                    group=p.group,
                    secret=True,
                ),
            ),
            checks=(_PAIR_CHECK,),
            reload=p.reload_cmd,
        )

    def validate(self, plan: Plan) -> None:
        """Decrypt the written key and match it to the written certificate.

        Raises:
            ValidationFailedError: Wrong password, unreadable files or a mismatch.
        """
        p = self.params
        _codec.check_pair_files(
            self.host, p.cert_path, p.key_path, p.key_password.reveal().encode("utf-8")
        )
        super().validate(plan)

    def inventory(self) -> list[InstalledCert]:
        """The leaf in ``console.pem``.

        Raises:
            TargetError: The file cannot be read.
        """
        return _codec.pem_leaf_inventory(self.host, self.params.cert_path)
