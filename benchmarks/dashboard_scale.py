"""Measure the dashboard on a large city's catalog: render, filter and memory.

Run from the repository root::

    .venv/bin/python benchmarks/dashboard_scale.py             # 1,000,000 + 1,000,000
    .venv/bin/python benchmarks/dashboard_scale.py --quick     # 100,000 + 100,000
    .venv/bin/python benchmarks/dashboard_scale.py --rows 2000 --pages recordings

The script builds its own catalog: ``--rows`` recordings spread over the last 30
days (with deleted, overdue, missing and held ones older than that) and
``--log-rows`` access-log entries over the last year with a valid hash chain.
Generation uses ``pipeline.catalog.Catalog`` for the schema and DuckDB
``INSERT ... SELECT ... FROM range(n)`` for the rows. The catalog is kept under
``benchmarks/scale-data/`` keyed by the two row counts, and each run works on a
copy whose recording times are shifted to the current time.

It then measures, in one run:

1. filter changes on the server, in this process: ``RecordingTable.set_query``
   and ``AccessLogPage``'s first-page read with typical filters, against the naive
   way, which loads the table into pandas (``SELECT *`` then ``.df()``) and
   filters there. The naive way runs in a fresh subprocess, which also gives the
   RSS growth of loading both tables;
2. the first render of each dashboard page in headless Chromium, from navigation
   to the page's main element being visible, after login, on a real
   ``panel serve`` bound to 127.0.0.1. Pages that load parts after their first
   render (LOADED_LATER) are also timed until those parts show. Then filters
   are changed through the browser;
3. the peak RSS (VmHWM) of the ``panel serve`` process and its children after
   every page was visited and the filters were changed.

Targets: render at most 2 s, filter at most 300 ms on the server, server memory at
most 1 GB. The last line is ``ratios: render_max=... filter_max=...
naive/ours=... rss=...``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

import duckdb  # noqa: E402
from arguments import folder_path, positive_int  # noqa: E402
from scale_catalog import (  # noqa: E402
    BENCH_PASSWORD,
    BENCH_USER,
    SEOUL,
    add_bench_user,
    cached_catalog,
    working_copy,
    write_config,
)

from pipeline import accessreview, queries  # noqa: E402
from pipeline.catalog import Catalog  # noqa: E402

DATA_DIR = REPO / "benchmarks" / "scale-data"
TARGET_RENDER_S = 2.0
TARGET_FILTER_S = 0.3
TARGET_RSS_MB = 1000
RENDER_TIMEOUT_MS = 30_000

# Page key -> element whose visibility means the page's main content is shown.
# Pages with a table of generated rows wait for its first row.
READY = {
    "overview": ".overview-cards",
    "retention": ".overdue-table .tabulator-row",
    "recordings": ".recordings-table .tabulator-row",
    "requests": ".request-select",
    "pending": ".pending-title",
    "ledger": ".ledger-csv",
    "holds": ".holds-table .tabulator-row",
    "lines": ".lines-table .tabulator-row",
    "purge": ".purge-status-pane",
    "accesslog": ".access-log-table .tabulator-row",
    "users": ".privileged-table .tabulator-row",
    "own_copy": ".own-copy-page",
}
# Page key -> elements of the parts that a page loads after its first render,
# each behind a loading spinner. The time until all of them are visible is
# reported beside the render time.
LOADED_LATER = {
    "retention": (".chart-by-expiry-day canvas", ".due-table .tabulator-row"),
    # NOTE: the anomaly table has rows only when the log has anomalies, as the
    # generated log has. Without any, this part counts as the timeout.
    "accesslog": (".anomaly-table .tabulator-row",),
}

# -- filter changes on the server ----------------------------------------------------


@dataclass(frozen=True)
class FilterCase:
    name: str
    table: str  # "recordings" or "access_log"
    arguments: dict


def filter_cases(now: datetime, rows: int) -> list[FilterCase]:
    """Return the typical filter changes of the two list pages."""
    today = now.astimezone(SEOUL).date()
    week_start = datetime.combine(today - timedelta(days=6), datetime.min.time(), SEOUL)
    week_end = datetime.combine(today + timedelta(days=1), datetime.min.time(), SEOUL)
    recording_id = str(max(1, rows // 2))
    return [
        FilterCase("rec: none", "recordings", {}),
        FilterCase(
            "rec: last 7 days",
            "recordings",
            {"start_from": week_start, "start_to": week_end},
        ),
        FilterCase("rec: line 2345", "recordings", {"line": "2345"}),
        FilterCase("rec: state overdue", "recordings", {"states": ("overdue",)}),
        FilterCase("rec: flag one_way", "recordings", {"flags": ("verdict_one_way",)}),
        FilterCase("rec: status error", "recordings", {"status": "error"}),
        FilterCase("rec: text 00001234", "recordings", {"text": "00001234"}),
        FilterCase(
            "rec: line + 7 days",
            "recordings",
            {"line": "2345", "start_from": week_start, "start_to": week_end},
        ),
        FilterCase("log: none", "access_log", {}),
        FilterCase("log: actor user17", "access_log", {"actor": "user17"}),
        FilterCase("log: action download", "access_log", {"action": "download"}),
        FilterCase(
            "log: last 7 days", "access_log", {"since": week_start, "until": week_end}
        ),
        FilterCase("log: recording id", "access_log", {"recording_id": recording_id}),
    ]


def _best_of(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def measure_ours(
    catalog_path: Path, config_path: Path, cases: list[FilterCase], repeats: int
) -> dict[str, float]:
    """Time the page methods that a filter change runs; return seconds per case.

    Recordings: ``RecordingTable.set_query`` (count, one page, formatting).
    Access log: ``AccessLogPage._first_page`` (count, one page, anomaly marks).
    Both run in this process on the catalog, as in the server, without a browser.
    """
    from pipeline.auth import User
    from pipeline.config import load_config
    from pipeline.views.accesslog_page import AccessLogPage
    from pipeline.views.table import RecordingTable

    config = load_config(config_path)
    user = User(
        username=BENCH_USER,
        display_name="bench",
        roles=("auditor",),
        department="",
    )
    results = {}
    with Catalog(catalog_path) as catalog:
        # Only .catalog and .config of the service are used by these two views.
        service = SimpleNamespace(catalog=catalog, config=config)
        table = RecordingTable(catalog, config)
        log_page = AccessLogPage(service, user=user)
        for case in cases:
            if case.table == "recordings":
                filters = queries.RecordingFilter(**case.arguments)

                def run(filters=filters):
                    table.set_query(filters)

            else:
                filters = accessreview.LogFilter(**case.arguments)

                def run(filters=filters):
                    log_page.current_filter = lambda filters=filters: filters
                    log_page._first_page()

            run()  # the first call per case warms DuckDB's caches
            results[case.name] = _best_of(run, repeats)
    return results


_NAIVE_SCRIPT = r"""
import json, sys, time
from datetime import datetime
sys.path.insert(0, {repo!r})
import duckdb
import numpy as np
import pandas as pd
from pipeline.catalog import DUCKDB_CONFIG

def status_mib(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024

cases = json.loads({cases!r})
con = duckdb.connect({path!r}, read_only=True, config=DUCKDB_CONFIG)
before = status_mib("VmRSS")
started = time.perf_counter()
recordings = con.execute("SELECT * FROM recordings").df()
load_recordings = time.perf_counter() - started
started = time.perf_counter()
log = con.execute("SELECT * FROM access_log").df()
load_log = time.perf_counter() - started
after = status_mib("VmRSS")
now = pd.Timestamp.now(tz="UTC")
page_size = {page_size}

def naive_state(df):
    expires = df["start_time"] + pd.Timedelta(days={days})
    return np.select(
        [df["status"] == "deleted", df["missing_since"].notna(), expires <= now,
         expires <= now + pd.Timedelta(days={due_days})],
        ["deleted", "missing", "overdue", "due"], "active")

def filter_recordings(filters):
    df = recordings
    mask = pd.Series(True, index=df.index)
    if "start_from" in filters:
        mask &= df["start_time"] >= pd.Timestamp(filters["start_from"])
        mask &= df["start_time"] < pd.Timestamp(filters["start_to"])
    if "line" in filters:
        mask &= df["line"] == filters["line"]
    if "states" in filters:
        mask &= pd.Series(naive_state(df), index=df.index).isin(filters["states"])
    if "flags" in filters:
        chosen = set(filters["flags"])
        mask &= df["flags"].map(lambda flags: bool(chosen.intersection(flags)))
    if "status" in filters:
        mask &= df["status"] == filters["status"]
    if "text" in filters:
        mask &= df["file_name_nfc"].str.lower().str.contains(
            filters["text"].lower(), regex=False)
    matched = df[mask]
    page = matched.sort_values(["start_time", "id"], ascending=False).head(page_size)
    return len(matched), page

def filter_log(filters):
    df = log
    mask = pd.Series(True, index=df.index)
    if "actor" in filters:
        mask &= df["actor"] == filters["actor"]
    if "action" in filters:
        mask &= df["action"] == filters["action"]
    if "since" in filters:
        mask &= df["at"] >= pd.Timestamp(filters["since"])
        mask &= df["at"] < pd.Timestamp(filters["until"])
    if "recording_id" in filters:
        recording_id = filters["recording_id"]
        mask &= (df["object_type"] == "recording") & df["object_ids"].map(
            lambda ids: recording_id in ids)
    matched = df[mask]
    return len(matched), matched.nlargest(page_size, "id")

filter_s = {{}}
for case in cases:
    function = filter_recordings if case["table"] == "recordings" else filter_log
    best = float("inf")
    for _ in range({repeats}):
        started = time.perf_counter()
        function(case["arguments"])
        best = min(best, time.perf_counter() - started)
    filter_s[case["name"]] = best
print(json.dumps({{
    "load_recordings_s": load_recordings, "load_log_s": load_log,
    "rss_growth_mb": after - before, "peak_mb": status_mib("VmHWM"),
    "filter_s": filter_s,
}}))
"""


def measure_naive(
    catalog_path: Path, cases: list[FilterCase], repeats: int, config_path: Path
) -> dict:
    """Run the naive pandas way in a fresh interpreter and return its figures."""
    from pipeline.config import load_config

    config = load_config(config_path)
    encoded = json.dumps(
        [
            {
                "name": case.name,
                "table": case.table,
                "arguments": {
                    key: value.isoformat() if isinstance(value, datetime) else value
                    for key, value in case.arguments.items()
                },
            }
            for case in cases
        ]
    )
    script = _NAIVE_SCRIPT.format(
        repo=str(REPO),
        cases=encoded,
        path=str(catalog_path),
        page_size=int(config["dashboard.page_size"]),
        days=int(config["retention.days"]),
        due_days=int(config["retention.due_soon_days"]),
        repeats=repeats,
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


# -- the server and the browser -------------------------------------------------------


def _vm_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def server_memory_mb(pid: int) -> dict[str, float]:
    """Return VmHWM and VmRSS of ``pid``, and VmHWM summed over its children."""
    import psutil

    children = psutil.Process(pid).children(recursive=True)
    child_hwm = 0
    for child in children:
        try:
            child_hwm += _vm_kib(child.pid, "VmHWM")
        except FileNotFoundError:
            continue
    return {
        "hwm": _vm_kib(pid, "VmHWM") / 1024,
        "rss": _vm_kib(pid, "VmRSS") / 1024,
        "children_hwm": child_hwm / 1024,
        "children": len(children),
    }


def wait_for_snapshot(folder: Path, timeout_s: float) -> float | None:
    """Wait for the server's first snapshot file; return seconds waited or None."""
    started = time.perf_counter()
    snapshots = folder / "data" / "snapshots"
    while time.perf_counter() - started < timeout_s:
        if snapshots.is_dir() and any(snapshots.glob("*.duckdb")):
            return time.perf_counter() - started
        time.sleep(0.5)
    return None


def measure_renders(
    page, server, keys: list[str], rounds: int
) -> tuple[dict[str, list], dict[str, list]]:
    """Time navigation to each page until its READY element shows, ``rounds`` times.

    Returns the render times and, for the pages in LOADED_LATER, the times until
    their later parts show as well, both in seconds per visit.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    results: dict[str, list] = {key: [] for key in keys}
    complete: dict[str, list] = {key: [] for key in keys if key in LOADED_LATER}
    for _ in range(rounds):
        for key in keys:
            started = time.perf_counter()
            page.goto(f"{server.url}?page={key}", wait_until="commit")
            # The HTML arrives once the server has built the session's page.
            response_s = time.perf_counter() - started
            try:
                page.locator(f"{READY[key]}, .access-denied").first.wait_for(
                    state="visible", timeout=RENDER_TIMEOUT_MS
                )
            except PlaywrightTimeout:
                # A page that never shows its content counts as the timeout.
                print(f"  {key}: {READY[key]} not visible within the timeout")
                results[key].append(float("inf"))
                continue
            elapsed = time.perf_counter() - started
            if page.locator(".access-denied").count():
                raise RuntimeError(f"user {BENCH_USER} was denied page {key}")
            results[key].append(elapsed)
            print(
                f"  rendered {key} in {elapsed:.2f} s"
                f" (HTML response after {response_s:.2f} s)",
                flush=True,
            )
            if key in LOADED_LATER:
                complete[key].append(_wait_for_parts(page, key, started))
    return results, complete


def _wait_for_parts(page, key: str, started: float) -> float:
    """Wait for the LOADED_LATER parts of ``key``; return seconds since ``started``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for selector in LOADED_LATER[key]:
        try:
            page.locator(selector).first.wait_for(
                state="visible", timeout=RENDER_TIMEOUT_MS
            )
        except PlaywrightTimeout:
            print(f"  {key}: {selector} not visible within the timeout")
            return float("inf")
    return time.perf_counter() - started


def _timed_change(page, status_selector: str, change) -> float:
    """Run ``change`` and return seconds until the status text differs.

    Returns infinity when the change fails or the text stays the same within
    the timeout.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect

    status = page.locator(status_selector).first
    before = status.inner_text()
    started = time.perf_counter()
    try:
        change()
        # Playwright's locators reach into the shadow DOM of Panel's panes.
        expect(status).not_to_have_text(before, timeout=RENDER_TIMEOUT_MS)
    except (AssertionError, PlaywrightError) as error:
        print(f"  no change of {status_selector}: {str(error).splitlines()[0]}")
        return float("inf")
    return time.perf_counter() - started


def measure_browser_filters(page, server) -> dict[str, float]:
    """Time filter changes in the browser, from the widget change to new rows.

    The next page is turned first, while no filter narrows the list to one page.
    """
    results = {}
    page.goto(f"{server.url}?page=recordings")
    page.locator(READY["recordings"]).first.wait_for(timeout=RENDER_TIMEOUT_MS)
    status = ".pager-status div"
    results["rec: next page"] = _timed_change(
        page, status, lambda: page.locator(".pager-next button").first.click()
    )
    results["rec: line 2345"] = _timed_change(
        page,
        status,
        lambda: page.locator(".filter-line select").select_option(label="2345"),
    )
    results["rec: text 00001234"] = _timed_change(
        page,
        status,
        lambda: page.locator(".filter-text input").first.fill("00001234"),
    )
    page.goto(f"{server.url}?page=accesslog")
    page.locator(READY["accesslog"]).first.wait_for(timeout=RENDER_TIMEOUT_MS)
    # Action names are shown translated, so the first action is picked by index.
    results["log: first action"] = _timed_change(
        page,
        ".al-status",
        lambda: page.locator(".al-action select").first.select_option(index=1),
    )
    results["log: actor user17"] = _timed_change(
        page,
        ".al-status",
        lambda: page.locator(".al-actor select").first.select_option(label="user17"),
    )
    return results


def run_browser(
    folder: Path,
    config_path: Path,
    keys: list[str],
    rounds: int,
    *,
    filters: bool,
    chromium=None,
) -> dict:
    """Start ``panel serve``, visit the pages, change filters, read the server RSS.

    ``chromium`` is a Playwright Browser to reuse. Without one, Debian's Chromium
    is launched and closed here.
    """
    import browser as server_helpers

    if chromium is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=server_helpers.CHROMIUM,
                args=server_helpers.CHROMIUM_ARGS,
                headless=True,
            )
            try:
                return run_browser(
                    folder,
                    config_path,
                    keys,
                    rounds,
                    filters=filters,
                    chromium=launched,
                )
            finally:
                launched.close()

    started = time.perf_counter()
    server = server_helpers.start_server(folder, config_path, timeout_s=300)
    figures: dict = {"server_start_s": time.perf_counter() - started}
    try:
        snapshot_s = wait_for_snapshot(folder, timeout_s=600)
        figures["snapshot_wait_s"] = snapshot_s
        figures["memory_before_pages"] = server_memory_mb(server.pid)
        context = chromium.new_context(viewport={"width": 1400, "height": 900})
        try:
            page = context.new_page()
            server_helpers.login(page, server, BENCH_USER, BENCH_PASSWORD)
            figures["render_s"], figures["complete_s"] = measure_renders(
                page, server, keys, rounds
            )
            if filters:
                figures["browser_filter_s"] = measure_browser_filters(page, server)
        finally:
            context.close()
        figures["memory_after"] = server_memory_mb(server.pid)
    finally:
        server_helpers.stop_server(server)
        # The run's folder is deleted afterwards; keep the log for inspection.
        shutil.copyfile(server.log_path, folder.parent / "last-server.log")
    return figures


# -- output ---------------------------------------------------------------------------


def print_load(when: str) -> tuple[float, float, float]:
    load = os.getloadavg()
    print(f"load average {when}: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return load


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=positive_int, default=1_000_000, help="recordings in the catalog"
    )
    parser.add_argument(
        "--log-rows",
        type=positive_int,
        default=None,
        help="access-log entries (default: the same as --rows)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="100,000 recordings and log entries"
    )
    parser.add_argument(
        "--pages",
        default=",".join(READY),
        help="comma-separated page keys to render (default: all twelve)",
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=2,
        help="visits of each page (first is cold)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=3,
        help="runs per filter case; the best counts",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="skip the server and Chromium"
    )
    parser.add_argument(
        "--data-dir",
        type=folder_path,
        default=DATA_DIR,
        help="folder for the cached catalogs and each run's working copy",
    )
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.rows = 100_000
    if arguments.log_rows is None:
        arguments.log_rows = arguments.rows
    arguments.page_keys = [key for key in arguments.pages.split(",") if key]
    if not arguments.page_keys:
        parser.error(
            f"--pages {arguments.pages!r} names no page: expected some of {list(READY)}"
        )
    unknown = sorted(set(arguments.page_keys) - set(READY))
    if unknown:
        parser.error(f"unknown page key(s) {unknown}: expected some of {list(READY)}")
    return arguments


def run(arguments: argparse.Namespace, *, chromium=None) -> dict:
    """Generate or reuse the catalog, measure everything and print the results.

    ``chromium`` is a Playwright Browser to reuse (see :func:`run_browser`).
    """
    wall_started = time.perf_counter()
    print(
        f"recwatch dashboard at scale: {arguments.rows:,} recordings, "
        f"{arguments.log_rows:,} access-log entries; {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}"
    )
    load_start = print_load("at the start")
    cached = cached_catalog(arguments.data_dir, arguments.rows, arguments.log_rows)
    with tempfile.TemporaryDirectory(prefix="run-", dir=arguments.data_dir) as temp:
        folder = Path(temp)
        catalog_path = working_copy(cached, folder)
        config_path = write_config(folder, catalog_path)
        (folder / "data").mkdir(exist_ok=True)
        add_bench_user(folder)
        now = datetime.now(UTC)
        cases = filter_cases(now, arguments.rows)

        naive = measure_naive(catalog_path, cases, arguments.repeats, config_path)
        ours = measure_ours(catalog_path, config_path, cases, arguments.repeats)
        load_mid = print_load("after the server-side filters")
        browser_figures: dict = {}
        if not arguments.no_browser:
            browser_figures = run_browser(
                folder,
                config_path,
                arguments.page_keys,
                arguments.rounds,
                filters="recordings" in arguments.page_keys
                and "accesslog" in arguments.page_keys,
                chromium=chromium,
            )
    load_end = print_load("at the end")
    result = {
        "naive": naive,
        "ours": ours,
        "browser": browser_figures,
        "load": [load_start, load_mid, load_end],
        "seconds": time.perf_counter() - wall_started,
    }
    print_results(result, cases)
    return result


def print_results(result: dict, cases: list[FilterCase]) -> None:
    naive, ours, figures = result["naive"], result["ours"], result["browser"]
    load_s = {
        "recordings": naive["load_recordings_s"],
        "access_log": naive["load_log_s"],
    }
    print("\nfilter change on the server (best of the repeats):")
    print(
        f"  {'case':24} {'ours':>9} {'naive filter':>13} {'naive load+filter':>18}"
        f" {'load+f/ours':>12} {'filter/ours':>12}"
    )
    ratios_first, ratios_filter = [], []
    for case in cases:
        mine = ours[case.name]
        only = naive["filter_s"][case.name]
        first = load_s[case.table] + only
        ratios_first.append(first / mine)
        ratios_filter.append(only / mine)
        print(
            f"  {case.name:24} {mine * 1000:7.1f}ms {only * 1000:11.1f}ms"
            f" {first * 1000:16.0f}ms {first / mine:12.0f} {only / mine:12.1f}"
        )
    print(
        f"  naive load: recordings {naive['load_recordings_s']:.2f} s,"
        f" access log {naive['load_log_s']:.2f} s,"
        f" RSS growth {naive['rss_growth_mb']:.0f} MB (peak {naive['peak_mb']:.0f} MB)"
    )
    filter_max = max(ours.values())
    render_max = None
    rss_mb = None
    if figures:
        print(f"\nserver start {figures['server_start_s']:.1f} s;", end=" ")
        snapshot_s = figures["snapshot_wait_s"]
        print(
            "first snapshot not seen"
            if snapshot_s is None
            else f"first snapshot done {snapshot_s:.1f} s after that"
        )
        print("first render in headless Chromium (s), navigation to content visible:")
        renders = figures["render_s"]
        for key, times in renders.items():
            later = f" later {min(times[1:]):.2f}" if len(times) > 1 else ""
            mark = "" if times[0] <= TARGET_RENDER_S else "  > 2 s"
            parts = figures.get("complete_s", {}).get(key)
            if parts:
                mark += f"  (later parts: first {parts[0]:.2f}"
                mark += f", later {min(parts[1:]):.2f})" if len(parts) > 1 else ")"
            print(f"  {key:10} first {times[0]:.2f}{later}{mark}")
        render_max = max(times[0] for times in renders.values())
        for label, values in figures.get("browser_filter_s", {}).items():
            print(f"  browser filter {label:22} {values:.2f} s")
        for when in ("memory_before_pages", "memory_after"):
            memory = figures[when]
            print(
                f"  server {when.replace('_', ' ')}: VmHWM {memory['hwm']:.0f} MB,"
                f" VmRSS {memory['rss']:.0f} MB, {memory['children']} children"
                f" with VmHWM {memory['children_hwm']:.0f} MB"
            )
        memory = figures["memory_after"]
        rss_mb = memory["hwm"] + memory["children_hwm"]
    print(f"\ntotal time {result['seconds']:.0f} s")
    parts = []
    if render_max is not None:
        parts.append(f"render_max={render_max:.2f}s")
    parts.append(f"filter_max={filter_max:.3f}s")
    parts.append(f"naive/ours={statistics.median(ratios_first):.0f}")
    parts.append(f"naive_filter_only/ours={statistics.median(ratios_filter):.1f}")
    if rss_mb is not None:
        parts.append(f"rss={rss_mb:.0f}MB")
    parts.append(f"naive_rss_growth={naive['rss_growth_mb']:.0f}MB")
    print("ratios: " + " ".join(parts))


def main() -> None:
    run(parse_arguments())


if __name__ == "__main__":
    main()
