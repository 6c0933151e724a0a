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
    try:
        cur = RequestStatus(current)
    except ValueError:
        raise InvalidTransitionError(entity, current, new.value) from None
    if new not in REQUEST_TRANSITIONS[cur]:
        raise InvalidTransitionError(entity, current, new.value)


def check_deployment_transition(entity: str, current: str, new: DeploymentStatus) -> None:
    """Raise unless ``current -> new`` is allowed for a deployment.

    Raises:
        InvalidTransitionError: Not allowed.
    """
    try:
        cur = DeploymentStatus(current)
    except ValueError:
        raise InvalidTransitionError(entity, current, new.value) from None
    if new not in DEPLOYMENT_TRANSITIONS[cur]:
        raise InvalidTransitionError(entity, current, new.value)
