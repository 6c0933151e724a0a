"""Server software a deployment can target, and what each needs."""

from __future__ import annotations

from dataclasses import dataclass


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
