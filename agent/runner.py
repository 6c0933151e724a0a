"""``certmgr-agent run``: long-poll for work, install it, report, keep the inventory current.

Two tasks in one :class:`asyncio.TaskGroup`: the poll loop (work, packages, key requests,
reports) and the inventory loop (on start, then every ``inventory_interval``). Errors map to
backoff here, in one place: temporary ones back off exponentially with full jitter up to
``max_backoff``; a refusal (401/403) waits ``max_backoff``; a ``revoked`` answer stops the agent
with exit code 5 (only a ``revoked`` answer signed by the pinned controller key counts: the
client refuses every other answer). SIGTERM and SIGINT stop it gracefully: a package being installed is finished
and reported, the long-poll in flight is abandoned. Blocking work runs in threads. Logging
happens on state changes only (first failure, recovery).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import signal
import time
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

import aiohttp
import nacl.signing

from certmgr.agent import __version__
from certmgr.agent.client import ControllerClient, RequestSigner, pinned_ssl_context
from certmgr.agent.identity import ControllerPin
from certmgr.agent.install import InstallContext, process_package
from certmgr.agent.inventory import clip, collect_inventory
from certmgr.agent.keygen import make_csr
from certmgr.agent.settings import AgentSettings
from certmgr.agent.state import AgentState, AgentStatus
from certmgr.shared import exitcodes
from certmgr.shared.clock import Clock, SystemClock
from certmgr.shared.errors import CertmgrError, PermissionDeniedError, UpstreamRejectedError
from certmgr.shared.protocol import CsrUpload, InventoryUpload, Report, WorkResponse
from certmgr.shared.targets import HostOps, RealHost

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_OUTBOX: Final = 256
_STATUS_EVERY: Final = 60.0
FIRST_DISCOVERY: Final = 600.0  # seconds after start, at most, before the first own-host scan


def backoff_delay(attempt: int, *, cap: float, rng: random.Random, base: float = 1.0) -> float:
    """Exponential backoff with full jitter: uniform in ``[0, min(cap, base * 2**attempt)]``."""
    ceiling = min(cap, base * 2.0 ** min(attempt, 30))
    return max(rng.uniform(0, ceiling), min(0.01, ceiling))


class Runner:
    """The agent's run loop. Construct, then ``await run()``; :meth:`stop` ends it."""

    def __init__(
        self,
        settings: AgentSettings,
        *,
        clock: Clock | None = None,
        host: HostOps | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Prepare a run loop (nothing is read until :meth:`run`).

        Args:
            settings: The agent settings.
            clock: Time source (default: the system clock).
            host: The host seam for targets (default: the real host).
            rng: Randomness for backoff jitter.
        """
        self._settings = settings
        self._state = AgentState(settings.state_dir)
        self._clock = clock or SystemClock()
        self._host = host or RealHost()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._stop = asyncio.Event()
        self._outbox: list[Report | CsrUpload] = []
        self._exit_code = 0
        self._healthy: bool | None = None
        self._status = AgentStatus()
        self._status_written = 0.0
        self._context: InstallContext | None = None

    def stop(self) -> None:
        """Ask the loop to finish (what is being installed completes first)."""
        self._stop.set()

    async def run(self, *, handle_signals: bool = True) -> int:
        """Run until stopped or revoked.

        Args:
            handle_signals: Stop gracefully on SIGTERM and SIGINT.

        Returns:
            The exit code: 0 when stopped, 5 when the controller revoked this agent.

        Raises:
            ConfigurationError: Not enrolled, or the state directory is damaged.
            ConflictError: Another ``run`` uses the same state directory.
        """
        enrollment = await asyncio.to_thread(self._state.load_enrollment)
        lock = await asyncio.to_thread(self._state.acquire_run_lock)
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
        for signum in signals:
            loop.add_signal_handler(signum, self.stop)
        try:
            url = self._settings.controller_url or enrollment.controller_url
            self._context = InstallContext(
                self._settings, self._state, enrollment, self._host, self._clock
            )
            wait = self._settings.poll_wait or enrollment.poll_wait
            signer = RequestSigner(enrollment.agent_id, enrollment.ed25519, self._clock)
            pin = ControllerPin(enrollment.controller_verify_key, self._rotated)
            connector = aiohttp.TCPConnector(ssl=pinned_ssl_context(enrollment.ca_pem), limit=4)
            logger.info("agent %s starting; controller %s", enrollment.agent_id, url)
            async with aiohttp.ClientSession(connector=connector) as session:
                client = ControllerClient(
                    session, url, signer, pin=pin, timeout=self._settings.request_timeout
                )
                async with asyncio.TaskGroup() as tasks:
                    tasks.create_task(self._poll_loop(client, wait))
                    tasks.create_task(self._inventory_loop(client))
                    if self._settings.discovery_interval > 0:
                        tasks.create_task(self._discovery_loop(client))
        finally:
            for signum in signals:
                loop.remove_signal_handler(signum)
            await asyncio.to_thread(self._state.release_run_lock, lock)
        logger.info("agent stopped")
        return self._exit_code

    async def _rotated(self, key: nacl.signing.VerifyKey) -> None:
        """Persist a controller key announced by the pinned one; packages are checked with it."""
        await asyncio.to_thread(self._state.save_controller_key, key)
        if self._context is not None:
            enrollment = dataclasses.replace(self._context.enrollment, controller_verify_key=key)
            self._context = dataclasses.replace(self._context, enrollment=enrollment)

    async def _poll_loop(self, client: ControllerClient, wait: int) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                try:
                    await self._flush(client)
                except PermissionDeniedError as err:
                    # a refused report must not keep the agent from learning, on /work, that
                    # it was revoked (only a signed answer there stops it)
                    await self._trouble(err, "the controller refused what this agent sent")
                work = await self._until_stopped(client.work(wait))
                if work is None:
                    return
                await self._contact()
                attempt = 0
                if work.revoked:
                    logger.error("the controller revoked this agent: stopping")
                    self._exit_code = exitcodes.NOT_ALLOWED
                    self._stop.set()
                    return
                await self._handle(work)
                await self._flush(client)
            except PermissionDeniedError as err:
                await self._trouble(err, "the controller refused this agent (revoked or unknown?)")
                await self._sleep(self._settings.max_backoff)
            except CertmgrError as err:
                await self._trouble(err, "cannot work with the controller")
                await self._sleep(
                    backoff_delay(attempt, cap=self._settings.max_backoff, rng=self._rng)
                )
                attempt += 1

    async def _handle(self, work: WorkResponse) -> None:
        for package in work.packages:
            if self._stop.is_set() or self._context is None:
                return
            self._queue(await asyncio.to_thread(process_package, self._context, package))
        for request in work.keygen:
            if self._stop.is_set():
                return
            self._queue(await asyncio.to_thread(make_csr, self._state, request, self._clock))

    def _queue(self, item: Report | CsrUpload) -> None:
        if len(self._outbox) >= MAX_OUTBOX:
            dropped = self._outbox.pop(0)
            logger.warning("outbox full: dropped a %s", type(dropped).__name__)
        self._outbox.append(item)

    async def _flush(self, client: ControllerClient) -> None:
        while self._outbox:
            item = self._outbox[0]
            try:
                if isinstance(item, Report):
                    await client.report(item)
                else:
                    await client.upload_csr(item)
            except UpstreamRejectedError as err:
                logger.warning(
                    "the controller rejected a %s for good: %s", type(item).__name__, err
                )
            self._outbox.pop(0)

    async def _inventory_loop(self, client: ControllerClient) -> None:
        interval = self._settings.inventory_interval
        while not self._stop.is_set():
            try:
                targets = await asyncio.to_thread(
                    collect_inventory, self._settings, self._state, self._host
                )
                upload = InventoryUpload(agent_version=__version__, targets=targets)
                await self._until_stopped(client.inventory(upload))
                delay = interval
            except CertmgrError as err:
                # The poll loop reports connectivity; retry sooner than the full interval.
                logger.debug("inventory not sent: %s", err)
                delay = min(interval, self._settings.max_backoff)
            await self._sleep(delay)

    async def _discovery_loop(self, client: ControllerClient) -> None:
        """Scan this host's own TLS listeners now and then and send them to the controller.

        The first scan comes a little after start (at most ``FIRST_DISCOVERY`` seconds), then
        about every interval; each wait is spread so that a fleet started together does not
        scan, nor send, at once.
        """
        interval = self._settings.discovery_interval
        await self._sleep(min(interval, FIRST_DISCOVERY) * (0.5 + self._rng.random() / 2))
        while not self._stop.is_set():
            try:
                # lazy: the scan engine loads when the first scan is due; an idle agent stays small
                from certmgr.agent.discover import discover_here, local_addresses

                upload = await discover_here(
                    self._settings.discovery_ports or None,
                    await asyncio.to_thread(local_addresses),
                )
                await self._until_stopped(client.discovery(upload))
                if self._stop.is_set():
                    return
                logger.info("discovery: sent %d TLS listeners of this host", len(upload.listeners))
            except CertmgrError as err:
                logger.warning("discovery of this host's TLS listeners failed: %s", err)
            # every wait spread by a tenth, so that a fleet started together drifts apart
            await self._sleep(interval * (0.9 + self._rng.random() / 5))

    async def _until_stopped(self, call: Coroutine[Any, Any, T]) -> T | None:
        """Await ``call`` unless a stop comes first (then cancel it and return None)."""
        job = asyncio.ensure_future(call)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait((job, stopper), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (job, stopper):
                task.cancel()
            await asyncio.wait((job, stopper))
        if job.cancelled():
            return None
        return job.result()

    async def _sleep(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        except TimeoutError:
            return

    async def _contact(self) -> None:
        changed = self._healthy is not True
        if self._healthy is False:
            logger.info("the controller is reachable again")
        self._healthy = True
        self._status = AgentStatus(last_contact=self._clock.now())
        if changed or time.monotonic() - self._status_written > _STATUS_EVERY:
            await self._write_status()

    async def _trouble(self, err: CertmgrError, what: str) -> None:
        text = clip(str(err) or type(err).__name__)
        if self._healthy is not False or text != self._status.last_error:
            logger.warning("%s: %s", what, text)
        self._healthy = False
        self._status = AgentStatus(
            last_contact=self._status.last_contact,
            last_error=text,
            last_error_at=self._clock.now(),
        )
        await self._write_status()

    async def _write_status(self) -> None:
        self._status_written = time.monotonic()
        try:
            await asyncio.to_thread(self._state.write_status, self._status)
        except CertmgrError as err:
            logger.warning("cannot record the status: %s", err)
