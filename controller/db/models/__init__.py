"""The models, one module per aggregate, each loaded when one of its classes is first used.

``from certmgr.controller.db.models import Certificate`` loads only ``certificates.py``: a command
that reads two tables does not pay for building thirty-nine mappers (``certmgr definition list``
starts measurably faster). Whatever needs every table (``Base.metadata`` for migrations, dumps,
restores) calls :func:`all_tables_metadata` first.
"""

import importlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData

from certmgr.controller.db.base import Base

if TYPE_CHECKING:
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

_MODULE_OF = {
    "AccessRefusal": "system",
    "AcmeAccount": "acquisition",
    "AcmeChallenge": "acquisition",
    "Agent": "agents",
    "AgentNonce": "agents",
    "AgentWork": "agents",
    "ApiToken": "users",
    "AuditEvent": "audit",
    "Certificate": "certificates",
    "CertificateAuthority": "ca",
    "CertificateDefinition": "definitions",
    "CertificateRequest": "requests",
    "ChainLink": "certificates",
    "CheckChallenge": "deployments",
    "CheckResult": "monitoring",
    "ConsoleSession": "users",
    "ConsoleTask": "tasks",
    "Deployment": "deployments",
    "DeploymentEvent": "deployments",
    "DiscoveredCertificate": "discovery",
    "DiscoveredEndpoint": "discovery",
    "DiscoveryScan": "discovery",
    "Document": "definitions",
    "DownloadLink": "agents",
    "EnrollmentToken": "agents",
    "Finding": "monitoring",
    "JobLease": "monitoring",
    "OutboxMessage": "monitoring",
    "PrivateKeyRecord": "certificates",
    "RequestEvent": "requests",
    "Revocation": "ca",
    "SentEmail": "system",
    "SettingRecord": "system",
    "SignInThrottle": "system",
    "User": "users",
    "VendorAccount": "acquisition",
    "Webhook": "monitoring",
    "WorkBatch": "scheduler",
}
_AGGREGATES = tuple(sorted(set(_MODULE_OF.values())))


def __getattr__(name: str) -> Any:
    """Load the model class ``name`` from its aggregate's module (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def all_tables_metadata() -> MetaData:
    """``Base.metadata`` with every model's table in it (loads every aggregate)."""
    for module in _AGGREGATES:
        importlib.import_module(f"{__name__}.{module}")
    return Base.metadata


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
