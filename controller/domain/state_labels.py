"""Every stored state a person sees, in plain words and a colour: the one mapping (issue 14).

Screens never show a state code such as ``key-and-csr`` or ``check-failed``; templates call
``state_badge(kind, value)`` (a Jinja global) and e-mails or CLI text ``state_label``. ``kind``
names the column the value comes from. A unit test checks that every value of every state enum
and stored state column has a label here, and a template test that no template prints a raw
state.

Tones follow CONSOLE.md: ``ok`` good, ``warn`` needs action soon, ``bad`` broken now, ``none``
unknown or finished, ``info`` in progress.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from certmgr.controller.domain.states import DeploymentStatus, RequestStatus
from certmgr.controller.domain.status import Badge

_B = Badge

STATE_LABELS: Mapping[str, Mapping[str, Badge]] = MappingProxyType(
    {
        # CertificateRequest.status
        "request": {
            RequestStatus.DRAFT: _B("draft", "none"),
            RequestStatus.KEY_AND_CSR: _B("waiting to be ordered", "warn"),
            RequestStatus.ORDERED: _B("ordered, waiting for the certificate", "info"),
            RequestStatus.RECEIVED: _B("received, not current yet", "warn"),
            RequestStatus.CURRENT_SWITCHED: _B("switched to the new certificate", "info"),
            RequestStatus.DONE: _B("completed", "ok"),
            RequestStatus.CANCELLED: _B("cancelled", "none"),
        },
        # Deployment.status
        "deployment": {
            DeploymentStatus.DRAFT: _B("not deployed yet", "warn"),
            DeploymentStatus.PREPARED: _B("package ready", "warn"),
            DeploymentStatus.INSTALL_REQUESTED: _B("waiting for installation", "info"),
            DeploymentStatus.INSTALLED: _B("installed, not checked", "warn"),
            DeploymentStatus.CONFIRMED: _B("confirmed", "ok"),
            DeploymentStatus.CHECK_FAILED: _B("check failed", "bad"),
            DeploymentStatus.MANUALLY_CONFIRMED: _B("confirmed by hand", "ok"),
            DeploymentStatus.COMPLETED_UNCHECKED: _B("completed, not checked", "warn"),
            DeploymentStatus.RETIRED: _B("retired", "none"),
        },
        # Agent.status
        "agent": {
            "pending": _B("waiting for approval", "warn"),
            "approved": _B("approved", "ok"),
            "revoked": _B("revoked", "bad"),
        },
        # AgentWork.state (packages and key requests queued for agents)
        "agent-task": {
            "queued": _B("queued", "info"),
            "delivered": _B("delivered", "info"),
            "done": _B("installed", "ok"),
            "failed": _B("failed", "bad"),
            "superseded": _B("replaced by a newer package", "none"),
        },
        # AcmeAccount.status (as the ACME server reports it)
        "acme-account": {
            "valid": _B("valid", "ok"),
            "deactivated": _B("deactivated", "bad"),
            "revoked": _B("revoked", "bad"),
        },
        # CertificateAuthority.status
        "ca": {
            "pending": _B("waiting for its certificate", "warn"),
            "active": _B("active", "ok"),
            "superseded": _B("replaced, still publishing its CRL", "none"),
            "retired": _B("retired", "none"),
        },
        # DiscoveryScan.state
        "scan": {
            "queued": _B("queued", "info"),
            "running": _B("running", "info"),
            "done": _B("finished", "ok"),
            "failed": _B("failed", "bad"),
            "cancelled": _B("cancelled", "none"),
        },
        # Finding.state
        "finding": {"open": _B("open", "bad"), "cleared": _B("cleared", "ok")},
        # Finding.severity and discovery violations
        "severity": {
            "critical": _B("critical", "bad"),
            "warning": _B("warning", "warn"),
            "info": _B("information", "none"),
        },
        # OutboxMessage.state
        "outbox": {
            "pending": _B("queued", "warn"),
            "sent": _B("sent", "ok"),
            "failed": _B("could not be sent", "bad"),
        },
        # SentEmail.result
        "email": {
            "pending": _B("queued", "warn"),
            "sent": _B("sent", "ok"),
            "failed": _B("could not be sent", "bad"),
        },
        # BackupRun.result
        "backup": {"ok": _B("ok", "ok"), "failed": _B("failed", "bad")},
        # JobLease.last_result ("" = never ran)
        "job": {
            "": _B("never ran", "none"),
            "ok": _B("ok", "ok"),
            "failed": _B("failed", "bad"),
            "interrupted": _B("interrupted", "warn"),
        },
        # ConsoleTask.state (long work started in the console)
        "task": {
            "running": _B("running", "info"),
            "done": _B("finished", "ok"),
            "failed": _B("ended with failures", "bad"),
            "interrupted": _B("interrupted", "warn"),
        },
        # discovery: Verdict, Match, Outcome
        "verdict": {
            "ok": _B("ok", "ok"),
            "warning": _B("warning", "warn"),
            "critical": _B("critical", "bad"),
        },
        "match": {
            "managed": _B("managed here", "ok"),
            "known-elsewhere": _B("known, deployed elsewhere", "warn"),
            "outdated": _B("an older certificate", "bad"),
            "unknown": _B("unknown to certmgr", "none"),
        },
        "outcome": {
            "tls": _B("TLS", "ok"),
            "closed": _B("port closed", "none"),
            "filtered": _B("no answer", "none"),
            "no-tls": _B("no TLS", "none"),
            "starttls-refused": _B("STARTTLS refused", "warn"),
            "timeout": _B("timed out", "none"),
            "too-large": _B("answer too large", "warn"),
            "error": _B("error", "bad"),
            "out-of-scope": _B("outside the allowed scope", "none"),
            "unresolved": _B("name not found", "none"),
        },
        # not states, but codes a list shows: CertificateDefinition.issuer_kind, Deployment.delivery
        "issuer": {
            "private-ca": _B("private CA", "none"),
            "acme": _B("ACME", "none"),
            "vendor": _B("vendor", "none"),
            "imported": _B("imported", "none"),
        },
        "delivery": {
            "agent": _B("agent", "none"),
            "oneclick": _B("one-click installer", "none"),
            "conventional": _B("package", "none"),
        },
        # agent targets' availability (AvailabilityState)
        "availability": {
            "ready": _B("ready", "ok"),
            "misconfigured": _B("misconfigured", "bad"),
            "absent": _B("not installed", "none"),
        },
    }
)


def state_badge(kind: str, value: str | None) -> Badge:
    """The words and colour of ``value`` of the state column ``kind``.

    A value without a label (a state added later) is shown as words, never as a code, and the
    coverage test names it.
    """
    if value is None:
        return Badge("-", "none")
    found = STATE_LABELS.get(kind, {}).get(value)
    if found is not None:
        return found
    return Badge(value.replace("-", " ").replace("_", " "), "none")


def state_label(kind: str, value: str | None) -> str:
    """Only the words of :func:`state_badge` (for e-mails and CLI text)."""
    return state_badge(kind, value).label


def state_choices(kind: str) -> list[tuple[str, str]]:
    """(value, words) pairs of a state column, for filter menus."""
    return [(str(v), b.label) for v, b in STATE_LABELS[kind].items() if v]


def acquisition_badge(status: str | None) -> Badge:
    """The state of a definition's newest acquisition (``-`` when it never had one)."""
    return state_badge("request", status) if status else Badge("-", "none")
