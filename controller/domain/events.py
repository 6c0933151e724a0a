"""The one place that turns event codes (audit actions, request and deployment history) into words.

Screens show :func:`event_text`, never a code such as ``definition.switch-current``. Audit
actions are ``<entity>.<what>``; a request's or a deployment's history event is looked up under
its aggregate (``request.<event>``, ``deployment.<event>``), so a state change has the same
words in the history as in the audit log. A test reads the code base and fails when a code is
used without text here.
"""

from __future__ import annotations

from certmgr.controller.domain.states import DeploymentStatus, RequestStatus

REQUEST_STATE_TEXT: dict[str, str] = {
    RequestStatus.DRAFT.value: "Request drafted",
    RequestStatus.KEY_AND_CSR.value: "Key and certificate signing request made",
    RequestStatus.ORDERED.value: "Certificate ordered",
    RequestStatus.RECEIVED.value: "Certificate received",
    RequestStatus.CURRENT_SWITCHED.value: "Switched to the new certificate",
    RequestStatus.DONE.value: "Request completed",
    RequestStatus.CANCELLED.value: "Request cancelled",
}

DEPLOYMENT_STATE_TEXT: dict[str, str] = {
    DeploymentStatus.DRAFT.value: "Deployment drafted",
    DeploymentStatus.PREPARED.value: "Package prepared",
    DeploymentStatus.INSTALL_REQUESTED.value: "Installation requested",
    DeploymentStatus.INSTALLED.value: "Installed",
    DeploymentStatus.CONFIRMED.value: "Confirmed by a check",
    DeploymentStatus.CHECK_FAILED.value: "The check found problems",
    DeploymentStatus.MANUALLY_CONFIRMED.value: "Confirmed by hand",
    DeploymentStatus.COMPLETED_UNCHECKED.value: "Completed without a check",
    DeploymentStatus.RETIRED.value: "Deployment retired",
}

CHECK_SOURCE_TEXT: dict[str, str] = {
    "deploy-check": "Deploy check",
    "monitor": "Monitoring check",
    "manual": "Manual check recorded",
    "oneclick": "One-click installer's check",
    "agent": "Agent's check",
}

EVENT_TEXT: dict[str, str] = {
    # certificates, definitions, keys, documents
    "certificate.import": "Certificate imported",
    "certificate.attach-key": "Private key attached to the certificate",
    "certificate.make-current": "Made the current certificate",
    "definition.create": "Definition created",
    "definition.edit": "Definition edited",
    "definition.archive": "Definition archived",
    "definition.restore": "Definition restored",
    "definition.delete": "Definition deleted",
    "definition.change-issuer": "Issuer changed",
    "definition.switch-current": "Switched to the new certificate",
    "definition.rollback": "Went back to the previous certificate",
    "definition.hold": "New certificate held back until its start date",
    "definition.hold-cancelled": "Held certificate released by hand",
    "definition.hold-expired": "Held certificate made current at its start date",
    "key.export": "Private key exported",
    "key.release": "Private key handed out",
    "document.add": "Document added",
    "document.delete": "Document deleted",
    "document.download": "Document downloaded",
    "package.download": "Install package downloaded",
    "package.download-refused": "Install package download refused",
    # acquisition
    "request.create": "Request opened",
    "request.created": "Request opened",
    "request.held": "Certificate received and held back until its start date",
    "request.failed": "The request failed",
    "request.acme-issued": "Certificate issued by the ACME CA",
    "request.auto-install": "New certificate queued for the agents",
    "request.auto-install-failed": "The new certificate could not be queued for an agent",
    "request.waiting-for-agent": "Waiting for the agent to make the key",
    "request.failed-attempt": "An attempt failed",
    "acme.account-add": "ACME account added",
    "acme.account-delete": "ACME account deleted",
    "first-run.ca-trusted": "Private CA marked as trusted",
    "vendor-account.add": "Vendor account added",
    "vendor-account.edit": "Vendor account changed",
    "vendor-account.delete": "Vendor account removed",
    "vendor-account.reveal-password": "Vendor account password shown",
    "agent.csr-refused": "The agent's signing request was refused",
    # private CA
    "ca.setup": "Private CA set up",
    "ca.issue": "Certificate issued by the private CA",
    "ca.crl": "Revocation list published",
    "ca.revoke": "Certificate revoked",
    "ca.retire": "CA retired",
    "ca.import-cert": "CA certificate imported",
    "ca.installer-create": "CA trust installer made",
    "ca.subordinate-csr": "Subordinate CA signing request made",
    # deployments and checks
    "deployment.create": "Deployment created",
    "deployment.created": "Deployment created",
    "deployment.edit": "Deployment edited",
    "deployment.edited": "Deployment edited",
    "deployment.check": "Deployment checked",
    "deployment.check-key": "Check key issued for a manual check",
    "deployment.monitoring": "Monitoring switched",
    "deployment.monitoring-on": "Monitoring switched on",
    "deployment.monitoring-off": "Monitoring switched off",
    "deployment.install-failed": "The installation failed",
    "discovery.scan": "Discovery scan run",
    "discovery.cancel": "Discovery scan cancelled",
    "discovery.import": "Discovered certificates imported",
    "discovery.agent": "Discovery on an agent's host",
    "deployment.mail-failed": "The install request e-mail could not be sent",
    "deployment.unverified": "The installer's report could not be verified",
    "monitor.check": "Monitoring check",
    # agents
    "agent.enroll": "Agent enrolled",
    "agent.enroll-refused": "Agent enrolment refused",
    "agent.token-create": "Agent enrolment token made",
    "agent.approved": "Agent approved",
    "agent.revoked": "Agent revoked",
    # monitoring and notification
    "finding.open": "Finding opened",
    "finding.clear": "Finding cleared",
    "notify.digest": "Daily digest sent",
    "mail.send": "E-mail sent",
    "webhook.deliver": "Webhook called",
    "webhook.add": "Webhook added",
    "webhook.remove": "Webhook removed",
    "outbox.retry": "Notification retried",
    "job.monitoring": "Monitoring run",
    "job.renewal": "Renewal run",
    "job.digest": "Digest run",
    "job.outbox": "Notifications delivered",
    "job.discovery": "Discovery scan run",
    # administration
    "settings.general": "General settings changed",
    "settings.mail": "Mail settings changed",
    "settings.metrics-token": "Metrics token changed",
    "settings.console-tls": "Console certificate changed",
    "settings.monitoring": "Monitoring settings changed",
    "settings.notifications": "Notification settings changed",
    "settings.discovery": "Discovery settings changed",
    "auth.sign-in": "Signed in",
    "auth.sign-in-failed": "Sign-in refused",
    "access.ip-refused": "Access refused for the address",
    "backup.prune": "Old backups removed",
    "token.create": "API token created",
    "token.revoke": "API token revoked",
    "user.create": "User added",
    "user.update": "User changed",
    "user.delete": "User removed",
    "user.password-change": "Password changed",
    "user.reset-password": "Password reset",
    "master-key.rotate": "Master key rotated",
    "controller.key-rotate": "Controller signing key rotated",
}

for _state, _text in REQUEST_STATE_TEXT.items():
    EVENT_TEXT.setdefault(f"request.{_state}", _text)
for _state, _text in DEPLOYMENT_STATE_TEXT.items():
    EVENT_TEXT.setdefault(f"deployment.{_state}", _text)
for _source, _text in CHECK_SOURCE_TEXT.items():
    EVENT_TEXT.setdefault(f"deployment.check-{_source}", _text)


FINDING_KIND_TEXT: dict[str, str] = {
    "mismatch": "Another certificate served",
    "chain": "Chain incomplete or out of order",
    "expiring": "Expiring soon",
    "expired": "Expired",
    "not-yet-valid": "Not valid yet",
    "unreachable": "Unreachable",
    "renewal-failed": "Renewal failed",
    "renewal-overdue": "Renewal overdue",
    "agent-mismatch": "Agent reports another certificate",
    "discovery-new": "New certificate found by discovery",
    "discovery-gone": "Certificate no longer found by discovery",
    "discovery-changed": "Certificate changed at a discovered endpoint",
}
"""What each kind of finding is, in words (the code stays in the API and webhooks)."""


def finding_kind_text(kind: str) -> str:
    """A finding's kind in words (an unknown kind becomes a sentence of its words)."""
    return FINDING_KIND_TEXT.get(kind) or event_text(kind)


def event_text(code: str, history: str = "") -> str:
    """Human words for an event code; ``history`` names the aggregate of a history event.

    ``event_text("definition.switch-current")`` and ``event_text("current-switched", "request")``
    both say "Switched to the new certificate". An unknown code is never shown raw: it becomes
    a sentence of its words (and the event-text test names it).
    """
    key = f"{history}.{code}" if history else code
    text = EVENT_TEXT.get(key)
    if text is not None:
        return text
    words = key.replace(".", " ").replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]
