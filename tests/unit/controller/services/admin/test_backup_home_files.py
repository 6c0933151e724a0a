"""What a backup takes from the home: no database file, no backups, no temporaries, the master key only when asked."""

from __future__ import annotations

from pathlib import Path

from certmgr.controller.services.admin.backup import home_files
from certmgr.controller.settings import Settings


def test_home_files_leave_out_database_backups_and_master_key(tmp_path: Path) -> None:
    for rel in (
        "config.toml", "master.key", "ip_acl.txt", "certmgr.db", "certmgr.db-wal", "certmgr.db-shm",
        "ca/ca.pem", "tls/console.key", "documents/3/abc", "backups/certmgr-backup-1.cmbk",
        "offsite/certmgr-backup-2.cmbk", "config.toml.tmp", ".home.restore-x/config.toml",
    ):  # fmt: skip
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    (tmp_path / "tls" / "link.pem").symlink_to(tmp_path / "ca" / "ca.pem")
    settings = Settings(
        home=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'certmgr.db'}"
    )
    without = sorted(home_files(settings, include_master_key=False))
    assert without == [
        "ca/ca.pem",
        "config.toml",
        "documents/3/abc",
        "ip_acl.txt",
        "tls/console.key",
    ]
    assert sorted(home_files(settings, include_master_key=True)) == sorted([*without, "master.key"])
