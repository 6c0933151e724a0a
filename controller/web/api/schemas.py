"""JSON Schema fragments for the OpenAPI document."""

from __future__ import annotations

from typing import Any

S = dict[str, Any]


def string(
    *,
    max_len: int | None = None,
    nullable: bool = False,
    fmt: str | None = None,
    enum: list[str] | None = None,
) -> S:
    """A string."""
    s: S = {"type": ["string", "null"] if nullable else "string"}
    if max_len is not None:
        s["maxLength"] = max_len
    if fmt:
        s["format"] = fmt
    if enum:
        s["enum"] = enum
    return s


def integer(*, nullable: bool = False) -> S:
    """An integer."""
    return {"type": ["integer", "null"] if nullable else "integer"}


def boolean() -> S:
    """A boolean."""
    return {"type": "boolean"}


def array(items: S, *, max_items: int | None = None) -> S:
    """An array."""
    s: S = {"type": "array", "items": items}
    if max_items is not None:
        s["maxItems"] = max_items
    return s


def obj(
    props: dict[str, S],
    required: list[str] | None = None,
    *,
    extra: bool = True,
    nullable: bool = False,
) -> S:
    """An object."""
    s: S = {"type": ["object", "null"] if nullable else "object", "properties": props}
    if required:
        s["required"] = required
    if not extra:
        s["additionalProperties"] = False
    return s


def page_of(item: S) -> S:
    """A cursor-paginated list."""
    return obj(
        {"items": array(item), "next_cursor": string(nullable=True)}, ["items", "next_cursor"]
    )


PROBLEM = obj(
    {
        "type": string(),
        "title": string(),
        "status": integer(),
        "detail": string(),
        "field": string(),
    },
    ["title", "status"],
)

CERTIFICATE = obj(
    {
        "id": integer(),
        "definition_id": integer(nullable=True),
        "sha256": string(),
        "sha1": string(),
        "serial": string(),
        "subject": string(),
        "common_name": string(),
        "issuer": string(),
        "sans": array(string()),
        "not_before": string(fmt="date-time"),
        "not_after": string(fmt="date-time"),
        "key": string(),
        "has_private_key": boolean(),
        "private_key_id": integer(nullable=True),
        "is_ca": boolean(),
        "source": string(),
    },
    ["id", "sha256", "subject", "not_after"],
)

DEFINITION_ROW = obj(
    {
        "id": integer(),
        "name": string(),
        "common_name": string(),
        "issuer": string(),
        "not_after": string(fmt="date-time", nullable=True),
        "days_left": integer(nullable=True),
        "current_sha256": string(nullable=True),
        "expiry_status": string(),
        "acquisition_status": string(nullable=True),
        "deployments": {"type": "object", "additionalProperties": {"type": "integer"}},
        "deployment_status": string(),
    },
    ["id", "name"],
)

DEFINITION = obj(
    {
        "id": integer(),
        "name": string(),
        "common_name": string(),
        "sans": array(string()),
        "subject": {"type": "object"},
        "key_type": string(),
        "issuer": string(),
        "notes": string(),
        "requestor": string(),
        "requirements": {"type": "object"},
        "renewal_policy": {"type": "object"},
        "acme_account_id": integer(nullable=True),
        "vendor_account_id": integer(nullable=True),
        "archived": boolean(),
        "held_certificate_id": integer(nullable=True),
        "switch_at": string(fmt="date-time", nullable=True),
        "current_certificate_id": integer(nullable=True),
        "current": {"type": ["object", "null"]},
        "created_at": string(fmt="date-time"),
    },
    ["id", "name"],
)

DEFINITION_EDIT = obj(
    {
        "name": string(max_len=200),
        "common_name": string(max_len=64),
        "sans": array(string(max_len=253), max_items=100),
        "key_type": string(enum=["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"]),
        "issuer": string(enum=["private-ca", "acme", "vendor"]),
        "organization": string(max_len=64),
        "organizational_unit": string(max_len=64),
        "locality": string(max_len=64),
        "state": string(max_len=64),
        "country": string(max_len=2),
        "requestor": string(max_len=200),
        "notes": string(max_len=10000),
        "validation": string(enum=["", "DV", "OV", "EV"]),
        "vendor": string(max_len=100),
        "product": string(max_len=100),
        "renew_days_before": integer(),
        "monitoring": boolean(),
    },
    extra=False,
)

CURRENT_SWITCH = obj(
    {"certificate_id": integer(), "hold_until": string(fmt="date-time", nullable=True)},
    ["certificate_id"],
)

DEFINITION_NEW = obj(
    {
        "name": string(max_len=200),
        "common_name": string(max_len=64),
        "sans": array(string(max_len=253), max_items=100),
        "key_type": string(enum=["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"]),
        "issuer": string(enum=["private-ca", "acme", "vendor"]),
        "organization": string(max_len=64),
        "organizational_unit": string(max_len=64),
        "locality": string(max_len=64),
        "state": string(max_len=64),
        "country": string(max_len=2),
        "requestor": string(max_len=200),
        "notes": string(max_len=10000),
    },
    ["name"],
)

DOCUMENT = obj(
    {
        "id": integer(),
        "filename": string(),
        "size": integer(),
        "sha256": string(),
        "content_type": string(),
        "kind": string(),
        "uploaded_by": string(),
        "created_at": string(fmt="date-time"),
    },
    ["id", "filename"],
)

KEY = obj(
    {
        "id": integer(),
        "algorithm": string(),
        "size": integer(),
        "key_type": string(),
        "public_sha256": string(),
        "origin": string(),
        "exportable": boolean(),
        "created_at": string(fmt="date-time"),
        "certificate_ids": array(integer()),
    },
    ["id", "algorithm"],
)

IMPORT_REQUEST = obj(
    {
        "files": array(
            obj({"name": string(max_len=200), "data": string()}, ["data"]), max_items=100
        ),
        "keys": array(
            obj({"name": string(max_len=200), "data": string()}, ["data"]), max_items=100
        ),
        "chains": array(
            obj({"name": string(max_len=200), "data": string()}, ["data"]), max_items=100
        ),
        "password": string(max_len=1024),
        "key_password": string(max_len=1024),
        "name": string(max_len=200),
        "dry_run": boolean(),
        "accept_unverified": boolean(),
    },
    ["files"],
)

IMPORT_RESULT = obj({"dry_run": boolean(), "results": array({"type": "object"})}, ["results"])

USER = obj(
    {
        "id": integer(),
        "username": string(),
        "email": string(),
        "role": string(),
        "disabled": boolean(),
        "must_change_password": boolean(),
        "last_login_at": string(fmt="date-time", nullable=True),
    },
    ["id", "username", "role"],
)

USER_NEW = obj(
    {
        "username": string(max_len=100),
        "email": string(max_len=254),
        "role": string(enum=["admin", "user"]),
        "password": string(max_len=1024),
    },
    ["username"],
)

USER_PATCH = obj(
    {"email": string(max_len=254), "role": string(enum=["admin", "user"]), "disabled": boolean()}
)

TOKEN = obj(
    {
        "id": integer(),
        "name": string(),
        "prefix": string(),
        "user": string(),
        "created_at": string(fmt="date-time"),
        "expires_at": string(fmt="date-time", nullable=True),
        "last_used_at": string(fmt="date-time", nullable=True),
        "revoked": boolean(),
        "expired": boolean(),
    },
    ["id", "name"],
)

SETTINGS = obj(
    {
        "admin_email": string(max_len=1000),
        "external_url": string(max_len=500),
        "organization": string(max_len=200),
        "api_token_days": {"type": "integer", "minimum": 0, "maximum": 3650},
        "mail": obj(
            {
                "sender_address": string(max_len=254),
                "sender_name": string(max_len=100),
                "smtp_server": string(max_len=300),
                "security": string(enum=["plain", "starttls", "tls"]),
                "username": string(max_len=200),
                "password": string(max_len=1024),
                "password_set": boolean(),
                "ca_file": string(max_len=500),
            }
        ),
    }
)

EMAIL = obj(
    {
        "id": integer(),
        "at": string(fmt="date-time"),
        "kind": string(),
        "to": string(),
        "subject": string(),
        "result": string(),
        "error": string(),
        "body": string(),
    },
    ["id", "to", "subject", "result"],
)

AUDIT = obj(
    {
        "id": integer(),
        "at": string(fmt="date-time"),
        "actor": string(),
        "source": string(),
        "action": string(),
        "entity_type": string(),
        "entity_id": string(),
        "detail": {"type": "object"},
    },
    ["id", "at", "actor", "action"],
)

CA = obj(
    {"active": {"type": ["object", "null"]}, "cas": array({"type": "object"}), "crl_url": string()}
)

LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 500},
}
CURSOR = {"name": "cursor", "in": "query", "schema": {"type": "string"}}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
