"""The ``recwatch`` command line: a thin layer over the pipeline modules.

Exit status: 0 on success, 1 when the command failed, 2 for invalid usage or
configuration, 130 after Ctrl-C.
"""

from __future__ import annotations

import csv
import getpass
import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from pipeline import accesslog, audio, queries
from pipeline.analysis import audio_options
from pipeline.catalog import Catalog
from pipeline.cliutil import (
    ConfigOption,
    DbOption,
    console,
    existing_catalog_path,
    fail,
    load_cli_config,
    open_catalog,
    open_read_only,
    print_error,
)
from pipeline.errors import CatalogLockedError, RecwatchError
from pipeline.ingest import Ingestor
from pipeline.logcli import log_app
from pipeline.report_cli import report_command, snapshot_command
from pipeline.requests_cli import ledger_app, requests_app
from pipeline.retention_cli import register as register_retention
from pipeline.service import PRIVATE_UMASK
from pipeline.snapshots import manifest_path
from pipeline.users_cli import users_app

logger = logging.getLogger(__name__)

app = typer.Typer(
    help="Catalog and retention tools for administrative-telephone recordings.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(log_app, name="log")
register_retention(app)
app.add_typer(requests_app, name="requests")
app.add_typer(ledger_app, name="ledger")
app.command("snapshot")(snapshot_command)
app.command("report")(report_command)
app.add_typer(users_app, name="users")


FormatOption = Annotated[
    str, typer.Option("--format", "-f", help="Output format: json, csv or table.")
]


@app.callback()
def _main(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output.")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")
    ] = False,
) -> None:
    level = logging.INFO
    if quiet:
        level = logging.WARNING
    elif verbose:
        level = logging.DEBUG
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Folders or files to catalog (default: recorder roots)."),
    ] = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Catalog what is there now and exit, instead of watching."
        ),
    ] = False,
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Catalog recorder output into the catalog.

    With --once, everything under PATHS is cataloged and the command exits 0 when
    the run completes, even if some files failed: their errors are in the
    catalog. Its last line counts the files found (analysed + unchanged +
    skipped), the errors of this run and the rows still in error under PATHS.
    Without --once it watches the recorder roots until Ctrl-C.

    Example:

        recwatch ingest --once /var/spool/asterisk/monitor --db catalog.duckdb
    """
    config = load_cli_config(config_path)
    targets = list(paths or [recorder.root for recorder in config.recorders])
    for target in targets:
        if not target.exists():
            raise fail(f"path not found: {target}; give an existing folder or file", 2)
    hint = "Or leave ingest to the dashboard, which runs it itself while it is up"
    with open_catalog(config, db, create=True, hint=hint) as catalog:
        ingestor = Ingestor(catalog, config)
        if once:
            _ingest_once(ingestor, targets)
            return
        ingestor.start()
        console.print("watching the recorder roots; press Ctrl-C to stop")
        try:
            while True:
                catalog.wait_for_change(catalog.version, timeout=3600)
        except KeyboardInterrupt:
            ingestor.stop()
            raise typer.Exit(130) from None


def _ingest_once(ingestor: Ingestor, targets: list[Path]) -> None:
    columns = (
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("cataloging", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            ingestor.ingest_once(targets, progress=update)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        finally:
            ingestor.stop()
    console.print(ingestor.last_summary.totals_line())


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return value


@app.command("recordings")
def list_recordings_command(
    output_format: FormatOption = "table",
    limit: Annotated[
        int | None, typer.Option(help="Show at most this many rows.")
    ] = None,
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Print one row per cataloged recording, newest first.

    Times are in the configured time zone (Asia/Seoul by default).

    Example:

        recwatch recordings --format json --db catalog.duckdb
    """
    config = load_cli_config(config_path)
    if output_format not in ("json", "csv", "table"):
        raise fail(f"unknown format {output_format!r}: expected json, csv or table", 2)
    path = existing_catalog_path(config, db)
    con = open_read_only(config, db, tables=("recordings",))
    try:
        con.execute(f"SET TimeZone = '{config['timezone']}'")
        frame = queries.list_recordings(con, config, limit=limit)
    finally:
        con.close()
    records = [
        {column: _jsonable(value) for column, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]
    _log_personal_view(path, len(records))
    _print_records(records, output_format)


def _log_personal_view(path: Path, rows: int) -> None:
    """Write a view_personal entry for a listing of the live catalog.

    The listing shows phone numbers, so it is logged like a page that does. A
    published snapshot is evidence and is never written to, so reading one is
    not logged here.
    """
    if manifest_path(path).exists():
        return
    with Catalog(path) as catalog:
        catalog.write(
            lambda con: accesslog.append(
                con,
                actor=f"cli:{getpass.getuser()}",
                action="view_personal",
                object_type="recordings",
                detail={"command": "recordings", "rows": rows},
            )
        )


def _print_records(records: list[dict[str, Any]], output_format: str) -> None:
    if output_format == "json":
        json.dump(records, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif output_format == "csv":
        fields = list(records[0]) if records else list(queries.RECORDING_COLUMNS)
        writer = csv.DictWriter(sys.stdout, fieldnames=fields)
        writer.writeheader()
        for record in records:
            record = dict(record)
            record["flags"] = ";".join(record.get("flags") or [])
            writer.writerow(record)
    else:
        table = Table(
            "id", "start", "line", "dur s", "codec", "silence", "state", "flags", "file"
        )
        for record in records:
            table.add_row(
                str(record["id"]),
                (record["start_time"] or "")[:19],
                record["line"] or "",
                f"{record['duration_s']:.1f}" if record["duration_s"] else "",
                record["codec"] or "",
                f"{record['silence_ratio']:.2f}"
                if record["silence_ratio"] is not None
                else "",
                record["retention_state"],
                ",".join(record["flags"] or []),
                record["file_name"],
            )
        Console().print(table)


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="Audio file to analyse.")],
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: json or table.")
    ] = "json",
    config_path: ConfigOption = None,
) -> None:
    """Print the audio statistics of one file without touching the catalog.

    Example:

        recwatch analyze call.wav --format json
    """
    config = load_cli_config(config_path)
    if not file.exists():
        raise fail(f"file not found: {file}", 2)
    if not file.is_file():
        raise fail(
            f"not a regular file: {file}. Pass one audio file; folders, FIFOs and "
            "devices are not analysed",
            2,
        )
    try:
        stats = audio.analyze_file(file, **audio_options(config))
    except RecwatchError as error:
        raise fail(str(error)) from None
    if output_format == "json":
        json.dump(stats, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        table = Table("statistic", "value")
        for key, value in stats.items():
            table.add_row(key, str(value))
        Console().print(table)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo spool.")],
    days: Annotated[
        int, typer.Option(help="Days of calls, ending now.", min=1, max=365)
    ] = 40,
    calls_per_day: Annotated[
        int, typer.Option(help="Calls per day.", min=1, max=500)
    ] = 8,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same spool.")] = 0,
) -> None:
    """Write a demo recorder spool of made-up calls built from recorded speech.

    Example:

        recwatch demo --out /tmp/spool --days 40
    """
    from pipeline import demo as demo_module

    if out.exists() and not out.is_dir():
        raise fail(
            f"--out {out} is a file, not a folder; pass a folder for the spool", 2
        )
    try:
        written = demo_module.write_demo_spool(
            out, days=days, calls_per_day=calls_per_day, seed=seed
        )
    except OSError as error:
        raise fail(
            f"the demo spool could not be written under {out}: {error.strerror}: "
            f"{error.filename}. Pass a folder that can be created and written with "
            "--out"
        ) from None
    console.print(f"demo: wrote {len(written)} file(s) under {out}", markup=False)


def main() -> None:
    """Run the command line, mapping uncaught pipeline errors to exit status 1."""
    os.umask(PRIVATE_UMASK)
    try:
        app()
    except CatalogLockedError as error:
        print_error(error)
        sys.exit(1)
    except RecwatchError as error:
        print_error(error)
        sys.exit(1)


if __name__ == "__main__":
    main()
