"""``certmgr serve`` tunes the interpreter: requests' objects in flight do not start full collections.

Each case runs in a fresh interpreter, so the test process keeps its own settings.
"""

from __future__ import annotations

import json
import subprocess
import sys

# A server's shape: a long-lived heap (sessions, connections, caches) and 2,000 requests in
# flight, each holding a few objects in a cycle until 2,000 later ones have started.
_WORKLOAD = """
import collections, gc, json, sys
if sys.argv[1] == "tuned":
    from certmgr.controller.server import tune_interpreter
    tune_interpreter()
base = [[i] for i in range(300_000)]
full = 0
def count(phase, info):
    global full
    if phase == "start" and info["generation"] == 2:
        full += 1
gc.callbacks.append(count)
live = collections.deque()
for i in range(100_000):
    request = [{"i": i, "n": [j]} for j in range(10)]
    request.append(request)
    live.append(request)
    if len(live) > 2000:
        live.popleft()
gc.callbacks.remove(count)
live.clear()
gc.collect()
print(json.dumps({
    "full": full,
    "threshold": gc.get_threshold(),
    "switch": sys.getswitchinterval(),
    "garbage": len(gc.garbage),
}))
"""


def _run(mode: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _WORKLOAD, mode], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_requests_in_flight_do_not_start_full_collections() -> None:
    default, tuned = _run("default"), _run("tuned")

    assert tuned["threshold"][0] == 10_000  # type: ignore[index]
    assert tuned["switch"] == 0.0005
    assert isinstance(default["full"], int) and isinstance(tuned["full"], int)
    # CPython's defaults promote most requests' objects and scan the whole heap ~20 times here
    assert default["full"] >= 10, default
    assert tuned["full"] * 4 <= default["full"], (tuned, default)
    assert tuned["garbage"] == 0  # cycles are still collected
