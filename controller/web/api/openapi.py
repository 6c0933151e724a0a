"""The OpenAPI 3.1 document, generated from the declared operations."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from certmgr.controller.web.api import schemas as sc
from certmgr.controller.web.api.base import ApiRoutes, Operation

_STATUS_TEXT = {200: "OK", 201: "Created", 204: "No content"}


def _operation(o: Operation) -> dict[str, Any]:
    op_id = re.sub(r"[^A-Za-z0-9]+", "_", f"{o.method.lower()}{o.path[len('/api/v1') :]}").strip(
        "_"
    )
    out: dict[str, Any] = {
        "summary": o.summary,
        "operationId": op_id,
        "tags": [o.tag],
        "parameters": list(o.params),
    }
    if o.request is not None:
        out["requestBody"] = {
            "required": True,
            "content": {o.request_content_type: {"schema": o.request}},
        }
    ok: dict[str, Any] = {"description": _STATUS_TEXT.get(o.status, "OK")}
    if o.status != 204:
        if o.content_type == "application/json":
            ok["content"] = {"application/json": {"schema": o.response or {"type": "object"}}}
        else:
            ok["content"] = {o.content_type: {"schema": {"type": "string", "format": "binary"}}}
    problem = {"content": {"application/problem+json": {"schema": sc.PROBLEM}}}
    responses: dict[str, Any] = {
        str(o.status): ok,
        "401": {"description": "Not signed in", **problem},
        "403": {"description": "Forbidden", **problem},
    }
    if o.request is not None or o.params:
        responses["400"] = {"description": "Malformed request", **problem}
        responses["422"] = {"description": "Invalid input", **problem}
    if "{" in o.path:
        responses["404"] = {"description": "Not found", **problem}
    for extra in o.extra_responses:
        responses[str(extra)] = {"description": "Error", **problem}
    out["responses"] = responses
    return out


def build_document(groups: list[ApiRoutes], *, version: str) -> dict[str, Any]:
    """The whole document."""
    paths: dict[str, dict[str, Any]] = {}
    for g in groups:
        for o in g.operations:
            paths.setdefault(o.path, {})[o.method.lower()] = _operation(o)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "certmgr API",
            "version": version,
            "description": "Bearer tokens: create one with `certmgr token create --user NAME` or POST /api/v1/tokens.",
        },
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }


def setup(app: web.Application, groups: list[ApiRoutes], version: str) -> None:
    """Register every API route and ``GET /api/v1/openapi.json``."""
    for g in groups:
        g.add_to(app)
    document = build_document(groups, version=version)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/api/v1/openapi.json", openapi)
