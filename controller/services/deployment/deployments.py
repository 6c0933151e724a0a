"""Deployments: create, find, list, state changes with history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CertificateDefinition, Deployment, DeploymentEvent
from certmgr.controller.db.queries.deployments import deployments_named
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.software import DELIVERIES, SOFTWARE, check_target_params
from certmgr.controller.domain.states import DeploymentStatus, check_deployment_transition
from certmgr.controller.services._history import History
from certmgr.controller.services.acquisition.definitions import find_definition
from certmgr.controller.services.admin.settings import check_email
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.key_release import record_key_release
from certmgr.shared.clock import Clock
from certmgr.shared.errors import ConflictError, NotFoundError, ValidationError
from certmgr.shared.pki.names import normalize_dns_name, parse_san


@dataclass(frozen=True)
class DeploymentSpec:
    """Deploy information for one server."""

    definition_ref: str | int
    server_name: str
    software: str = "nginx"
    delivery: str = "conventional"
    common_name: str = ""
    check_host: str = ""
    check_port: int | None = None
    sni: str = ""
    starttls: str | None = None
    admin_email: str = ""
    monitoring: bool = True
    production: bool = True
    target_params: dict[str, Any] = field(default_factory=dict)
    agent_id: int | None = None
    name: str = ""
    notes: str = ""


def _host(value: str, field_name: str) -> str:
    v = value.strip()
    if not v:
        raise ValidationError(f"{field_name} is required", field=field_name)
    try:
        parse_san(v, field=field_name)
    except ValidationError:
        raise ValidationError(f"{v!r} is not a host name or IP address", field=field_name) from None
    return v.lower()


def validate_spec(spec: DeploymentSpec) -> DeploymentSpec:
    """Normalise and check deploy information.

    Raises:
        ValidationError: Naming the wrong field.
    """
    if spec.software not in SOFTWARE:
        raise ValidationError(
            f"server software must be one of {', '.join(SOFTWARE)}", field="software"
        )
    sw = SOFTWARE[spec.software]
    if spec.delivery not in DELIVERIES:
        raise ValidationError(f"delivery must be one of {', '.join(DELIVERIES)}", field="delivery")
    if spec.delivery != "conventional" and sw.target_type is None:
        raise ValidationError(
            f"{sw.label} can only be deployed with a conventional package", field="delivery"
        )
    server = _host(spec.server_name, "server_name")
    check_host = _host(spec.check_host or server, "check_host")
    port = spec.check_port if spec.check_port is not None else sw.default_port
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ValidationError("check port must be 1-65535", field="check_port")
    sni = spec.sni.strip()
    if sni:
        sni = normalize_dns_name(sni, field="sni")
    starttls = sw.starttls if spec.starttls is None else spec.starttls
    if starttls not in ("", "smtp"):
        raise ValidationError("starttls must be empty or smtp", field="starttls")
    if len(spec.notes) > 10000 or len(spec.name) > 200:
        raise ValidationError("name or notes too long", field="notes")
    if not isinstance(spec.target_params, dict) or len(str(spec.target_params)) > 20000:
        raise ValidationError("target parameters must be a small object", field="target_params")
    check_target_params(spec.software, spec.target_params)
    return DeploymentSpec(
        definition_ref=spec.definition_ref,
        server_name=server,
        software=spec.software,
        delivery=spec.delivery,
        common_name=spec.common_name.strip()[:500],
        check_host=check_host,
        check_port=port,
        sni=sni,
        starttls=starttls,
        admin_email=",".join(
            check_email(a, "admin_email")
            for a in spec.admin_email.replace(";", ",").split(",")
            if a.strip()
        ),
        monitoring=bool(spec.monitoring),
        production=bool(spec.production),
        target_params=dict(spec.target_params),
        agent_id=spec.agent_id,
        name=spec.name.strip() or server,
        notes=spec.notes,
    )


DEPLOYMENT_HISTORY: History[DeploymentStatus] = History(
    "deployment", DeploymentEvent, "deployment_id", check_deployment_transition
)
add_event = DEPLOYMENT_HISTORY.add_event
"""Append to a deployment's history."""
move = DEPLOYMENT_HISTORY.move
"""Change a deployment's state (checked), with history and audit."""


async def create_deployment(
    db: Database, actor: Actor, spec: DeploymentSpec, clock: Clock
) -> Deployment:
    """Add a deployment (state draft) to a definition.

    Binding a deployment to an agent is a key-release decision: the agent is sent the private key
    on "Try auto-install" and, on auto-deploy definitions, by itself after every renewal. So
    only actors who may release keys bind one (audited with who, the definition and the agent).

    Raises:
        PermissionDeniedError: An agent is named and the actor may not release private keys.
        ValidationError: Bad deploy information.
        NotFoundError: No such definition.
    """
    spec = validate_spec(spec)
    if spec.agent_id is not None:
        actor.require_key_release("binding a deployment to an agent", f"agent {spec.agent_id}")
    now = clock.now()
    async with db.transaction() as s:
        d = await find_definition(s, spec.definition_ref)
        dep = Deployment(
            definition_id=d.id,
            name=spec.name,
            common_name=spec.common_name or d.common_name,
            server_name=spec.server_name,
            check_host=spec.check_host,
            check_port=spec.check_port or 443,
            sni=spec.sni
            or (d.common_name if d.common_name and not d.common_name.startswith("*.") else ""),
            starttls=spec.starttls or "",
            target_type=spec.software,
            target_params=spec.target_params,
            delivery=spec.delivery,
            admin_email=spec.admin_email,
            monitoring=spec.monitoring,
            production=spec.production,
            agent_id=spec.agent_id,
            status=DeploymentStatus.DRAFT.value,
            notes=spec.notes,
            created_at=now,
            updated_at=now,
        )
        s.add(dep)
        await s.flush()
        add_event(
            s,
            dep,
            actor,
            "created",
            f"deployment to {dep.server_name} ({SOFTWARE[spec.software].label}, {spec.delivery})",
            clock,
        )
        audit(
            s,
            actor,
            "deployment.create",
            "deployment",
            dep.id,
            {"definition": d.name, "server": dep.server_name},
            clock=clock,
        )
        audit(
            s,
            actor,
            "deployment.create",
            "definition",
            d.id,
            {"deployment": dep.id, "server": dep.server_name},
            clock=clock,
        )
        if dep.agent_id is not None:
            record_key_release(
                s,
                actor,
                what="agent-binding",
                to_whom=f"agent {dep.agent_id}",
                definition=(d.id, d.name),
                clock=clock,
                detail={"deployment": dep.id, "delivery": dep.delivery},
            )
    return dep


async def find_deployment(s: AsyncSession, ref: str | int) -> Deployment:
    """A deployment by id, or by its name when one deployment has it (the server name by default).

    Raises:
        NotFoundError: No such deployment.
        ConflictError: Several deployments have that name.
    """
    try:
        dep_id = int(ref)
    except (TypeError, ValueError):
        named = await deployments_named(s, str(ref).strip())
        if len(named) > 1:
            raise ConflictError(
                f"{len(named)} deployments are named {ref!r} "
                f"(#{', #'.join(str(d.id) for d in named)}); give its number"
            ) from None
        if not named:
            raise NotFoundError(f"no deployment {ref!r}") from None
        return named[0]
    dep = await s.get(Deployment, dep_id)
    if dep is None:
        raise NotFoundError(f"no deployment {ref!r}")
    return dep


async def deployment_with_definition(
    s: AsyncSession, ref: str | int
) -> tuple[Deployment, CertificateDefinition]:
    """A deployment and its definition.

    Raises:
        NotFoundError: No such deployment.
    """
    dep = await find_deployment(s, ref)
    d = await s.get(CertificateDefinition, dep.definition_id)
    assert d is not None  # noqa: S101 - FK
    return dep, d


async def history(db: Database, dep_id: int) -> list[DeploymentEvent]:
    """A deployment's events, newest first."""
    async with db.reader() as s:
        rows = await s.execute(
            select(DeploymentEvent)
            .where(DeploymentEvent.deployment_id == dep_id)
            .order_by(DeploymentEvent.at.desc(), DeploymentEvent.id.desc())
        )
        return list(rows.scalars().all())


def is_outdated(dep: Deployment, d: CertificateDefinition) -> bool:
    """True when the deployment does not carry the definition's current certificate."""
    return d.current_certificate_id is not None and dep.certificate_id != d.current_certificate_id


def now_utc(clock: Clock) -> dt.datetime:
    """Aware UTC now from the clock."""
    return clock.now()
