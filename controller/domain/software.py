"""Server software a deployment can target, and what each needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from certmgr.shared.errors import ValidationError


@dataclass(frozen=True)
class Software:
    """One kind of server software."""

    key: str
    label: str
    target_type: (
        str | None
    )  # the shared.targets plugin for agent/one-click delivery (None: conventional only)
    pkcs12: bool = False
    jks: bool = False
    default_port: int = 443
    starttls: str = ""


SOFTWARE: dict[str, Software] = {
    s.key: s
    for s in (
        Software("nginx", "nginx", "nginx"),
        Software("apache", "Apache httpd", "apache"),
        Software("haproxy", "HAProxy", "haproxy"),
        Software("tomcat", "Tomcat / Java keystore", "java-keystore", pkcs12=True, jks=True),
        Software("iis", "Microsoft IIS", None, pkcs12=True),
        Software("postfix", "Postfix (SMTP)", "files", default_port=25, starttls="smtp"),
        Software("files", "Generic PEM files", "files"),
    )
}
DELIVERIES = ("agent", "oneclick", "conventional")


def check_target_params(software: str, params: Mapping[str, object]) -> None:
    """Refuse target parameters a package may not carry, naming the first one.

    A package carries data only (DESIGN section 8): the receiving agent or installer refuses
    commands, programs, files it reads, owners, modes and allow-lists; this says so when the
    deployment is made or stamped instead of when the package arrives.

    Args:
        software: A key of :data:`SOFTWARE`.
        params: The deployment's target parameters.

    Raises:
        ValidationError: A local-only or unknown parameter (``field`` names it).
    """
    # lazy: the CLI builds its parser from SOFTWARE and must not load the targets.
    from certmgr.shared.protocol import TARGET_LABEL_PARAM
    from certmgr.shared.targets import local_only_params, package_params

    sw = SOFTWARE.get(software)
    if sw is None or sw.target_type is None:
        return
    local = local_only_params(sw.target_type)
    carried = package_params(sw.target_type)
    for key in sorted(str(k) for k in params):
        if key in local:
            raise ValidationError(
                f"target parameter {key!r} may not be set by a deployment: commands, programs, "
                f"configuration files, owners, modes and allowed paths of a {sw.target_type} "
                "target come from the server's own configuration (agent.toml, or the one-click "
                "installer's configuration file)",
                field=key,
            )
        if key not in carried and key != TARGET_LABEL_PARAM:
            raise ValidationError(
                f"{sw.target_type} has no target parameter {key!r} "
                f"(a package may set: {', '.join(sorted(carried))})",
                field=key,
            )
