"""The real ``certmgr-agent`` process: enrol and run via the CLI, memory, idle CPU, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from certmgr.shared.pki import sha256_fingerprint
from tests.factories.fake_controller import FakeController
from tests.factories.pki import TestPki

from .conftest import Site

MAX_RSS_KB = 50 * 1024


async def _cli(*args: str, stderr: Path) -> asyncio.subprocess.Process:
    with stderr.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "certmgr.agent",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def test_agent_process_installs_stays_small_and_stops_on_sigterm(
    controller: FakeController, site: Site, pki: TestPki, tmp_path: Path
) -> None:
    log = tmp_path / "agent.log"
    token = controller.make_token()
    enroll = await _cli("enroll", "--token", token, "--config", str(site.config), stderr=log)
    out, _ = await asyncio.wait_for(enroll.communicate(), 30)
    assert enroll.returncode == 0, log.read_text()
    assert b"enrolled as agent 1" in out

    agent = await _cli("run", "--config", str(site.config), stderr=log)
    try:
        await controller.wait_for(lambda: controller.inventories, timeout=20)
        controller.push(
            controller.seal(
                deployment_id=1,
                sequence=1,
                certificate=pki.leaf_a,
                chain=[pki.intermediate],
                key=pki.leaf_a_key,
            )
        )
        (report,) = await controller.wait_for(lambda: controller.reports, timeout=20)
        assert report.ok and report.installed_sha256 == sha256_fingerprint(pki.leaf_a)

        polls = controller.work_polls
        await controller.wait_for(lambda: controller.work_polls > polls, timeout=10)  # idle again
        cpu_before = _cpu_seconds(agent.pid)
        idle = 4.0
        await asyncio.sleep(idle)  # the measurement window: long-polls every 2 s meanwhile
        cpu_share = (_cpu_seconds(agent.pid) - cpu_before) / idle
        rss = _rss_kb(agent.pid)
        print(f"\nagent RSS {rss / 1024:.1f} MiB, idle CPU {cpu_share * 100:.2f} %")
        assert rss < MAX_RSS_KB, f"agent RSS {rss} kB"
        assert cpu_share < 0.05

        agent.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(agent.wait(), 10)
    finally:
        if agent.returncode is None:
            agent.kill()
            await agent.wait()
    assert code == 0, log.read_text()
    assert "agent stopped" in log.read_text()
    assert "Traceback" not in log.read_text()
