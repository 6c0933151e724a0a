"""API group "administration": import, private CA, users, tokens, settings, e-mails, audit log.

The operations live in one module per use-case family; this module only gathers them, in the
order the OpenAPI document lists them.
"""

from __future__ import annotations

from certmgr.controller.web.api import audit, ca, imports, settings, tokens, users
from certmgr.controller.web.api.base import ApiRoutes

api = ApiRoutes(
    "administration",
    [
        op
        for module in (imports, ca, users, tokens, settings, audit)
        for op in module.api.operations
    ],
)
