"""The product catalogue (a data file shipped with certmgr) and the product selector."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CertificateDefinition
from certmgr.controller.db.queries.definitions import definition_by_ref
from certmgr.controller.domain.values import VALIDATION_LEVELS
from certmgr.shared.errors import NotFoundError

LEVELS = VALIDATION_LEVELS


@dataclass(frozen=True)
class Product:
    """One commercial (or free ACME) TLS product."""

    id: str
    vendor: str
    name: str
    validation: str
    wildcard: bool
    multi_domain: bool
    max_sans: int
    max_validity_days: int
    acme: bool
    eab_required: bool
    url: str
    acme_directory: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return dict(self.__dict__)


@cache
def catalogue() -> tuple[Product, ...]:
    """Every product (read once; the file is immutable package data)."""
    raw = json.loads(
        files("certmgr.controller").joinpath("data/products.json").read_text(encoding="utf-8")
    )
    return tuple(Product(**p) for p in raw["products"])


def find_product(product_id: str) -> Product:
    """A product by id.

    Raises:
        NotFoundError: Unknown id.
    """
    for p in catalogue():
        if p.id == product_id:
            return p
    raise NotFoundError(f"no product {product_id!r} in the catalogue")


@dataclass(frozen=True)
class Needs:
    """What a definition requires of a product."""

    validation: str
    wildcard: bool
    names: int
    vendor: str = ""
    acme: bool | None = None


def needs_of(d: CertificateDefinition) -> Needs:
    """Requirements from the definition (explicit requirements win over what its names imply).

    A chosen product (``--product``) stands for its validation level and vendor unless the
    requirements name them.
    """
    req = d.requirements or {}
    chosen = next((p for p in catalogue() if p.id == d.product_id), None) if d.product_id else None
    names = list(d.sans) or [d.common_name]
    wildcard = any(n.startswith("*.") for n in names) or bool(req.get("wildcard"))
    distinct = {n.removeprefix("*.").removeprefix("www.") for n in names}
    level = str(req.get("validation") or (chosen.validation if chosen else "DV")).upper()
    return Needs(
        validation=level if level in LEVELS else "DV",
        wildcard=wildcard,
        names=max(len(distinct), int(req.get("names", 1) or 1)),
        vendor=str(req.get("vendor") or (chosen.vendor if chosen else "")),
        acme=req.get("acme"),
    )


def select_products(needs: Needs) -> list[Product]:
    """Products that satisfy ``needs`` (the validation level exactly, as buyers choose one), cheapest kind first."""
    out = []
    for p in catalogue():
        if p.validation != needs.validation:
            continue
        if needs.wildcard and not p.wildcard:
            continue
        if needs.names > 1 and not p.multi_domain and needs.names > p.max_sans:
            continue
        if needs.names > p.max_sans:
            continue
        if needs.vendor and p.vendor.lower() != needs.vendor.lower():
            continue
        if needs.acme is not None and p.acme != needs.acme:
            continue
        out.append(p)
    return sorted(out, key=lambda p: (p.multi_domain, p.wildcard, p.vendor, p.name))


async def products_for(db: Database, definition_ref: str | int) -> list[Product]:
    """The products that fit a definition's requirements.

    Raises:
        NotFoundError: No such definition.
    """
    async with db.reader() as s:
        d = await definition_by_ref(s, definition_ref)
    return select_products(needs_of(d))
