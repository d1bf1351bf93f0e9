"""The ``recwatch log`` commands: check the access log's hash chain."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import typer

from pipeline import accesslog
from pipeline.cliutil import (
    ConfigOption,
    load_cli_config,
    missing_catalog_message,
    unreadable_catalog_message,
)
from pipeline.errors import CatalogLockedError, RecwatchError

logger = logging.getLogger(__name__)


# Exit codes: 0 the log is intact, 1 it is not, 2 it could not be checked.
EXIT_INTACT = 0
EXIT_BROKEN = 1
EXIT_NOT_CHECKED = 2

log_app = typer.Typer(
    help="Check the access log (접속기록) for edits, removed rows and a cut-off tail.",
    no_args_is_help=True,
)


@log_app.callback()
def _group() -> None:
    """Check the access log (접속기록) for edits, removed rows and a cut-off tail."""


@log_app.command()
def verify(
    db: Path | None = typer.Option(
        None,
        "--db",
        help="Catalog or snapshot DuckDB file to check (default: the configured "
        "catalog).",
    ),
    head_file: Path | None = typer.Option(
        None,
        "--head-file",
        help=(
            "File of chain heads written by the service (default for the configured "
            "catalog: security.access_log_head_file). Without it a cut-off tail or "
            "a rewritten chain cannot be detected."
        ),
    ),
    config_path: ConfigOption = None,
) -> None:
    """Verify the access log's hash chain and print where it first breaks.

    The last line is machine-readable, for example
    "log: entries=120 intact=yes first_bad=-". Exit code 0 means intact, 1 means
    broken, and 2 means the check could not run: the catalog is missing, not a
    recwatch catalog, or in use by the dashboard server.

    Example:

        recwatch log verify --db SNAPSHOT.duckdb --head-file HEADS.txt
    """
    if db is None:
        # The live catalog is checked against the service's head file. A
        # snapshot is not: the file records heads written after it was taken.
        config = load_cli_config(config_path)
        db = config.catalog_path
        configured_heads = Path(config["security.access_log_head_file"])
        if head_file is None and configured_heads.is_file():
            head_file = configured_heads
    try:
        con = _open_read_only(db)
    except RecwatchError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_NOT_CHECKED) from error

    try:
        result = accesslog.verify(con, head_file=head_file)
    except RecwatchError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_NOT_CHECKED) from error
    except duckdb.CatalogException as error:
        typer.echo(
            f"error: {db} has no access_log table ({error}). Pass a recwatch catalog "
            f"or snapshot file.",
            err=True,
        )
        raise typer.Exit(EXIT_NOT_CHECKED) from error
    finally:
        con.close()

    typer.echo(f"catalog: {db}")
    typer.echo(f"head file: {head_file if head_file is not None else 'none'}")
    if head_file is None:
        typer.echo("note: without --head-file a cut-off tail cannot be detected")
    if result.intact:
        typer.echo(f"checked {result.entries} entries: the hash chain is intact")
    else:
        typer.echo(f"problem: {result.problem}")
    first_bad = "-" if result.first_bad is None else str(result.first_bad)
    intact = "yes" if result.intact else "no"
    typer.echo(f"log: entries={result.entries} intact={intact} first_bad={first_bad}")
    raise typer.Exit(EXIT_INTACT if result.intact else EXIT_BROKEN)


def _open_read_only(db: Path) -> duckdb.DuckDBPyConnection:
    """Open ``db`` read-only, or raise CatalogLockedError if another process owns it."""
    if db.is_dir():
        raise RecwatchError(missing_catalog_message(db))
    if not db.is_file():
        raise RecwatchError(
            f"catalog file {db} was not found. "
            f"Pass the catalog or a snapshot with --db."
        )
    try:
        return duckdb.connect(
            str(db),
            read_only=True,
            config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            },
        )
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise RecwatchError(unreadable_catalog_message(db, error)) from error
        raise CatalogLockedError(
            f"catalog file {db} is locked by another process, usually the dashboard "
            f"server, which owns the catalog while it runs. Verify a snapshot from "
            f"data/snapshots/ with --db, or stop the server and retry."
        ) from error
