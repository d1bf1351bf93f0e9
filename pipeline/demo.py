"""Write the demo recorder spool: made-up calls in FreePBX/Asterisk MixMonitor layout.

The embedded default configuration catalogs this spool, so a fresh install shows every
state on the dashboard. Calls spread over the last 40 days, so at 30-day retention
some are active, some due within 3 days and some overdue. The spool mixes codecs,
includes full-mode calls without the recording notice, lines without a current
approval, sidecars (one of which contradicts its file name), a file in MP3 named
``.wav`` and two broken files. Every person, line and number is made up: other
parties are ``02-0000-xxxx`` landlines and ``010-0000-xxxx`` mobiles.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import time as time_module
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np

from pipeline import synth

logger = logging.getLogger(__name__)

SEOUL = ZoneInfo("Asia/Seoul")

# mode "full" records every call and needs an approval document. Lines 2301 and 2502
# are full without approval, and 2401's approval has expired, so the dashboard must
# flag their calls.
DEMO_LINES: list[dict] = [
    {
        "number": "2101",
        "department": "민원봉사과",
        "mode": "full",
        "approval_doc": "정보통신과-1234",
        "approved_by": "정보통신과장",
        "valid_from": "2026-01-02",
        "valid_to": "2030-12-31",
    },
    {"number": "2102", "department": "민원봉사과", "mode": "selective"},
    {
        "number": "2201",
        "department": "건축과",
        "mode": "full",
        "approval_doc": "정보통신과-1311",
        "approved_by": "정보통신과장",
        "valid_from": "2026-02-16",
        "valid_to": "2030-12-31",
    },
    {"number": "2202", "department": "건축과", "mode": "selective"},
    {"number": "2301", "department": "복지정책과", "mode": "full"},
    {"number": "2302", "department": "복지정책과", "mode": "selective"},
    {
        "number": "2401",
        "department": "교통행정과",
        "mode": "full",
        "approval_doc": "정보통신과-0987",
        "approved_by": "정보통신과장",
        "valid_from": "2024-03-04",
        "valid_to": "2025-03-03",
    },
    {"number": "2402", "department": "교통행정과", "mode": "selective"},
    {
        "number": "2501",
        "department": "세무과",
        "mode": "full",
        "approval_doc": "정보통신과-1402",
        "approved_by": "정보통신과장",
        "valid_from": "2026-03-03",
        "valid_to": "2030-12-31",
    },
    {"number": "2502", "department": "세무과", "mode": "full"},
]

LINE_COLUMNS = (
    "number",
    "department",
    "mode",
    "approval_doc",
    "approved_by",
    "valid_from",
    "valid_to",
)

# Share of each codec among demo calls. "stereo" is two-channel PCM WAV.
_CODEC_WEIGHTS = {
    "pcm_16": 0.42,
    "mulaw": 0.30,
    "alaw": 0.10,
    "gsm": 0.08,
    "mp3": 0.05,
    "stereo": 0.05,
}
# Asterisk's wav49 format (GSM 6.10 in WAV) uses the upper-case .WAV suffix.
_SUFFIXES = {"gsm": "WAV", "mp3": "mp3"}

_DURATION_S = (20.0, 240.0)
_OFFICE_HOURS = (time(9, 0), time(18, 0))
_AFTER_HOURS_SHARE = 0.12
_NOTICE_MISSING_SHARE = 0.1
_SIDECAR_SHARE = 0.08


@dataclass(frozen=True)
class _CallPlan:
    """Every choice that defines one demo call, drawn before any audio is built."""

    line: dict
    kind: str
    other_party: str
    direction: str
    codec: str
    duration_s: float
    notice: bool
    dead_channel: int | None = None
    suffix: str | None = None


def write_demo_lines_csv(path: Path) -> None:
    """Write ``DEMO_LINES`` as UTF-8 CSV with a header row of ``LINE_COLUMNS``."""
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=LINE_COLUMNS, restval="")
        writer.writeheader()
        for line in DEMO_LINES:
            writer.writerow(line)


def load_demo_lines(con: duckdb.DuckDBPyConnection) -> int:
    """Insert or replace ``DEMO_LINES`` in the catalog's lines table.

    Returns the number of lines written.
    """
    rows = [tuple(line.get(column) for column in LINE_COLUMNS) for line in DEMO_LINES]
    con.executemany(
        "INSERT OR REPLACE INTO lines "
        "(number, department, mode, approval_doc, approved_by, valid_from, valid_to) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


def live_rng() -> np.random.Generator:
    """Return an unseeded generator for calls written while the server runs."""
    return np.random.default_rng()


def write_demo_spool(
    root: Path,
    *,
    days: int = 40,
    calls_per_day: int = 8,
    now: datetime | None = None,
    seed: int = 0,
) -> list[Path]:
    """Write ``days`` days of demo calls under ``root`` and return every file written.

    The list contains the audio files, their sidecars and the two broken files (a
    0-byte file and a text file named ``.wav``), sorted by path. The same ``seed`` and
    ``now`` give the same files with the same content. ``now`` defaults to the
    current time, and naive values are taken as Asia/Seoul.
    """
    now = _seoul(now or datetime.now(SEOUL))
    rng = np.random.default_rng(seed)
    starts = _call_starts(rng, now, days, calls_per_day)
    plans = [_plan_call(rng) for _ in starts]
    _add_showcase_cases(rng, plans)

    written: list[Path] = []
    for sequence, (start, plan) in enumerate(zip(starts, plans, strict=True)):
        with_sidecar = bool(rng.random() < _SIDECAR_SHARE) or sequence == 1
        call_rng = np.random.default_rng([seed, sequence])
        path = _write_call(root, start, plan, call_rng, sequence)
        written.append(path)
        if with_sidecar:
            # The second call's sidecar names a different line from its file name.
            contradicts = sequence == 1
            written.append(_write_sidecar(path, plan, contradicts=contradicts))
    written.extend(_write_broken_files(root, now, len(starts)))
    logger.info("wrote a demo spool of %d files for %d days", len(written), days)
    return sorted(written)


def write_demo_call(
    root: Path,
    start: datetime,
    *,
    rng: np.random.Generator,
    sidecar: bool = False,
) -> Path:
    """Write one random demo call that starts at ``start`` and return its path.

    A naive ``start`` is taken as Asia/Seoul. The file appears under its final name
    only when complete, because it is written under a hidden ``.part`` name first.
    """
    plan = _plan_call(rng)
    sequence = int(rng.integers(1_000_000))
    path = _write_call(root, _seoul(start), plan, rng, sequence)
    if sidecar:
        _write_sidecar(path, plan, contradicts=False)
    return path


def _seoul(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=SEOUL)
    return moment.astimezone(SEOUL)


def _call_starts(
    rng: np.random.Generator, now: datetime, days: int, calls_per_day: int
) -> list[datetime]:
    """Draw call start times, mostly in office hours, on each of the last days."""
    starts = []
    for day_index in range(days):
        day = (now - timedelta(days=day_index)).date()
        for _ in range(calls_per_day):
            start = _random_time(rng, day)
            if start > now - timedelta(seconds=_DURATION_S[1]):
                # A call must have ended before now, so today's late slots move back
                # one day.
                start -= timedelta(days=1)
            starts.append(start)
    starts.sort()
    return starts


def _random_time(rng: np.random.Generator, day: date) -> datetime:
    """Return a start on ``day``: office hours, or 07:00-09:00 and 18:00-22:00."""
    if rng.random() < _AFTER_HOURS_SHARE:
        windows = [(7 * 3600, 9 * 3600), (18 * 3600, 22 * 3600)]
        low, high = windows[int(rng.integers(2))]
    else:
        low = _OFFICE_HOURS[0].hour * 3600
        high = _OFFICE_HOURS[1].hour * 3600
    seconds = int(rng.integers(low, high))
    midnight = datetime.combine(day, time(0, 0), tzinfo=SEOUL)
    return midnight + timedelta(seconds=seconds)


def _plan_call(rng: np.random.Generator) -> _CallPlan:
    """Draw line, kind, other party, codec, duration and notice for one call."""
    line = DEMO_LINES[int(rng.integers(len(DEMO_LINES)))]
    direction = "in" if rng.random() < 0.6 else "out"
    if line["mode"] == "selective":
        kind = "ondemand"
    elif rng.random() < 0.1:
        kind, direction = "exten", "internal"
    else:
        kind = direction

    if kind == "exten":
        others = [other for other in DEMO_LINES if other is not line]
        other_party = others[int(rng.integers(len(others)))]["number"]
    elif rng.random() < 0.7:
        other_party = f"020000{int(rng.integers(10_000)):04d}"
    else:
        other_party = f"0100000{int(rng.integers(10_000)):04d}"

    codecs = list(_CODEC_WEIGHTS)
    weights = np.array(list(_CODEC_WEIGHTS.values()))
    codec = codecs[int(rng.choice(len(codecs), p=weights / weights.sum()))]
    dead_channel = None
    if codec == "stereo" and rng.random() < 0.3:
        dead_channel = int(rng.integers(2))

    # The log of the duration follows Beta(1, 2) over the range, so the median call
    # lasts about 40 s and one in twenty lasts more than about 2 min 20 s.
    low, high = np.log(_DURATION_S[0]), np.log(_DURATION_S[1])
    log_duration = low + (high - low) * rng.beta(1.0, 2.0)
    duration_s = round(float(np.exp(log_duration)), 1)
    notice = line["mode"] == "full" and rng.random() >= _NOTICE_MISSING_SHARE
    return _CallPlan(
        line=line,
        kind=kind,
        other_party=other_party,
        direction=direction,
        codec=codec,
        duration_s=duration_s,
        notice=notice,
        dead_channel=dead_channel,
    )


def _add_showcase_cases(rng: np.random.Generator, plans: list[_CallPlan]) -> None:
    """Make sure the rare cases appear at least once, whatever the seed draws."""
    if len(plans) < 3:
        return
    # An MP3 file with a .wav suffix shows the extension_mismatch flag.
    index = int(rng.integers(len(plans)))
    plans[index] = _replace(plans[index], codec="mp3", suffix="wav", dead_channel=None)
    # A full-mode call without the notice shows the missing-notice violation.
    full = [i for i, plan in enumerate(plans) if plan.line["mode"] == "full"]
    if full:
        index = full[int(rng.integers(len(full)))]
        plans[index] = _replace(plans[index], notice=False)
    if not any(plan.codec == "stereo" for plan in plans):
        index = int(rng.integers(len(plans)))
        plans[index] = _replace(plans[index], codec="stereo")


def _replace(plan: _CallPlan, **changes: object) -> _CallPlan:
    fields = {**plan.__dict__, **changes}
    return _CallPlan(**fields)


def _write_call(
    root: Path,
    start: datetime,
    plan: _CallPlan,
    rng: np.random.Generator,
    sequence: int,
) -> Path:
    """Build the call's audio and write it under its MixMonitor name."""
    stereo = plan.codec == "stereo"
    call = synth.build_call(
        plan.duration_s,
        rng=rng,
        stereo=stereo,
        dead_channel=plan.dead_channel,
        notice=plan.notice,
    )
    codec = "pcm_16" if stereo else plan.codec
    suffix = plan.suffix or _SUFFIXES.get(codec, "wav")
    path = _call_path(root, start, plan, sequence, suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    synth.write_audio(partial, call.samples, call.sample_rate, codec)
    os.replace(partial, path)
    end = start + timedelta(seconds=plan.duration_s)
    # A live call written now would otherwise get an mtime in the future.
    if end.timestamp() <= time_module.time():
        _set_mtime(path, end)
    return path


def _call_path(
    root: Path, start: datetime, plan: _CallPlan, sequence: int, suffix: str
) -> Path:
    """Return ``root/YYYY/MM/DD/{kind}-{line}-{other}-{date}-{time}-{uniqueid}``."""
    local = start.astimezone(SEOUL)
    # Asterisk's uniqueid is the channel's creation time in epoch seconds and a
    # sequence number.
    uniqueid = f"{int(local.timestamp())}.{sequence}"
    name = (
        f"{plan.kind}-{plan.line['number']}-{plan.other_party}-"
        f"{local:%Y%m%d}-{local:%H%M%S}-{uniqueid}.{suffix}"
    )
    return root / f"{local:%Y}" / f"{local:%m}" / f"{local:%d}" / name


def _write_sidecar(audio: Path, plan: _CallPlan, *, contradicts: bool) -> Path:
    """Write the call's JSON sidecar. With ``contradicts``, it names another line."""
    line = plan.line
    if contradicts:
        line = next(other for other in DEMO_LINES if other is not plan.line)
    document = {
        "line": line["number"],
        "other_party": plan.other_party,
        "direction": plan.direction,
        "department": line["department"],
    }
    path = audio.with_suffix(".json")
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return path


def _write_broken_files(root: Path, now: datetime, sequence: int) -> list[Path]:
    """Write a 0-byte call file and a text file named like a call, dated yesterday."""
    start = (now - timedelta(days=1)).replace(hour=10, minute=12, second=5)
    line = DEMO_LINES[0]
    empty_plan = _CallPlan(line, "in", "0200009999", "in", "pcm_16", 0.0, False)
    empty = _call_path(root, start, empty_plan, sequence, "wav")
    empty.parent.mkdir(parents=True, exist_ok=True)
    empty.write_bytes(b"")

    later = start + timedelta(minutes=47)
    text_plan = _CallPlan(line, "out", "0200008888", "out", "pcm_16", 0.0, False)
    text = _call_path(root, later, text_plan, sequence + 1, "wav")
    text.write_text(
        "MixMonitor: failed to open recording channel, disk quota exceeded\n",
        encoding="utf-8",
    )
    for path, moment in ((empty, start), (text, later)):
        _set_mtime(path, moment)
    return [empty, text]


def _set_mtime(path: Path, moment: datetime) -> None:
    # A recorder closes the file when the call ends, so the end time is its mtime.
    stamp = moment.timestamp()
    os.utime(path, (stamp, stamp))
