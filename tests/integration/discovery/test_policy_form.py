"""The trust policy edited in the console as a form (not JSON): every rule with its judgement,
every wrong field reported at once beside itself with what was typed kept, and the saved policy
is what the API and the scans read."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from tests.factories.console import Console, console_client, sign_in
from tests.factories.homes import amake_home, run_cli

# A form as the page posts it: the defaults of a fresh home, with nothing changed.
DEFAULTS: list[tuple[str, str]] = [
    ("policy_form", "1"),
    ("scope", "127.0.0.0/29"),
    ("size_limit", "4096"),
    ("schedule_time", "02:00"),
    ("p_trust_system_store", "on"),
    ("p_min_rsa_bits", "2048"),
    ("p_min_ec_bits", "256"),
    ("p_min_days_left", "30"),
    ("p_max_lifetime_days", "398"),
    *(("p_allowed_key_types", k) for k in ("rsa", "ec", "ed25519", "ed448")),
    *(("p_weak_signature_hashes", h) for h in ("md5", "sha1")),
    ("p_min_protocol", "TLSv1.2"),
]


async def _post(c: Console, fields: list[tuple[str, str]]) -> tuple[int, str]:
    token = await c.csrf("/discovery")
    resp = await c.client.post(
        "/discovery/settings", data=[*fields, ("csrf", token)], allow_redirects=False
    )
    return resp.status, await resp.text()


def _replace(fields: list[tuple[str, str]], **changes: str) -> list[tuple[str, str]]:
    out = [(k, changes.get(k, v)) for k, v in fields]
    return out + [(k, v) for k, v in changes.items() if k not in dict(fields)]


async def test_policy_form_reports_every_error_and_saves_what_the_api_reads(
    tmp_path: Path, database_url: str
) -> None:
    home = await amake_home(tmp_path, database_url)
    res = await asyncio.to_thread(
        run_cli, ["token", "create", "--user", "admin", "--home", str(home)]
    )
    h = {"Authorization": f"Bearer {res.out.strip()}"}
    async with console_client(home) as c:
        await sign_in(c)
        page = await (await c.client.get("/discovery")).text()
        # every rule is listed with its plain meaning and its default judgement
        assert page.count('name="rule_') == 12
        assert re.search(r'name="rule_chain-order".*?<option value="warning" selected', page)
        assert "Trust policy (JSON)" not in page

        # four wrong fields at once: each named beside itself, what was typed kept
        status, html = await _post(
            c,
            _replace(
                DEFAULTS,
                size_limit="lots",
                p_min_rsa_bits="100",
                p_max_lifetime_days="-5",
                rule_expired="sometimes",
                scope="127.0.0.0/29\nnot a network!",
            ),
        )
        assert status == 422
        for field in ("size_limit", "p_min_rsa_bits", "p_max_lifetime_days", "rule_expired"):
            assert f'id="err-{field}"' in html, field
        assert 'id="err-scope"' in html
        assert "4 things need fixing" in html or "5 things need fixing" in html
        assert 'value="lots"' in html and "not a network!" in html and 'value="100"' in html
        api = await (await c.client.get("/api/v1/discovery/settings", headers=h)).json()
        assert api["scope"] == []  # nothing was saved

        # no key type at all is refused too (a policy nothing could pass)
        status, html = await _post(c, [(k, v) for k, v in DEFAULTS if k != "p_allowed_key_types"])
        assert status == 422 and 'id="err-p_allowed_key_types"' in html

        # a real change: chain order not judged, expires-soon critical at 14 days, no ed448,
        # SHA-224 refused as well, no protocol floor
        fields = _replace(
            [kv for kv in DEFAULTS if kv != ("p_allowed_key_types", "ed448")],
            p_min_days_left="14",
            p_min_protocol="",
            **{"rule_chain-order": "off", "rule_expires-soon": "critical"},
        )
        fields.append(("p_weak_signature_hashes", "sha224"))
        status, html = await _post(c, fields)
        assert status == 303, html
        api = await (await c.client.get("/api/v1/discovery/settings", headers=h)).json()
        policy = api["policy"]
        assert api["scope"] == ["127.0.0.0/29"]
        assert policy["min_days_left"] == 14
        assert policy["allowed_key_types"] == ["rsa", "ec", "ed25519"]
        assert sorted(policy["weak_signature_hashes"]) == ["md5", "sha1", "sha224"]
        assert policy["min_protocol"] is None
        assert policy["disabled_rules"] == ["chain-order"]
        assert policy["severities"] == {"expires-soon": "critical"}

        # the page shows the saved policy back
        page = await (await c.client.get("/discovery")).text()
        assert re.search(r'name="rule_chain-order".*?<option value="off" selected', page)
        assert re.search(r'name="rule_expires-soon"><option value="critical" selected', page)
        assert 'value="ed448">' in page and 'value="ed448" checked' not in page
        assert 'id="f-p_min_days_left" name="p_min_days_left" type="text" value="14"' in page
