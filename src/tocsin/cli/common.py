"""What every command shares: settings, one transaction per command, and errors as one red line.

The database pieces are imported inside ``transaction`` and ``settings`` only, so that the API
client commands, which share ``fail`` and ``stdout``, never load the server's database code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tocsin.config import Settings


def settings() -> Settings:
    """The server commands' settings; the default database's folder exists once they return."""
    from tocsin.config import get_settings

    config = get_settings()
    config.create_data_directory()
    return config


def database_location(url: str) -> str:
    """Which database a URL opens, for messages: a SQLite file's absolute path, else the URL
    without its password. Two folders mean two files, and the message must say which."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        name = parsed.database or ""
        if name in ("", ":memory:") or name.startswith("file:"):
            return name or ":memory:"
        return str(Path(name).resolve())
    return parsed.render_as_string(hide_password=True)


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
        where = database_location(config.database_url)
        fail(f"DATABASE_ERROR: {first_line} (database {where}: has `tocsin migrate` been run on it?)")
    finally:
        db.dispose()
