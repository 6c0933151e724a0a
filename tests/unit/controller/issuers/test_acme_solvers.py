"""Challenge solvers at their seams: the HTTP-01 responder on loopback, routing, DNS-01 checks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp
import pytest

from certmgr.controller.issuers.acme_dns01 import Dns01Rfc2136Solver
from certmgr.controller.issuers.acme_solvers import (
    DNS_01,
    HTTP_01,
    ChallengeSolver,
    CombinedSolver,
    Http01Responder,
)
from certmgr.shared.errors import TemporaryUpstreamError, ValidationError
from certmgr.shared.secret import Secret
from tests.factories._serverbase import free_port

SECRET = "c2VjcmV0LXRzaWcta2V5LW1hdGVyaWFsLTAxMjM0NTY3OA=="


async def _get(session: aiohttp.ClientSession, port: int, path: str) -> tuple[int, str, str]:
    async with session.get(f"http://127.0.0.1:{port}{path}") as resp:
        return resp.status, resp.content_type, await resp.text()


async def test_responder_serves_exact_tokens_only() -> None:
    responder = Http01Responder("127.0.0.1", 0)
    assert isinstance(responder, ChallengeSolver)
    async with responder, aiohttp.ClientSession() as session:
        assert responder.port != 0
        await responder.prepare("a.test", HTTP_01, "tok-1", "tok-1.thumb")
        base = "/.well-known/acme-challenge/"
        assert await _get(session, responder.port, base + "tok-1") == (
            200,
            "text/plain",
            "tok-1.thumb",
        )
        for other in ("tok-", "tok-12", "TOK-1", "tok-1/x", ""):
            status, _, body = await _get(session, responder.port, base + other)
            assert status == 404
            assert "thumb" not in body
        assert (await _get(session, responder.port, "/tok-1"))[0] == 404
        await responder.cleanup("a.test", HTTP_01, "tok-1", "tok-1.thumb")
        assert (await _get(session, responder.port, base + "tok-1"))[0] == 404
        assert responder.pending == 0


async def test_responder_refuses_wildcards_and_foreign_kinds() -> None:
    responder = Http01Responder(domains=["example.test"])
    assert responder.supports("www.example.test") == (HTTP_01,)
    assert responder.supports("example.test") == (HTTP_01,)
    assert responder.supports("*.example.test") == ()
    assert responder.supports("example.org") == ()
    with pytest.raises(ValidationError):
        await responder.prepare("a.example.test", DNS_01, "t", "v")


async def test_responder_port_in_use_is_a_temporary_error() -> None:
    async with Http01Responder("127.0.0.1", 0) as first:
        with pytest.raises(TemporaryUpstreamError, match="cannot listen"):
            # SO_REUSEADDR does not allow two listeners on one port
            await Http01Responder("127.0.0.1", first.port).start()


class Recorder:
    def __init__(self, name: str, kinds: Sequence[str]) -> None:
        self.name, self.kinds = name, tuple(kinds)
        self.calls: list[tuple[str, str, str]] = []

    def supports(self, domain: str) -> Sequence[str]:
        return self.kinds

    async def prepare(self, domain: str, kind: str, token: str, value: str) -> None:
        self.calls.append(("prepare", domain, kind))

    async def cleanup(self, domain: str, kind: str, token: str, value: str) -> None:
        self.calls.append(("cleanup", domain, kind))


async def test_combined_solver_routes_by_kind() -> None:
    http, dns = Recorder("http", [HTTP_01]), Recorder("dns", [DNS_01])
    both = CombinedSolver(http, dns)
    assert both.supports("a.test") == (HTTP_01, DNS_01)
    await both.prepare("a.test", DNS_01, "t", "v")
    await both.prepare("a.test", HTTP_01, "t", "v")
    await both.cleanup("a.test", DNS_01, "t", "v")
    assert dns.calls == [("prepare", "a.test", DNS_01), ("cleanup", "a.test", DNS_01)]
    assert http.calls == [("prepare", "a.test", HTTP_01)]
    with pytest.raises(ValidationError):
        await both.prepare("a.test", "tls-alpn-01", "t", "v")


def test_dns_solver_scope_and_record_names() -> None:
    solver = Dns01Rfc2136Solver("127.0.0.1:5353", "Certmgr.Test.", "k", Secret(SECRET))
    assert solver.supports("certmgr.test") == (DNS_01,)
    assert solver.supports("*.certmgr.test") == (DNS_01,)
    assert solver.supports("a.b.certmgr.test") == (DNS_01,)
    assert solver.supports("xcertmgr.test") == ()
    assert solver.record_name("*.certmgr.test") == "_acme-challenge.certmgr.test."
    assert SECRET not in repr(solver)
    assert "certmgr.test" in repr(solver)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("nohost:", "z.test", "k", SECRET), "dns_server"),
        (("127.0.0.1:99999", "z.test", "k", SECRET), "dns_server"),
        (("127.0.0.1", "", "k", SECRET), "zone"),
        (("127.0.0.1", "z.test", "k", "not base64!"), "tsig_secret"),
        (("127.0.0.1", "z.test", "k", SECRET, "hmac-rot13"), "algorithm"),
    ],
)
def test_dns_solver_rejects_bad_settings(args: tuple[str, ...], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Dns01Rfc2136Solver(*args)
    assert info.value.field == field
    assert "not base64!" not in str(info.value)


async def test_dns_solver_unreachable_server_is_temporary() -> None:
    solver = Dns01Rfc2136Solver(f"127.0.0.1:{free_port()}", "z.test", "k", SECRET)
    with pytest.raises(TemporaryUpstreamError) as info:
        async with asyncio.timeout(10):
            await solver.prepare("www.z.test", DNS_01, "t", "value")
    assert SECRET not in str(info.value)


async def test_dns_solver_refuses_names_outside_its_zone() -> None:
    solver = Dns01Rfc2136Solver("127.0.0.1", "z.test", "k", SECRET)
    with pytest.raises(ValidationError, match="not in zone"):
        await solver.prepare("www.other.test", DNS_01, "t", "value")
    with pytest.raises(ValidationError):
        await solver.prepare("www.z.test", HTTP_01, "t", "value")
