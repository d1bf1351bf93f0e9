"""Shared fixtures: configurations, catalogs and recorder files under tmp_path."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.catalog import Catalog
from pipeline.config import Config, build_config
from pipeline.ingest import make_executor

RATE = 8000


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout_s: float = 30.0,
    interval_s: float = 0.05,
) -> object:
    """Poll ``predicate`` until it returns a true value; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s: {predicate}")
        time.sleep(interval_s)


def speechlike(seconds: float, *, seed: int = 0, gap_s: float = 1.0) -> np.ndarray:
    """Return tone bursts separated by ``gap_s`` of digital silence, shape (frames,)."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * RATE)
    t = np.arange(frames) / RATE
    signal = 0.3 * np.sin(2 * np.pi * 300 * t) * (0.8 + 0.2 * rng.random(frames))
    period = 2 * gap_s
    signal[(t % period) >= gap_s] = 0.0
    return signal.astype(np.float32)


def freepbx_name(
    start: datetime,
    *,
    kind: str = "in",
    line: str = "2101",
    other: str = "0200001234",
    unique: str = "1764812345.1",
    ext: str = "wav",
) -> str:
    """Return a FreePBX MixMonitor file name for a call starting at ``start``."""
    return f"{kind}-{line}-{other}-{start:%Y%m%d}-{start:%H%M%S}-{unique}.{ext}"


def write_call(
    root: Path,
    start: datetime,
    *,
    seconds: float = 3.0,
    subtype: str = "PCM_16",
    unique: str = "1764812345.1",
    seed: int = 0,
) -> Path:
    """Write one call under ``root/YYYY/MM/DD`` with a FreePBX name."""
    folder = root / f"{start:%Y}" / f"{start:%m}" / f"{start:%d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / freepbx_name(start, unique=unique)
    sf.write(path, speechlike(seconds, seed=seed), RATE, subtype=subtype)
    return path


def make_config(tmp_path: Path, **overrides: object) -> Config:
    """Return a configuration whose data and spool live under ``tmp_path``."""
    table: dict = {
        "data_dir": str(tmp_path / "data"),
        "recorders": [{"root": str(tmp_path / "spool"), "profile": "freepbx"}],
        "ingest": {"stable_s": 0.5, "reconcile_interval_s": 600.0, "workers": 2},
    }
    for key, value in overrides.items():
        section, _, name = key.partition("__")
        if name:
            table.setdefault(section, {})[name] = value
        else:
            table[key] = value
    (tmp_path / "spool").mkdir(exist_ok=True)
    return build_config(table, base=tmp_path, source=tmp_path / "recwatch.toml")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def catalog(config: Config) -> Iterator[Catalog]:
    with Catalog(config.catalog_path) as opened:
        yield opened


@pytest.fixture(scope="session")
def executor():
    """One analysis pool for the whole run: spawning workers costs seconds."""
    pool = make_executor(2)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def chromium():
    """Launch Debian's Chromium once for the whole run.

    Playwright's sync API runs its own event loop, and starting a second one
    while the first is open fails. So every browser test shares this one.
    """
    from browser import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture(autouse=True)
def _no_thread_leaks() -> Iterator[None]:
    """Fail a test that leaves recwatch threads running after it ends."""
    before = {thread.ident for thread in threading.enumerate()}
    yield
    deadline = time.monotonic() + 5
    while True:
        leaked = [
            thread.name
            for thread in threading.enumerate()
            if thread.ident not in before
            and thread.name.startswith(("recwatch", "catalog-writer"))
        ]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"threads left running: {leaked}"
