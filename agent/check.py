"""``certmgr-agent check HOST[:PORT]``: the manual deploy check for hosts the controller cannot reach.

Uses :func:`certmgr.shared.tlsprobe.probe` (one TLS handshake that trusts nothing) and, with
``--expect``, :func:`certmgr.shared.deploycheck.evaluate` (served leaf, chain, validity, name).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from certmgr.shared.deploycheck import evaluate, outcome_name
from certmgr.shared.errors import ValidationError
from certmgr.shared.pki import normalize_fingerprint
from certmgr.shared.tlsprobe import probe


def split_address(address: str, default_port: int = 443) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (host, port).

    Raises:
        ValidationError: Empty host or a bad port.
    """
    text = address.strip()
    host, port_text = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    if not host:
        raise ValidationError("give a host name or address", field="address")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValidationError(f"bad port in {address!r}", field="address")
    return host, int(port_text)


async def run_check(
    address: str,
    *,
    sni: str | None = None,
    expect: str | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 - passed to the probe, which applies asyncio.timeout
) -> dict[str, Any]:
    """Probe ``address`` and judge what it serves.

    Returns:
        ``{"ok": bool, "lines": [...], ...}``: ``ok`` is False when the server was unreachable,
        the handshake failed, or (with ``expect``) the deploy check found problems.

    Raises:
        ValidationError: A bad address, SNI, timeout or fingerprint.
    """
    host, port = split_address(address)
    if expect is not None and len(normalize_fingerprint(expect)) != 64:
        raise ValidationError("--expect must be a SHA-256 fingerprint", field="expect")
    result = await probe(host, port, sni=sni, timeout=timeout)
    now = dt.datetime.now(dt.UTC)
    lines = [f"{host}:{port}" + (f" (SNI {result.sni})" if result.sni else " (no SNI)")]
    out: dict[str, Any] = {"host": host, "port": port, "sni": result.sni}
    if result.error:
        # the one vocabulary of check outcomes: a host never connected to is "unreachable" only
        name = outcome_name(ok=False, reachable=result.reachable, served=False)
        lines.append(f"{name}: {result.error}")
        return {**out, "ok": False, "result": name, "error": result.error, "lines": lines}
    leaf = result.chain[0]
    days = math.floor((leaf.not_valid_after_utc - now).total_seconds() / 86400)
    lines += [
        f"served: {leaf.subject.rfc4514_string()} sha256 {result.leaf_sha256}",
        f"valid until {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC ({days} days left)",
        f"{result.protocol} {result.cipher}; chain of {len(result.chain)} certificate(s)",
        f"trusted by this host: {result.verified}"
        + (f" ({result.verify_error})" if result.verify_error else ""),
    ]
    out.update(served_sha256=result.leaf_sha256, days_left=days, protocol=result.protocol)
    if expect is None:
        return {**out, "ok": True, "lines": lines}
    outcome = evaluate(result, expect, now=now)
    lines += [f"problem: {problem}" for problem in outcome.problems]
    lines.append("OK: the expected certificate is served" if outcome.ok else "CHECK FAILED")
    return {
        **out,
        "ok": outcome.ok,
        "result": outcome.outcome,
        "outcome": outcome.to_dict(),
        "lines": lines,
    }
