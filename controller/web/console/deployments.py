"""Deployment Processes: one deployment's page and its actions (prepare, request, check, close, codes).

The list and the new-deployment form are in ``deployment_list``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from certmgr.controller import appkeys
from certmgr.controller.domain.deployment_actions import DeploymentFacts, plan_actions
from certmgr.controller.domain.software import SOFTWARE
from certmgr.controller.domain.states import DEPLOYMENT_STATE_WORDS
from certmgr.controller.domain.status import check_sentence
from certmgr.controller.services.admin.reveal import hold_secret
from certmgr.controller.services.admin.settings import load_general_settings, load_mail_settings
from certmgr.controller.services.admin.users import check_password_policy
from certmgr.controller.services.agents.work import queue_agent_install
from certmgr.controller.services.deployment.checks import (
    deploy_check,
    record_check_code,
    send_check_result,
)
from certmgr.controller.services.deployment.closing import close
from certmgr.controller.services.deployment.codes import issue_check_key
from certmgr.controller.services.deployment.install_request import request_install
from certmgr.controller.services.deployment.oneclick import accept_receipt, prepare_oneclick
from certmgr.controller.services.deployment.prepare import prepare_conventional
from certmgr.controller.services.deployment.views import (
    deployment_detail,
)
from certmgr.controller.web.console.tasks import run_as_task
from certmgr.controller.web.context import ctx_of
from certmgr.controller.web.errors import status_for
from certmgr.controller.web.forms import (
    FormErrors,
    choice,
    form_of,
    text,
)
from certmgr.controller.web.render import redirect, render
from certmgr.controller.web.reveal import hold_and_redirect, take
from certmgr.shared.errors import BadSignatureError, CertmgrError, InputError, ValidationError

routes = web.RouteTableDef()


async def _detail(
    request: web.Request,
    *,
    passphrase: str | None = None,
    mail_preview: object = None,
    error: str | None = None,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
    check_key: dict[str, object] | None = None,
) -> web.Response:
    """The deployment's page.

    ``error`` is about the deployment; ``errors`` are one of its small forms' (``passphrase``,
    ``oneclick_passphrase``, ``receipt_code``, ``check_code``), with what was typed in ``values``
    (never a passphrase).
    """
    ctx = ctx_of(request)
    who = ctx.require_actor()
    detail = await deployment_detail(ctx.db, who, request.match_info["id"])
    dep, d = detail.dep, detail.definition
    held = await take(request, f"deployment-{dep.id}") if status == 200 else None
    if held is not None:  # a secret made by the POST that redirected here: shown this once
        passphrase = held.get("passphrase") or passphrase
        if held.get("check_key"):
            check_key = {
                "key_text": held["check_key"],
                "expires_at": dt.datetime.fromisoformat(held["expires_at"]),
            }
    last = detail.last
    actions = plan_actions(
        DeploymentFacts(
            status=dep.status,
            delivery=dep.delivery,
            may_release_keys=who.may_release_keys,
            has_package=detail.package is not None,
            last_check_passed=last is not None
            and last.ok
            and (not d.current_certificate_id or last.matches_current),
            has_check=last is not None,
            outdated=detail.row.outdated,
            has_admin_email=bool(dep.admin_email),
        )
    )
    return render(
        request,
        "console/deployment.html",
        actions=actions,
        title=f"Deployment {dep.id}",
        dep=dep,
        d=d,
        last=detail.last,
        checks=detail.checks,
        package=detail.package,
        events=detail.events,
        software=SOFTWARE[dep.target_type],
        passphrase=passphrase,
        mail_preview=mail_preview,
        error=error,
        errors=errors or {},
        values=values or {},
        check_key=check_key,
        may_release_keys=who.may_release_keys,
        outdated=detail.row.outdated,
        status=status,
    )


async def _show_once(
    request: web.Request, values: dict[str, str], message: str, anchor: str = ""
) -> web.HTTPSeeOther:
    """Post/redirect/get: the deployment page shows ``values`` (a passphrase, a key) once."""
    dep_id = int(request.match_info["id"])  # "007" and "7" are one deployment
    return await hold_and_redirect(
        request, f"/deployments/{dep_id}{anchor}", f"deployment-{dep_id}", values, message
    )


@routes.get("/deployments/{id:\\d+}")
async def detail(request: web.Request) -> web.Response:
    """Deploy information, state, last check, history, actions."""
    return await _detail(request)


@routes.post("/deployments/{id:\\d+}/prepare")
async def prepare(request: web.Request) -> web.Response:
    """Build the package; the passphrase is shown once."""
    ctx = ctx_of(request)
    form = await form_of(request)
    chosen = form.get("passphrase")

    async def build() -> str:
        res = await prepare_conventional(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            request.match_info["id"],
            ctx.settings.documents_dir,
            ctx.clock,
            passphrase=chosen if isinstance(chosen, str) and chosen else None,
            protect=form.get("protect") == "on",
            home=ctx.settings.home,
        )
        return res.passphrase

    return await _package(request, chosen, build, "Prepare the package", field="passphrase")


async def _mail_args(request: web.Request) -> dict[str, object]:
    ctx = ctx_of(request)
    return {
        "mail": await load_mail_settings(ctx.db, ctx.vault),
        "general": await load_general_settings(ctx.db),
        "base_url": ctx.settings.public_url,
    }


@routes.post("/deployments/{id:\\d+}/request")
async def request_mail(request: web.Request) -> web.Response:
    """Preview (default) or send the install-request e-mail."""
    ctx = ctx_of(request)
    form = await form_of(request)
    send = form.get("send") == "1"
    try:
        res = await request_install(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            request.match_info["id"],
            ctx.clock,
            send=send,
            mail=await load_mail_settings(ctx.db, ctx.vault),
            general=await load_general_settings(ctx.db),
            base_url=ctx.settings.public_url,
        )
    except CertmgrError as err:
        return await _detail(request, error=str(err), status=status_for(err))
    if not send:
        return await _detail(request, mail_preview=res)
    raise redirect(
        request,
        f"/deployments/{request.match_info['id']}",
        f"Install request {res.result}{': ' + res.error if res.error else ''}.",
        "ok" if res.result == "sent" else "bad",
    )


@routes.post("/deployments/{id:\\d+}/check")
async def check(request: web.Request) -> web.Response:
    """Run the deploy check now."""
    ctx = ctx_of(request)
    try:
        _, outcome = await deploy_check(
            ctx.db, ctx.require_actor(), request.match_info["id"], ctx.clock
        )
    except CertmgrError as err:
        return await _detail(request, error=str(err), status=status_for(err))
    raise redirect(
        request,
        f"/deployments/{request.match_info['id']}#check",
        check_sentence(
            outcome.ok, outcome.reachable, outcome.served_sha256, "; ".join(outcome.problems)
        ),
        "ok" if outcome.ok else "bad",
    )


@routes.post("/deployments/{id:\\d+}/close")
async def close_deployment(request: web.Request) -> web.Response:
    """Done, continue without checking, manually checked, or installed."""
    ctx = ctx_of(request)
    form = await form_of(request)
    try:
        how = choice(form, "how", ["done", "unchecked", "manual", "installed"], label="Action")
        dep = await close(
            ctx.db,
            ctx.require_actor(),
            request.match_info["id"],
            how,
            ctx.clock,
            note=text(form, "note", max_len=500, label="Note"),
        )
    except CertmgrError as err:
        return await _detail(request, error=str(err), status=status_for(err))
    raise redirect(
        request,
        f"/deployments/{dep.id}",
        f"The deployment is now {DEPLOYMENT_STATE_WORDS.get(dep.status, dep.status)}.",
    )


@routes.post("/deployments/{id:\\d+}/send-result")
async def send_result(request: web.Request) -> web.Response:
    """E-mail the last check result to the server administrator."""
    ctx = ctx_of(request)
    try:
        result = await send_check_result(
            ctx.db,
            ctx.require_actor(),
            request.match_info["id"],
            ctx.clock,
            mail=await load_mail_settings(ctx.db, ctx.vault),
        )
    except CertmgrError as err:
        return await _detail(request, error=str(err), status=status_for(err))
    raise redirect(
        request,
        f"/deployments/{request.match_info['id']}",
        f"Check result e-mail {result}.",
        "ok" if result == "sent" else "bad",
    )


async def _code_refused(
    request: web.Request, err: CertmgrError, field: str, typed: Mapping[str, str]
) -> web.Response:
    """The deployment page with a refused code beside its box, the code typed kept."""
    errors = FormErrors()
    errors.add(ValidationError(str(err), field=field))
    return await _detail(request, errors=errors.by_field, values=typed, status=422)


@routes.post("/deployments/{id:\\d+}/check-code")
async def check_code(request: web.Request) -> web.Response:
    """Record a result code from a manual check."""
    ctx = ctx_of(request)
    form = await form_of(request)
    typed = {"check_code": str(form.get("code", ""))[:200]}
    try:
        row, ok = await record_check_code(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            request.match_info["id"],
            text(form, "code", required=True, max_len=200, label="Result code"),
            ctx.clock,
        )
    except (InputError, BadSignatureError) as err:  # the code itself: beside its box
        return await _code_refused(request, err, "check_code", typed)
    except CertmgrError as err:
        return await _detail(request, error=str(err), values=typed, status=status_for(err))
    raise redirect(
        request,
        f"/deployments/{request.match_info['id']}",
        "Manual check recorded: " + ("OK." if ok else row.error),
        "ok" if ok else "bad",
    )


@routes.post("/deployments/{id:\\d+}/check-key")
async def check_key(request: web.Request) -> web.Response:
    """Issue a check key for one manual check (admins); shown once."""
    ctx = ctx_of(request)
    try:
        issued = await issue_check_key(
            ctx.db, ctx.vault, ctx.require_actor(), request.match_info["id"], ctx.clock
        )
    except CertmgrError as err:
        return await _detail(request, error=str(err), status=status_for(err))
    values = {"check_key": issued.key_text, "expires_at": issued.expires_at.isoformat()}
    raise await _show_once(request, values, "Check key issued.", "#manual-check")


@routes.post("/deployments/{id:\\d+}/install")
async def install(request: web.Request) -> web.Response:
    """Try auto-install through the deployment's agent."""
    ctx = ctx_of(request)
    try:
        (q,) = await queue_agent_install(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            [request.match_info["id"]],
            ctx.clock,
            request.app[appkeys.AGENT_WAKEUPS],
        )
    except CertmgrError as err:
        return await _detail(request, error=str(err), status=status_for(err))
    raise redirect(
        request,
        f"/deployments/{request.match_info['id']}",
        f"Package {q.sequence} sent to the agent; the deployment is confirmed once the agent reports and the check passes.",
    )


@routes.post("/deployments/{id:\\d+}/prepare-oneclick")
async def prepare_oneclick_installer(request: web.Request) -> web.Response:
    """Stamp a one-click installer; the passphrase is shown once."""
    ctx = ctx_of(request)
    form = await form_of(request)
    chosen = form.get("passphrase")

    async def build() -> str:
        res = await prepare_oneclick(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            request.match_info["id"],
            ctx.settings.home,
            ctx.settings.documents_dir,
            ctx.clock,
            passphrase=chosen if isinstance(chosen, str) and chosen else None,
        )
        return res.passphrase

    return await _package(
        request, chosen, build, "Create the one-click installer", field="oneclick_passphrase"
    )


async def _package(
    request: web.Request,
    chosen: object,
    build: Callable[[], Awaitable[str]],
    title: str,
    *,
    field: str,
) -> web.Response:
    """Build a package as a task (its page follows it, then the deployment shows the passphrase once).

    What can be refused at once is refused on the deployment page: a weak chosen passphrase, or
    a user who may not hand out the private key.
    """
    ctx = ctx_of(request)
    actor = ctx.require_actor()
    dep_id = int(request.match_info["id"])  # "007" and "7" are one deployment
    try:
        if isinstance(chosen, str) and chosen:
            check_password_policy(chosen, field=field)
        if not actor.may_release_keys:
            await build()  # refused by the service, with its words
    except ValidationError as err:  # beside the passphrase box, which stays empty
        errors = FormErrors()
        errors.add(err, field=field)
        return await _detail(request, errors=errors.by_field, status=422)
    except CertmgrError as err:
        return await _detail(request, error=str(err), status=status_for(err))
    session = ctx.session

    async def step(_: int) -> str:
        passphrase = await build()
        kept = session is not None and await hold_secret(
            ctx.db, ctx.vault, session.sid, f"deployment-{dep_id}", {"passphrase": passphrase}
        )
        if not kept:  # signed out meanwhile: nobody could be shown the passphrase
            return (
                f"Deployment #{dep_id}: built, but the session that asked for it ended before "
                "its passphrase could be shown: prepare the package again."
            )
        return f"Deployment #{dep_id}: done; its page shows the passphrase once."

    raise await run_as_task(
        request,
        kind="deployment.package",
        title=f"{title} for deployment {dep_id}",
        items=[dep_id],
        step=step,
        location=f"/deployments/{dep_id}",
    )


@routes.post("/deployments/{id:\\d+}/receipt")
async def receipt(request: web.Request) -> web.Response:
    """Paste a one-click installer's receipt code."""
    ctx = ctx_of(request)
    form = await form_of(request)
    typed = {"receipt_code": str(form.get("code", ""))[:200]}
    try:
        dep = await accept_receipt(
            ctx.db,
            ctx.vault,
            ctx.require_actor(),
            request.match_info["id"],
            text(form, "code", required=True, max_len=200, label="Receipt code"),
            ctx.clock,
        )
    except (InputError, BadSignatureError) as err:  # the code itself: beside its box
        return await _code_refused(request, err, "receipt_code", typed)
    except CertmgrError as err:
        return await _detail(request, error=str(err), values=typed, status=status_for(err))
    raise redirect(
        request,
        f"/deployments/{dep.id}",
        f"Receipt accepted: the deployment is {DEPLOYMENT_STATE_WORDS.get(dep.status, dep.status)}.",
    )
