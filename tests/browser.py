"""Helpers for the browser tests: a real ``panel serve`` process and spool files.

The server runs as a subprocess on 127.0.0.1 with ``RECWATCH_CONFIG`` pointing
at a TOML file under the test's temporary folder, so nothing is written into the
repository. Headless Chromium from Debian drives the pages.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import soundfile as sf
from playwright.sync_api import Page, WebSocketRoute, expect

from pipeline.auth import DEMO_PASSWORDS, create_demo_users
from pipeline.websessions import load_or_create_cookie_secret

PROJECT_DIR = Path(__file__).resolve().parent.parent
PANEL = PROJECT_DIR / ".venv" / "bin" / "panel"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RATE = 8000


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free at the time of the call."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(
    folder: Path,
    *,
    demo: bool = True,
    demo_days: int = 5,
    page_size: int | None = None,
) -> Path:
    """Write a recwatch TOML config whose data and spool live under ``folder``.

    The demo writes no live calls (``live_interval_s = 0``), so the catalog
    changes only when a test drops a file.
    """
    spool = folder / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    lines = [
        f'data_dir = "{folder / "data"}"',
        "[demo]",
        f"enabled = {'true' if demo else 'false'}",
        f"days = {demo_days}",
        "live_interval_s = 0",
    ]
    if page_size is not None:
        lines += ["[dashboard]", f"page_size = {page_size}"]
    lines += ["[[recorders]]", f'root = "{spool}"']
    path = folder / "recwatch.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def freepbx_name(
    start: datetime, *, line: str, other_party: str, kind: str = "in", uid: int = 1
) -> str:
    """Return a FreePBX MixMonitor file name for a call starting at local ``start``."""
    stamp = f"{start:%Y%m%d-%H%M%S}"
    return f"{kind}-{line}-{other_party}-{stamp}-{1764812345 + uid}.{uid}.wav"


def write_call(
    spool: Path,
    start: datetime,
    *,
    staging: Path,
    line: str = "2101",
    other_party: str = "0200001234",
    kind: str = "in",
    uid: int = 1,
    seconds: float = 1.0,
    seed: int = 0,
) -> Path:
    """Copy a short WAV call into ``spool/YYYY/MM/DD`` and return its spool path.

    ``start`` is the recorder's local time (Asia/Seoul), as in FreePBX names.
    The WAV is written with soundfile under ``staging`` (outside the spool) and
    then copied in, as a recorder's finished file arrives.
    """
    name = freepbx_name(start, line=line, other_party=other_party, kind=kind, uid=uid)
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * RATE)) / RATE
    samples = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(t.size)
    staging.mkdir(parents=True, exist_ok=True)
    source = staging / name
    sf.write(source, samples, RATE, subtype="PCM_16", format="WAV")
    folder = spool / f"{start:%Y/%m/%d}"
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(source, folder / name))


@dataclass
class Server:
    """A running ``panel serve dashboard.py`` subprocess."""

    process: subprocess.Popen
    port: int
    folder: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dashboard"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def spool(self) -> Path:
        return self.folder / "spool"

    def log(self) -> str:
        """Return the server's output so far (for failure messages)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_server(folder: Path, config_path: Path, *, timeout_s: float = 90) -> Server:
    """Start ``panel serve`` with the login and wait for an HTTP 200 response.

    The server gets the demo users (one per role, see :func:`login`) and a cookie
    secret under ``folder/data``, as ``scripts/serve`` sets them up.
    """
    port = free_port()
    log_path = folder / "server.log"
    data_dir = folder / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    create_demo_users(data_dir / "users.json")
    env = {
        **os.environ,
        "RECWATCH_CONFIG": str(config_path),
        "RECWATCH_PORT": str(port),
        "PANEL_COOKIE_SECRET": load_or_create_cookie_secret(data_dir),
        "TZ": "UTC",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(PANEL),
                "serve",
                "dashboard.py",
                "--setup",
                "pipeline/server_setup.py",
                "--auth-module",
                "pipeline/webauth.py",
                "--address",
                "127.0.0.1",
                "--port",
                str(port),
                # As scripts/serve passes it, for proof documents up to 20 MB.
                "--websocket-max-message-size",
                "41943040",
                "--allow-websocket-origin",
                f"127.0.0.1:{port}",
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, folder, log_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"panel serve exited with code {process.returncode}:\n{server.log()}"
            )
        try:
            with urllib.request.urlopen(server.url, timeout=30) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    stop_server(server)
    raise TimeoutError(
        f"panel serve timed out: no HTTP 200 from {server.url} within {timeout_s} s:\n"
        f"{server.log()}"
    )


def login(
    page: Page, server: Server, username: str, password: str | None = None
) -> None:
    """Log ``page`` in as ``username`` through the login form.

    Without ``password`` the demo password of the role named ``username`` is used.
    Raises AssertionError when the login page still shows afterwards.
    """
    page.goto(f"{server.base_url}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(
        password if password is not None else DEMO_PASSWORDS[username]
    )
    page.locator("form.login-form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("form.login-form")).to_have_count(0)


def stop_server(server: Server) -> None:
    """Stop the server and its analysis workers, then reap the server process.

    SIGTERM goes to the process group that the server leads (it was started in a
    new session), so the worker processes it spawned stop with it. SIGINT would
    be ignored when the tests themselves run in a background job.
    """
    if server.process.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.process.wait(timeout=10)


def inotify_watches(pid: int) -> int:
    """Return how many inotify instances process ``pid`` has open (one per observer).

    Python 3.11 does not copy thread names into /proc/PID/task/*/comm (every
    thread shows "python"), so observer threads cannot be counted by name. Each
    watchdog inotify observer opens one inotify file descriptor, which /proc shows.
    """
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) == "anon_inode:inotify":
                count += 1
        except FileNotFoundError:
            continue
    return count


class HeldPageReady:
    """Hold back the browser's "page ready" message to the server until released.

    Bokeh sends every message as text frames (header, metadata, content) and two
    frames per binary buffer. The frames of one message are forwarded together,
    except those of the ``document_ready`` event, which wait for :meth:`release`.
    This opens the moment in which a slow browser shows a page that the server
    does not yet count as loaded, so a test can act in it.
    """

    def __init__(self, page: Page) -> None:
        self.held_frames: list[str | bytes] = []
        self._pending: list[str | bytes] = []
        self._server: WebSocketRoute | None = None
        page.route_web_socket(re.compile(r"/ws(\?|$)"), self._route)

    def _route(self, socket: WebSocketRoute) -> None:
        self._server = socket.connect_to_server()
        self._server.on_message(socket.send)
        socket.on_message(self._from_page)

    def _from_page(self, frame: str | bytes) -> None:
        self._pending.append(frame)
        header = json.loads(self._pending[0])
        if len(self._pending) < 3 + 2 * header.get("num_buffers", 0):
            return
        frames, self._pending = self._pending, []
        if isinstance(frames[2], str) and '"document_ready"' in frames[2]:
            self.held_frames.extend(frames)
            return
        for part in frames:
            self._server.send(part)

    def release(self) -> None:
        """Send the held messages to the server."""
        for part in self.held_frames:
            self._server.send(part)
        self.held_frames = []
