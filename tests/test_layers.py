"""Layers point one way: webui → processes → engine."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"engine": {"processes", "webui"}, "processes": {"webui"}}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_higher_ones(layer):
    offenders = {str(p.relative_to(ROOT)): sorted(imported_packages(p) & FORBIDDEN[layer])
                 for p in (ROOT / layer).rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def engine_modules_imported(path: Path) -> set[str]:
    """The `engine.<module>` names a file imports (a bare `import engine` / `from engine import …` is the interface)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("engine.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("engine."):
            found.add(node.module)
    return found


def test_stages_see_only_the_engine_interface():
    """Stages import `engine` itself (its __init__ is the interface); a stage's rows.py may also use prepared
    statements, to write the tables that stage owns."""
    offenders = {}
    for path in (ROOT / "processes").rglob("*.py"):
        allowed = {"engine.prepared"} if path.name == "rows.py" else set()
        extra = engine_modules_imported(path) - allowed
        if extra:
            offenders[str(path.relative_to(ROOT))] = sorted(extra)
    assert offenders == {}


def test_the_engine_interface_names_what_stages_use():
    import engine

    for name in ("Runtime", "StepResult", "ServiceCall", "Item", "EngineError", "NotFound", "Conflict", "Invalid",
                 "Base", "UTCDateTime", "transaction"):
        assert name in engine.__all__ and hasattr(engine, name), name
