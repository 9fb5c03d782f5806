"""The ``tocsin`` command. Admin subcommands (migrate, serve, org, keys --org, users add/password,
demo) open one transaction and call services; none builds SQL. Client subcommands (login, incidents,
events, oncall, schedules, services, users, teams, keys, doctor) talk HTTP to a server and never
touch its database."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from tocsin.cli import account, directory, doctor, events, incidents, keys, orgs, schedules, user_admin
from tocsin.cli import demo as demo_command
from tocsin.cli.common import database_location, fail, settings, stdout

app = typer.Typer(
    name="tocsin",
    help="Tocsin: self-hosted on-call and incident response.\n\n"
    "Server commands (migrate, serve, worker, org, demo, keys create --org, users add/password --org) "
    "read TOCSIN_* settings. "
    "Client commands talk to a server: `tocsin login` once, or TOCSIN_URL and TOCSIN_API_KEY.\n\n"
    "Exit codes: 0 ok, 1 the server refused (its error code and message are printed), 2 usage, "
    "3 the server cannot be reached, 4 `tocsin doctor` found an error.",
    epilog="Example: tocsin login && tocsin incidents list --status open",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(orgs.app, name="org")
app.add_typer(keys.app, name="keys")
app.add_typer(schedules.app, name="schedules")
app.command("oncall", epilog="Example: tocsin oncall 'Payment API primary' --at 2h")(schedules.oncall)
app.command("login", epilog="Example: tocsin login --profile prod --url https://tocsin.example.com")(
    account.login
)
app.command("whoami", epilog="Example: tocsin whoami --profile prod")(account.whoami)
app.add_typer(incidents.app, name="incidents")
app.add_typer(events.app, name="events")
app.add_typer(directory.services, name="services")
directory.users.command(
    "add", epilog="Example: tocsin users add --org acme --email dana@acme.test --name 'Dana Lee' --role admin"
)(user_admin.add)
directory.users.command(
    "password",
    epilog="Example: printf '%s\\n' \"$PASSWORD\" | tocsin users password --org acme dana@acme.test",
)(user_admin.password)
app.add_typer(directory.users, name="users")
app.add_typer(directory.teams, name="teams")
app.command("doctor", epilog="Example: tocsin doctor --json | jq .readiness.summary")(doctor.doctor)
app.command(
    "demo",
    help=demo_command.HELP,
    epilog="Example: tocsin demo --print-quickstart --key-file ./.tocsin-demo-key",
)(demo_command.demo)


@app.command(epilog="Example: TOCSIN_DATABASE_URL=sqlite:///./tocsin.db tocsin migrate")
def migrate() -> None:
    """Create or upgrade the database schema at TOCSIN_DATABASE_URL (safe to run on every start).
    Unset, that is the SQLite file $XDG_DATA_HOME/tocsin/tocsin.db (~/.local/share/tocsin/)."""
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from tocsin.db.migrate import upgrade

    url = settings().database_url
    try:
        upgrade(url)
    except (CommandError, SQLAlchemyError) as exc:
        fail(f"MIGRATION_FAILED: {str(exc).splitlines()[0]}")
    stdout().print(f"Database {database_location(url)} is at the latest schema.", markup=False)


@app.command(epilog="Example: tocsin serve --host 0.0.0.0 --port 8080")
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default: TOCSIN_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: TOCSIN_PORT).")] = None,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(help="PEM certificate (chain) to serve HTTPS with (default: TOCSIN_SSL_CERTFILE)."),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None,
        typer.Option(help="Its unencrypted PEM private key (default: TOCSIN_SSL_KEYFILE)."),
    ] = None,
) -> None:
    """Serve the HTTP API (uvloop + httptools) and run the escalation engine: in a child process
    tied to this one (TOCSIN_ENGINE_PROCESS, the default), in this process
    (TOCSIN_ENGINE_PROCESS=false), or not at all (TOCSIN_ENGINE_ENABLED=false; run `tocsin worker`
    elsewhere). On a SQLite file, events are committed by a second child, the ingest writer
    (TOCSIN_INGEST_WRITER=process, the default there). With a certificate and its key it serves
    HTTPS only. Run `tocsin migrate` first."""
    from tocsin.logs import configure_logging
    from tocsin.server.processes import serve as run
    from tocsin.server.tls import TlsConfigError, tls_files

    config = settings()
    try:
        tls = tls_files(ssl_certfile or config.ssl_certfile, ssl_keyfile or config.ssl_keyfile)
    except TlsConfigError as exc:
        fail(f"INVALID_TLS_CONFIG: {exc}", code=2)
    configure_logging(config.log_level, config.log_format)
    config = config.listening_on(
        host or config.host, port if port is not None else config.port, https=tls is not None
    )
    # The engine and ingest-writer children read the environment: their links name this address too.
    os.environ["TOCSIN_BASE_URL"] = config.base_url
    run(config, host=config.host, port=config.port, tls=tls)


@app.command(epilog="Example: TOCSIN_DATABASE_URL=postgresql+psycopg://... tocsin worker")
def worker(
    wake_fd: Annotated[
        int | None, typer.Option(hidden=True, help="Set by `tocsin serve` for its engine child.")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Serve the engine's Prometheus series on this port at /metrics, on TOCSIN_HOST "
            "(default: TOCSIN_WORKER_METRICS_PORT; unset, none)."
        ),
    ] = None,
) -> None:
    """Run only the engine (escalation steps, pages, webhook deliveries), without the HTTP API.
    Several workers and servers on one PostgreSQL share the jobs; a killed one's jobs are taken
    over when its lease (TOCSIN_ENGINE_LEASE_SECONDS) runs out. Stops cleanly on SIGINT/SIGTERM.
    Its own metrics (pages, job lag, webhook deliveries) are served with --metrics-port; the
    backlog gauges (jobs pending, heartbeats) are in any server's /metrics on the same database."""
    from tocsin.logs import configure_logging
    from tocsin.server.processes import worker as run

    config = settings()
    configure_logging(config.log_level, config.log_format)
    run(
        config,
        wake_fd=wake_fd,
        on_ready=lambda: stdout().print("Engine running; Ctrl-C to stop.", markup=False),
        metrics_port=metrics_port if metrics_port is not None else config.worker_metrics_port,
    )


@app.command(
    "ingest-writer",
    hidden=True,
    epilog="Example: tocsin ingest-writer --fd 5 (tocsin serve starts it; not run by hand)",
)
def ingest_writer(
    fd: Annotated[int, typer.Option(help="The socket `tocsin serve` hands its child.")],
) -> None:
    """The ingest writer child of `tocsin serve` (server.processes): commits the batches of
    events the server sends over socket FD, and exits when the server closes it."""
    from tocsin.logs import configure_logging
    from tocsin.server.processes import ingest_writer as run

    config = settings()
    configure_logging(config.log_level, config.log_format)
    run(config, fd=fd)


if __name__ == "__main__":
    app()
