"""Guard tests on the import graph: surfaces without SQL, no cycles, lazy imports say why."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("controller", "agent", "oneclick", "shared")


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for part in PARTS:
        for path in (ROOT / part).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out["certmgr." + ".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(tree: ast.Module, package: str) -> set[str]:
    """Modules imported when the module loads (not under TYPE_CHECKING, not inside functions)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    base = f"{base}.{node.module}" if node.module else base
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, field, []):
                        visit([child] if isinstance(child, ast.stmt) else child.body)

    visit(tree.body)
    return found


def test_surfaces_build_no_sql() -> None:
    banned = re.compile(r"^\s*(from|import) (sqlalchemy|certmgr\.controller\.db\.models)\b", re.M)
    sessions = re.compile(r"\bdb\.(transaction|reader)\(|\b(s|session)\.(execute|scalars?|get)\(")
    bad = []
    for folder in ("controller/web", "controller/cli"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            if banned.search(text) or sessions.search(text):
                bad.append(str(path.relative_to(ROOT)))
    assert bad == [], "handlers call services; SQL lives in services and db/queries"


def test_no_import_cycles() -> None:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        imported = _top_level_imports(ast.parse(path.read_text()), package)
        graph[name] = {m for m in imported if m in mods and m != name}
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            # a package importing its own submodules (re-exports) is not a cycle of design
            if len(comp) > 1 and not all(c.startswith(min(comp, key=len)) for c in comp):
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    assert cycles == []


def _says_lazy(lines: list[str], at: int) -> bool:
    """A ``# lazy:`` comment on the import or in the run of imports and comments above it."""
    i = at
    while i >= 0:
        text = lines[i].strip()
        if "lazy:" in text:
            return True
        if i != at and text and not text.startswith(("#", "from ", "import ")):
            return False
        i -= 1
    return False


def test_in_function_imports_say_why() -> None:
    bad = []
    for name, path in _modules().items():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom):
                    mod = sub.module or ""
                elif isinstance(sub, ast.Import):
                    mod = sub.names[0].name
                else:
                    continue
                if not mod.startswith("certmgr"):
                    continue
                if not _says_lazy(lines, sub.lineno - 1):
                    bad.append(f"{name}:{sub.lineno} {mod}")
    assert bad == [], "import at module level, or say '# lazy: <reason>' right above"
