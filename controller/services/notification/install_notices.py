"""Install notifications to the server administrator once an install is confirmed."""

from __future__ import annotations

from cryptography import x509

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import Certificate
from certmgr.controller.domain.actors import Actor
from certmgr.controller.domain.software import SOFTWARE
from certmgr.controller.services.admin.settings import load_general_settings, load_mail_settings
from certmgr.controller.services.deployment.deployments import deployment_with_definition
from certmgr.controller.services.deployment.packages import text_templates
from certmgr.controller.services.notification.mail import OutgoingMail, send_and_record
from certmgr.controller.vault import MasterKey
from certmgr.shared.clock import Clock
from certmgr.shared.pki import summarize


async def send_install_notification(
    db: Database, vault: MasterKey, actor: Actor, dep_id: int, clock: Clock, *, how: str = ""
) -> str | None:
    """E-mail the server administrator that the certificate was installed (None: nobody to tell or mail not set up)."""
    async with db.reader() as s:
        dep, _ = await deployment_with_definition(s, dep_id)
        cert = await s.get(Certificate, dep.certificate_id) if dep.certificate_id else None
    mail = await load_mail_settings(db, vault)
    if not dep.admin_email or cert is None or not mail.configured:
        return None
    sm = summarize(x509.load_der_x509_certificate(cert.der))
    body = (
        text_templates()
        .get_template("mail/install_notification.txt")
        .render(
            server=dep.server_name,
            software=SOFTWARE[dep.target_type].label,
            how=how,
            subject=sm.subject,
            sans=", ".join(sm.sans),
            not_after=sm.not_after.strftime("%Y-%m-%d %H:%M UTC"),
            sha256=sm.sha256,
            check=f"{dep.check_host}:{dep.check_port} confirmed",
            signature=(await load_general_settings(db)).signature,
        )
    )
    row = await send_and_record(
        db,
        actor,
        mail,
        OutgoingMail(
            tuple(a.strip() for a in dep.admin_email.split(",")),
            f"New certificate installed on {dep.server_name}",
            body,
            "install-notification",
            "deployment",
            str(dep.id),
        ),
        clock,
    )
    return row.result
