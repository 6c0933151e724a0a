"""Java keystores (PKCS#12 or JKS) for Tomcat, Jetty, WildFly and other Java servers.

The keystore file belongs to certmgr: it is rewritten with one private-key entry under ``alias``
(plan() is pure and does not read the old file, so other entries are not carried over).
Validation re-reads the written file with the configured passwords.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from certmgr.shared.errors import (
    InputError,
    TargetMisconfiguredError,
    ValidationError,
    ValidationFailedError,
)
from certmgr.shared.pki import encode
from certmgr.shared.pki.fingerprint import sha256_fingerprint
from certmgr.shared.pki.keys import key_matches_certificate
from certmgr.shared.pki.load import LoadedBundle, load
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

_CHECK = "re-read the new keystore with its passwords and find the new entry with its key"


class KeystoreType(StrEnum):
    """File format of the keystore."""

    PKCS12 = "pkcs12"
    JKS = "jks"


@dataclass(frozen=True, kw_only=True)
class JavaKeystoreParams(TargetParams):
    """The keystore file, its entry and passwords, and an optional reload command."""

    keystore_path: str = param(
        "Keystore file the Java server reads", source=ParamSource.PACKAGE, path=True
    )
    keystore_type: KeystoreType = param(
        "pkcs12 (default since Java 9) or jks",
        source=ParamSource.PACKAGE,
        default=KeystoreType.PKCS12,
    )
    alias: str = param(
        "Alias of the private-key entry", source=ParamSource.PACKAGE, default="certmgr"
    )
    store_password: Secret[str] = param(
        "Keystore password", source=ParamSource.PACKAGE, secret=True
    )
    key_password: Secret[str] | None = param(
        "Key password (JKS only; default: the store password)",
        source=ParamSource.PACKAGE,
        default=None,
        secret=True,
    )
    legacy_pkcs12: bool = param(
        "PKCS#12 readable by Java 8 before 8u301 (3DES, SHA-1 MAC)",
        source=ParamSource.PACKAGE,
        default=False,
    )
    reload_cmd: tuple[str, ...] = param(
        "Command that makes the server reload, as an argument list",
        source=ParamSource.LOCAL,
        default=(),
    )

    def __post_init__(self) -> None:
        """Check passwords and alias.

        Raises:
            ValidationError: Empty password or alias, or a key password on a PKCS#12 store.
        """
        if not self.store_password.reveal():
            raise ValidationError("the store password must not be empty", field="store_password")
        if self.key_password is not None:
            if self.keystore_type is KeystoreType.PKCS12:
                raise ValidationError(
                    "PKCS#12 keystores use the store password for the key", field="key_password"
                )
            if not self.key_password.reveal():
                raise ValidationError("the key password must not be empty", field="key_password")
        if not self.alias.strip():
            raise ValidationError("the alias must not be empty", field="alias")

    def passwords(self) -> tuple[bytes, bytes | None]:
        """Store and key password as bytes."""
        key = self.key_password.reveal().encode("utf-8") if self.key_password else None
        return self.store_password.reveal().encode("utf-8"), key


class JavaKeystoreTarget(Target):
    """A PKCS#12 or JKS keystore file."""

    name = "java-keystore"
    params_type = JavaKeystoreParams
    summary = "Java keystore (PKCS#12 or JKS)"
    params: JavaKeystoreParams

    def binaries(self) -> tuple[str, ...]:
        """The program of ``reload_cmd``, if any."""
        return self.params.reload_cmd[:1]

    def plan(self, material: Material) -> Plan:
        """The keystore with one entry, an in-process re-read, then ``reload_cmd``.

        Raises:
            ValidationError: No private key in ``material``.
            KeyMismatchError: The key does not belong to the certificate.
        """
        p = self.params
        key = material.require_key(self.name)
        store_pw, key_pw = p.passwords()
        if p.keystore_type is KeystoreType.JKS:
            data = encode.jks_bytes(
                key, material.certificate, material.chain, store_pw, key_pw, alias=p.alias
            )
        else:
            data = encode.pkcs12_bytes(
                key, material.certificate, material.chain, store_pw, p.alias, legacy=p.legacy_pkcs12
            )
        return Plan(
            target=self.name,
            sha256=material.sha256,
            files=(
                PlannedFile(
                    p.keystore_path,
                    data,
                    mode=p.private_key_mode(),
                    owner=p.owner,
                    group=p.group,
                    secret=True,
                ),
            ),
            checks=(_CHECK,),
            reload=p.reload_cmd,
        )

    def _read(self) -> LoadedBundle | None:
        p = self.params
        data = self.host.read_file(p.keystore_path)
        if not data:
            return None
        store_pw, key_pw = p.passwords()
        try:
            return load(data, password=store_pw, key_password=key_pw, name=p.keystore_path)
        except InputError as err:
            raise TargetMisconfiguredError(
                f"cannot read keystore {p.keystore_path}: {err}"
            ) from err

    def validate(self, plan: Plan) -> None:
        """Re-read the written keystore and find the new certificate with its key.

        Raises:
            ValidationFailedError: The file cannot be read back or lacks the new entry.
        """
        try:
            bundle = self._read()
        except TargetMisconfiguredError as err:
            raise ValidationFailedError(str(err)) from err
        found = bundle is not None and any(
            e.key is not None
            and e.chain
            and sha256_fingerprint(e.chain[0]) == plan.sha256
            and key_matches_certificate(e.key, e.chain[0])
            for e in bundle.entries
        )
        if not found:
            raise ValidationFailedError(
                f"{self.params.keystore_path} does not hold the new entry with its key"
            )
        super().validate(plan)

    def inventory(self) -> list[InstalledCert]:
        """The leaf of every private-key entry in the keystore.

        Raises:
            TargetMisconfiguredError: The keystore exists but the passwords do not open it.
            TargetError: The file cannot be read.
        """
        bundle = self._read()
        if bundle is None:
            return []
        location = self.params.keystore_path
        return [
            _codec.installed(f"{location}#{e.alias}", e.chain[0])
            for e in bundle.entries
            if e.key is not None and e.chain
        ]
