"""The suite itself: no test passes by returning early or by being skipped."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def _own_nodes(fn: ast.FunctionDef):
    """The nodes of ``fn`` outside the functions and lambdas it defines."""
    stack = list(fn.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))


def test_no_test_returns_early_or_skips():
    found = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef) or not fn.name.startswith("test_"):
                continue
            for node in _own_nodes(fn):
                if isinstance(node, ast.Return):
                    found.append(f"{path.name}::{fn.name} returns at line {node.lineno}")
                name = getattr(getattr(node, "func", None), "attr", None)
                if isinstance(node, ast.Call) and name in ("skip", "xfail", "importorskip"):
                    found.append(f"{path.name}::{fn.name} skips at line {node.lineno}")
        text = path.read_text(encoding="utf-8")
        for marker in ("mark.skip", "mark.xfail", "skipif"):
            if marker in text and path.name != Path(__file__).name:
                found.append(f"{path.name} uses {marker}")
    assert not found, "\n".join(found)
