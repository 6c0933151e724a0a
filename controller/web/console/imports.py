"""Import screen: upload any supported format, see what was found, then save."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from aiohttp import BodyPartReader, web

from certmgr.controller.services.certificates.import_preview import preview_import
from certmgr.controller.services.certificates.imports import ImportFile, ImportOptions, import_files
from certmgr.controller.services.certificates.uploads import (
    StashedFile,
    stash_upload,
    take_upload,
)
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.forms import FormErrors, multipart_reader
from certmgr.controller.web.render import redirect, render
from certmgr.shared.errors import (
    CertmgrError,
    InputTooLargeError,
    ValidationError,
    WrongPasswordError,
)

routes = web.RouteTableDef()
MAX_UPLOAD = 16 * 1024 * 1024
ROLES = ("file", "key", "chain")
FIELDS = (*ROLES, "password", "key_password", "name")


def _uploads(request: web.Request) -> Path:
    return ctx_of(request).settings.home / "uploads"


def _form_page(
    request: web.Request,
    errors: FormErrors | None = None,
    extra: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """The upload form; ``errors`` beside their fields, the definition name typed kept."""
    return render(
        request,
        "console/import.html",
        title="Import",
        preview=None,
        token=None,
        errors=errors.by_field if errors else {},
        values={"name": (extra or {}).get("name", "")},
        status=status,
    )


@routes.get("/import")
async def import_form(request: web.Request) -> web.Response:
    """The upload form."""
    return _form_page(request)


async def _read_form(
    request: web.Request, errors: FormErrors
) -> tuple[list[StashedFile], dict[str, str]]:
    """The files and fields posted; an empty file is noted in ``errors`` beside its field."""
    reader = await multipart_reader(request)
    files: list[StashedFile] = []
    extra: dict[str, str] = {}
    total = 0
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            continue
        name = part.name
        if name in ROLES and part.filename:
            data = bytearray()
            while chunk := await part.read_chunk(65536):
                data.extend(chunk)
                total += len(chunk)
                if total > MAX_UPLOAD:
                    raise InputTooLargeError(
                        f"the upload is larger than {MAX_UPLOAD // (1024 * 1024)} MiB"
                    )
            if not data:
                errors.add(
                    ValidationError(
                        f"the file {str(part.filename)[:200]} is empty: choose the file again",
                        field=str(name),
                    )
                )
                continue
            files.append(StashedFile(str(name), str(part.filename)[:200], bytes(data)))
        elif name in ("password", "key_password", "name"):
            value = (await part.text())[:1024]
            extra[str(name)] = value
    return files, extra


def _options(extra: dict[str, str]) -> ImportOptions:
    return ImportOptions(
        password=extra["password"].encode() if extra.get("password") else None,
        key_password=extra["key_password"].encode() if extra.get("key_password") else None,
        name=extra.get("name") or None,
    )


def _inputs(files: list[StashedFile], role: str) -> list[ImportFile]:
    return [ImportFile(f.name, f.data) for f in files if f.role == role]


@routes.post("/import")
async def preview(request: web.Request) -> web.Response:
    """Parse the uploads and show what was found; nothing is saved yet."""
    ctx = ctx_of(request)
    errors = FormErrors()
    try:
        files, extra = await _read_form(request, errors)
    except InputTooLargeError as err:
        errors.add(ValidationError(str(err), field="file"))
        return _form_page(request, errors, status=413)
    if not _inputs(files, "file") and "file" not in errors.by_field:
        errors.add(
            ValidationError("choose at least one certificate or keystore file", field="file")
        )
    if len(extra.get("name", "")) > 200:
        errors.add(
            ValidationError("the definition name is longer than 200 characters", field="name")
        )
    if errors:
        return _form_page(request, errors, extra, status=422)
    try:
        found = await preview_import(
            _inputs(files, "file"),
            key_files=_inputs(files, "key"),
            chain_files=_inputs(files, "chain"),
            options=_options(extra),
            now=ctx.clock.now(),
        )
    except ValidationError as err:
        errors.add(err, field=err.field if err.field in FIELDS else "file")
        return _form_page(request, errors, extra, status=422)
    except WrongPasswordError as err:  # beside the passphrase it is about
        field = "key_password" if "key password" in str(err) else "password"
        errors.add(ValidationError(str(err), field=field))
        return _form_page(request, errors, extra, status=422)
    except CertmgrError as err:
        errors.add(ValidationError(str(err), field="file"))
        return _form_page(request, errors, extra, status=422)
    token = await stash_upload(_uploads(request), ctx.vault, files, extra)
    return render(
        request,
        "console/import.html",
        title="Import",
        preview=found,
        token=token,
        errors={},
        values={},
        name=extra.get("name", ""),
    )


@routes.post("/import/confirm")
async def confirm(request: web.Request) -> web.Response:
    """Save what the preview showed."""
    ctx = ctx_of(request)
    form = await request.post()
    token = form.get("token")
    if not isinstance(token, str):
        raise redirect(request, "/import", "The upload has expired; upload the files again.", "bad")
    files, extra = await take_upload(_uploads(request), ctx.vault, token)
    try:
        results = await import_files(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            _inputs(files, "file"),
            key_files=_inputs(files, "key"),
            chain_files=_inputs(files, "chain"),
            options=replace(
                _options(extra), accept_unverified=form.get("accept_unverified") == "on"
            ),
            clock=ctx.clock,
        )
    except CertmgrError as err:
        errors = FormErrors()
        errors.add(ValidationError(f"not saved: {err}; choose the files again", field="file"))
        return _form_page(request, errors, extra, status=422)
    created = [r for r in results if r.created]
    leaves = [r for r in results if r.definition_id is not None]
    if len(leaves) == 1:
        raise redirect(
            request,
            f"/definitions/{leaves[0].definition_id}",
            f"Imported {len(created)} new certificate(s); {len(results) - len(created)} already known.",
        )
    raise redirect(
        request,
        "/definitions",
        f"Imported {len(created)} new certificate(s); {len(results) - len(created)} already known.",
    )
