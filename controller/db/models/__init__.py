"""All models, imported so that ``Base.metadata`` knows every table."""

from certmgr.controller.db.models.acquisition import AcmeAccount, AcmeChallenge, VendorAccount
from certmgr.controller.db.models.agents import (
    Agent,
    AgentNonce,
    AgentWork,
    DownloadLink,
    EnrollmentToken,
)
from certmgr.controller.db.models.audit import AuditEvent
from certmgr.controller.db.models.ca import CertificateAuthority, Revocation
from certmgr.controller.db.models.certificates import Certificate, ChainLink, PrivateKeyRecord
from certmgr.controller.db.models.definitions import CertificateDefinition, Document
from certmgr.controller.db.models.deployments import (
    CheckChallenge,
    Deployment,
    DeploymentEvent,
)
from certmgr.controller.db.models.discovery import (
    DiscoveredCertificate,
    DiscoveredEndpoint,
    DiscoveryScan,
)
from certmgr.controller.db.models.monitoring import (
    CheckResult,
    Finding,
    JobLease,
    OutboxMessage,
    Webhook,
)
from certmgr.controller.db.models.requests import CertificateRequest, RequestEvent
from certmgr.controller.db.models.scheduler import WorkBatch
from certmgr.controller.db.models.system import (
    AccessRefusal,
    SentEmail,
    SettingRecord,
    SignInThrottle,
)
from certmgr.controller.db.models.tasks import ConsoleTask
from certmgr.controller.db.models.users import ApiToken, ConsoleSession, User

__all__ = [
    "AccessRefusal",
    "AcmeAccount",
    "AcmeChallenge",
    "Agent",
    "AgentNonce",
    "AgentWork",
    "ApiToken",
    "AuditEvent",
    "Certificate",
    "CertificateAuthority",
    "CertificateDefinition",
    "CertificateRequest",
    "ChainLink",
    "CheckChallenge",
    "CheckResult",
    "ConsoleSession",
    "ConsoleTask",
    "Deployment",
    "DeploymentEvent",
    "DiscoveredCertificate",
    "DiscoveredEndpoint",
    "DiscoveryScan",
    "Document",
    "DownloadLink",
    "EnrollmentToken",
    "Finding",
    "JobLease",
    "OutboxMessage",
    "PrivateKeyRecord",
    "RequestEvent",
    "Revocation",
    "SentEmail",
    "SettingRecord",
    "SignInThrottle",
    "User",
    "VendorAccount",
    "Webhook",
    "WorkBatch",
]
