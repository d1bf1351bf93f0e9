"""Helpers shared by the ``recwatch`` command modules: errors, config, catalog."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.text import Text

from pipeline import holds
from pipeline.catalog import Catalog, connect
from pipeline.config import Config, load_config
from pipeline.errors import CatalogLockedError, ConfigError, RecwatchError
from pipeline.service import describe_server
from pipeline.snapshots import (
    Manifest,
    SnapshotError,
    list_snapshots,
    manifest_path,
    snapshot_dir,
)

# Options shared by every command that reads the configuration or the catalog.
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML configuration file (default: $RECWATCH_CONFIG, else the "
        "embedded default under data/).",
        dir_okay=False,
    ),
]
DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Catalog file; overrides catalog_path of the config."),
]

# Messages go to stderr and are never wrapped, so that scripts can grep them.
console = Console(stderr=True, soft_wrap=True)


def print_error(message: object) -> None:
    """Print ``error: message`` to stderr, showing the message verbatim.

    Messages quote file names and values, so rich's markup and emoji codes
    (``[profiles.NAME]``, ``:x:``) must not be interpreted in them.
    """
    console.print(
        Text("error: ", style="red") + Text(str(message)), highlight=False, emoji=False
    )


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` and return the Exit to raise with ``code``."""
    print_error(message)
    return typer.Exit(code)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_hold_end(text: str, today: date) -> date:
    """Parse the last day of a hold, exiting with status 2 when it is invalid."""
    if not _ISO_DATE.fullmatch(text):
        raise fail(f"invalid --until {text!r}: expected YYYY-MM-DD", 2)
    try:
        ends_on = date.fromisoformat(text)
    except ValueError:
        raise fail(
            f"invalid --until {text!r}: that date does not exist in the calendar; "
            "check the day of the month",
            2,
        ) from None
    latest = holds.latest_end(today)
    if ends_on > latest:
        raise fail(
            f"invalid --until {text!r}: a hold may end at most {holds.MAX_HOLD_YEARS} "
            f"years ahead, on {latest.isoformat()} at the latest. Check the year, "
            "or place the hold again before it ends",
            2,
        )
    return ends_on


def load_cli_config(config_path: Path | None) -> Config:
    """Load the configuration, exiting with status 2 when it is invalid."""
    try:
        return load_config(config_path)
    except ConfigError as error:
        raise fail(str(error), 2) from None


def catalog_path(config: Config, db: Path | None) -> Path:
    """Return ``--db`` when given, else the configured catalog file."""
    return db.resolve() if db else config.catalog_path


def missing_catalog_message(path: Path) -> str:
    """Return the message for a catalog path that names no file."""
    if path.is_dir():
        return (
            f"catalog {path} is a directory, not a catalog file. Pass the catalog "
            f"file with --db, such as {path / 'catalog.duckdb'}"
        )
    return (
        f"catalog {path} was not found. Check --db and the config's "
        "catalog_path, or run `recwatch ingest --once` to create the catalog"
    )


def unreadable_catalog_message(path: Path, error: duckdb.Error) -> str:
    """Return the message for a file that DuckDB cannot open as a database."""
    if path.is_dir():
        return missing_catalog_message(path)
    reason = str(error).removeprefix("IO Error: ")
    return (
        f"catalog {path} could not be opened: {reason} Pass the recwatch catalog "
        "or a snapshot file with --db"
    )


def existing_catalog_path(config: Config, db: Path | None) -> Path:
    """Return the catalog path, exiting with status 1 unless that file exists.

    A mistyped ``--db`` would otherwise make DuckDB create a new, empty catalog.
    """
    path = catalog_path(config, db)
    if not path.is_file():
        raise fail(missing_catalog_message(path))
    return path


def locked_message(
    error: CatalogLockedError,
    config: Config,
    *,
    reading: bool = False,
    hint: str = "",
) -> str:
    """Return the message a command prints when another process has the catalog.

    The message names the dashboard server when one runs. A command that only
    reads (``reading``) is pointed at the newest snapshot, which it can read
    while the server keeps the catalog. A command that writes is told to stop
    the server first, followed by ``hint``: what it can do while the server runs.
    """
    if not error.path:
        return str(error)
    server = describe_server(config)
    parts = [f"catalog {error.path} is in use by {error.holder}"]
    parts.append(server or "Usually that is the dashboard server (panel serve)")
    if not reading:
        parts.append("Stop it and run the command again")
        if hint:
            parts.append(hint)
        return ". ".join(parts)
    snapshot = newest_snapshot(config)
    if snapshot is None:
        minutes = config["snapshots.interval_s"] / 60
        parts.append(
            "No snapshot is published yet; the server publishes one at start and "
            f"then every {minutes:.0f} minutes under {snapshot_dir(config)}"
        )
    else:
        path, taken_at = snapshot
        when = taken_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M %Z")
        parts.append(
            f"To read without stopping it, pass the newest snapshot, taken "
            f"{when}: --db {path}"
        )
    return ". ".join(parts)


def newest_snapshot(config: Config) -> tuple[Path, datetime] | None:
    """Return the newest published snapshot with a valid manifest and its time."""
    for path in reversed(list_snapshots(snapshot_dir(config))):
        try:
            text = manifest_path(path).read_text(encoding="utf-8")
            return path, Manifest.from_json(text, manifest_path(path)).taken_at
        except (OSError, SnapshotError):
            continue
    return None


def open_catalog(
    config: Config, db: Path | None, *, create: bool = False, hint: str = ""
) -> Catalog:
    """Open the catalog for writing, or exit with status 1 and a message.

    Only with ``create`` may the catalog file be new. ``hint``, added to the lock
    message, names what the user can do while the dashboard server owns the catalog.
    """
    path = catalog_path(config, db) if create else existing_catalog_path(config, db)
    try:
        return Catalog(path)
    except CatalogLockedError as error:
        raise fail(locked_message(error, config, hint=hint)) from None
    except duckdb.IOException as error:
        raise fail(unreadable_catalog_message(path, error)) from None
    except OSError as error:
        # A new catalog's folder is created first, which fails when a part of
        # its path is a file.
        raise fail(
            f"catalog {path} could not be created: {error.strerror}: "
            f"{error.filename}. Check --db, or catalog_path and data_dir of the config"
        ) from None


def open_read_only(
    config: Config, db: Path | None, *, tables: tuple[str, ...] = ()
) -> duckdb.DuckDBPyConnection:
    """Open an existing catalog or snapshot read-only, or exit with status 1.

    A read-only connection works on a published snapshot. While the dashboard
    server owns the live catalog, the message points at the newest snapshot.
    Each name in ``tables`` must exist, so that a DuckDB file of another program
    gets a message in place of a query error.
    """
    path = existing_catalog_path(config, db)
    try:
        con = connect(path, read_only=True)
    except CatalogLockedError as error:
        raise fail(locked_message(error, config, reading=True)) from None
    except duckdb.IOException as error:
        raise fail(unreadable_catalog_message(path, error)) from None
    try:
        require_tables(con, path, tables)
    except RecwatchError as error:
        con.close()
        raise fail(str(error)) from None
    return con


def require_tables(
    cursor: duckdb.DuckDBPyConnection, path: Path, tables: tuple[str, ...]
) -> None:
    """Raise RecwatchError unless every table in ``tables`` exists in the catalog."""
    for table in tables:
        rows = cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
            [table],
        ).fetchall()
        if not rows[0][0]:
            raise RecwatchError(
                f"{path} is not a recwatch catalog with this schema: it has no "
                f"{table} table. Pass the catalog or a snapshot file with --db, or "
                "open an older catalog once for writing (for example with "
                "`recwatch ingest --once`) so that its migrations add the table"
            )
