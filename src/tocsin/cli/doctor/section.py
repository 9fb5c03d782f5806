"""What each of ``tocsin doctor``'s checks answers: one section of the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from rich.console import RenderableType
from rich.text import Text

from tocsin.cli.client import ApiClient, Refused

STYLES: Final = {"error": "bold red", "warning": "yellow"}


@dataclass(frozen=True, slots=True)
class Section:
    """One check's answer: ``body`` is what ``--json`` prints under ``key``, ``view`` what people
    read under ``title``; ``errors`` counts what makes the exit code nonzero; ``refused`` says the
    server would not answer this check (a key without the scope), so it could not be made."""

    key: str
    title: str
    body: Any
    view: RenderableType
    errors: int
    refused: bool = False


Check = Callable[[ApiClient], Section]


def refused(key: str, title: str, exc: Refused) -> Section:
    """A check the server refused, shown as that section's error instead of hiding the others."""
    line = Text(f"Could not check: {exc.line}", style=STYLES["error"])
    return Section(key, title, {"error": {"code": exc.code, "message": exc.message}}, line, 1, refused=True)
