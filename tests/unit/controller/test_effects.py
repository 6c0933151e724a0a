"""The install follow-up: reports that arrive together are checked as one batch; a failed batch is logged and the rest still run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from certmgr.controller import effects
from certmgr.controller.background import Background
from certmgr.controller.domain.actors import cli_actor
from certmgr.controller.services.deployment.checks import InstallToConfirm


async def test_reports_together_make_one_batch_and_a_failed_batch_does_not_stop_the_next(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    batches: list[list[int]] = []

    async def confirm_installs(
        _db: Any, installs: Sequence[InstallToConfirm], _clock: Any
    ) -> list[bool]:
        ids = [i.deployment_id for i in installs]
        batches.append(ids)
        if 1 in ids:
            raise OSError("database gone for a moment")
        return [False] * len(ids)  # nothing confirmed: no notification to send

    monkeypatch.setattr(effects, "confirm_installs", confirm_installs)
    tasks = Background()
    follow = effects.InstallFollowUp(Any, Any, Any, tasks)  # type: ignore[arg-type]
    for dep in (1, 2, 3):
        follow(dep, cli_actor(), "test")
    await asyncio.sleep(0)  # the batch is gathering: these join it
    with caplog.at_level(logging.ERROR):
        for _ in range(200):
            if batches:
                break
            await asyncio.sleep(0.01)
        follow(4, cli_actor(), "test")  # after the failed batch: checked all the same
        await tasks.aclose(timeout=5)
    assert batches == [[1, 2, 3], [4]]
    [record] = [r for r in caplog.records if "deploy checks of deployments" in r.getMessage()]
    assert "1, 2, 3 failed: OSError: database gone" in record.getMessage()
    assert record.exc_info is None
