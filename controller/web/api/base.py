"""Declaring API operations once: the aiohttp route and its OpenAPI entry come from the same call."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from certmgr.controller.web.context import RequestContext, ctx_of
from certmgr.shared.errors import InputTooLargeError, ValidationError

ApiHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIX = "/api/v1"
MAX_JSON = 1024 * 1024


@dataclass(frozen=True)
class Operation:
    """One documented API operation."""

    method: str
    path: str
    summary: str
    handler: ApiHandler
    tag: str
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    params: tuple[dict[str, Any], ...] = ()
    status: int = 200
    admin: bool = False
    content_type: str = "application/json"
    request_content_type: str = "application/json"
    extra_responses: tuple[int, ...] = ()


@dataclass
class ApiRoutes:
    """Operations of one API module (collected at import time, read-only afterwards)."""

    tag: str
    operations: list[Operation] = field(default_factory=list)

    def op(
        self, method: str, path: str, summary: str, **kw: Any
    ) -> Callable[[ApiHandler], ApiHandler]:
        """Register ``handler`` as ``method PREFIX+path``."""

        def deco(handler: ApiHandler) -> ApiHandler:
            self.operations.append(
                Operation(method.upper(), PREFIX + path, summary, handler, self.tag, **kw)
            )
            return handler

        return deco

    def add_to(self, app: web.Application) -> None:
        """Register every operation's route."""
        for o in self.operations:
            # Numeric path ids, so that e.g. /deployments/bulk/install never matches /deployments/{id}/...
            app.router.add_route(
                o.method,
                o.path.replace("{id}", "{id:\\d+}").replace("{doc}", "{doc:\\d+}"),
                o.handler,
            )


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises:
        ValidationError: Not JSON, not an object, or not UTF-8.
        InputTooLargeError: Over 1 MiB.
    """
    if request.content_length is not None and request.content_length > MAX_JSON:
        raise InputTooLargeError("the request body is larger than 1 MiB")
    raw = await request.read()
    if len(raw) > MAX_JSON:
        raise InputTooLargeError("the request body is larger than 1 MiB")
    try:
        data = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValidationError(f"the body is not valid JSON: {err}", field="body") from err
    if not isinstance(data, dict):
        raise ValidationError("the body must be a JSON object", field="body")
    return data


def s_field(
    body: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    max_len: int = 500,
    default: str = "",
) -> str:
    """A string field of a JSON body.

    Raises:
        ValidationError: Missing when required, not a string, too long, or multi-line.
    """
    v = body.get(name)
    if v is None:
        if required:
            raise ValidationError(f"{name} is required", field=name)
        return default
    if not isinstance(v, str):
        raise ValidationError(f"{name} must be a string", field=name)
    v = v.strip()
    if required and not v:
        raise ValidationError(f"{name} must not be empty", field=name)
    if len(v) > max_len:
        raise ValidationError(f"{name} must be at most {max_len} characters", field=name)
    if any(ord(c) < 32 for c in v):
        raise ValidationError(f"{name} must not contain control characters", field=name)
    return v


def list_field(
    body: Mapping[str, Any], name: str, *, max_items: int = 100, max_len: int = 253
) -> list[str]:
    """A list of short strings.

    Raises:
        ValidationError: Not a list of strings, or too long.
    """
    v = body.get(name, [])
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValidationError(f"{name} must be a list of strings", field=name)
    if len(v) > max_items:
        raise ValidationError(f"{name} may hold at most {max_items} items", field=name)
    if any(len(x) > max_len for x in v):
        raise ValidationError(f"{name} items must be at most {max_len} characters", field=name)
    return [x.strip() for x in v]


def bool_field(body: Mapping[str, Any], name: str, default: bool = False) -> bool:
    """A boolean field.

    Raises:
        ValidationError: Not a boolean.
    """
    v = body.get(name, default)
    if not isinstance(v, bool):
        raise ValidationError(f"{name} must be true or false", field=name)
    return v


def b64_field(
    body: Mapping[str, Any], name: str, *, required: bool = True, max_bytes: int = 16 * 1024 * 1024
) -> bytes | None:
    """Base64 data in a JSON field.

    Raises:
        ValidationError: Missing or not base64.
        InputTooLargeError: Too big.
    """
    v = body.get(name)
    if v is None:
        if required:
            raise ValidationError(f"{name} is required", field=name)
        return None
    if not isinstance(v, str):
        raise ValidationError(f"{name} must be a base64 string", field=name)
    if len(v) > max_bytes * 4 // 3 + 8:
        raise InputTooLargeError(f"{name} is larger than {max_bytes // (1024 * 1024)} MiB")
    try:
        return base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValidationError(f"{name} is not valid base64", field=name) from err


def changed_s_field(body: Mapping[str, Any], name: str, *, max_len: int = 500) -> str | None:
    """A string field of a PATCH body: ``None`` when absent (leave as is), else checked like :func:`s_field`.

    Raises:
        ValidationError: Not a string, too long, or multi-line.
    """
    return s_field(body, name, max_len=max_len) if name in body else None


def changed_int_field(body: Mapping[str, Any], name: str) -> int | None:
    """An integer field of a PATCH body: ``None`` when absent or null.

    Raises:
        ValidationError: Not an integer.
    """
    v = body.get(name)
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool):
        raise ValidationError(f"{name} must be an integer", field=name)
    return v


def only_known_fields(body: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Refuse fields the request schema does not name (a typo must not pass as "no change").

    Raises:
        ValidationError: Naming the unknown fields.
    """
    unknown = sorted(set(body) - set(schema["properties"]))
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])


def int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    """An integer query parameter.

    Raises:
        ValidationError: Not a whole number or out of range.
    """
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number", field=name) from None
    if not lo <= v <= hi:
        raise ValidationError(f"{name} must be between {lo} and {hi}", field=name)
    return v


def path_id(request: web.Request, name: str = "id") -> int:
    """A numeric path parameter.

    Raises:
        HTTPNotFound: Not a number that fits.
    """
    raw = request.match_info[name]
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound(text=f"no such {name}")
    return int(raw)


def actor(request: web.Request) -> tuple[RequestContext, Any]:
    """Context and actor of an authenticated API request."""
    ctx = ctx_of(request)
    return ctx, ctx.require_actor()


def ok(data: Any, status: int = 200) -> web.Response:
    """A JSON response."""
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=str))


def encode_cursor(last_id: int) -> str:
    """Opaque cursor after ``last_id``."""
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(request: web.Request) -> int:
    """The id after which a list continues (0 at the start).

    Raises:
        ValidationError: A cursor that was not made by us.
    """
    raw = request.query.get("cursor")
    if not raw:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        after = int(data["after"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ValidationError(
            "cursor is not valid; use next_cursor from the previous page", field="cursor"
        ) from None
    if after < 0:
        raise ValidationError("cursor is not valid", field="cursor")
    return after
