"""Which actions a deployment offers in its current state, and which one is expected next.

The console shows only these (one primary button, the rest secondary), so it never offers an
action that the service would refuse (for example "Done" before anything was deployed).
"""

from __future__ import annotations

from dataclasses import dataclass

from certmgr.controller.domain.states import DEPLOYMENT_TRANSITIONS, DeploymentStatus

_D = DeploymentStatus
# States in which something was handed out (or the server said it is installed): closing
# without a passing check makes sense from here on, never from a bare draft.
_HANDED_OUT = frozenset({_D.PREPARED, _D.INSTALL_REQUESTED, _D.INSTALLED, _D.CHECK_FAILED})
FINISHED = frozenset({_D.CONFIRMED, _D.MANUALLY_CONFIRMED, _D.COMPLETED_UNCHECKED})


@dataclass(frozen=True)
class DeploymentFacts:
    """What the choice depends on."""

    status: str
    delivery: str
    may_release_keys: bool
    has_package: bool
    last_check_passed: bool
    has_check: bool
    outdated: bool
    has_admin_email: bool


@dataclass(frozen=True)
class ActionPlan:
    """The actions valid now; ``primary`` is the expected next one ("" when nothing is due)."""

    available: frozenset[str]
    primary: str

    def offers(self, action: str) -> bool:
        """Whether ``action`` is valid now."""
        return action in self.available

    def kind(self, action: str) -> str:
        """The button class for ``action``: "" for the primary one, else "secondary"."""
        return "" if action == self.primary else "secondary"


def _allows(status: DeploymentStatus, target: DeploymentStatus) -> bool:
    return target in DEPLOYMENT_TRANSITIONS[status]


def _hand_out_action(facts: DeploymentFacts) -> str:
    """The action that sends the certificate out for this delivery ("" for none)."""
    if facts.delivery == "conventional":
        return "prepare" if facts.may_release_keys else ""
    if facts.delivery == "agent":
        return "install" if facts.may_release_keys else ""
    if facts.delivery == "oneclick":
        return "prepare-oneclick" if facts.may_release_keys else ""
    return ""


def plan_actions(facts: DeploymentFacts) -> ActionPlan:
    """The actions of a deployment page.

    Names: ``prepare``, ``request`` (install request mail), ``install`` (agent), ``prepare-oneclick``,
    ``receipt``, ``check``, ``check-code``, ``done``, ``unchecked``, ``manual``, ``send-result``.
    """
    try:
        status = _D(facts.status)
    except ValueError:
        return ActionPlan(frozenset(), "")
    if status is _D.RETIRED:
        return ActionPlan(frozenset(), "")
    available: set[str] = {"check", "check-code"}
    hand_out = _hand_out_action(facts)
    if hand_out and _allows(status, _D.PREPARED if hand_out != "install" else _D.INSTALL_REQUESTED):
        available.add(hand_out)
    if (
        facts.delivery == "conventional"
        and (facts.has_package or status in _HANDED_OUT)
        and _allows(status, _D.INSTALL_REQUESTED)
    ):
        available.add("request")
    if facts.delivery == "oneclick" and status in _HANDED_OUT:
        available.add("receipt")
    if facts.last_check_passed and _allows(status, _D.CONFIRMED) and status not in FINISHED:
        available.add("done")
    if status in _HANDED_OUT:
        available |= {"unchecked", "manual"}
    if facts.has_check and facts.has_admin_email:
        available.add("send-result")
    return ActionPlan(frozenset(available), _primary(status, facts, hand_out, available))


def _primary(
    status: DeploymentStatus, facts: DeploymentFacts, hand_out: str, avail: set[str]
) -> str:
    if "done" in avail:
        return "done"
    if status in FINISHED:
        return hand_out if facts.outdated and hand_out in avail else ""
    if status is _D.DRAFT:
        return hand_out if hand_out in avail else "check"
    if status is _D.PREPARED:
        if facts.delivery == "conventional" and facts.has_package and "request" in avail:
            return "request"
        if facts.delivery == "oneclick" and "receipt" in avail:
            return "receipt"
        return "check"
    if status is _D.INSTALL_REQUESTED and facts.delivery == "oneclick":
        return "receipt"
    return "check"
