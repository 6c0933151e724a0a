"""Issue 17 item 6: `certmgr config check` lists every problem in config.toml with its line."""

from __future__ import annotations

from pathlib import Path

from tests.factories.homes import make_home, run_cli


def _check(path: Path, *extra: str) -> tuple[int, str, str]:
    res = run_cli(["config", "check", "--file", str(path), *extra])
    return res.code, res.out, res.err


def test_a_fresh_home_passes(tmp_path: Path) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    res = run_cli(["config", "check", "--home", str(home)])
    assert res.code == 0, res.out + res.err
    assert "no problems found" in res.out


def test_each_bad_value_is_named_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text(
        "\n".join(
            [
                'log_level = "LOUD"',  # 1
                "",
                "[server]",  # 3
                'listen = "127.0.0.1"',  # 4: no port
                "session_idle_minutes = -5",  # 5
                'trusted_proxies = ["10.0.0.0/8", "not-a-net"]',  # 6
                'external_url = "ftp://x"',  # 7
                "lissen = 1",  # 8: a typo
                "",
                "[scheduler]",  # 10
                'enabled = "yes"',  # 11
                "tick_seconds = 0",  # 12
                "",
                "[schedular]",  # 14: a misspelt table
                "enabled = true",
            ]
        )
        + "\n"
    )
    code, out, err = _check(bad)
    assert code != 0
    lines = out.splitlines()
    expected = [
        (1, "error", "log_level must be one of"),
        (4, "error", "[server] listen bad address '127.0.0.1'"),
        (5, "error", "[server] session_idle_minutes must be a positive whole number"),
        (6, "error", "'not-a-net' is not an address or CIDR"),
        (7, "error", "'ftp://x' is not an http:// or https:// URL"),
        (8, "warning", "[server] lissen is not a setting certmgr knows"),
        (11, "error", "[scheduler] enabled must be true or false"),
        (12, "error", "[scheduler] tick_seconds must be a number of seconds above 0"),
        (14, "warning", "[schedular] is not a table certmgr knows"),
    ]
    assert len(lines) == len(expected), out
    for line, (number, kind, text) in zip(lines, expected, strict=True):
        assert line.startswith(f"{bad}:{number}: {kind}: "), line
        assert text in line, line
    assert "7 error(s)" in err


def test_a_syntax_error_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[server]\nlisten = "127.0.0.1:1"\nexternal_url = "https://x\n')
    code, out, _ = _check(bad)
    assert code != 0
    assert out.startswith(f"{bad}:3: error: not valid TOML"), out


def test_warnings_alone_pass_and_json_lists_them(tmp_path: Path) -> None:
    ok = tmp_path / "config.toml"
    ok.write_text('[server]\nlisten = "127.0.0.1:23466"\ncolour = "blue"\n')
    res = run_cli(["config", "check", "--file", str(ok), "--json"])
    assert res.code == 0, res.err
    report = res.json()
    assert report["errors"] == 0
    assert report["problems"] == [
        {
            "line": 3,
            "message": "[server] colour is not a setting certmgr knows (listen, external_url, "
            "trusted_proxies, session_idle_minutes, session_max_hours, tls_reload_seconds)",
            "error": False,
        }
    ]


def test_missing_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    code, _, err = _check(tmp_path / "nope.toml")
    assert code != 0 and "does not exist" in err
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = _check(binary)
    assert code != 0 and "not UTF-8" in err


def test_backup_settings_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text(
        '[backup]\nenabled = "yes"\nkeep = 0\ninterval_hours = 24\nfolder = 3\nkept = 2\n'
    )
    code, out, _ = _check(bad)
    assert code == 6, out
    assert f"{bad}:2: error: [backup] enabled must be true or false" in out
    assert f"{bad}:3: error: [backup] keep must be a whole number from 1 to 10000" in out
    assert f"{bad}:5: error: [backup] folder must be text" in out
    assert f"{bad}:6: warning: [backup] kept is not a setting certmgr knows" in out
    assert ":4:" not in out
