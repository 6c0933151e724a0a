"""Console templates are compiled once per process, in a thread at start-up (issue 13: no first
request compiles a template on the event loop)."""

from __future__ import annotations

from certmgr.controller.app import _compile_templates, template_environment


def test_every_console_template_compiles_and_is_kept() -> None:
    env = template_environment()
    assert env is template_environment()  # one environment: compiled templates are shared
    count = _compile_templates(env)
    assert count == len(env.list_templates(extensions=("html",))) > 20
    assert env.cache is not None and len(env.cache) >= count
