"""Run the controller: TLS context from the console certificate, then aiohttp until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import ssl
import sys

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from cryptography import x509

from certmgr.controller import logformat
from certmgr.controller.app import create_app
from certmgr.controller.appkeys import AGENT_WAKEUPS, DB, SCHEDULER, STOPPING
from certmgr.controller.memtrim import heap_trimmed
from certmgr.controller.services.acquisition.acme_runtime import http01_responder
from certmgr.controller.settings import Settings
from certmgr.controller.tls_buffers import share_tls_read_buffers
from certmgr.controller.tls_reload import ConsoleTlsReloader, load_console_chain
from certmgr.controller.vault import MasterKey
from certmgr.controller.zeroconf_advert import advertised
from certmgr.shared.errors import ConfigurationError
from certmgr.shared.pki import sha256_fingerprint

logger = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 20.0  # requests under way when SIGTERM comes may finish within this
SWITCH_INTERVAL = 0.0005  # seconds a thread may hold the GIL while another waits for it
# Objects allocated (net) between two young collections; CPython's default is 700.
GC_YOUNG_OBJECTS = 10_000


class _QuietBadRequests(logging.Filter):
    """Malformed requests from clients are the client's problem: one line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg, record.args, record.exc_info, record.exc_text = (
                "refused a malformed request: %s",
                (exc.message,),
                None,
                None,
            )
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


# Mozilla's "intermediate" profile (ssl-config.mozilla.org, 5.7): TLS 1.3 with OpenSSL's default
# suites (all three are in the profile), and for TLS 1.2 only ECDHE with AEAD ciphers. DHE is left
# out: it needs configured DH parameters and every client that matters speaks ECDHE.
TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)
TLS_GROUPS = ("X25519", "prime256v1", "secp384r1")
# Python before 3.15 sets one key-exchange group only (``set_ecdh_curve``). P-256 is the one every
# TLS client supports; a TLS 1.3 client that guessed X25519 gets one HelloRetryRequest.
_SINGLE_GROUP = "prime256v1"


def _mozilla_intermediate(ctx: ssl.SSLContext) -> None:
    """Restrict a server context to the intermediate profile's versions, ciphers and groups."""
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    set_groups = getattr(ctx, "set_groups", None)
    if set_groups is not None:
        set_groups(":".join(TLS_GROUPS))
    else:
        ctx.set_ecdh_curve(_SINGLE_GROUP)


def console_ssl_context(settings: Settings, vault: MasterKey) -> ssl.SSLContext:
    """Server TLS context with the console certificate (its key file is encrypted).

    Raises:
        ConfigurationError: Missing or unreadable certificate or key.
    """
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    _mozilla_intermediate(ctx)
    try:
        load_console_chain(ctx, settings, vault)
    except (OSError, ssl.SSLError) as err:
        raise ConfigurationError(
            f"cannot load the console certificate from {settings.tls_dir}: {err.__class__.__name__}"
        ) from err
    return ctx


def tune_interpreter() -> None:
    """Thread switching and garbage collection for a server with thousands of requests in flight."""
    # SQLite statements run on aiosqlite's threads: each hand-off waits for the GIL, by default
    # up to 5 ms while the loop is busy (the write lock is held all that time). 0.5 ms took
    # ~1.5x more agent requests a second through a busy loop.
    sys.setswitchinterval(SWITCH_INTERVAL)
    # A request's objects live for milliseconds to seconds. With young collections every 700
    # allocations, thousands of requests in flight had their objects promoted to the oldest
    # generation, and each quarter of it added started a full collection of the whole heap:
    # 11 of up to 1 s each during an install on 10,000 agents, 10.8 s of GC (8% of the
    # controller's CPU). With 10,000 most of them die young: 1 full collection, 3.1 s of GC
    # (cyclic garbage waits a little longer; reference counting frees everything else at once).
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_OBJECTS, middle, old)


async def serve(settings: Settings, vault: MasterKey) -> None:
    """Serve HTTPS until SIGINT/SIGTERM.

    Raises:
        ConfigurationError: Bad TLS files, database or address in use.
    """
    logformat.configure(settings.log_level, settings.log_format)
    # asyncio keeps a 256 KiB receive buffer per TLS connection; with thousands of agents
    # long-polling that was most of the process: one per thread is enough.
    share_tls_read_buffers()
    tune_interpreter()
    logging.getLogger("aiohttp.server").addFilter(_QuietBadRequests())
    # Handlers first: a SIGTERM that comes as soon as the port answers still stops cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await _serve_until(settings, vault, stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _serve_until(settings: Settings, vault: MasterKey, stop: asyncio.Event) -> None:
    app = create_app(settings, vault)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=STOP_GRACE_SECONDS)
    await runner.setup()
    tls = ConsoleTlsReloader(console_ssl_context(settings, vault), settings, vault, app[DB])
    site = web.TCPSite(runner, settings.listen_host, settings.listen_port, ssl_context=tls.ctx)
    try:
        await tls.refresh()  # a certificate renewed while the controller was stopped
        await site.start()
    except OSError as err:
        await runner.cleanup()
        raise ConfigurationError(
            f"cannot listen on {settings.listen_host}:{settings.listen_port}: {err.strerror}"
        ) from err
    stack = contextlib.AsyncExitStack()
    tls.start(settings.tls_reload_seconds)
    stack.push_async_callback(tls.aclose)
    try:
        await stack.enter_async_context(
            advertised(settings.zeroconf_interfaces, settings.listen_port, ca_sha256(settings))
        )
        await stack.enter_async_context(http01_responder(settings, app[DB]))
        # after a wave of agent requests, most of the heap is free but resident: give it back
        await stack.enter_async_context(heap_trimmed())
    except BaseException:
        await stack.aclose()
        await runner.cleanup()
        raise
    url = f"https://{settings.listen_host if ':' not in settings.listen_host else '[' + settings.listen_host + ']'}:{settings.listen_port}"
    print(f"certmgr console listening on {url}  (external URL {settings.public_url})", flush=True)  # noqa: T201
    try:
        await stop.wait()
    finally:
        await drain(app)
        await stack.aclose()
        await runner.cleanup()  # stops listening; requests under way get STOP_GRACE_SECONDS
        logger.info("certmgr controller stopped")


async def drain(app: web.Application) -> None:
    """Begin a clean stop: not ready any more, long-polls answered, scheduled work handed back.

    ``/readyz`` answers 503 from now on; every agent waiting in a long-poll gets its answer at
    once (on a closing connection, so its next poll goes to another controller behind the load
    balancer); the scheduler stops: a running job gives its lease back still due and a claimed
    batch goes back to pending, so another controller takes them over at once.
    """
    app[STOPPING].set()
    polls = app[AGENT_WAKEUPS].drain() if AGENT_WAKEUPS in app else 0
    if SCHEDULER in app:
        await app[SCHEDULER].aclose()
    logger.info("stopping: answered %d agent long-polls, handed back scheduled work", polls)


def ca_sha256(settings: Settings) -> str:
    """SHA-256 of the CA certificate agents pin (the first certificate in ``ca/ca.pem``)."""
    try:
        return sha256_fingerprint(
            x509.load_pem_x509_certificates((settings.ca_dir / "ca.pem").read_bytes())[0]
        )
    except (OSError, ValueError, IndexError) as err:
        raise ConfigurationError(f"cannot read the CA certificate in {settings.ca_dir}") from err
