"""House rules of ``src/tocsin`` that no linter states: they keep the layout ARCHITECTURE.md draws."""

from __future__ import annotations

import ast
from pathlib import Path

import tocsin

SRC = Path(tocsin.__file__).parent
SERVICES = SRC / "services"


def _public_functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text())
    return [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_")
    ]


def test_service_functions_take_the_session_keyword_only() -> None:
    """``services/__init__.py``: the caller owns the transaction and names it, so a call reads
    ``create(session=session, ...)`` and arguments cannot slide into the session's place."""
    positional = [
        f"{path.relative_to(SRC)}:{node.lineno} {node.name}"
        for path in sorted(SERVICES.rglob("*.py"))
        for node in _public_functions(path)
        if "session" in [arg.arg for arg in node.args.posonlyargs + node.args.args]
    ]
    assert positional == [], "session must be keyword-only (def f(*, session, ...)):\n" + "\n".join(
        positional
    )


def test_services_holds_only_shared_modules_beside_its_concept_packages() -> None:
    """A concept gets a package; the top of ``services`` keeps what every concept shares."""
    modules = sorted(path.stem for path in SERVICES.glob("*.py") if path.stem != "__init__")
    assert modules == ["checks", "errors", "jobs", "pagination", "paging", "query", "sql"]
    packages = sorted(path.name for path in SERVICES.iterdir() if (path / "__init__.py").exists())
    assert packages == [
        "access",
        "accounts",
        "catalog",
        "deliveries",
        "demo",
        "escalation",
        "incidents",
        "ingest",
        "people",
        "readiness",
        "responders",
        "schedules",
        "swaps",
        "webhooks",
        "writes",
    ]
