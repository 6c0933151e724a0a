"""State machines of requests and deployments: the allowed transitions, one place."""

from __future__ import annotations

from enum import StrEnum

from certmgr.shared.errors import InvalidTransitionError


class RequestStatus(StrEnum):
    """Acquisition process states (DESIGN §2)."""

    DRAFT = "draft"
    KEY_AND_CSR = "key-and-csr"
    ORDERED = "ordered"
    RECEIVED = "received"
    CURRENT_SWITCHED = "current-switched"
    DONE = "done"
    CANCELLED = "cancelled"


class DeploymentStatus(StrEnum):
    """Deployment process states (DESIGN §2)."""

    DRAFT = "draft"
    PREPARED = "prepared"
    INSTALL_REQUESTED = "install-requested"
    INSTALLED = "installed"
    CONFIRMED = "confirmed"
    CHECK_FAILED = "check-failed"
    MANUALLY_CONFIRMED = "manually-confirmed"
    COMPLETED_UNCHECKED = "completed-unchecked"
    RETIRED = "retired"
    """The server is gone: no monitoring, no installs; the history stays."""


REQUEST_STATE_WORDS: dict[str, str] = {
    "draft": "a draft",
    "key-and-csr": "waiting to be ordered (its key and signing request are made)",
    "ordered": "ordered and waiting for the certificate",
    "received": "received, not yet made current",
    "current-switched": "switched to its new certificate",
    "done": "completed",
    "cancelled": "cancelled",
}
"""What a request in each state is, in words (messages never show the state codes)."""

REQUEST_TARGET_WORDS: dict[str, str] = {
    "key-and-csr": "given a key and signing request",
    "ordered": "marked as ordered",
    "received": "given a certificate",
    "current-switched": "switched to its certificate",
    "done": "completed",
    "cancelled": "cancelled",
}

DEPLOYMENT_STATE_WORDS: dict[str, str] = {
    "draft": "a draft (nothing prepared or sent yet)",
    "prepared": "prepared (its package is ready)",
    "install-requested": "waiting for the installation",
    "installed": "installed and not checked yet",
    "confirmed": "confirmed by a check",
    "check-failed": "installed, but its last check found problems",
    "manually-confirmed": "confirmed by hand",
    "completed-unchecked": "completed without a check",
    "retired": "retired",
}
"""What a deployment in each state is, in words."""

DEPLOYMENT_TARGET_WORDS: dict[str, str] = {
    "draft": "put back to draft",
    "prepared": "prepared",
    "install-requested": "sent for installation",
    "installed": "marked as installed",
    "confirmed": "confirmed (it needs a passing check first)",
    "check-failed": "marked as failing its check",
    "manually-confirmed": "confirmed by hand",
    "completed-unchecked": "completed without a check",
    "retired": "retired",
}


def request_summary(req_id: int, status: str, issuer_kind: str, last_error: str = "") -> str:
    """Where a request stands and what to do next, in words (for the console's messages)."""
    name = f"Request {req_id}"
    if status == "done":
        return f"{name} is completed: the new certificate is current."
    if last_error and status not in ("cancelled",):
        return f"{name} could not get its certificate: {last_error[:300]}. " + (
            "It is tried again automatically; the request page shows each attempt."
            if issuer_kind in ("private-ca", "acme")
            else "Fix the cause, then try again from the request page."
        )
    if status == "key-and-csr" and issuer_kind not in ("private-ca", "acme"):
        return (
            f"{name} is waiting to be ordered: order the certificate from the vendor with its "
            "signing request (on the request page), then receive the certificate there."
        )
    if status == "ordered":
        return f"{name} is ordered: receive the certificate on the request page when it arrives."
    return f"{name} is {REQUEST_STATE_WORDS.get(status, status)}."


def refusal(entity: str, current: str, new: str, *, deployment: bool) -> str:
    """Why a state change is refused, in words: what the thing is now and what cannot happen."""
    now = (DEPLOYMENT_STATE_WORDS if deployment else REQUEST_STATE_WORDS).get(current, current)
    want = (DEPLOYMENT_TARGET_WORDS if deployment else REQUEST_TARGET_WORDS).get(new, new)
    return f"{entity[:1].upper()}{entity[1:]} is {now}, so it cannot be {want} now."


_R = RequestStatus
REQUEST_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    _R.DRAFT: frozenset({_R.KEY_AND_CSR, _R.CANCELLED}),
    _R.KEY_AND_CSR: frozenset({_R.ORDERED, _R.RECEIVED, _R.CANCELLED}),
    _R.ORDERED: frozenset({_R.RECEIVED, _R.CANCELLED}),
    _R.RECEIVED: frozenset({_R.CURRENT_SWITCHED, _R.CANCELLED}),
    _R.CURRENT_SWITCHED: frozenset({_R.DONE}),
    _R.DONE: frozenset(),
    _R.CANCELLED: frozenset(),
}

_D = DeploymentStatus
_ANY_ACTIVE = frozenset(
    {
        _D.DRAFT,
        _D.PREPARED,
        _D.INSTALL_REQUESTED,
        _D.INSTALLED,
        _D.CONFIRMED,
        _D.CHECK_FAILED,
        _D.MANUALLY_CONFIRMED,
        _D.COMPLETED_UNCHECKED,
    }
)
DEPLOYMENT_TRANSITIONS: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {
    # A draft may already be served (an imported certificate in use): a passing check can confirm it.
    _D.DRAFT: frozenset(
        {
            _D.PREPARED,
            _D.INSTALL_REQUESTED,
            _D.INSTALLED,
            _D.CONFIRMED,
            _D.MANUALLY_CONFIRMED,
            _D.COMPLETED_UNCHECKED,
        }
    ),
    _D.PREPARED: frozenset(
        {
            _D.PREPARED,
            _D.INSTALL_REQUESTED,
            _D.INSTALLED,
            _D.DRAFT,
            _D.CONFIRMED,
            _D.CHECK_FAILED,
            _D.MANUALLY_CONFIRMED,
            _D.COMPLETED_UNCHECKED,
        }
    ),
    _D.INSTALL_REQUESTED: frozenset(
        {
            _D.INSTALL_REQUESTED,
            _D.INSTALLED,
            _D.CONFIRMED,
            _D.CHECK_FAILED,
            _D.MANUALLY_CONFIRMED,
            _D.COMPLETED_UNCHECKED,
            _D.PREPARED,
        }
    ),
    # a newer certificate may go out before the last install was confirmed
    _D.INSTALLED: frozenset(
        {
            _D.CONFIRMED,
            _D.CHECK_FAILED,
            _D.MANUALLY_CONFIRMED,
            _D.COMPLETED_UNCHECKED,
            _D.PREPARED,
            _D.INSTALL_REQUESTED,
        }
    ),
    _D.CHECK_FAILED: frozenset(
        {
            _D.CONFIRMED,
            _D.CHECK_FAILED,
            _D.MANUALLY_CONFIRMED,
            _D.COMPLETED_UNCHECKED,
            _D.PREPARED,
            _D.INSTALL_REQUESTED,
            _D.INSTALLED,
        }
    ),
    # A finished deployment starts again when a new certificate must go out.
    _D.CONFIRMED: frozenset({_D.CONFIRMED, _D.CHECK_FAILED, _D.PREPARED, _D.INSTALL_REQUESTED}),
    _D.MANUALLY_CONFIRMED: frozenset(
        {_D.CONFIRMED, _D.CHECK_FAILED, _D.PREPARED, _D.INSTALL_REQUESTED}
    ),
    _D.COMPLETED_UNCHECKED: frozenset(
        {_D.CONFIRMED, _D.CHECK_FAILED, _D.PREPARED, _D.INSTALL_REQUESTED}
    ),
}
# any deployment can be retired (the server is gone); a retired one stays retired
for _targets in list(DEPLOYMENT_TRANSITIONS):
    DEPLOYMENT_TRANSITIONS[_targets] = DEPLOYMENT_TRANSITIONS[_targets] | {_D.RETIRED}
DEPLOYMENT_TRANSITIONS[_D.RETIRED] = frozenset()
assert set(DEPLOYMENT_TRANSITIONS) == set(_ANY_ACTIVE) | {_D.RETIRED}  # noqa: S101 - every state has a row

FINISHED_DEPLOYMENT = frozenset({_D.CONFIRMED, _D.MANUALLY_CONFIRMED, _D.COMPLETED_UNCHECKED})
ONGOING_REQUEST = frozenset(
    {_R.DRAFT, _R.KEY_AND_CSR, _R.ORDERED, _R.RECEIVED, _R.CURRENT_SWITCHED}
)


def check_request_transition(entity: str, current: str, new: RequestStatus) -> None:
    """Raise unless ``current -> new`` is allowed for a request.

    Raises:
        InvalidTransitionError: Not allowed.
    """
    why = refusal(entity, current, new.value, deployment=False)
    try:
        cur = RequestStatus(current)
    except ValueError:
        raise InvalidTransitionError(entity, current, new.value, why) from None
    if new not in REQUEST_TRANSITIONS[cur]:
        raise InvalidTransitionError(entity, current, new.value, why)


def check_deployment_transition(entity: str, current: str, new: DeploymentStatus) -> None:
    """Raise unless ``current -> new`` is allowed for a deployment.

    Raises:
        InvalidTransitionError: Not allowed.
    """
    why = refusal(entity, current, new.value, deployment=True)
    try:
        cur = DeploymentStatus(current)
    except ValueError:
        raise InvalidTransitionError(entity, current, new.value, why) from None
    if new not in DEPLOYMENT_TRANSITIONS[cur]:
        raise InvalidTransitionError(entity, current, new.value, why)
