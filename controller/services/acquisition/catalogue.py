"""The product catalogue (a data file shipped with certmgr, extended by the home's ``products.json``) and the product selector."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import CertificateDefinition
from certmgr.controller.db.queries.definitions import definition_by_ref
from certmgr.controller.domain.values import VALIDATION_LEVELS
from certmgr.shared.errors import ConfigurationError, NotFoundError

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
    source: str = "bundled"
    """bundled, or local (from the home's ``products.json``)."""

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return dict(self.__dict__)


LOCAL_CATALOGUE = "products.json"
"""The home's own catalogue file: its products are added to the bundled ones, or replace one with the same id."""

_local_path: Path | None = None


def use_home_catalogue(home: Path | None) -> None:
    """Read ``HOME/products.json`` (when it exists) on top of the bundled catalogue from now on."""
    global _local_path
    _local_path = home / LOCAL_CATALOGUE if home is not None else None


@dataclass(frozen=True)
class CatalogueInfo:
    """Where the products come from and how current they are."""

    bundled_date: str
    local_file: str | None
    local_date: str | None
    local_products: int


def _bundled() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(
        files("certmgr.controller").joinpath("data/products.json").read_text(encoding="utf-8")
    )
    return raw


_FIELDS = {f for f in Product.__dataclass_fields__ if f != "source"}


def _product(item: Any, where: str, source: str) -> Product:
    if not isinstance(item, dict):
        raise ConfigurationError(f"{where}: each product must be an object")
    missing = sorted(_FIELDS - set(item) - {"acme_directory"})
    unknown = sorted(set(item) - _FIELDS)
    if missing or unknown:
        raise ConfigurationError(
            f"{where} (product {item.get('id', '?')!r}): "
            + "; ".join(
                x
                for x in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"unknown {', '.join(unknown)}" if unknown else "",
                )
                if x
            )
        )
    if item["validation"] not in LEVELS:
        raise ConfigurationError(
            f"{where} (product {item['id']!r}): validation must be one of {', '.join(LEVELS)}"
        )
    try:
        return Product(**item, source=source)
    except TypeError as err:
        raise ConfigurationError(f"{where} (product {item.get('id', '?')!r}): {err}") from None


def _version(path: Path | None) -> int | None:
    """The file's modification time (the cache key: an edited file is read again), or None."""
    if path is None:
        return None
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


@cache
def _local_file(path: Path, version: int) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigurationError(f"{path}: not a readable JSON file: {err}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("products"), list):
        raise ConfigurationError(f'{path}: expected {{"products": [...]}}')
    return raw


def _local() -> dict[str, Any] | None:
    path = _local_path
    version = _version(path)
    return _local_file(path, version) if path is not None and version is not None else None


@cache
def _catalogue(path: Path | None, version: int | None) -> tuple[Product, ...]:
    products = {
        p["id"]: _product(p, "bundled catalogue", "bundled") for p in _bundled()["products"]
    }
    if path is not None and version is not None:
        for item in _local_file(path, version)["products"]:
            p = _product(item, str(path), "local")
            products[p.id] = p
    return tuple(products.values())


def catalogue() -> tuple[Product, ...]:
    """Every product: the bundled catalogue, extended or overridden by the home's ``products.json``.

    Raises:
        ConfigurationError: The home's file is not valid (the message names the file and product).
    """
    path = _local_path
    return _catalogue(path, _version(path))


def catalogue_info() -> CatalogueInfo:
    """The bundled catalogue's date and the home's file, if any.

    Raises:
        ConfigurationError: The home's file is not valid.
    """
    local = _local()
    return CatalogueInfo(
        bundled_date=str(_bundled().get("updated", "")),
        local_file=str(_local_path) if local is not None else None,
        local_date=str(local.get("updated", "")) or None if local is not None else None,
        local_products=len(local["products"]) if local is not None else 0,
    )


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
