"""Agents enrolled straight through the enrolment service (no agent process), for service tests."""

from __future__ import annotations

from dataclasses import dataclass

import nacl.public
import nacl.signing

from certmgr.controller.db.engine import Database
from certmgr.controller.domain.actors import Actor, Role
from certmgr.controller.services.agents.enrolment import create_enrollment_token, enroll
from certmgr.controller.vault import MasterKey
from certmgr.shared import protocol as p
from certmgr.shared.clock import SystemClock

ADMIN = Actor(name="admin", role=Role.ADMIN, source="test")


@dataclass
class SimAgent:
    """An enrolled agent's id and its keys."""

    agent_id: str
    key: nacl.signing.SigningKey
    box: nacl.public.PrivateKey


async def enroll_sim_agent(
    db: Database, vault: MasterKey, name: str, *, auto_approve: bool
) -> SimAgent:
    """Enrol an agent named ``name`` with fresh keys (approved at once when ``auto_approve``)."""
    clock = SystemClock()
    token = p.parse_token(
        await create_enrollment_token(
            db,
            ADMIN,
            clock,
            controller_url="https://127.0.0.1:1",
            ca_sha256="00" * 32,
            auto_approve=auto_approve,
        )
    )
    sign = nacl.signing.SigningKey.generate()
    box = nacl.public.PrivateKey.generate()
    res = await enroll(
        db,
        vault,
        p.EnrollRequest(
            token_secret=token.secret,
            agent_name=name,
            hostname=name,
            agent_version="test",
            x25519_public_key=bytes(box.public_key),
            ed25519_public_key=bytes(sign.verify_key),
        ),
        clock,
        address="127.0.0.1",
    )
    return SimAgent(res.agent_id, sign, box)
