"""Keys for manual-check codes (one controller-issued challenge each) and one-click receipts.

A manual check (``certmgr check ... --key CMK1-...`` on a host the controller cannot reach) needs
a check key. Each key belongs to a **challenge** the controller issued for one deployment: the
key is derived from the master key, the deployment id and the challenge's random nonce, so a code
tagged with it is bound to that challenge. The code format (``CMC1``) is unchanged; the binding is
in the key. A challenge expires after :data:`CHALLENGE_LIFETIME`, is used once (who submitted the
code is recorded), and issuing a new one retires the open ones. Only admins see check keys:
whoever holds one can make a passing code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select, update

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CheckChallenge
from certmgr.controller.domain.actors import Actor
from certmgr.controller.services.audit import audit
from certmgr.controller.services.deployment.deployments import deployment_with_definition
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import BadSignatureError, ConflictError, InputError
from certmgr.shared.receipt import CheckCode, check_key_text, parse_check_code

CHALLENGE_LIFETIME = dt.timedelta(hours=48)
CLOCK_SKEW = dt.timedelta(minutes=5)
_RECENT = 20  # challenges of a deployment tried when a code arrives (open, used and expired)


def challenge_key_for(vault: MasterKey, deployment_id: int, nonce: str) -> bytes:
    """The check key of one challenge (shown as ``CMK1-...`` text to the admin who issued it)."""
    return hmac.new(
        vault.derive("check-codes").reveal(),
        f"deployment:{deployment_id}:challenge:{nonce}".encode(),
        hashlib.sha256,
    ).digest()


def receipt_key_for(vault: MasterKey, deployment_id: int, sequence: int) -> bytes:
    """The receipt key put into the sealed one-click package of this deployment and sequence."""
    return hmac.new(
        vault.derive("receipt-codes").reveal(),
        f"deployment:{deployment_id}:{sequence}".encode(),
        hashlib.sha256,
    ).digest()


@dataclass(frozen=True)
class IssuedCheckKey:
    """A new challenge's check key, shown once."""

    deployment_id: int
    challenge_id: int
    expires_at: dt.datetime
    key_text: str = field(repr=False)
    check_host: str = ""
    check_port: int = 443
    sni: str = ""


async def issue_check_key(
    db: Database, vault: MasterKey, actor: Actor, dep_ref: str | int, clock: Clock
) -> IssuedCheckKey:
    """Issue a challenge for a manual check of a deployment and return its check key.

    Open challenges of the deployment are retired: only the newest key makes an acceptable code.

    Raises:
        PermissionDeniedError: Not an admin (a check key lets its holder make a passing code).
        NotFoundError: No such deployment.
    """
    actor.require_admin("showing a manual-check key")
    now = clock.now()
    nonce = secrets.token_hex(16)
    async with db.transaction() as s:
        dep, _ = await deployment_with_definition(s, dep_ref)
        await s.execute(
            update(CheckChallenge)
            .where(
                CheckChallenge.deployment_id == dep.id,
                CheckChallenge.used_at.is_(None),
                CheckChallenge.expires_at > now,
            )
            .values(expires_at=now)
        )
        row = CheckChallenge(
            deployment_id=dep.id,
            nonce=nonce,
            issued_by=actor.name[:100],
            issued_at=now,
            expires_at=now + CHALLENGE_LIFETIME,
            used_by="",
        )
        s.add(row)
        await s.flush()
        audit(
            s,
            actor,
            "deployment.check-key",
            "deployment",
            dep.id,
            {"challenge": row.id, "expires": row.expires_at.isoformat()},
            clock=clock,
        )
    return IssuedCheckKey(
        dep.id,
        row.id,
        row.expires_at,
        check_key_text(challenge_key_for(vault, dep.id, nonce)),
        dep.check_host,
        dep.check_port,
        dep.sni,
    )


async def claim_check_code(
    db: Database, vault: MasterKey, actor: Actor, deployment_id: int, text: str, clock: Clock
) -> tuple[CheckCode, CheckChallenge]:
    """Verify a check code against the deployment's challenges and use up the one it was made for.

    Raises:
        ValidationError: Not a check code at all.
        BadSignatureError: A typo, an edit, or a code made with a key this controller did not
            issue for this deployment.
        InputError: The code names another deployment, or its time lies outside the challenge.
        ConflictError: The challenge was already used, or it expired.
    """
    now = clock.now()
    async with db.reader() as s:
        rows = list(
            (
                await s.execute(
                    select(CheckChallenge)
                    .where(CheckChallenge.deployment_id == deployment_id)
                    .order_by(CheckChallenge.id.desc())
                    .limit(_RECENT)
                )
            ).scalars()
        )
    last_error: BadSignatureError | None = None
    for ch in rows:
        try:
            code = parse_check_code(text, challenge_key_for(vault, deployment_id, ch.nonce))
        except BadSignatureError as err:
            last_error = err
            continue
        if code.deployment_id != deployment_id:
            raise InputError(
                f"this result code belongs to deployment {code.deployment_id}, not {deployment_id}"
            )
        if ch.used_at is not None:
            raise ConflictError(
                "this check code was already recorded (each check key works once): "
                "ask an admin for a new check key and run the check again"
            )
        if ch.expires_at <= now:
            raise ConflictError(
                "the check key of this code has expired or was replaced by a newer one: "
                "ask an admin for a new check key and run the check again"
            )
        if not ch.issued_at - CLOCK_SKEW <= code.at <= now + CLOCK_SKEW:
            raise InputError(
                "the check code's time lies outside its check key's lifetime: check the "
                "clock of the host that ran the check"
            )
        async with db.transaction() as s:
            claimed = await s.execute(
                update(CheckChallenge)
                .where(CheckChallenge.id == ch.id, CheckChallenge.used_at.is_(None))
                .values(used_at=now, used_by=actor.name[:100])
            )
            if getattr(claimed, "rowcount", 0) != 1:
                raise ConflictError("this check code was already recorded")
        return code, ch
    if last_error is None:
        raise ConflictError(
            f"no check key was issued for deployment {deployment_id}: an admin shows one on the "
            "deployment (or 'certmgr deployment check-key')"
        )
    raise BadSignatureError(
        "the check code does not check out: it has a typo, or it was made with a check key "
        "that was not issued for this deployment"
    ) from last_error


async def link_check_result(db: Database, challenge_id: int, check_result_id: int) -> None:
    """Remember which check result a used challenge produced."""
    async with db.transaction() as s:
        await s.execute(
            update(CheckChallenge)
            .where(CheckChallenge.id == challenge_id)
            .values(check_result_id=check_result_id)
        )
