"""The reports server runs without Streamlit's "magic" (server.STREAMLIT_FLAGS): no page may
rely on it, i.e. write a bare expression and expect it drawn."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from services.reports.server import STREAMLIT_FLAGS

REPORTS = Path(__file__).parents[2] / "services" / "reports"
SCRIPTS = [REPORTS / "app.py", *sorted((REPORTS / "views").glob("*.py"))]


def bare_expressions(source: str) -> list[int]:
    """Lines of expression statements magic would draw: not calls, awaits or yields, and not
    the docstring of a module, class or function."""
    found = []
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(node, field, None)
            if not isinstance(statements, list):
                continue
            for i, statement in enumerate(statements):
                if not isinstance(statement, ast.Expr) or isinstance(
                    statement.value, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)
                ):
                    continue
                docstring = (
                    i == 0
                    and statements is body
                    and isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                    and isinstance(statement.value, ast.Constant)
                    and isinstance(statement.value.value, str)
                )
                if not docstring:
                    found.append(statement.lineno)
    return found


def test_magic_is_off() -> None:
    flags = list(STREAMLIT_FLAGS)
    assert flags[flags.index("--runner.magicEnabled") + 1] == "false"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_no_page_writes_a_bare_expression(script: Path) -> None:
    assert bare_expressions(script.read_text()) == []


def test_a_bare_expression_is_found() -> None:
    source = '"""Doc."""\nimport x\nx.value\nif x:\n    "shown"\nx.call()\n'
    assert bare_expressions(source) == [3, 5]
