"""Reading certificate requests: lists, one request with its definition and history, its CSR."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import (
    CertificateDefinition,
    CertificateRequest,
    RequestEvent,
    VendorAccount,
)
from certmgr.controller.db.queries.definitions import definition_by_ref
from certmgr.controller.db.queries.requests import (
    REQUEST_AGES,
    request_by_ref,
    request_events,
    requests_filtered,
    requests_list,
)
from certmgr.controller.domain.states import RequestStatus
from certmgr.controller.services.acquisition.catalogue import (
    Product,
    find_product,
    needs_of,
    select_products,
)
from certmgr.controller.services.acquisition.vendor_accounts import list_vendor_accounts
from certmgr.controller.services.certificates.overview import Page
from certmgr.shared.errors import CertmgrError, ValidationError

Request = CertificateRequest
"""A request row, for annotations in the surfaces (which do not import the models)."""


@dataclass(frozen=True)
class RequestDetail:
    """A request, its definition and its history (oldest first)."""

    request: CertificateRequest
    definition: CertificateDefinition
    events: list[RequestEvent]
    # For vendor requests: the products that fit, the chosen one, the vendor accounts.
    products: list[Product] = field(default_factory=list)
    chosen: Product | None = None
    accounts: list[VendorAccount] = field(default_factory=list)


async def list_requests(
    db: Database, *, open_only: bool = False, newest_first: bool = False, limit: int | None = None
) -> list[CertificateRequest]:
    """Requests by id (only unfinished ones with ``open_only``)."""
    async with db.reader() as s:
        return list(
            await requests_list(s, open_only=open_only, newest_first=newest_first, limit=limit)
        )


@dataclass(frozen=True)
class RequestRow:
    """A row of the requests list."""

    request: CertificateRequest
    definition_name: str


REQUEST_STATES = ("open", *(x.value for x in RequestStatus))
"""What the state filter takes (``open``: any unfinished request)."""
REQUEST_ISSUERS = ("private-ca", "acme", "vendor")
REQUEST_AGE_FILTERS = tuple(REQUEST_AGES)
"""What the age filter takes: day, week, month (created within), older (than 30 days)."""


async def requests_page(
    db: Database,
    *,
    now: dt.datetime,
    status: str = "",
    issuer: str = "",
    age: str = "",
    q: str = "",
    page: int = 1,
    per_page: int = 50,
) -> Page[RequestRow]:
    """One page of requests, newest first, filtered by text, state, issuer and age.

    Raises:
        ValidationError: A filter has an unknown value (named).
    """
    if status and status not in REQUEST_STATES:
        raise ValidationError(f"state must be one of {', '.join(REQUEST_STATES)}", field="state")
    if issuer and issuer not in REQUEST_ISSUERS:
        raise ValidationError(f"issuer must be one of {', '.join(REQUEST_ISSUERS)}", field="issuer")
    if age and age not in REQUEST_AGES:
        raise ValidationError(f"age must be one of {', '.join(REQUEST_AGES)}", field="age")
    async with db.reader() as s:
        rows, total = await requests_filtered(
            s,
            now=now,
            status=status,
            issuer=issuer,
            age=age,
            q=q,
            page=page,
            per_page=per_page,
        )
    return Page([RequestRow(r, name) for r, name in rows], total, page, per_page)


async def load_request(db: Database, ref: str | int) -> CertificateRequest:
    """A request by id.

    Raises:
        NotFoundError: No such request.
    """
    async with db.reader() as s:
        return await request_by_ref(s, ref)


async def request_detail(db: Database, ref: str | int, *, ordering: bool = False) -> RequestDetail:
    """A request with its definition and history; with ``ordering``, also what a vendor order needs.

    Raises:
        NotFoundError: No such request.
    """
    async with db.reader() as s:
        req = await request_by_ref(s, ref)
        d = await definition_by_ref(s, req.definition_id)
        events = await request_events(s, req.id)
    if not ordering:
        return RequestDetail(req, d, events)
    vendor = req.issuer_kind == "vendor"
    chosen = None
    if req.product_id:
        try:
            chosen = find_product(req.product_id)
        except CertmgrError:
            chosen = None
    return RequestDetail(
        req,
        d,
        events,
        products=select_products(needs_of(d)) if vendor else [],
        chosen=chosen,
        accounts=list(await list_vendor_accounts(db)) if vendor else [],
    )


async def request_csr(db: Database, ref: str | int) -> tuple[int, str]:
    """A request's id and CSR (PEM).

    Raises:
        NotFoundError: No such request.
        ValidationError: The request has no CSR yet.
    """
    req = await load_request(db, ref)
    if not req.csr_pem:
        raise ValidationError(f"request #{req.id} has no CSR yet", field="request")
    return req.id, req.csr_pem
