"""Generate the large catalog that benchmarks/dashboard_scale.py measures.

Recordings are inserted with one DuckDB ``INSERT ... SELECT ... FROM range(n)``,
so a million take seconds. Access-log entries are hashed in Python with
``pipeline.accesslog.entry_hash``, so their chain verifies like a real one.
All values are made up: extensions 2000-3999 and other parties 02-0000-xxxx.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from pipeline import accesslog
from pipeline.auth import UserStore
from pipeline.catalog import DUCKDB_CONFIG, Catalog

SEOUL = ZoneInfo("Asia/Seoul")
LINE_COUNT = 2000
ACTOR_COUNT = 40
LOG_DAYS = 365
# Raise when the generated data changes, so that old cached catalogs are not used.
GENERATOR_VERSION = 1
BENCH_USER = "bench"
BENCH_PASSWORD = "bench-scale-2026"
# Keys of the dashboard's pages, for the page names in view_page entries.
PAGE_KEYS = (
    "overview",
    "retention",
    "recordings",
    "requests",
    "pending",
    "ledger",
    "holds",
    "lines",
    "purge",
    "accesslog",
    "users",
    "own_copy",
)

DEPARTMENTS = [
    f"{office} {team}팀"
    for office in (
        "민원봉사과",
        "정보통신과",
        "세무과",
        "교통행정과",
        "복지정책과",
        "환경관리과",
        "건축과",
        "도시계획과",
        "보건소",
        "문화관광과",
        "재난안전과",
        "총무과",
    )
    for team in range(1, 6)
]


# Each recording draws its group from h1 % 10000. Of all recordings, 94.4 % are
# from the last 30 days and 4.5 % were deleted by a past purge. Overdue, missing
# and held ones are 0.5 %, 0.5 % and 0.1 %. Analysis errors are 0.8 %, taken from
# the first group.
RECORDINGS_SQL = """
INSERT INTO recordings (
    root, path, file_name, file_name_nfc, size_bytes, mtime, mtime_ns, sha256,
    profile, start_time, start_time_source, line, other_party, direction, mode,
    call_id, department, sample_rate, channels, codec, container, decoder, frames,
    duration_s, silence_ratio, longest_silence_s, rms_dbfs, peak_dbfs,
    clipped_samples, stats, metadata, status, flags, error, analysis_count,
    first_seen, last_seen, analysed_at, missing_since, deleted_at, verdict,
    speech_ratio, snr_db, notice_found, notice_offset_s, notice_score)
WITH base AS (
    SELECT i, hash(i) AS h1, hash(i + 100000000) AS h2, hash(i + 200000000) AS h3
    FROM range($rows) t(i)
), drawn AS (
    SELECT *,
        h1 % 10000 AS grp,
        (2000 + (h2 >> 20) % $lines)::VARCHAR AS line,
        '020000' || lpad(((h3 >> 4) % 10000)::VARCHAR, 4, '0') AS other_party,
        CASE WHEN h3 % 2 = 0 THEN 'in' ELSE 'out' END AS direction,
        (h3 >> 8) % 100 AS codec_draw,
        (h2 >> 40) % 1000 AS verdict_draw,
        round(exp(ln(30) + ((h1 >> 16) % 10000) / 10000.0 * ln(40)), 1) AS duration_s
    FROM base
), timed AS (
    SELECT *,
        CASE
            WHEN grp < 9300 OR grp >= 9860
                THEN $now - to_seconds(((h2 >> 8) % (30 * 86400))::BIGINT)
            WHEN grp < 9750
                THEN $now - to_seconds((30 * 86400 + (h2 >> 8) % (30 * 86400))::BIGINT)
            WHEN grp < 9800
                THEN $now - to_seconds((30 * 86400 + (h2 >> 8) % (3 * 86400))::BIGINT)
            WHEN grp < 9850
                THEN $now - to_seconds(((h2 >> 8) % (30 * 86400))::BIGINT)
            ELSE $now - to_seconds((31 * 86400 + (h2 >> 8) % (60 * 86400))::BIGINT)
        END AS start_time,
        CASE WHEN line::INTEGER % 10 = 0 THEN 'full' ELSE 'selective' END AS mode,
        CASE
            WHEN codec_draw < 70 THEN 'pcm_16' WHEN codec_draw < 80 THEN 'mulaw'
            WHEN codec_draw < 90 THEN 'alaw' WHEN codec_draw < 95 THEN 'gsm'
            ELSE 'mp3' END AS codec,
        CASE
            WHEN grp BETWEEN 9860 AND 9939 THEN NULL
            WHEN verdict_draw < 900 THEN 'ok' WHEN verdict_draw < 930 THEN 'one_way'
            WHEN verdict_draw < 950 THEN 'all_silent'
            WHEN verdict_draw < 965 THEN 'too_short'
            WHEN verdict_draw < 980 THEN 'noisy' WHEN verdict_draw < 990 THEN 'clipped'
            ELSE 'empty' END AS verdict
    FROM drawn
), named AS (
    SELECT *,
        direction || '-' || line || '-' || other_party || '-'
            || strftime(timezone($tz, start_time), '%Y%m%d-%H%M%S') || '-'
            || (1764000000 + i)::VARCHAR || '.' || i::VARCHAR
            || CASE WHEN codec = 'mp3' THEN '.mp3' ELSE '.wav' END AS file_name,
        CASE WHEN mode = 'full' THEN (h3 >> 30) % 20 <> 0 END AS notice_found,
        start_time + to_seconds(duration_s + 5) AS first_seen
    FROM timed
)
SELECT
    '/srv/recorder',
    '/srv/recorder/' || strftime(timezone($tz, start_time), '%Y/%m/%d/') || file_name,
    file_name,
    file_name,
    CASE codec WHEN 'pcm_16' THEN 16000 WHEN 'gsm' THEN 1625 WHEN 'mp3' THEN 2000
        ELSE 8000 END * duration_s::BIGINT + 44,
    first_seen,
    epoch_us(first_seen) * 1000,
    sha256(i::VARCHAR),
    'freepbx',
    start_time,
    'file_name',
    line,
    other_party,
    direction,
    mode,
    (1764000000 + i)::VARCHAR || '.' || i::VARCHAR,
    $departments[line::INTEGER % len($departments) + 1],
    8000,
    1,
    codec,
    CASE WHEN codec = 'mp3' THEN 'mp3' ELSE 'wav' END,
    CASE WHEN codec = 'pcm_16' THEN 'numpy' ELSE 'libsndfile' END,
    (duration_s * 8000)::BIGINT,
    duration_s,
    ((h2 >> 30) % 600) / 1000.0,
    ((h2 >> 30) % 600) / 1000.0 * duration_s / 8,
    -18.0 - ((h3 >> 12) % 200) / 10.0,
    -3.0 - ((h3 >> 12) % 100) / 10.0,
    CASE WHEN verdict = 'clipped' THEN 1200 ELSE 0 END,
    json_object('frames', (duration_s * 50)::BIGINT, 'frame_ms', 20,
        'talk_over_s', ((h1 >> 40) % 300) / 10.0),
    json_object('uniqueid', (1764000000 + i)::VARCHAR),
    CASE WHEN grp BETWEEN 9300 AND 9749 THEN 'deleted'
        WHEN verdict IS NULL THEN 'error' ELSE 'ok' END,
    CASE WHEN verdict IS NULL THEN ['analysis_failed']
        WHEN verdict <> 'ok' THEN ['verdict_' || verdict]
        ELSE []::VARCHAR[] END
        || CASE WHEN notice_found = false THEN ['notice_missing']
            ELSE []::VARCHAR[] END,
    CASE WHEN verdict IS NULL THEN 'decoding failed: invalid WAV data chunk' END,
    1,
    first_seen,
    CASE WHEN grp BETWEEN 9300 AND 9749
        THEN start_time + INTERVAL 31 DAY ELSE $now END,
    first_seen,
    CASE WHEN grp BETWEEN 9800 AND 9849 THEN first_seen + INTERVAL 1 DAY END,
    CASE WHEN grp BETWEEN 9300 AND 9749 THEN start_time + INTERVAL 31 DAY END,
    verdict,
    CASE WHEN verdict IS NOT NULL THEN 0.2 + ((h1 >> 24) % 600) / 1000.0 END,
    CASE WHEN verdict IS NOT NULL THEN 10.0 + ((h1 >> 32) % 300) / 10.0 END,
    notice_found,
    CASE WHEN notice_found THEN ((h1 >> 44) % 30) / 10.0 END,
    CASE WHEN mode = 'full' THEN
        CASE WHEN notice_found THEN 0.8 ELSE 0.3 END + ((h3 >> 40) % 100) / 1000.0
    END
FROM named
ORDER BY start_time, i
"""

HOLDS_SQL = """
INSERT INTO holds (recording_id, reason, approver, placed_by, placed_at, ends_on,
                   ends_at)
SELECT id, '수사기관 증거보전 요청', '정보통신과장', 'operator',
       start_time + INTERVAL 29 DAY, ($now + INTERVAL 90 DAY)::DATE,
       $now + INTERVAL 90 DAY
FROM recordings
WHERE status = 'ok' AND missing_since IS NULL
  AND start_time < $now - INTERVAL 31 DAY
"""

LOG_ACTIONS = [
    # (action, weight, object type)
    ("view_page", 40, "page"),
    ("view_personal", 20, "page"),
    ("login", 10, None),
    ("logout", 8, None),
    ("play", 8, "recording"),
    ("search_personal", 5, "page"),
    ("download", 4, "recording"),
    ("login_failed", 2, None),
    ("export_own", 2, "recording"),
    ("view_access_log", 1, "page"),
]


def _insert_lines(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO lines SELECT (2000 + j)::VARCHAR,"
        " $departments[j % len($departments) + 1],"
        " CASE WHEN j % 10 = 0 THEN 'full' ELSE 'selective' END,"
        " CASE WHEN j % 10 = 0 AND j % 50 <> 0 THEN '정보통신과-' || (1000 + j) END,"
        " CASE WHEN j % 10 = 0 AND j % 50 <> 0 THEN '정보통신과장' END,"
        " CASE WHEN j % 10 = 0 AND j % 50 <> 0 THEN DATE '2026-01-02' END,"
        " CASE WHEN j % 10 = 0 AND j % 50 <> 0 THEN DATE '2030-12-31' END"
        " FROM range($lines) t(j)",
        {"departments": DEPARTMENTS, "lines": LINE_COUNT},
    )


def _log_content(index: int, rng, recording_ids: int) -> dict:
    """Return the fields of access-log entry ``index`` (1-based) from ``rng``."""
    actions, weights, kinds = zip(*LOG_ACTIONS, strict=True)
    choice = rng.choice(len(actions), p=[w / sum(weights) for w in weights])
    action, kind = actions[choice], kinds[choice]
    actor_number = int(rng.integers(1, ACTOR_COUNT + 1))
    object_ids: tuple[str, ...] = ()
    detail = None
    if kind == "page":
        page = (
            "recordings" if action != "view_page" else PAGE_KEYS[index % len(PAGE_KEYS)]
        )
        if action == "view_access_log":
            page = "accesslog"
        object_ids = (page,)
        if action == "view_personal":
            detail = {"page": page, "rows": 20}
        elif action == "search_personal":
            detail = {"page": page, "field": "file_name"}
    elif kind == "recording":
        object_ids = (str(int(rng.integers(1, recording_ids + 1))),)
        if action == "download":
            detail = {"reason_code": "request"}
    elif action == "login_failed":
        detail = {"reason": "bad_password"}
    return {
        "actor": f"user{actor_number:02d}",
        "role": "operator" if actor_number % 4 else "approver",
        "client_addr": f"10.20.{actor_number}.{10 + actor_number % 7}",
        "action": action,
        "object_type": kind,
        "object_ids": object_ids,
        "result": "failed" if action == "login_failed" else "ok",
        "detail": detail,
    }


def _log_times(count: int, now: datetime, rng) -> list[datetime]:
    """Return ``count`` increasing times on weekdays 09:00-18:00 Seoul, last year."""
    import numpy as np

    today = now.astimezone(SEOUL).date()
    days = [
        today - timedelta(days=offset)
        for offset in range(LOG_DAYS, 0, -1)
        if (today - timedelta(days=offset)).isoweekday() <= 5
    ]
    per_day = np.bincount(rng.integers(0, len(days), count), minlength=len(days))
    times = []
    for day, n in zip(days, per_day, strict=True):
        opening = datetime(day.year, day.month, day.day, 9, tzinfo=SEOUL)
        offsets_us = np.sort(rng.integers(0, 9 * 3600 * 1_000_000, int(n)))
        times.extend(
            (opening + timedelta(microseconds=int(us))).astimezone(UTC)
            for us in offsets_us
        )
    return times


def _insert_access_log(
    con: duckdb.DuckDBPyConnection, count: int, now: datetime, recording_ids: int
) -> None:
    """Insert ``count`` chained entries, hashed with ``accesslog.entry_hash``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(20260101)
    times = _log_times(count, now, rng)
    columns: dict[str, list] = {
        name: []
        for name in (
            "id",
            "at",
            "actor",
            "role",
            "client_addr",
            "action",
            "object_type",
            "object_ids",
            "result",
            "detail",
            "prev_hash",
            "hash",
        )
    }
    prev_hash = accesslog.GENESIS_HASH
    for entry_id, at in enumerate(times, start=1):
        content = _log_content(entry_id, rng, recording_ids)
        digest = accesslog.entry_hash(prev_hash, id=entry_id, at=at, **content)
        columns["id"].append(entry_id)
        columns["at"].append(accesslog.format_at(at))
        for key in ("actor", "role", "client_addr", "action", "object_type", "result"):
            columns[key].append(content[key])
        # "|" never occurs in an id or page key, so it joins the list safely.
        columns["object_ids"].append("|".join(content["object_ids"]))
        detail = content["detail"]
        columns["detail"].append(
            None if detail is None else accesslog.canonical_json(detail)
        )
        columns["prev_hash"].append(prev_hash)
        columns["hash"].append(digest)
        prev_hash = digest
    frame = pd.DataFrame(columns)
    con.register("generated_log", frame)
    con.execute(
        'INSERT INTO access_log SELECT id, "at"::TIMESTAMPTZ, actor, role,'
        " client_addr, action, object_type,"
        " CASE WHEN object_ids = '' THEN []::VARCHAR[]"
        "  ELSE string_split(object_ids, '|') END,"
        " result, detail::JSON, prev_hash, hash FROM generated_log ORDER BY id"
    )
    con.unregister("generated_log")


def cached_catalog(data_dir: Path, rows: int, log_rows: int) -> Path:
    """Return the cached catalog for the row counts, generating it when missing."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"catalog-{rows}-{log_rows}-v{GENERATOR_VERSION}.duckdb"
    info_path = path.with_suffix(".json")
    if path.exists() and info_path.exists():
        return path
    path.unlink(missing_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.unlink(missing_ok=True)
    Path(str(partial) + ".wal").unlink(missing_ok=True)
    now = datetime.now(UTC).replace(microsecond=0)
    print(f"generating {rows:,} recordings and {log_rows:,} access-log entries ...")
    started = time.perf_counter()
    with Catalog(partial):
        pass  # applies every migration
    con = duckdb.connect(str(partial), config=DUCKDB_CONFIG)
    try:
        con.execute("BEGIN")
        _insert_lines(con)
        con.execute(
            RECORDINGS_SQL,
            {
                "rows": rows,
                "lines": LINE_COUNT,
                "now": now,
                "tz": "Asia/Seoul",
                "departments": DEPARTMENTS,
            },
        )
        con.execute(HOLDS_SQL, {"now": now})
        con.execute("COMMIT")
        recordings_s = time.perf_counter() - started
        _insert_access_log(con, log_rows, now, rows)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    partial.rename(path)
    elapsed = time.perf_counter() - started
    info = {"generated_at": now.isoformat(), "seconds": round(elapsed, 1)}
    info_path.write_text(json.dumps(info) + "\n", encoding="utf-8")
    print(
        f"  generated in {elapsed:.1f} s (recordings {recordings_s:.1f} s),"
        f" {path.stat().st_size / 2**20:.0f} MiB"
    )
    return path


def working_copy(cached: Path, folder: Path) -> Path:
    """Copy the cached catalog into ``folder`` and move its recordings to now.

    Recording times move by the time since generation, so retention states are
    as generated. File names keep the generation time, and access-log times
    stay, because moving them would break the hash chain.
    """
    target = folder / "data" / "catalog.duckdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, target)
    info = json.loads(cached.with_suffix(".json").read_text(encoding="utf-8"))
    generated_at = datetime.fromisoformat(info["generated_at"])
    shift = datetime.now(UTC).replace(microsecond=0) - generated_at
    if shift > timedelta(minutes=10):
        con = duckdb.connect(str(target), config=DUCKDB_CONFIG)
        try:
            moved = ", ".join(
                f"{column} = {column} + $shift"
                for column in (
                    "start_time",
                    "mtime",
                    "first_seen",
                    "last_seen",
                    "analysed_at",
                    "missing_since",
                    "deleted_at",
                )
            )
            con.execute(f"UPDATE recordings SET {moved}", {"shift": shift})
            con.execute(
                "UPDATE holds SET placed_at = placed_at + $shift,"
                " ends_at = ends_at + $shift, ends_on = (ends_at + $shift)::DATE",
                {"shift": shift},
            )
            con.execute("CHECKPOINT")
        finally:
            con.close()
    return target


def write_config(folder: Path, catalog_path: Path) -> Path:
    """Write a TOML config with the catalog, an empty recorder root and no demo."""
    spool = folder / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    text = "\n".join(
        [
            f'data_dir = "{folder / "data"}"',
            f'catalog_path = "{catalog_path}"',
            "[demo]",
            "enabled = false",
            "[security]",
            "max_privileged_users = 20",
            "[[recorders]]",
            f'root = "{spool}"',
        ]
    )
    path = folder / "recwatch.toml"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def add_bench_user(folder: Path) -> None:
    """Add a user whose roles open all twelve pages.

    The auditor role cannot be combined with the others, and approver opens the
    access-log page instead.
    """
    store = UserStore(folder / "data" / "users.json")
    if BENCH_USER not in {user.username for user in store.list_users()}:
        store.add_user(
            BENCH_USER,
            BENCH_PASSWORD,
            ("viewer", "operator", "approver", "admin"),
            "벤치마크",
            "정보통신과",
        )
