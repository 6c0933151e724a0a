"""``certmgr backup`` (and ``backup verify``, ``backup list``) and ``certmgr restore``: the parsers (handlers in ``backup_run``)."""

from __future__ import annotations

from typing import Any

from certmgr.controller.cli.args import add_home, add_json, run

_PHRASE_FILE_HELP = (
    "read the backup passphrase from this file (first line); default: "
    "$CERTMGR_BACKUP_PASSPHRASE, else a prompt"
)


def register(sub: Any) -> None:
    """Add the commands to the parser."""
    p = sub.add_parser(
        "backup",
        help="back up the home and its database into one encrypted file (online)",
        description="Without an action: take a backup now. The controller may keep running.",
    )
    add_home(p)
    p.add_argument("--out", default=None, help="the file to write (default: backups/ in the home)")
    p.add_argument(
        "--include-master-key",
        action="store_true",
        help="put the master key into the backup too (default: left out; keep it apart)",
    )
    p.add_argument("--passphrase-file", default=None, help=_PHRASE_FILE_HELP)
    p.set_defaults(handler=run("backup_run", "_backup"))
    bsub = p.add_subparsers(dest="backup_command", metavar="ACTION")
    q = bsub.add_parser("verify", help="prove a backup file whole and readable (writes nothing)")
    q.add_argument("file")
    q.add_argument("--passphrase-file", default=None, help=_PHRASE_FILE_HELP)
    add_json(q)
    q.set_defaults(handler=run("backup_run", "_verify"))
    q = bsub.add_parser("list", help="list the backups taken (size and result)")
    add_home(q)
    add_json(q)
    q.set_defaults(handler=run("backup_run", "_list"))

    p = sub.add_parser(
        "restore",
        help="restore a backup into a new home folder (migrates an older database)",
    )
    p.add_argument("file")
    add_home(p)
    p.add_argument(
        "--database-url",
        default=None,
        help="for a PostgreSQL backup: a new, empty database to load it into",
    )
    p.add_argument(
        "--master-key",
        default=None,
        help="the old home's master.key, when the backup was taken without it",
    )
    p.add_argument("--passphrase-file", default=None, help=_PHRASE_FILE_HELP)
    p.set_defaults(handler=run("backup_run", "_restore"))
