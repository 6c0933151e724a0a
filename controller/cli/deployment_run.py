"""``certmgr deployment new|list|show|prepare|request|check|done|check-code`` and ``certmgr check``: the handlers (parsers in ``deployment_cmd``)."""

from __future__ import annotations

import sys
from pathlib import Path

from cryptography import x509

from certmgr.controller.cli.base import (
    CommandContext,
    read_input_file,
    read_secret_file,
    table,
    write_private_file,
)
from certmgr.controller.domain.software import SOFTWARE
from certmgr.controller.domain.state_labels import state_label
from certmgr.controller.services.admin.settings import load_general_settings, load_mail_settings
from certmgr.controller.services.agents.wakeups import wakeups_for
from certmgr.controller.services.agents.work import queue_agent_install
from certmgr.controller.services.deployment.checks import deploy_check, record_check_code
from certmgr.controller.services.deployment.closing import close
from certmgr.controller.services.deployment.codes import issue_check_key
from certmgr.controller.services.deployment.deployments import DeploymentSpec, create_deployment
from certmgr.controller.services.deployment.install_request import request_install
from certmgr.controller.services.deployment.oneclick import accept_receipt
from certmgr.controller.services.deployment.packages import new_passphrase
from certmgr.controller.services.deployment.prepare import copy_document, prepare_package
from certmgr.controller.services.deployment.views import (
    deployment_detail,
    deployment_json,
    list_deployments,
)
from certmgr.controller.settings import parse_hostport
from certmgr.shared.clock import SystemClock
from certmgr.shared.deploycheck import CheckOutcome, evaluate
from certmgr.shared.errors import ConfigurationError, InputError, ValidationError
from certmgr.shared.pki.fingerprint import normalize_fingerprint
from certmgr.shared.receipt import make_check_code, parse_check_key
from certmgr.shared.tlsprobe import probe


def _params(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ValidationError(f"--param {item!r} is not KEY=VALUE", field="param")
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


async def _new(ctx: CommandContext) -> int:
    a = ctx.args
    host, port = (None, None)
    if a.check:
        host, port = parse_hostport(a.check, default_port=SOFTWARE[a.software].default_port)
    spec = DeploymentSpec(
        definition_ref=a.definition,
        server_name=a.server,
        software=a.software,
        delivery=a.delivery,
        check_host=host or "",
        check_port=port,
        sni=a.sni,
        admin_email=a.admin_email,
        monitoring=not a.no_monitoring,
        target_params=_params(a.param),
        agent_id=a.agent,
    )
    dep = await create_deployment(await ctx.db(), ctx.actor, spec, SystemClock())
    if a.json:
        ctx.print_json(deployment_json(dep))
    else:
        ctx.print(
            f"created deployment #{dep.id} to {dep.server_name} (check {dep.check_host}:{dep.check_port})"
        )
    return 0


async def _list(ctx: CommandContext) -> int:
    rows = await list_deployments(await ctx.db())
    if ctx.args.json:
        ctx.print_json([deployment_json(x) for x in rows])
        return 0
    ctx.print(
        table(
            [
                (x.id, x.definition_id, x.server_name, x.target_type, x.delivery, x.status)
                for x in rows
            ],
            ["ID", "DEF", "SERVER", "SOFTWARE", "DELIVERY", "STATUS"],
        )
    )
    return 0


async def _show(ctx: CommandContext) -> int:
    detail = await deployment_detail(await ctx.db(), ctx.actor, ctx.args.deployment)
    dep, d, last, events = detail.dep, detail.definition, detail.last, detail.events
    data = deployment_json(dep)
    data["definition"] = d.name
    data["last_check"] = (
        None
        if last is None
        else {"at": last.at.isoformat(), "ok": last.ok, "source": last.source, **last.detail}
    )
    data["history"] = [
        {"at": e.at.isoformat(), "actor": e.actor, "event": e.event, "message": e.message}
        for e in events
    ]
    if ctx.args.json:
        ctx.print_json(data)
        return 0
    ctx.print(
        f"Deployment #{dep.id} of {d.name!r} to {dep.server_name}: "
        f"{state_label('deployment', dep.status)}"
    )
    ctx.print(
        f"  software {dep.target_type}, delivery {dep.delivery}, check {dep.check_host}:{dep.check_port} sni {dep.sni or '-'}"
    )
    if last:
        ctx.print(
            f"  last check {last.at:%Y-%m-%d %H:%M} {'OK' if last.ok else 'FAILED: ' + last.error}"
        )
    for e in events[:20]:
        ctx.print(f"  {e.at:%Y-%m-%d %H:%M}  {e.actor:<16} {e.event:<20} {e.message}")
    return 0


async def _prepare(ctx: CommandContext) -> int:
    a = ctx.args
    if a.passphrase_file and a.passphrase_file_out:
        raise ValidationError(
            "--passphrase-file and --passphrase-file-out exclude each other", field="passphrase"
        )
    raw = read_secret_file(a.passphrase_file, what="passphrase")
    passphrase = raw.decode() if raw else new_passphrase()
    if raw is None:
        # the one-time secret is saved or shown before the package exists: a closed pipe or a
        # bad path stops the command here, not after a package nobody can open
        if a.passphrase_file_out:
            write_private_file(Path(a.passphrase_file_out), passphrase + "\n")
        else:
            ctx.print(
                "passphrase (shown once; give it to the server administrator separately): "
                + passphrase
            )
            ctx.out.flush()
    res = await prepare_package(
        await ctx.db(),
        ctx.vault,
        ctx.actor,
        a.deployment,
        ctx.settings.home,
        ctx.settings.documents_dir,
        SystemClock(),
        passphrase=passphrase,
        protect=a.protect,
    )
    oneclick = res.deployment.delivery == "oneclick"
    what = "one-click installer" if oneclick else "package"
    ctx.print(
        f"{what} {res.document.filename} stored in the document folder of definition #{res.document.definition_id}"
    )
    if a.out:
        out = Path(a.out)
        if out.is_dir():
            out = out / res.document.filename
        try:
            await copy_document(
                ctx.settings.documents_dir, res.document, out, mode=0o755 if oneclick else None
            )
        except OSError as err:
            raise InputError(
                f"{a.out}: cannot write the {what} ({err.strerror}); it is kept in the "
                "document folder"
            ) from err
        ctx.print(f"{what} written to {out}")
    if a.passphrase_file_out and raw is None:
        ctx.print(f"passphrase written to {a.passphrase_file_out}")
    return 0


async def _request(ctx: CommandContext) -> int:
    db = await ctx.db()
    mail = await load_mail_settings(db, ctx.vault)
    res = await request_install(
        db,
        ctx.vault,
        ctx.actor,
        ctx.args.deployment,
        SystemClock(),
        mail=mail,
        general=await load_general_settings(db),
        base_url=ctx.settings.public_url,
        send=not ctx.args.preview,
    )
    if ctx.args.preview:
        ctx.print(f"To: {', '.join(res.to)}\nSubject: {res.subject}\n\n{res.body}")
        return 0
    ctx.print(
        f"install request to {', '.join(res.to)}: {res.result}{(' - ' + res.error) if res.error else ''}"
    )
    return 0 if res.result == "sent" else 1


def _print_outcome(
    ctx: CommandContext, o: CheckOutcome, label: str, *, compared: bool = True
) -> None:
    ctx.print(f"{label}: {o.outcome}")
    if not o.reachable:
        # never connected: no verdict on a certificate, chain or name exists
        for p in o.problems:
            ctx.print(f"  - {p}")
        return
    ctx.print(f"  served SHA-256   {o.served_sha256 or '-'}")
    if o.judged:
        matches = ("yes" if o.matches_current else "no") if compared else "- (no --expect)"
        ctx.print(f"  matches          {matches}")
        ctx.print(
            f"  chain complete   {'yes' if o.chain_complete else 'no'}{'' if o.chain_in_order else ' (out of order)'}"
        )
        ctx.print(f"  hostname match   {'yes' if o.hostname_matches else 'no'}")
        ctx.print(f"  days left        {o.days_left if o.days_left is not None else '-'}")
    ctx.print(f"  protocol/cipher  {o.protocol or '-'} {o.cipher or ''}")
    for p in o.problems:
        ctx.print(f"  - {p}")
    for w in o.warnings:
        ctx.print(f"  warning: {w}")


async def _check(ctx: CommandContext) -> int:
    a = ctx.args
    row, outcome = await deploy_check(
        await ctx.db(), ctx.actor, a.deployment, SystemClock(), confirm=a.done, timeout=a.timeout
    )
    if a.json:
        ctx.print_json({"check_id": row.id, **outcome.to_dict()})
    else:
        _print_outcome(ctx, outcome, f"deploy check #{row.id}")
    return 0 if outcome.ok else 1


async def _done(ctx: CommandContext) -> int:
    a = ctx.args
    how = (
        "unchecked"
        if a.unchecked
        else "manual"
        if a.manual
        else "installed"
        if a.installed
        else "done"
    )
    dep = await close(await ctx.db(), ctx.actor, a.deployment, how, SystemClock(), note=a.note)
    ctx.print(f"deployment #{dep.id} is {state_label('deployment', dep.status)}")
    return 0


async def _check_code(ctx: CommandContext) -> int:
    row, ok = await record_check_code(
        await ctx.db(), ctx.vault, ctx.actor, ctx.args.deployment, ctx.args.code, SystemClock()
    )
    ctx.print(f"recorded manual check #{row.id}: {'OK' if ok else 'problems: ' + row.error}")
    return 0 if ok else 1


async def _install(ctx: CommandContext) -> int:
    db = await ctx.db()
    (q,) = await queue_agent_install(
        db, ctx.vault, ctx.actor, [ctx.args.deployment], SystemClock(), wakeups_for(db)
    )
    ctx.print(
        f"package {q.sequence} queued for agent #{q.agent_id}; the deployment is install-requested"
    )
    return 0


async def _receipt(ctx: CommandContext) -> int:
    dep = await accept_receipt(
        await ctx.db(), ctx.vault, ctx.actor, ctx.args.deployment, ctx.args.code, SystemClock()
    )
    ctx.print(f"receipt accepted: deployment #{dep.id} is {state_label('deployment', dep.status)}")
    return 0


async def _check_key(ctx: CommandContext) -> int:
    issued = await issue_check_key(
        await ctx.db(), ctx.vault, ctx.actor, ctx.args.deployment, SystemClock()
    )
    key, where = issued.key_text, f"{issued.check_host}:{issued.check_port}"
    ctx.print(key)
    print(
        f"run on a host that reaches {where}:\n  certmgr check {where}"
        f"{' --sni ' + issued.sni if issued.sni else ''} --deployment {issued.deployment_id} --key {key}\n"
        f"the key works for one code until {issued.expires_at:%Y-%m-%d %H:%M} UTC; "
        "a new check-key retires it",
        file=sys.stderr,
    )
    return 0


def _anchors(path: str) -> list[x509.Certificate]:
    """The certificates of a ``--ca-file`` (PEM, one or more).

    Raises:
        InputError: Unreadable, or no certificate in it.
    """
    data = read_input_file(path, what="CA file")
    try:
        found = x509.load_pem_x509_certificates(data)
    except (ValueError, x509.InvalidVersion):
        found = []
    if not found:
        raise InputError(f"{path}: no PEM certificate in it (give the CA certificate as PEM)")
    return found


async def _manual_check(ctx: CommandContext) -> int:
    a = ctx.args
    try:
        host, port = parse_hostport(a.target, default_port=443)
    except ConfigurationError as err:
        raise ValidationError(str(err), field="target") from err
    if (a.key is None) != (a.deployment is None):
        raise ValidationError("--key and --deployment go together", field="key")
    anchors = _anchors(a.ca_file) if a.ca_file else []
    result = await probe(host, port, sni=a.sni, timeout=a.timeout, starttls=a.starttls)
    # without --expect (and no deployment to judge the fingerprint), nothing is expected: the
    # verdict then holds the certificate to the name (see evaluate)
    expected = normalize_fingerprint(a.expect) if a.expect else None
    if expected is None and a.key is not None:
        expected = result.leaf_sha256 or None
    outcome = evaluate(
        result,
        expected,
        (),
        now=SystemClock().now(),
        anchors=anchors,
        fingerprint_only=a.fingerprint_only,
    )
    code = None
    if a.key is not None:
        code = make_check_code(
            outcome,
            parse_check_key(a.key),
            deployment_id=a.deployment,
            port=port,
            now=SystemClock().now(),
        )
    # nothing was compared without a fingerprint: no "matches" verdict (null in JSON, as for a
    # check that never connected)
    compared = expected is not None
    if a.json:
        shown = outcome.to_dict()
        if not compared and outcome.reachable:
            shown["matches_current"] = None
        ctx.print_json({**shown, "result_code": code})
    else:
        _print_outcome(ctx, outcome, f"check of {host}:{port}", compared=compared)
        if code:
            ctx.print(f"\nResult code (paste it into deployment #{a.deployment}):\n  {code}")
    return 0 if outcome.ok else 1
