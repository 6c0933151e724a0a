"""Guard: ``certmgr.shared.stamp`` and ``certmgr.shared.receipt`` export exactly their public names."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

import certmgr.shared.receipt as receipt
import certmgr.shared.stamp as stamp


@pytest.mark.parametrize("module", [stamp, receipt])
def test_public_names_are_exported(module: ModuleType) -> None:
    public = {
        name
        for name, member in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(member) or inspect.isclass(member))
        and member.__module__ == module.__name__
    }
    assert public <= set(module.__all__)
    assert sorted(module.__all__) == sorted(set(module.__all__))
    for name in module.__all__:
        assert hasattr(module, name), name
