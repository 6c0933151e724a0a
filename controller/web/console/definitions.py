"""Certificate Definitions: list (status badges), new, detail, document folder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from certmgr.controller.domain.state_labels import state_label
from certmgr.controller.domain.values import IssuerKind
from certmgr.controller.services.acquisition.acme_accounts import list_accounts
from certmgr.controller.services.acquisition.bulk import (
    MAX_BULK,
    IssuerChange,
    change_issuer,
    clone_definitions,
    renew_one,
)
from certmgr.controller.services.acquisition.definition_detail import definition_detail
from certmgr.controller.services.acquisition.definitions import (
    DefinitionSpec,
    create_definition,
    validate_spec,
)
from certmgr.controller.services.certificates.documents import (
    MAX_DOCUMENT,
    add_document,
    delete_document,
    list_documents,
    read_document,
)
from certmgr.controller.services.certificates.overview import (
    DEFINITION_SORTS,
    EXPIRY_FILTERS,
    definitions_page,
)
from certmgr.controller.web.console.requests import issuer_env
from certmgr.controller.web.console.tasks import run_as_task
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import (
    FormErrors,
    ListQuery,
    back_to,
    checkbox,
    choice,
    form_of,
    lines,
    multiline,
    multipart_reader,
    text,
    ticked,
)
from certmgr.controller.web.render import redirect, render
from certmgr.shared.errors import (
    CertmgrError,
    ConflictError,
    InputTooLargeError,
    UpstreamError,
    ValidationError,
)
from certmgr.shared.pki import KeyType

routes = web.RouteTableDef()


@routes.get("/definitions")
async def definitions(request: web.Request) -> web.Response:
    """All definitions with expiry, acquisition and deployment status; sorted, filtered, searched, paged on the server."""
    ctx = ctx_of(request)
    q = ListQuery.from_request(
        request,
        sortable=list(DEFINITION_SORTS),
        default_sort="name",
        filters=("issuer", "expiry", "archived"),
    )
    page = await definitions_page(
        ctx.db,
        now=ctx.clock.now(),
        q=q.q,
        issuer=q.filter("issuer"),
        expiry=q.filter("expiry"),
        archived=q.filter("archived") == "yes",
        sort=q.sort,
        desc=q.desc,
        page=q.page,
        per_page=q.per_page,
    )
    return render(
        request,
        "console/definitions.html",
        title="Certificate Definitions",
        page=page,
        q=q,
        issuers=[k.value for k in IssuerKind],
        expiries=EXPIRY_FILTERS,
        acme_accounts=await list_accounts(ctx.db),
    )


async def _clone_task(
    request: web.Request, ids: list[int], form: Mapping[str, Any], back: str
) -> web.HTTPSeeOther:
    """Clone the ticked definitions (name suffix, optionally one domain moved) as a task."""
    ctx = ctx_of(request)
    actor = ctx.require_actor()
    suffix = str(form.get("suffix", ""))[:50]
    if not suffix.strip():
        raise redirect(request, back, "Cloning needs a name suffix, such as ' (test)'.", "bad")
    old, _, new = str(form.get("domain_map", "")).partition("=")
    mapping = [(old.strip(), new.strip())] if old.strip() and new.strip() else []

    async def clone_one(def_id: int) -> str:
        (made,) = await clone_definitions(
            ctx.db, actor, [def_id], ctx.clock, name_suffix=suffix, domain_map=mapping
        )
        return f"Definition #{def_id}: cloned as {made.name!r} (#{made.id})."

    return await run_as_task(
        request,
        kind="definitions.clone",
        title=f"Clone {len(ids)} definition(s)",
        items=ids,
        step=clone_one,
        location=back,
    )


@routes.post("/definitions/bulk")
async def bulk(request: web.Request) -> web.Response:
    """The ticked definitions: renew them, or move them to another issuer (then renew), as a task."""
    ctx = ctx_of(request)
    actor = ctx.require_actor()
    form = await form_of(request)
    ids = ticked(form, "definition", limit=MAX_BULK + 1)
    back = back_to(form, "/definitions")
    if not ids:
        raise redirect(request, back, "Tick at least one definition.", "bad")
    if len(ids) > MAX_BULK:
        raise redirect(request, back, f"Tick at most {MAX_BULK} definitions at a time.", "bad")
    action = form.get("action")
    if action == "clone":
        raise await _clone_task(request, ids, form, back)
    renew = action == "renew"
    if action == "issuer":
        account = form.get("acme_account", "")
        change = IssuerChange(
            str(form.get("issuer", "")),
            acme_account_id=int(account)
            if isinstance(account, str) and account.isdigit()
            else None,
        )
        try:
            await change_issuer(ctx.db, ctx.vault, actor, list(ids), change, ctx.clock, renew=False)
        except CertmgrError as err:
            raise redirect(request, back, f"Issuer not changed: {err}", "bad") from err
        if not checkbox(form, "renew"):
            raise redirect(
                request, back, f"{len(ids)} definition(s) moved to {change.issuer_kind}."
            )
        renew = True
    if not renew:
        raise web.HTTPBadRequest(text="unknown action")
    env = issuer_env(request)

    async def renew_step(def_id: int) -> str:
        res = await renew_one(ctx.db, ctx.vault, actor, def_id, ctx.clock, env)
        if res.error and res.status != "done":
            raise UpstreamError(
                f"definition #{def_id}: request #{res.request_id}: {res.error[:300]}"
            )
        return f"Definition #{def_id}: request #{res.request_id} is {state_label('request', res.status)}."

    raise await run_as_task(
        request,
        kind="definitions.renew",
        title=f"Renew {len(ids)} definition(s)",
        items=ids,
        step=renew_step,
        location=back,
    )


def _new_page(
    request: web.Request, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> web.Response:
    return render(
        request,
        "console/definition_new.html",
        title="New definition",
        values=values,
        errors=errors,
        key_types=[k.value for k in KeyType],
        issuers=[k.value for k in IssuerKind],
        status=status,
    )


@routes.get("/definitions/new")
async def new_form(request: web.Request) -> web.Response:
    """Form for a new definition."""
    return _new_page(request, {}, {})


def _read_spec(form: Mapping[str, Any], errors: FormErrors) -> DefinitionSpec:
    """The spec as typed; each field that cannot be read is noted in ``errors``."""

    def field(name: str, label: str, max_len: int, *, required: bool = False) -> str:
        return errors.read(
            lambda: text(form, name, required=required, max_len=max_len, label=label), ""
        )

    return DefinitionSpec(
        name=field("name", "Name", 200, required=True),
        common_name=field("common_name", "Common name", 64),
        sans=tuple(
            lines(errors.read(lambda: multiline(form, "sans", max_len=20000, label="SANs"), ""))
        ),
        key_type=errors.read(
            lambda: choice(
                form,
                "key_type",
                [k.value for k in KeyType],
                default=KeyType.EC_P256.value,
                label="Key type",
            ),
            KeyType.EC_P256.value,
        ),
        issuer_kind=errors.read(
            lambda: choice(
                form,
                "issuer_kind",
                [k.value for k in IssuerKind],
                default=IssuerKind.PRIVATE_CA.value,
                label="Issuer",
            ),
            IssuerKind.PRIVATE_CA.value,
        ),
        organization=field("organization", "Organization", 64),
        organizational_unit=field("organizational_unit", "Organizational unit", 64),
        locality=field("locality", "Locality", 64),
        state=field("state", "State", 64),
        country=field("country", "Country", 2),
        requestor=field("requestor", "Requestor", 200),
        notes=errors.read(lambda: multiline(form, "notes", max_len=10000, label="Notes"), ""),
    )


@routes.post("/definitions/new")
async def new_submit(request: web.Request) -> web.Response:
    """Create a definition; every wrong field is shown at once, beside the field."""
    ctx = ctx_of(request)
    form = await form_of(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    errors = FormErrors()
    spec = _read_spec(form, errors)
    errors.read(lambda: validate_spec(spec), spec)
    if not errors:
        try:
            d = await create_definition(ctx.db, ctx.require_actor(), spec, clock=ctx.clock)
        except ValidationError as err:
            errors.add(err)
        except ConflictError:
            errors.add(
                ValidationError(
                    f"a definition named {spec.name.strip()!r} exists already: choose another name",
                    field="name",
                )
            )
        else:
            raise redirect(request, f"/definitions/{d.id}", f"Definition {d.name!r} created.")
    return _new_page(request, values, errors.by_field, status=422)


def _def_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None


@routes.get("/definitions/{id:\\d+}")
async def detail(request: web.Request) -> web.Response:
    """Requirements, certificates, requests, deployments, history and documents of one definition."""
    ctx = ctx_of(request)
    view = await definition_detail(ctx.db, _def_id(request))
    d = view.definition
    who = ctx.require_actor()
    docs = await list_documents(ctx.db, who, d.id)
    return render(
        request,
        "console/definition.html",
        may_release_keys=who.may_release_keys,
        title=d.name,
        d=d,
        certs=view.certificates,
        reqs=list(reversed(view.requests)),
        deps=view.deployments,
        history=view.history,
        docs=docs,
        now=ctx.clock.now(),
        max_doc_mb=MAX_DOCUMENT // (1024 * 1024),
    )


@routes.post("/definitions/{id:\\d+}/documents")
async def upload_document(request: web.Request) -> web.Response:
    """Add a file to the document folder (multipart; the CSRF token is the form's first part)."""
    ctx = ctx_of(request)
    def_id = _def_id(request)
    reader = await multipart_reader(request)
    saved = 0
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.name != "file" or not part.filename:
            continue
        data = bytearray()
        while chunk := await part.read_chunk(65536):
            data.extend(chunk)
            if len(data) > MAX_DOCUMENT:
                raise redirect(
                    request,
                    f"/definitions/{def_id}#documents",
                    str(
                        InputTooLargeError(
                            f"the file is larger than {MAX_DOCUMENT // (1024 * 1024)} MiB"
                        )
                    ),
                    "bad",
                )
        if not data:
            raise redirect(
                request,
                f"/definitions/{def_id}#documents",
                f"The file {part.filename} is empty: nothing was added.",
                "bad",
            )
        try:
            await add_document(
                ctx.db,
                ctx.require_actor(),
                ctx.settings.documents_dir,
                def_id,
                part.filename,
                bytes(data),
                ctx.clock,
                content_type=part.headers.get("Content-Type", ""),
            )
        except ValidationError as err:
            raise redirect(request, f"/definitions/{def_id}#documents", str(err), "bad") from err
        saved += 1
    if not saved:
        raise redirect(
            request, f"/definitions/{def_id}#documents", "Choose a file to upload.", "bad"
        )
    raise redirect(request, f"/definitions/{def_id}#documents", "Document uploaded.")


@routes.get("/definitions/{id:\\d+}/documents/{doc:\\d+}")
async def download_document(request: web.Request) -> web.Response:
    """Download a document (as an attachment, never rendered inline)."""
    ctx = ctx_of(request)
    row, data = await read_document(
        ctx.db,
        ctx.require_actor(),
        ctx.settings.documents_dir,
        _def_id(request),
        int(request.match_info["doc"]),
        ctx.clock,
    )
    return attachment(data, row.filename, "application/octet-stream")


@routes.post("/definitions/{id:\\d+}/documents/{doc:\\d+}/delete")
async def remove_document(request: web.Request) -> web.Response:
    """Delete a document."""
    ctx = ctx_of(request)
    def_id = _def_id(request)
    await delete_document(
        ctx.db,
        ctx.require_actor(),
        ctx.settings.documents_dir,
        def_id,
        int(request.match_info["doc"]),
        ctx.clock,
    )
    raise redirect(request, f"/definitions/{def_id}#documents", "Document deleted.")


def attachment(data: bytes, filename: str, content_type: str) -> web.Response:
    """A download response with a safe Content-Disposition (ASCII fallback plus RFC 5987 UTF-8 name)."""
    ascii_name = (
        "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
        or "download"
    )
    disposition = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
    )
    return web.Response(
        body=data,
        content_type=content_type,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )
