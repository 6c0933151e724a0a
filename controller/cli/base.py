"""What every command shares: home, settings, database, master key, output helpers."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from certmgr.controller.cli.args import add_home, add_json
from certmgr.controller.db.engine import Database
from certmgr.controller.domain.actors import Actor, cli_actor
from certmgr.controller.homefiles import secure_home
from certmgr.controller.settings import Settings, default_home, load_settings
from certmgr.controller.subscriptions import subscribe_all
from certmgr.shared.errors import InputError, InputTooLargeError
from certmgr.shared.text import escape_text, passphrase_line

if TYPE_CHECKING:
    from certmgr.controller.services.acquisition.ca_context import CaContext
    from certmgr.controller.vault import MasterKey

MAX_INPUT_FILE = 16 * 1024 * 1024
Handler = Callable[["CommandContext"], Awaitable[int]]
__all__ = [
    "CommandContext",
    "Handler",
    "add_home",
    "add_json",
    "read_input_file",
    "read_secret_file",
    "table",
    "write_private_file",
]


class CommandContext:
    """Lazily opened resources for one command run."""

    def __init__(self, args: argparse.Namespace) -> None:
        """Keep the parsed arguments."""
        self.args = args
        self._settings: Settings | None = None
        self._db: Database | None = None
        self._vault: MasterKey | None = None
        self.out: TextIO = sys.stdout
        self.err: TextIO = sys.stderr

    @property
    def home(self) -> Path:
        """The home folder chosen by ``--home`` or the environment."""
        home = getattr(self.args, "home", None)
        return home if home is not None else default_home()

    @property
    def settings(self) -> Settings:
        """Settings of the home (read once)."""
        if self._settings is None:
            settings = load_settings(
                self.home,
                listen=getattr(self.args, "listen", None),
                trusted_proxies=getattr(self.args, "trusted_proxy", None) or (),
            )
            for fixed in secure_home(settings):
                print(f"certmgr: warning: {fixed}", file=self.err)
            self._settings = settings
        return self._settings

    @property
    def vault(self) -> MasterKey:
        """The master key (read once)."""
        if self._vault is None:
            # lazy: the vault loads cryptography; listing commands never open a secret
            from certmgr.controller.vault import read_master_key

            self._vault = read_master_key(self.settings.master_key_path)
        return self._vault

    async def db(self) -> Database:
        """The database, checked to be at the newest schema."""
        if self._db is None:
            db = Database(self.settings.database_url)
            try:
                await db.check_ready()
            except BaseException:
                await db.dispose()
                raise
            self._db = db
            subscribe_all()  # a renewal or a received certificate goes on to agents
        return self._db

    @property
    def actor(self) -> Actor:
        """The operator at the terminal."""
        return cli_actor()

    @property
    def ca_context(self) -> CaContext:
        """Where the CA writes its files."""
        # lazy: the CA context loads cryptography; listing commands never need it
        from certmgr.controller.services.acquisition.ca_context import CaContext

        return CaContext(self.settings.ca_dir, self.settings.effective_crl_url)

    async def run(self, handler: Handler) -> int:
        """Run a handler and release resources (files it creates are private to the owner)."""
        umask = os.umask(0o077)
        try:
            return await handler(self)
        finally:
            if self._db is not None:
                await self._db.dispose()
            os.umask(umask)

    def print(self, text: str = "") -> None:
        """Write a line to standard output."""
        print(text, file=self.out)

    def print_json(self, data: Any) -> None:
        """Write JSON to standard output."""
        print(json.dumps(data, indent=2, default=str), file=self.out)

    def progress(self, total: int, label: str) -> Callable[[int], None] | None:
        """A progress-bar callback when stderr is a terminal and the work is long."""
        if total < 50 or not self.err.isatty():
            return None
        err = self.err

        def update(done: int) -> None:
            if done % max(1, total // 200) and done != total:
                return
            width = 30
            filled = int(width * done / total)
            err.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            if done == total:
                err.write("\n")
            err.flush()

        return update


def read_input_file(path: str, *, what: str = "file") -> bytes:
    """Read a user-named file with a size cap; ``-`` is standard input.

    Raises:
        InputError: Missing, unreadable, a folder, or larger than 16 MiB.
    """
    if path == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_FILE + 1)
    else:
        p = Path(path)
        try:
            if p.is_dir():
                raise InputError(f"{path} is a folder, not a {what}")
            with p.open("rb") as fh:
                data = fh.read(MAX_INPUT_FILE + 1)
        except FileNotFoundError:
            raise InputError(f"{path}: no such {what}") from None
        except PermissionError:
            raise InputError(f"{path}: permission denied") from None
        except OSError as err:
            raise InputError(f"{path}: cannot read ({err.strerror})") from err
    if len(data) > MAX_INPUT_FILE:
        raise InputTooLargeError(f"{path} is larger than {MAX_INPUT_FILE // (1024 * 1024)} MiB")
    return data


def read_secret_file(path: str | None, *, what: str = "password") -> bytes | None:
    """Read a passphrase file (first line, without the line end); None when no path.

    Raises:
        InputError: Unreadable file.
    """
    if path is None:
        return None
    return passphrase_line(read_input_file(path, what=f"{what} file"))


def write_private_file(path: Path, text: str) -> None:
    """Create ``path`` readable by the owner only (0600) and write ``text``; never overwrite.

    Raises:
        InputError: The file exists, or the folder is missing or not writable.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{path} exists; name a new file") from None
    except OSError as err:
        raise InputError(f"{path}: cannot create ({err.strerror})") from err
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A plain text table."""
    # Cells may hold names from certificates: control characters are shown escaped, never raw.
    cells = [[str(h) for h in headers]] + [
        ["" if c is None else escape_text(str(c)) for c in r] for r in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
