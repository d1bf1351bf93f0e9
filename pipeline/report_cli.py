"""Commands ``recwatch snapshot`` and ``recwatch report``: snapshots and HTML reports.

``snapshot`` publishes a snapshot when no server owns the catalog; while the
dashboard server runs, it publishes snapshots itself on a schedule. ``report``
executes an auditor notebook against a snapshot with nbclient and writes it as
one standalone HTML file.
"""

from __future__ import annotations

import base64
import copy
import html
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Annotated

import nbformat
import typer
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets.config import Config as TraitletsConfig

from pipeline import auditdata, snapshots
from pipeline.cliutil import fail, load_cli_config, open_catalog
from pipeline.config import PROJECT_DIR, Config, load_config
from pipeline.errors import RecwatchError

logger = logging.getLogger(__name__)

NOTEBOOK_DIR = PROJECT_DIR / "notebooks"
REPORTS = ("retention_audit", "access_audit", "requests_audit", "quality_audit")
KERNEL_NAME = "python3"
DEFAULT_CELL_TIMEOUT_S = 600

report_app = typer.Typer(add_completion=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML configuration file (default: $RECWATCH_CONFIG, else the "
        "embedded default under data/).",
        dir_okay=False,
    ),
]


@report_app.command("snapshot")
def snapshot_command(
    config_path: ConfigOption = None,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db", help="Catalog file; overrides catalog_path of the config."
        ),
    ] = None,
    reason: Annotated[
        str, typer.Option("--reason", help="Reason stored in the manifest.")
    ] = "manual",
) -> None:
    """Publish a read-only snapshot of the catalog for auditors."""
    config = load_cli_config(config_path)
    minutes = config["snapshots.interval_s"] / 60
    hint = (
        "The dashboard server publishes snapshots on its schedule, every "
        f"{minutes:.0f} minutes, so use the newest one under "
        f"{snapshots.snapshot_dir(config)}"
    )
    with open_catalog(config, db, hint=hint) as catalog:
        path = snapshots.publish_snapshot(catalog, config, reason=reason)
    typer.echo(str(path))


@report_app.command("report")
def report_command(
    name: Annotated[
        str, typer.Argument(help=f"Notebook to run: one of {', '.join(REPORTS)}.")
    ],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    snapshot: Annotated[
        Path | None,
        typer.Option(
            "--snapshot",
            help="Snapshot file (default: the newest under the data folder).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    config_path: ConfigOption = None,
    timeout_s: Annotated[
        int, typer.Option("--timeout", help="Time limit per notebook cell, in s.")
    ] = DEFAULT_CELL_TIMEOUT_S,
) -> None:
    """Run an auditor notebook against a snapshot and write it as HTML."""
    if name not in REPORTS:
        raise fail(
            f"report {name!r} is unknown. Expected one of {', '.join(REPORTS)}.", 2
        )
    config = load_cli_config(config_path)
    try:
        written = write_report(
            name, out, snapshot=snapshot, config=config, timeout_s=timeout_s
        )
    except RecwatchError as error:
        raise fail(str(error)) from None
    typer.echo(str(written))


def write_report(
    name: str,
    out: Path,
    *,
    snapshot: Path | None = None,
    config: Config | None = None,
    timeout_s: int = DEFAULT_CELL_TIMEOUT_S,
) -> Path:
    """Execute notebook ``name`` against a verified snapshot and write HTML to ``out``.

    Raises :class:`RecwatchError` when the snapshot fails verification or a cell
    raises. When a cell raises, the HTML is written first, so the error can be read.
    """
    data_dir = (config or load_config()).data_dir
    snapshot_path = Path(snapshot) if snapshot else auditdata.newest_snapshot(data_dir)
    # Checked here first, so that a tampered snapshot stops the report with the
    # check that failed instead of a traceback inside the notebook.
    auditdata.open_snapshot(snapshot_path).close()

    notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    failure = execute_notebook(notebook, snapshot_path.resolve(), timeout_s=timeout_s)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(notebook_to_html(notebook, title=name), encoding="utf-8")
    logger.info("report written: %s from %s", out, snapshot_path.name)
    if failure is not None:
        raise RecwatchError(
            f"report {name} failed on snapshot {snapshot_path.name}: {failure}. "
            f"The partial report is in {out}."
        )
    return out


def execute_notebook(
    notebook: nbformat.NotebookNode, snapshot_path: Path, *, timeout_s: int
) -> str | None:
    """Run every cell with the snapshot in ``$RECWATCH_SNAPSHOT``; return the error.

    The kernel is started from this process, so it inherits the environment;
    jupyter_client starts the ``python3`` kernel with this interpreter. The kernel
    talks over Unix sockets in a private temporary folder instead of unencrypted
    TCP ports on 127.0.0.1, so ipykernel has no reason to warn about plain-text TCP.
    """
    previous = os.environ.get(auditdata.SNAPSHOT_ENV_VAR)
    os.environ[auditdata.SNAPSHOT_ENV_VAR] = str(snapshot_path)
    try:
        # mkdtemp creates the folder with mode 0700, so only this user can connect.
        # NOTE: Linux limits a Unix socket path to 107 bytes, so a very long $TMPDIR
        # makes the kernel fail to start.
        with tempfile.TemporaryDirectory(prefix="recwatch-kernel-") as socket_dir:
            client = NotebookClient(
                notebook,
                kernel_name=KERNEL_NAME,
                timeout=timeout_s,
                resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
                config=_ipc_kernel_config(Path(socket_dir)),
            )
            client.execute()
    except CellExecutionError as error:
        logger.error("notebook cell failed: %s", str(error).splitlines()[0])
        return _strip_ansi(str(error)).strip().splitlines()[-1]
    finally:
        if previous is None:
            os.environ.pop(auditdata.SNAPSHOT_ENV_VAR, None)
        else:
            os.environ[auditdata.SNAPSHOT_ENV_VAR] = previous
    return None


def _ipc_kernel_config(socket_dir: Path) -> TraitletsConfig:
    """Return a kernel manager configuration for IPC sockets under ``socket_dir``."""
    config = TraitletsConfig()
    config.KernelManager.transport = "ipc"
    # Without an explicit path jupyter_client 8.10 names the sockets kernel-ipc-N in
    # the working folder, where two reports started there at once would collide.
    config.KernelManager.ip = str(socket_dir / "kernel")
    return config


def notebook_to_html(notebook: nbformat.NotebookNode, *, title: str) -> str:
    """Return an executed notebook as one standalone HTML page.

    nbconvert's HTMLExporter is used when it is installed.
    """
    notebook = _without_empty_outputs(notebook)
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        return _render_html(notebook, title=title)
    exporter = HTMLExporter(embed_images=True)
    body, _ = exporter.from_notebook_node(notebook)
    return body


def _without_empty_outputs(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy of ``notebook`` without display outputs that carry no data.

    Each displayed hvPlot plot also publishes a display bundle with no data. nbconvert
    has nothing to show for it and warns "mimetype(s) dict_keys([]) is not able to
    be represented" for each one.
    """
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [
            output
            for output in cell.outputs
            if output.output_type not in ("display_data", "execute_result")
            or output.get("data")
        ]
    return notebook


# NOTE: a small renderer for when nbconvert is not installed. It shows Markdown,
# code, streams, errors, HTML, JavaScript and PNG outputs only.
_PAGE = """<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: "NanumGothic", sans-serif; max-width: 1100px; margin: 2em auto; }}
.input {{ border-left: 3px solid #ccc; padding-left: .5em; margin: .5em 0; }}
.output pre, .input pre {{ white-space: pre-wrap; }}
.error {{ color: #b00; }}
table.dataframe {{ border-collapse: collapse; font-size: 90%; }}
table.dataframe td, table.dataframe th {{ border: 1px solid #ccc; padding: 2px 6px; }}
{pygments_css}
</style></head><body>
{cells}
</body></html>
"""


def _render_html(notebook: nbformat.NotebookNode, *, title: str) -> str:
    from markdown_it import MarkdownIt
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    markdown = MarkdownIt("commonmark").enable("table")
    formatter = HtmlFormatter()
    parts = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            parts.append(f'<div class="markdown">{markdown.render(cell.source)}</div>')
        elif cell.cell_type == "code":
            code = highlight(cell.source, PythonLexer(), formatter)
            parts.append(f'<div class="input">{code}</div>')
            parts.extend(_render_output(output) for output in cell.get("outputs", []))
    return _PAGE.format(
        title=html.escape(title),
        pygments_css=formatter.get_style_defs(".highlight"),
        cells="\n".join(parts),
    )


def _render_output(output: nbformat.NotebookNode) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        text = html.escape(output.get("text", ""))
        return f'<div class="output"><pre>{text}</pre></div>'
    if kind == "error":
        text = _strip_ansi("\n".join(output.get("traceback", [])))
        return f'<div class="output error"><pre>{html.escape(text)}</pre></div>'
    data = output.get("data", {})
    pieces = []
    if "text/html" in data:
        pieces.append(data["text/html"])
    if "application/javascript" in data:
        pieces.append(f"<script>{data['application/javascript']}</script>")
    if "image/png" in data:
        png = data["image/png"]
        if isinstance(png, bytes):
            png = base64.b64encode(png).decode("ascii")
        pieces.append(f'<img src="data:image/png;base64,{png}">')
    if not pieces and "text/plain" in data:
        pieces.append(f"<pre>{html.escape(data['text/plain'])}</pre>")
    return f'<div class="output">{"".join(pieces)}</div>' if pieces else ""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


__all__ = [
    "report_app",
    "snapshot_command",
    "report_command",
    "write_report",
    "notebook_to_html",
]
