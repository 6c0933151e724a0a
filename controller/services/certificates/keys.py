"""Reading the private-key records (never their material): pages, lists, which certificates use each key."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import PrivateKeyRecord
from certmgr.controller.db.queries import keys as q
from certmgr.controller.services.certificates.overview import Page

KEY_SORTS = tuple(q.KEY_SORTS)


@dataclass(frozen=True)
class KeysPage:
    """A page of keys, and for each key id the (id, common name) of its certificates."""

    page: Page[PrivateKeyRecord]
    used: dict[int, list[tuple[int, str]]]


@dataclass(frozen=True)
class KeyItem:
    """A key as the API lists it."""

    id: int
    algorithm: str
    size: int
    key_type: str
    public_sha256: str
    origin: str
    exportable: bool
    created_at: dt.datetime
    certificate_ids: list[int]

    def to_json(self) -> dict[str, Any]:
        """The API form."""
        return dict(self.__dict__)


async def keys_page(
    db: Database, *, sort: str = "created", desc: bool = False, page: int = 1, per_page: int = 50
) -> KeysPage:
    """One page of keys with the certificates that use them."""
    async with db.reader() as s:
        rows, total = await q.keys_page(
            s,
            sort=sort if sort in q.KEY_SORTS else "created",
            desc=desc,
            page=page,
            per_page=per_page,
        )
        used = await q.certificates_using(s, [r.id for r in rows])
    return KeysPage(Page(list(rows), total, page, per_page), used)


async def list_keys(db: Database, *, after_id: int = 0, limit: int = 100) -> list[KeyItem]:
    """Keys by id after a cursor, with the ids of the certificates that use them."""
    async with db.reader() as s:
        rows = await q.keys_after(s, after_id=after_id, limit=limit)
        used = await q.certificates_using(s, [r.id for r in rows])
    return [
        KeyItem(
            id=k.id,
            algorithm=k.algorithm,
            size=k.size,
            key_type=k.key_type,
            public_sha256=k.public_sha256,
            origin=k.origin,
            exportable=k.sealed_pkcs8 is not None,
            created_at=k.created_at,
            certificate_ids=[cid for cid, _ in used[k.id]],
        )
        for k in rows
    ]
