"""Recorder files cataloged in-process, for the holds, purge and lines tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from typer.testing import CliRunner

from pipeline import holds, lines, purge
from pipeline.analysis import Job, run_job
from pipeline.catalog import Catalog
from pipeline.config import Config
from pipeline.recordings import store_results
from pipeline.retention_cli import register

SEOUL = ZoneInfo("Asia/Seoul")


def create_retention_schema(con) -> None:
    """Create the holds, purge and lines tables on a catalog connection."""
    holds.create_schema(con)
    purge.create_schema(con)
    lines.create_schema(con)


def catalog_files(
    catalog: Catalog, config: Config, paths: Iterable[Path]
) -> dict[Path, int]:
    """Analyse files in this process, store them, and return path -> recording id."""
    root = config.recorders[0].root
    results = [
        run_job(
            Job(
                path=str(path),
                root=str(root),
                profile_name=config.recorders[0].profile,
                timezone=config["timezone"],
            )
        )
        for path in paths
    ]
    catalog.write(lambda con: store_results(con, results))
    ids = {}
    for path in paths:
        found = catalog.query("SELECT id FROM recordings WHERE path = ?", [str(path)])
        ids[path] = found[0][0]
    return ids


def local(*args: int) -> datetime:
    """Return an aware Asia/Seoul datetime."""
    return datetime(*args, tzinfo=SEOUL)


def retention_app() -> typer.Typer:
    """Return a command-line app with only the retention commands registered."""
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Retention commands under test."""

    register(app)
    return app


def write_config_file(tmp_path: Path, config: Config) -> Path:
    """Write a TOML file that loads to ``config``'s data folder and spool."""
    path = tmp_path / "recwatch.toml"
    path.write_text(
        f'data_dir = "{config.data_dir}"\n'
        f'[[recorders]]\nroot = "{config.recorders[0].root}"\n',
        encoding="utf-8",
    )
    return path


def run_cli(tmp_path: Path, config: Config, *args: str):
    """Run a retention command with CliRunner against ``config``'s catalog."""
    config_file = write_config_file(tmp_path, config)
    return CliRunner().invoke(
        retention_app(),
        [*args, "--config", str(config_file)],
        env={"RECWATCH_CONFIG": ""},
    )


def one_line(text: str) -> str:
    """Join text that the console wrapped at its width back into one line."""
    return " ".join(text.split())
