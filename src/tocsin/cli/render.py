"""How the client commands print: a Rich table for people, the server's JSON for scripts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from tocsin.cli.common import print_json, stdout

Limit = Annotated[int, typer.Option("--limit", min=1, help="How many rows at most (pages past 100).")]
All = Annotated[bool, typer.Option("--all", help="Every row: follow the pages, with a progress bar.")]
Row = Callable[[dict[str, Any]], Sequence[str]]


def table(columns: Sequence[str], rows: list[dict[str, Any]], row: Row, title: str | None = None) -> Table:
    grid = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        grid.add_column(column, overflow="fold")
    for item in rows:
        grid.add_row(*(Text(cell) for cell in row(item)))
    return grid


def listing(body: dict[str, Any], columns: Sequence[str], row: Row, noun: str) -> RenderableType:
    """A page as a table, with a line saying how many more the server has."""
    rows = body["data"]
    if not rows:
        return Text(f"No {noun}.")
    shown = table(columns, rows, row)
    total = body.get("pagination", {}).get("total", len(rows))
    if total > len(rows):
        more = Text(f"{len(rows)} of {total} {noun}; --limit N or --all for more.", style="dim")
        return Group(shown, more)
    return shown


def emit(body: Any, as_json: bool, view: Callable[[], RenderableType]) -> None:
    if as_json:
        print_json(body)
    else:
        stdout().print(view())


def details(pairs: Sequence[tuple[str, str | None]]) -> Table:
    """``Label  value`` lines for one thing; empty values are left out."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for label, value in pairs:
        if value not in (None, ""):
            grid.add_row(label, Text(str(value)))
    return grid
