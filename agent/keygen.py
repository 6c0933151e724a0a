"""Keys made on the agent (DESIGN section 6): the key stays in the state directory, the CSR goes up.

Blocking (RSA generation takes a while): the runner calls :func:`make_csr` through
``asyncio.to_thread``.
"""

from __future__ import annotations

import logging

from certmgr.agent.inventory import clip
from certmgr.agent.state import AgentState, GeneratedKey
from certmgr.shared.clock import Clock
from certmgr.shared.errors import InputError
from certmgr.shared.pki import KeyType, build_csr, csr_pem, generate_private_key, public_key_sha256
from certmgr.shared.protocol import CsrUpload, KeygenRequest, error_kind_for

logger = logging.getLogger(__name__)


def make_csr(state: AgentState, request: KeygenRequest, clock: Clock) -> CsrUpload:
    """The CSR for ``request``: the stored one when it was made before, else a new key and CSR.

    Never raises for a bad request: the upload then carries ``error_kind`` and ``error``.

    Raises:
        ConfigurationError: The state directory cannot be read or written.
    """
    done = state.generated(request.request_id)
    if done is not None:
        return CsrUpload(
            request_id=request.request_id,
            csr_pem=done.csr_pem,
            public_key_sha256=done.public_key_sha256,
        )
    try:
        key = generate_private_key(KeyType.parse(request.key_type))
        csr = build_csr(
            key,
            request.common_name or None,
            request.sans,
            organization=request.organization,
            organizational_unit=request.organizational_unit,
            locality=request.locality,
            state=request.state,
            country=request.country,
        )
    except InputError as err:
        logger.warning("key request %s refused: %s", request.request_id, err)
        return CsrUpload(
            request_id=request.request_id,
            error_kind=error_kind_for(err).value,
            error=clip(str(err) or type(err).__name__, 4000),
        )
    record = GeneratedKey(
        request_id=request.request_id,
        public_key_sha256=public_key_sha256(key),
        csr_pem=csr_pem(csr),
        created_at=clock.now(),
    )
    state.save_generated(record, key)
    logger.info(
        "made a %s key for request %s (public key sha256 %s)",
        request.key_type,
        request.request_id,
        record.public_key_sha256,
    )
    return CsrUpload(
        request_id=request.request_id,
        csr_pem=record.csr_pem,
        public_key_sha256=record.public_key_sha256,
    )
