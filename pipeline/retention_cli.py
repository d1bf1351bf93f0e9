"""The ``recwatch purge``, ``recwatch hold`` and ``recwatch lines`` commands.

:func:`register` adds them to the main ``recwatch`` application. They open the
catalog the way the other commands do, so while the dashboard server owns the
catalog they stop with a message that names the server.
"""

from __future__ import annotations

import getpass
import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from pipeline import holds, lines, purge
from pipeline.analysis import redact
from pipeline.catalog import Catalog
from pipeline.cliutil import (
    ConfigOption,
    DbOption,
    fail,
    load_cli_config,
    open_catalog,
    open_read_only,
    parse_hold_end,
)
from pipeline.config import Config
from pipeline.errors import RecwatchError

logger = logging.getLogger(__name__)

ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor", help="Username recorded in the access log (default: OS user)."
    ),
]

hold_app = typer.Typer(
    help="Place, release and list holds (보존 조치) that stop the purge.",
    no_args_is_help=True,
)
lines_app = typer.Typer(
    help="Import and check the lines registry (회선 대장).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add ``purge``, ``hold`` and ``lines`` to the main ``recwatch`` application."""
    app.command("purge")(purge_command)
    app.add_typer(hold_app, name="hold")
    app.add_typer(lines_app, name="lines")


# Alternative to stopping the dashboard server, added to the lock message.
HOLD_HINT = "Or place and release holds on the dashboard's 보존 조치 (Holds) page"


def _open(
    config: Config, db: Path | None, *, create: bool = False, hint: str = ""
) -> Catalog:
    return open_catalog(config, db, create=create, hint=hint)


def _actor(actor: str | None) -> str:
    return actor or getpass.getuser()


def _parse_now(text: str | None, config: Config) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(
            f"invalid --now {text!r}: expected ISO 8601 such as "
            "2026-12-04T02:30:00+09:00",
            2,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=config.tz)
    return moment


def _local(moment: datetime | None, config: Config) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(config.tz).strftime("%Y-%m-%d %H:%M:%S")


def purge_command(
    apply: Annotated[
        bool,
        typer.Option(
            "--apply/--dry-run",
            help="Delete the files (--apply) or only list them (--dry-run, the "
            "default).",
        ),
    ] = False,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Measure expiry at this ISO 8601 time instead of the current "
            "time; a time without an offset is in the configured time zone. "
            "With --apply it may not be in the future.",
        ),
    ] = None,
    operator: ActorOption = None,
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Delete expired recordings that no hold protects, or list them (dry run).

    Prints one tab-separated line per file: recording id, start time, path with
    phone numbers masked, outcome and reason. The last line is
    "purge: deleted=N held=N skipped=N errors=N", and in a dry run
    "purge: would_delete=N held=N skipped=N errors=N". With --apply, --now may
    not be later than the current time. Exit status 1 when a file could not be
    destroyed.

    Example:

        recwatch purge --apply --db catalog.duckdb
    """
    config = load_cli_config(config_path)
    moment = _parse_now(now, config)
    with _open(config, db) as catalog:
        try:
            summary = purge.run_purge(
                catalog, config, apply=apply, now=moment, operator=_actor(operator)
            )
        except RecwatchError as error:
            raise fail(str(error)) from None
    for line in summary.lines:
        typer.echo(
            f"{line.recording_id}\t{_local(line.start_time, config)}\t"
            f"{redact(line.path)}\t{line.outcome}\t{redact(line.reason)}"
        )
    typer.echo(summary.totals_line())
    if summary.errors:
        raise typer.Exit(1)


@hold_app.command("add")
def hold_add(
    recording_id: Annotated[int, typer.Argument(help="Recording id to protect.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Legal or evidence reason for the hold.")
    ],
    approver: Annotated[
        str, typer.Option("--approver", help="Official who approved the hold.")
    ],
    until: Annotated[
        str,
        typer.Option(
            "--until",
            help="Last day of the hold, YYYY-MM-DD in the configured time zone.",
        ),
    ],
    actor: ActorOption = None,
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Place a hold that keeps a recording past its retention period.

    Example:

        recwatch hold add 42 --reason "감사 증거" --approver 과장 --until 2027-03-31
    """
    config = load_cli_config(config_path)
    ends_on = parse_hold_end(until, datetime.now(config.tz).date())
    with _open(config, db, hint=HOLD_HINT) as catalog:
        try:
            hold_id = catalog.write(
                lambda con: holds.place_hold(
                    con,
                    recording_id,
                    reason=reason,
                    approver=approver,
                    ends_on=ends_on,
                    actor=_actor(actor),
                    tz=config.tz,
                )
            )
        except RecwatchError as error:
            raise fail(str(error)) from None
    typer.echo(f"hold {hold_id} placed on recording {recording_id} until {ends_on}")


@hold_app.command("release")
def hold_release(
    hold_id: Annotated[int, typer.Argument(help="Hold id from `recwatch hold list`.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the hold ends early.")],
    actor: ActorOption = None,
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Release a hold before its end date, so the next purge may delete it.

    Example:

        recwatch hold release 3 --reason "수사 종결"
    """
    with _open(load_cli_config(config_path), db, hint=HOLD_HINT) as catalog:
        try:
            hold = catalog.write(
                lambda con: holds.release_hold(
                    con, hold_id, actor=_actor(actor), reason=reason
                )
            )
        except RecwatchError as error:
            raise fail(str(error)) from None
    typer.echo(f"hold {hold.id} on recording {hold.recording_id} released")


@hold_app.command("list")
def hold_list(db: DbOption = None, config_path: ConfigOption = None) -> None:
    """Print every hold, newest first, with its state: active, expired or released.

    Columns (tab-separated): id, recording id, state, last day, approver, placed
    by, placed at, reason.
    """
    config = load_cli_config(config_path)
    with open_read_only(config, db, tables=("holds",)) as con:
        found = holds.list_holds(con)
    now = datetime.now(config.tz)
    typer.echo("id\trecording\tstate\tends_on\tapprover\tplaced_by\tplaced_at\treason")
    for hold in found:
        if hold.released_at is not None:
            state = "released"
        elif hold.is_active(now):
            state = "active"
        else:
            state = "expired"
        typer.echo(
            f"{hold.id}\t{hold.recording_id}\t{state}\t{hold.ends_on}\t"
            f"{hold.approver}\t{hold.placed_by}\t{_local(hold.placed_at, config)}\t"
            f"{hold.reason}"
        )


@lines_app.command("import")
def lines_import(
    file: Annotated[Path, typer.Argument(help="CSV file, English or Korean headers.")],
    actor: ActorOption = None,
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Insert or replace the lines of a CSV file in the registry.

    Columns: number, department, mode (full/selective), approval_doc,
    approved_by, valid_from, valid_to; or 회선번호, 부서, 녹취방식(전수/선택),
    승인문서번호, 승인자, 유효시작, 유효종료. An invalid row stops the import
    before anything is written.

    Example:

        recwatch lines import lines.csv
    """
    # A new deployment may import its lines before the first ingest, so this
    # creates the configured catalog. A --db path must already exist.
    with _open(load_cli_config(config_path), db, create=db is None) as catalog:
        try:
            count = catalog.write(
                lambda con: lines.import_lines_csv(con, file, actor=_actor(actor))
            )
        except RecwatchError as error:
            raise fail(str(error)) from None
    typer.echo(f"lines: imported={count}")


@lines_app.command("list")
def lines_list(db: DbOption = None, config_path: ConfigOption = None) -> None:
    """Print the lines registry as CSV with the English column names."""
    with open_read_only(load_cli_config(config_path), db, tables=("lines",)) as con:
        frame = lines.list_lines(con)
    for column in ("valid_from", "valid_to"):
        frame[column] = frame[column].dt.strftime("%Y-%m-%d")
    typer.echo(frame.to_csv(index=False), nl=False)


@lines_app.command("unapproved")
def lines_unapproved(
    include_deleted: Annotated[
        bool,
        typer.Option("--include-deleted", help="Also list purged recordings."),
    ] = False,
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """List full-mode recordings whose line had no current approval.

    Columns (tab-separated): recording id, start time, line, problem. The last
    line is "unapproved: N".
    """
    config = load_cli_config(config_path)
    with open_read_only(config, db, tables=("recordings", "lines")) as con:
        frame = lines.unapproved_full_recordings(
            con, config, include_deleted=include_deleted
        )
    for row in frame.itertuples(index=False):
        line = "-" if pd.isna(row.line) else row.line
        start = _local(row.start_time, config)
        typer.echo(f"{row.id}\t{start}\t{line}\t{row.problem_text}")
    typer.echo(f"unapproved: {len(frame)}")
