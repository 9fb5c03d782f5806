"""What every command shares: settings, one transaction per command, and errors as one red line.

The database pieces are imported inside ``transaction`` and ``settings`` only, so that the API
client commands, which share ``fail`` and ``stdout``, never load the server's database code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tocsin.config import Settings


def settings() -> Settings:
    from tocsin.config import get_settings

    return get_settings()


def now() -> datetime:
    return datetime.now(UTC)


def stdout() -> Console:
    # Built per call so the console writes to whatever sys.stdout is now (tests swap it).
    return Console(soft_wrap=True, highlight=False)


def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """One red line on stderr, then exit: scripts read the code, people read the line."""
    stderr().print(Text(message, style="red"))
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    """Plain JSON on stdout, unwrapped and uncoloured, for ``jq`` and scripts."""
    typer.echo(json.dumps(value, indent=2, default=str))


@contextmanager
def transaction(config: Settings | None = None) -> Iterator[Session]:
    """The command's one transaction: committed when the block ends, rolled back on any error."""
    from sqlalchemy.exc import SQLAlchemyError

    from tocsin.db.session import Database
    from tocsin.services.errors import ServiceError

    config = config or settings()
    db = Database(config.database_url, sqlite_synchronous=config.sqlite_synchronous)
    try:
        with db.write() as session:
            yield session
    except ServiceError as exc:
        fail(f"{exc.code}: {exc.message}")
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        first_line = str(orig if orig is not None else exc).splitlines()[0]
        fail(f"DATABASE_ERROR: {first_line} (has `tocsin migrate` been run?)")
    finally:
        db.dispose()
