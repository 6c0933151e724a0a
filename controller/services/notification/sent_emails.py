"""Reading Sent Emails: the console's filtered pages, one message, and the API's feed."""

from __future__ import annotations

from certmgr.controller.db.engine import Database
from certmgr.controller.db.models import SentEmail
from certmgr.controller.db.queries.emails import sent_emails_before
from certmgr.controller.db.queries.emails import sent_emails_page as _page_query
from certmgr.controller.services.certificates.overview import Page
from certmgr.shared.errors import NotFoundError

__all__ = ["SentEmail", "sent_email", "sent_emails_feed", "sent_emails_page"]


async def sent_emails_page(
    db: Database,
    *,
    result: str = "",
    kind: str = "",
    text: str = "",
    sort: str = "at",
    desc: bool = True,
    page: int = 1,
    per_page: int = 50,
) -> Page[SentEmail]:
    """A page of e-mails, filtered by result and kind and by text in the recipient or subject."""
    async with db.reader() as s:
        rows, total = await _page_query(
            s,
            result=result,
            kind=kind,
            text=text,
            sort=sort,
            desc=desc,
            page=page,
            per_page=per_page,
        )
    return Page(rows, total, page, per_page)


async def sent_email(db: Database, email_id: int) -> SentEmail:
    """One sent e-mail with its body.

    Raises:
        NotFoundError: No such e-mail.
    """
    async with db.reader() as s:
        row = await s.get(SentEmail, email_id)
    if row is None:
        raise NotFoundError("no such e-mail")
    return row


async def sent_emails_feed(db: Database, *, before_id: int | None, limit: int) -> list[SentEmail]:
    """Up to ``limit`` e-mails, newest first, older than e-mail ``before_id``."""
    async with db.reader() as s:
        return await sent_emails_before(s, before_id=before_id, limit=limit)
