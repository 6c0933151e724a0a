"""Guard: every public name of every certmgr.shared.pki module is re-exported by the package."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import certmgr.shared.pki as pki


def test_all_public_members_are_exported() -> None:
    missing = []
    for info in pkgutil.iter_modules(pki.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"certmgr.shared.pki.{info.name}")
        for member_name, member in vars(module).items():
            if member_name.startswith("_") or not (
                inspect.isfunction(member) or inspect.isclass(member)
            ):
                continue
            if member.__module__ == module.__name__ and member_name not in pki.__all__:
                missing.append(f"{info.name}.{member_name}")
    assert missing == []


def test_all_names_resolve() -> None:
    assert sorted(pki.__all__) == sorted(set(pki.__all__))
    for member_name in pki.__all__:
        assert hasattr(pki, member_name), member_name
