"""The ``recwatch requests`` and ``recwatch ledger`` commands.

``requests list`` reads the catalog read-only and always masks personal fields.
``ledger export`` writes the Form 4 ledger and appends an "export" entry to the
access log, so it opens the catalog for writing and stops with a clear message
while the dashboard server owns the file.

Exit status: 0 on success, 1 when the command failed, 2 for invalid usage or
configuration.
"""

from __future__ import annotations

import csv
import getpass
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipeline import accesslog, auth, ledger, requests
from pipeline.cliutil import (
    ConfigOption,
    DbOption,
    open_catalog,
    open_read_only,
)
from pipeline.config import Config, load_config
from pipeline.errors import ConfigError, RecwatchError

logger = logging.getLogger(__name__)

EXIT_FAILED = 1
EXIT_USAGE = 2

LIST_FIELDS = (
    "number",
    "status",
    "status_ko",
    "access_kind",
    "requested_at",
    "requester_name",
    "recorded_at",
    "recorded_phone",
    "purpose",
    "approvals",
    "recordings",
    "provided_on",
    "due_on",
)

# Alternative to stopping the dashboard server, added to the lock message.
LEDGER_HINT = (
    "Or export the ledger as CSV or XLSX from the dashboard's 관리대장 (Ledger) page"
)

requests_app = typer.Typer(
    help="List requests to view or receive recordings (Form 1).",
    no_args_is_help=True,
)
ledger_app = typer.Typer(
    help="Export the ledger of views and provisions (Form 4).",
    no_args_is_help=True,
)


@requests_app.callback()
def _requests_group() -> None:
    """List requests to view or receive recordings (Form 1)."""


@ledger_app.callback()
def _ledger_group() -> None:
    """Export the ledger of views and provisions (Form 4)."""


@requests_app.command("list")
def list_command(
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: json, csv or table.")
    ] = "table",
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            help="Show only requests with this status; repeat for several. One "
            f"of {', '.join(requests.STATUSES)}.",
        ),
    ] = None,
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Print one row per request, newest first, with personal fields masked.

    Times are in the configured time zone (Asia/Seoul by default).

    Example:

        recwatch requests list --status provided --format json
    """
    config = _load(config_path)
    if output_format not in ("json", "csv", "table"):
        raise _fail(
            f"format {output_format!r} is invalid: expected json, csv or table",
            EXIT_USAGE,
        )
    con = open_read_only(config, db, tables=("requests",))
    try:
        records = requests.list_requests(con, status or ())
    except RecwatchError as error:
        raise _fail(str(error)) from None
    finally:
        con.close()
    rows = [_list_row(record, config) for record in records]
    _print_rows(rows, output_format)


@ledger_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="File to write.", dir_okay=False)],
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="File format: csv or xlsx.")
    ] = "xlsx",
    mask: Annotated[
        bool,
        typer.Option(
            "--mask/--no-mask",
            help="Mask names, birth dates and phone numbers (default). Use "
            "--no-mask only for a reader allowed to see personal data.",
        ),
    ] = True,
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Write the Form 4 ledger to a CSV or XLSX file and log the export.

    CSV is UTF-8 with a byte order mark, so Excel shows the Korean headers;
    XLSX prints on landscape A4. The access log records who exported, the
    format, the number of rows and whether personal fields were masked.

    Example:

        recwatch ledger export --format xlsx --out ledger.xlsx
    """
    config = _load(config_path)
    if output_format not in ("csv", "xlsx"):
        raise _fail(
            f"format {output_format!r} is invalid: expected csv or xlsx", EXIT_USAGE
        )
    if not out.parent.is_dir():
        raise _fail(
            f"folder {out.parent} of --out was not found; create it first", EXIT_USAGE
        )
    with open_catalog(config, db, hint=LEDGER_HINT) as catalog:
        try:
            rows = ledger.ledger_rows(
                catalog.cursor(), mask_personal=mask, tz=config.tz
            )
            if output_format == "csv":
                ledger.export_ledger_csv(rows, out)
            else:
                ledger.export_ledger_xlsx(rows, out)
            detail = {
                "kind": "ledger",
                "format": output_format,
                "rows": len(rows),
                "masked": mask,
            }
            catalog.write(lambda con: _log_export(con, detail))
        except RecwatchError as error:
            out.unlink(missing_ok=True)
            raise _fail(str(error)) from None
        except BaseException:
            # An export that was not logged must not stay on disk.
            out.unlink(missing_ok=True)
            raise
    typer.echo(
        f"ledger: wrote {len(rows)} rows to {out} (masked={'yes' if mask else 'no'})"
    )


def _log_export(con, detail: dict[str, Any]) -> None:
    # The command line has no login; the operating-system account is the actor.
    accesslog.append(
        con,
        actor=f"cli:{getpass.getuser()}",
        role="cli",
        action="export",
        object_type="ledger",
        detail=detail,
    )


def _list_row(record: requests.RequestRecord, config: Config) -> dict[str, Any]:
    signed = sum(1 for a in record.approvals if a.decision == "approved")
    return {
        "number": record.number,
        "status": record.status,
        "status_ko": requests.STATUS_LABELS_KO[record.status],
        "access_kind": record.access_kind,
        "requested_at": record.requested_at.astimezone(config.tz).isoformat(),
        "requester_name": auth.mask_name(record.requester_name),
        "recorded_at": record.recorded_at.astimezone(config.tz).isoformat(),
        "recorded_phone": auth.mask_phone(record.recorded_phone),
        "purpose": record.purpose,
        "approvals": f"{signed}/{len(requests.STAGES)}",
        "recordings": len(record.recording_ids),
        "provided_on": record.provided_on.isoformat() if record.provided_on else None,
        "due_on": record.due_on.isoformat() if record.due_on else None,
    }


def _print_rows(rows: list[dict[str, Any]], output_format: str) -> None:
    if output_format == "json":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif output_format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(LIST_FIELDS))
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(
            "관리번호", "상태", "신청일시", "신청인", "녹취전화번호", "결재", "회신기한"
        )
        for row in rows:
            table.add_row(
                row["number"],
                row["status_ko"],
                row["requested_at"][:16],
                row["requester_name"],
                row["recorded_phone"],
                row["approvals"],
                row["due_on"] or "",
            )
        Console().print(table)


def _load(config_path: Path | None) -> Config:
    try:
        return load_config(config_path)
    except ConfigError as error:
        raise _fail(str(error), EXIT_USAGE) from None


def _fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
