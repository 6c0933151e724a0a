"""The deployment page offers only valid actions, with the expected next one as primary."""

from __future__ import annotations

from dataclasses import replace

import pytest

from certmgr.controller.domain.deployment_actions import DeploymentFacts, plan_actions
from certmgr.controller.domain.states import DEPLOYMENT_TRANSITIONS, DeploymentStatus

DRAFT = DeploymentFacts(
    status="draft",
    delivery="conventional",
    may_release_keys=True,
    has_package=False,
    last_check_passed=False,
    has_check=False,
    outdated=True,
    has_admin_email=True,
)


def test_a_new_conventional_deployment_starts_with_preparing_and_offers_no_done() -> None:
    plan = plan_actions(DRAFT)
    assert plan.primary == "prepare"
    assert not plan.offers("done")
    assert not plan.offers("unchecked") and not plan.offers("manual")
    assert plan.offers("check")
    assert plan.kind("prepare") == "" and plan.kind("check") == "secondary"


def test_after_preparing_the_install_request_is_next_then_the_check() -> None:
    prepared = replace(DRAFT, status="prepared", has_package=True)
    assert plan_actions(prepared).primary == "request"
    assert plan_actions(prepared).offers("unchecked")
    requested = replace(prepared, status="install-requested")
    assert plan_actions(requested).primary == "check"


def test_done_is_offered_and_primary_only_after_a_passing_check() -> None:
    installed = replace(DRAFT, status="installed", has_check=True, last_check_passed=False)
    assert not plan_actions(installed).offers("done")
    passed = replace(installed, last_check_passed=True)
    assert plan_actions(passed).primary == "done"
    # a draft already served (imported certificate in use) can be confirmed by a passing check
    assert plan_actions(replace(DRAFT, has_check=True, last_check_passed=True)).primary == "done"


def test_a_user_without_key_release_is_never_offered_a_key_releasing_action() -> None:
    for delivery in ("conventional", "agent", "oneclick"):
        plan = plan_actions(replace(DRAFT, delivery=delivery, may_release_keys=False))
        assert not plan.available & {"prepare", "install", "prepare-oneclick"}
        assert plan.primary == "check"


@pytest.mark.parametrize(
    ("delivery", "first"), [("agent", "install"), ("oneclick", "prepare-oneclick")]
)
def test_each_delivery_has_its_own_first_step(delivery: str, first: str) -> None:
    assert plan_actions(replace(DRAFT, delivery=delivery)).primary == first


def test_finished_deployments_ask_for_nothing_until_a_new_certificate_must_go_out() -> None:
    done = replace(
        DRAFT, status="confirmed", has_check=True, last_check_passed=True, outdated=False
    )
    assert plan_actions(done).primary == ""
    assert not plan_actions(done).offers("done")
    assert plan_actions(replace(done, outdated=True)).primary == "prepare"
    assert plan_actions(replace(DRAFT, status="retired")).available == frozenset()


@pytest.mark.parametrize("status", [s.value for s in DeploymentStatus])
@pytest.mark.parametrize("delivery", ["conventional", "agent", "oneclick"])
def test_no_state_offers_a_close_the_state_machine_refuses(status: str, delivery: str) -> None:
    allowed = DEPLOYMENT_TRANSITIONS[DeploymentStatus(status)]
    target = {
        "done": DeploymentStatus.CONFIRMED,
        "unchecked": DeploymentStatus.COMPLETED_UNCHECKED,
        "manual": DeploymentStatus.MANUALLY_CONFIRMED,
    }
    for has_check in (False, True):
        facts = replace(
            DRAFT,
            status=status,
            delivery=delivery,
            has_check=has_check,
            last_check_passed=has_check,
        )
        plan = plan_actions(facts)
        for action, state in target.items():
            if plan.offers(action):
                assert state in allowed, (status, action)
        assert plan.primary == "" or plan.offers(plan.primary)
