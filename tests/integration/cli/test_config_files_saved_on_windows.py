"""Configuration files saved by Notepad (UTF-8 with a byte-order mark) are read like any other.

The mark is not TOML: without care every reader refused such a file with "Invalid statement
(at line 1, column 1)", which says nothing of the invisible character that caused it.
"""

from __future__ import annotations

from pathlib import Path

from certmgr.agent.settings import load_settings as load_agent_settings
from certmgr.controller.settings import load_settings as load_controller_settings
from certmgr.oneclick.localconf import load_local_config
from tests.factories.homes import make_home, run_cli

BOM = b"\xef\xbb\xbf"


def _with_bom(path: Path) -> None:
    path.write_bytes(BOM + path.read_bytes().replace(b"\n", b"\r\n"))


def test_the_one_click_installers_configuration(tmp_path: Path) -> None:
    config = tmp_path / "oneclick.toml"
    config.write_bytes(BOM + b'[nginx]\r\nallowed_paths = ["/etc/nginx/ssl"]\r\n')
    assert load_local_config(config).params_for("nginx") == {"allowed_paths": ["/etc/nginx/ssl"]}


def test_the_agents_configuration(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_bytes(BOM + b'controller_url = "https://certmgr.example.net:23466"\r\n')
    settings = load_agent_settings(config, env={})
    assert settings.controller_url == "https://certmgr.example.net:23466"


def test_the_controllers_configuration_and_its_check(tmp_path: Path) -> None:
    home = make_home(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    expected = load_controller_settings(home).listen_port
    _with_bom(home / "config.toml")
    assert load_controller_settings(home).listen_port == expected
    res = run_cli(["config", "check", "--home", str(home)])
    assert res.code == 0, res.err + res.out
