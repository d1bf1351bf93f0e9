"""Helpers shared by the ``recwatch`` command modules: errors, config, catalog."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from pipeline.catalog import Catalog
from pipeline.config import Config, load_config
from pipeline.errors import CatalogLockedError, ConfigError
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


def load_cli_config(config_path: Path | None) -> Config:
    """Load the configuration, exiting with status 2 when it is invalid."""
    try:
        return load_config(config_path)
    except ConfigError as error:
        raise fail(str(error), 2) from None


def catalog_path(config: Config, db: Path | None) -> Path:
    """Return ``--db`` when given, else the configured catalog file."""
    return db.resolve() if db else config.catalog_path


def locked_message(
    error: CatalogLockedError, config: Config, *, reading: bool = False
) -> str:
    """Return the message a command prints when another process has the catalog.

    The message names the dashboard server when one runs. A command that only
    reads (``reading``) is pointed at the newest snapshot, which it can read
    while the server keeps the catalog; one that writes is told to stop the
    server first.
    """
    if not error.path:
        return str(error)
    server = describe_server(config)
    parts = [f"catalog {error.path} is in use by {error.holder}"]
    parts.append(server or "Usually that is the dashboard server (panel serve)")
    if not reading:
        parts.append("Stop it and run the command again")
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


def open_catalog(config: Config, db: Path | None) -> Catalog:
    """Open the catalog for writing, exiting with status 1 when another owns it."""
    try:
        return Catalog(catalog_path(config, db))
    except CatalogLockedError as error:
        raise fail(locked_message(error, config)) from None
