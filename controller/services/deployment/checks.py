"""Deploy checks: probe a deployment's endpoint, judge it, store the result (the one mapping), manual codes."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    Certificate,
    CertificateDefinition,
    CheckResult,
    Deployment,
)
from certmgr.controller.db.queries.certificates import certificates_by_sha256
from certmgr.controller.db.queries.deployments import (
    certificates_by_id,
    check_by_id,
    definitions_by_id,
    deployments_by_id,
)
from certmgr.controller.db.queries.monitoring import insert_check_results
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.states import DeploymentStatus
from certmgr.controller.services.admin.settings import MailSettings, load_general_settings
from certmgr.controller.services.audit import audit
from certmgr.controller.services.certificates.store import chain_of, load_der
from certmgr.controller.services.deployment.check_rows import check_values
from certmgr.controller.services.deployment.codes import claim_check_code, link_check_result
from certmgr.controller.services.deployment.deployments import (
    add_event,
    deployment_with_definition,
    move,
)
from certmgr.controller.services.deployment.packages import text_templates
from certmgr.controller.services.notification.mail import OutgoingMail, send_and_record
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.deploycheck import CheckOutcome, evaluate, outcome_name
from certmgr.shared.errors import ConflictError, NotFoundError
from certmgr.shared.receipt import CheckResult as Result
from certmgr.shared.text import error_text
from certmgr.shared.tlsprobe import probe
from certmgr.shared.tlstrust import load_system_roots

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewCheck:
    """A check to store for a deployment (its row loaded in the storing session)."""

    deployment: Deployment
    outcome: CheckOutcome
    at: dt.datetime
    source: str
    extra: dict[str, Any] = field(default_factory=dict)


async def store_checks(s: AsyncSession, checks: Sequence[NewCheck]) -> list[int]:
    """Store check results (one multi-row INSERT) and note each as its deployment's last check.

    Rows as :func:`~certmgr.controller.services.deployment.check_rows.check_values` maps them,
    for deploy checks, manual codes and receipts (monitoring stores its batches with the same
    mapping, without ORM rows). State changes are the caller's.

    Returns:
        The new check ids, in the order given.
    """
    if not checks:
        return []
    ids = await insert_check_results(
        s, [check_values(c.deployment.id, c.outcome, c.at, c.source, c.extra) for c in checks]
    )
    for c, check_id in zip(checks, ids, strict=True):
        c.deployment.last_check_id = check_id
        failures = c.deployment.consecutive_failures
        c.deployment.consecutive_failures = 0 if c.outcome.reachable else failures + 1
    await _note_served(s, checks)
    return ids


async def _note_served(s: AsyncSession, checks: Sequence[NewCheck]) -> None:
    """A deployment carries the certificate of its definition that its server was seen serving.

    A monitoring-only deployment (an imported certificate, nothing installed by certmgr) learns
    its certificate here, so it is not "needing the new certificate" while it serves the
    current one, and stops needing it once the current one is seen served. A deployment that
    was sent a certificate keeps it while its server still serves an older one (an install
    under way is not undone by a check).
    """
    seen = {
        c.outcome.served_sha256: c
        for c in checks
        if c.outcome.judged
        and c.outcome.served_sha256
        and len(c.outcome.served_sha256) == 64  # a manual code holds only a prefix
    }
    if not seen:
        return
    known = await certificates_by_sha256(s, list(seen))
    for c in checks:
        dep = c.deployment
        cert = known.get(c.outcome.served_sha256 or "")
        if cert is None or cert.definition_id != dep.definition_id or cert.id == dep.certificate_id:
            continue
        if dep.certificate_id is None:
            dep.certificate_id = cert.id
            continue
        d = await s.get(CertificateDefinition, dep.definition_id)
        if d is not None and d.current_certificate_id == cert.id:
            dep.certificate_id = cert.id


async def expected_for(db: Database, dep: Deployment) -> tuple[Certificate, list[x509.Certificate]]:
    """The certificate a deployment should serve (the one it was given, else the definition's current) and its chain.

    Raises:
        ConflictError: Nothing to compare against yet.
    """
    async with db.reader() as s:
        _, d = await deployment_with_definition(s, dep.id)
        cid = d.current_certificate_id or dep.certificate_id
        if cid is None:
            raise ConflictError(
                f"definition {d.name!r} has no current certificate to check against"
            )
        row = await s.get(Certificate, cid)
        assert row is not None  # noqa: S101 - FK
        chain = [x509.load_der_x509_certificate(c.der) for c in await chain_of(s, row.id)]
    return row, chain


async def run_check(
    db: Database, dep: Deployment, clock: Clock, *, timeout: float = 10.0, settle: float = 0.0
) -> CheckOutcome:
    """Probe the deployment's endpoint and evaluate it against the expected certificate (no state change).

    With ``settle`` > 0, a reachable server that still serves another certificate is probed again
    for up to that many seconds: right after a reload, draining workers serve the old one briefly.
    """
    row, chain = await expected_for(db, dep)
    return await _probe_settled(dep, row.sha256, chain, clock, timeout=timeout, settle=settle)


async def _probe_settled(
    dep: Deployment,
    expected_sha256: str,
    chain: list[x509.Certificate],
    clock: Clock,
    *,
    timeout: float,
    settle: float,
    trust_roots: Sequence[x509.Certificate] | None = None,
) -> CheckOutcome:
    """:func:`run_check`'s probe and judgement, once the expected certificate is known."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settle
    while True:
        result = await probe(
            dep.check_host,
            dep.check_port,
            sni=dep.sni or None,
            timeout=timeout,
            starttls=dep.starttls or None,
            trust_roots=trust_roots,
        )
        outcome = evaluate(result, expected_sha256, chain, now=clock.now())
        if (
            outcome.ok
            or not outcome.reachable
            or outcome.matches_current
            or loop.time() >= deadline
        ):
            return outcome
        await asyncio.sleep(0.25)


async def record_check(
    db: Database,
    actor: Actor,
    dep_id: int,
    outcome: CheckOutcome,
    clock: Clock,
    *,
    source: str,
    move_state: bool = True,
    confirm: bool = False,
    audit_detail: dict[str, object] | None = None,
) -> CheckResult:
    """Store a check result; on failure the deployment goes to ``check-failed``, on success (with ``confirm``) to ``confirmed``.

    A failing check leaves a draft a draft (nothing was installed yet); a passing one with
    ``confirm`` confirms it, as ``deployment check --done`` documents.
    """
    async with db.transaction() as s:
        dep, _ = await deployment_with_definition(s, dep_id)
        (check_id,) = await store_checks(s, [NewCheck(dep, outcome, clock.now(), source)])
        row = await check_by_id(s, check_id)
        assert row is not None  # noqa: S101 - just written
        _judge(s, dep, actor, outcome, check_id, clock, source, move_state, confirm, audit_detail)
    return row


def _judge(
    s: AsyncSession,
    dep: Deployment,
    actor: Actor,
    outcome: CheckOutcome,
    check_id: int,
    clock: Clock,
    source: str,
    move_state: bool,
    confirm: bool,
    audit_detail: dict[str, object] | None,
) -> None:
    """A stored check's consequences: the state change or history event, and the audit record."""
    problems = "; ".join(outcome.problems)
    summary = {"ok": "check ok", "failed": f"check failed: {problems}"}.get(
        outcome.outcome, problems
    )
    # an unreachable server tells nothing about the deployment: its state stays as it was
    failed = outcome.outcome == "failed"
    if move_state and failed and dep.status != DeploymentStatus.DRAFT.value:
        move(
            s,
            dep,
            actor,
            DeploymentStatus.CHECK_FAILED,
            summary,
            clock,
            {"check": check_id, "source": source},
        )
    elif move_state and outcome.ok and confirm:  # asked to confirm: a passing draft too
        move(
            s,
            dep,
            actor,
            DeploymentStatus.CONFIRMED,
            summary,
            clock,
            {"check": check_id, "source": source},
        )
    else:
        add_event(s, dep, actor, f"check-{source}", summary, clock, {"check": check_id})
    audit(
        s,
        actor,
        "deployment.check",
        "deployment",
        dep.id,
        {
            "ok": outcome.ok,
            "source": source,
            "served": outcome.served_sha256,
            **(audit_detail or {}),
        },
        clock=clock,
    )


async def deploy_check(
    db: Database,
    actor: Actor,
    dep_ref: str | int,
    clock: Clock,
    *,
    confirm: bool = False,
    timeout: float = 10.0,
) -> tuple[CheckResult, CheckOutcome]:
    """Run the deploy check now and record it.

    Raises:
        NotFoundError: No such deployment.
        ConflictError: Nothing to compare against.
    """
    async with db.reader() as s:
        dep, _ = await deployment_with_definition(s, dep_ref)
    outcome = await run_check(db, dep, clock, timeout=timeout)
    row = await record_check(
        db, actor, dep.id, outcome, clock, source="deploy-check", confirm=confirm
    )
    return row, outcome


async def send_check_result(
    db: Database, actor: Actor, dep_ref: str | int, clock: Clock, *, mail: MailSettings
) -> str:
    """E-mail the last check result to the server administrator; returns the send result.

    Raises:
        ConflictError: No check yet, or no administrator e-mail.
    """
    async with db.reader() as s:
        dep, _ = await deployment_with_definition(s, dep_ref)
        last = await check_by_id(s, dep.last_check_id)
        expected = await s.get(Certificate, dep.certificate_id) if dep.certificate_id else None
    if last is None:
        raise ConflictError("no check result to send yet")
    if not dep.admin_email:
        raise ConflictError("the deployment has no server administrator e-mail")
    body = (
        text_templates()
        .get_template("mail/check_result.txt")
        .render(
            endpoint=f"{dep.check_host}:{dep.check_port}",
            at=last.at.strftime("%Y-%m-%d %H:%M UTC"),
            outcome=outcome_name(
                ok=last.ok, reachable=last.reachable, served=bool(last.served_sha256)
            ),
            problems=last.detail.get("problems", []),
            served=last.served_sha256 if last.reachable else "",
            expected=expected.sha256 if expected else "-",
            chain_complete=last.chain_complete,
            protocol=last.detail.get("protocol"),
            cipher=last.detail.get("cipher"),
            days_left=last.days_left,
            signature=(await load_general_settings(db)).signature,
        )
    )
    row = await send_and_record(
        db,
        actor,
        mail,
        OutgoingMail(
            tuple(a.strip() for a in dep.admin_email.split(",")),
            f"Certificate check of {dep.check_host}:{dep.check_port}: "
            + outcome_name(ok=last.ok, reachable=last.reachable, served=bool(last.served_sha256)),
            body,
            "check-result",
            "deployment",
            str(dep.id),
        ),
        clock,
    )
    return row.result if row.result == "sent" else f"failed: {row.error}"


async def record_check_code(
    db: Database, vault: MasterKey, actor: Actor, dep_ref: str | int, text: str, clock: Clock
) -> tuple[CheckResult, bool]:
    """Record the result code of a manual ``certmgr check`` run on a host the controller cannot reach.

    The code must be made with the check key of a challenge the controller issued for this
    deployment (:func:`~certmgr.controller.services.deployment.codes.issue_check_key`), not expired and not
    used before; the challenge records who submitted it.

    Raises:
        BadSignatureError: A typo, an edit, or a code made with a key not issued for this deployment.
        InputError: The code belongs to another deployment, or its time is outside the challenge.
        ConflictError: No check key was issued, or it expired, or its code was already recorded.
    """
    async with db.reader() as s:
        dep, _ = await deployment_with_definition(s, dep_ref)
    code, challenge = await claim_check_code(db, vault, actor, dep.id, text, clock)
    expected, _ = await expected_for(db, dep)
    matches = code.matches(expected.sha256)
    ok = code.result.passed and matches
    problems = (
        []
        if ok
        else [
            f"the manual check on {code.at:%Y-%m-%d %H:%M} UTC reported: {code.result.value}"
            + ("" if matches else "; the served certificate is not the current one")
        ]
    )
    outcome = CheckOutcome(
        ok=ok,
        reachable=code.result is not Result.UNREACHABLE,
        served_sha256=code.served_sha256_prefix,
        matches_current=matches,
        chain_complete=code.result
        not in (Result.CHAIN_INCOMPLETE, Result.UNREACHABLE, Result.TLS_FAILED),
        chain_in_order=code.result is not Result.CHAIN_ORDER,
        missing_intermediates=[],
        extra_certs=[],
        days_left=code.days_left,
        hostname_matches=code.result is not Result.NAME_MISMATCH,
        protocol=None,
        cipher=None,
        problems=problems,
    )
    row = await record_check(
        db,
        actor,
        dep.id,
        outcome,
        clock,
        source="manual",
        confirm=ok,
        audit_detail={"challenge": challenge.id, "submitted_by": actor.name},
    )
    await link_check_result(db, challenge.id, row.id)
    return row, ok


@dataclass(frozen=True)
class InstallToConfirm:
    """A deployment an agent reported installed, and the agent (as actor) that installed it."""

    deployment_id: int
    actor: Actor


PROBES_AT_ONCE = 50
"""Deploy checks of one batch that probe at once."""


async def confirm_installs(
    db: Database,
    installs: Sequence[InstallToConfirm],
    clock: Clock,
    *,
    settle: float = 5.0,
    timeout: float = 10.0,
) -> list[bool]:
    """After installs: check each deployment (waiting up to ``settle`` s for a reload) and confirm it.

    Each check is recorded as :func:`record_check` with ``confirm`` records it. Reports that arrive together are checked together: one read of their deployments and expected
    certificates, their probes at once (the system's trust anchors read once), and one transaction
    that stores every result with its state change, history event and audit records. When that
    transaction fails (a deployment moved meanwhile and cannot take its result), each result is
    recorded on its own instead, so one deployment's error stays its own.

    Returns:
        Per install, whether its check passed (the deployment is then ``confirmed``); False, logged,
        when it could not be checked or recorded.
    """
    if not installs:
        return []
    async with db.reader() as s:
        deps = await deployments_by_id(s, [i.deployment_id for i in installs])
        defs = await definitions_by_id(s, {d.definition_id for d in deps.values()})
        wanted = {
            dep.id: defs[dep.definition_id].current_certificate_id or dep.certificate_id
            for dep in deps.values()
        }
        rows = await certificates_by_id(s, {c for c in wanted.values() if c is not None})
        chains = {cid: load_der(await chain_of(s, cid)) for cid in rows}
    roots = await asyncio.to_thread(load_system_roots)
    gate = asyncio.Semaphore(PROBES_AT_ONCE)

    async def check(item: InstallToConfirm) -> CheckOutcome | None:
        dep = deps.get(item.deployment_id)
        row = rows.get(wanted.get(item.deployment_id) or 0)
        if dep is None or row is None:
            why = "no such deployment" if dep is None else "no current certificate to check against"
            logger.info("no deploy check for deployment %s: %s", item.deployment_id, why)
            return None
        async with gate:
            return await _probe_settled(
                dep,
                row.sha256,
                chains[row.id],
                clock,
                timeout=timeout,
                settle=settle,
                trust_roots=roots,
            )

    outcomes = await asyncio.gather(*(check(i) for i in installs))
    done = [
        (n, i, o) for n, (i, o) in enumerate(zip(installs, outcomes, strict=True)) if o is not None
    ]
    try:
        await _record_confirmations(db, [(i, o) for _, i, o in done], clock)
    except Exception:  # noqa: BLE001 - recorded one by one below, where each error is logged
        for n, item, outcome in done:
            try:
                await record_check(
                    db,
                    item.actor,
                    item.deployment_id,
                    outcome,
                    clock,
                    source="deploy-check",
                    confirm=True,
                )
            except Exception as err:  # noqa: BLE001 - one deployment's error must not stop the rest
                logger.error(  # noqa: TRY400 - no traceback: its frames may hold secrets
                    "deploy check of deployment %s failed: %s",
                    item.deployment_id,
                    error_text(err),
                )
                outcomes[n] = None
    return [o is not None and o.ok for o in outcomes]


async def _record_confirmations(
    db: Database, done: Sequence[tuple[InstallToConfirm, CheckOutcome]], clock: Clock
) -> None:
    """Store deploy checks after installs in one transaction, each as :func:`record_check` would.

    Raises:
        NotFoundError: A deployment is gone.
        InvalidTransitionError: A deployment moved meanwhile and cannot take its result.
    """
    if not done:
        return
    async with db.transaction() as s:
        deps = await deployments_by_id(s, [i.deployment_id for i, _ in done])
        missing = [i.deployment_id for i, _ in done if i.deployment_id not in deps]
        if missing:
            raise NotFoundError(f"no deployment {missing[0]}")
        now = clock.now()
        ids = await store_checks(
            s, [NewCheck(deps[i.deployment_id], o, now, "deploy-check") for i, o in done]
        )
        for (item, outcome), check_id in zip(done, ids, strict=True):
            dep = deps[item.deployment_id]
            _judge(s, dep, item.actor, outcome, check_id, clock, "deploy-check", True, True, None)
