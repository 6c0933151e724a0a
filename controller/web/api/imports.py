"""API: import certificates, chains and keys."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from certmgr.controller.services.certificates.import_dry_run import import_dry_run
from certmgr.controller.services.certificates.imports import (
    ImportFile,
    ImportOptions,
    import_files,
)
from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import (
    ApiRoutes,
    actor,
    b64_field,
    bool_field,
    json_body,
    ok,
    s_field,
)
from certmgr.shared.errors import ValidationError

api = ApiRoutes("administration")


def _files(body: dict[str, Any], name: str) -> list[ImportFile]:
    raw = body.get(name, [])
    if not isinstance(raw, list) or len(raw) > 100:
        raise ValidationError(
            f"{name} must be a list of at most 100 {{name, data}} objects", field=name
        )
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValidationError(f"{name}[{i}] must be an object with name and data", field=name)
        data = b64_field(item, "data") or b""
        out.append(
            ImportFile(
                s_field(item, "name", max_len=200, default=f"{name}-{i + 1}") or f"{name}-{i + 1}",
                data,
            )
        )
    return out


@api.op(
    "POST",
    "/import",
    "Import certificates, chains and keys (dry_run: only show what was found)",
    request=sc.IMPORT_REQUEST,
    response=sc.IMPORT_RESULT,
)
async def import_(request: web.Request) -> web.Response:
    """Files as base64 in JSON; any format the importer reads."""
    ctx, who = actor(request)
    body = await json_body(request)
    files = _files(body, "files")
    if not files:
        raise ValidationError("files must hold at least one file", field="files")
    pw = s_field(body, "password", max_len=1024)
    kpw = s_field(body, "key_password", max_len=1024)
    options = ImportOptions(
        password=pw.encode() or None,
        key_password=kpw.encode() or None,
        name=s_field(body, "name", max_len=200) or None,
        accept_unverified=bool_field(body, "accept_unverified"),
    )
    keys, chains = _files(body, "keys"), _files(body, "chains")
    if bool_field(body, "dry_run"):
        found = await import_dry_run(files, key_files=keys, chain_files=chains, options=options)
        return ok({"dry_run": True, "results": found})
    results = await import_files(
        ctx.db,
        ctx.vault,
        who,
        files,
        key_files=keys,
        chain_files=chains,
        options=options,
        clock=ctx.clock,
    )
    return ok({"dry_run": False, "results": [r.to_json() for r in results]})
