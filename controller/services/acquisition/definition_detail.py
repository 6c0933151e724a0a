"""The definition-detail read model: a definition with its certificates, requests, deployments and history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from certmgr.controller.db.engine import Database
from certmgr.controller.db.queries.definitions import (
    certificates_of,
    current_certificate_of,
    definition_by_ref,
    definition_history,
    definitions_with_current,
    deployments_of,
    requests_of,
)

if TYPE_CHECKING:
    from certmgr.controller.db.models import (
        AuditEvent,
        Certificate,
        CertificateDefinition,
        CertificateRequest,
        Deployment,
    )


@dataclass(frozen=True)
class DefinitionDetail:
    """Everything the definition screen and ``certmgr definition show`` display."""

    definition: CertificateDefinition
    certificates: Sequence[Certificate]
    """Longest-lived first."""
    requests: Sequence[CertificateRequest]
    """Oldest first."""
    deployments: Sequence[Deployment]
    """By id."""
    history: Sequence[AuditEvent]
    """The newest 100 audit events about the definition, newest first."""

    @property
    def current(self) -> Certificate | None:
        """The current certificate, when there is one."""
        cid = self.definition.current_certificate_id
        return next((c for c in self.certificates if c.id == cid), None)


async def definition_detail(db: Database, ref: str | int) -> DefinitionDetail:
    """A definition by id or name, with what hangs off it.

    Raises:
        NotFoundError: No such definition.
    """
    async with db.reader() as s:
        d = await definition_by_ref(s, ref)
        return DefinitionDetail(
            definition=d,
            certificates=await certificates_of(s, d.id),
            requests=await requests_of(s, d.id),
            deployments=await deployments_of(s, d.id),
            history=await definition_history(s, d.id),
        )


@dataclass(frozen=True)
class DefinitionListItem:
    """One row of the definitions list."""

    definition: CertificateDefinition
    current: Certificate | None


async def list_definitions(
    db: Database, *, limit: int = 1000, offset: int = 0, include_archived: bool = False
) -> list[DefinitionListItem]:
    """Definitions with their current certificate, by name (archived ones only when asked)."""
    async with db.reader() as s:
        rows = await definitions_with_current(
            s, limit=limit, offset=offset, include_archived=include_archived
        )
    return [DefinitionListItem(d, c) for d, c in rows]


async def get_definition(db: Database, ref: str | int) -> DefinitionListItem:
    """A definition with its current certificate.

    Raises:
        NotFoundError: No such definition.
    """
    async with db.reader() as s:
        d = await definition_by_ref(s, ref)
        cur = await current_certificate_of(s, d)
    return DefinitionListItem(d, cur)
