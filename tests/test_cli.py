"""The recwatch command line on real files, run as a real process."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import typer
from conftest import RATE, freepbx_name, speechlike

from pipeline import synth
from pipeline.cliutil import parse_hold_end

RECWATCH = [sys.executable, "-m", "pipeline.cli"]
START = datetime(2026, 12, 3, 9, 30, 0)

JSON_KEYS = {
    "path",
    "start_time",
    "duration_s",
    "sample_rate",
    "channels",
    "codec",
    "silence_ratio",
    "longest_silence_s",
    "rms_dbfs",
    "peak_dbfs",
    "clipped_samples",
    "sha256",
    "status",
    "flags",
    "error",
    "line",
    "other_party",
    "direction",
    "mode",
    "retention_state",
    "expires_at",
}


def recwatch(*args: str, cwd: Path, env_extra: dict | None = None):
    env = {**os.environ, "RECWATCH_CONFIG": ""}
    env.update(env_extra or {})
    return subprocess.run(
        [*RECWATCH, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def recordings_json(db: Path, cwd: Path) -> list[dict]:
    result = recwatch("recordings", "--db", str(db), "--format", "json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def day_folder(root: Path) -> Path:
    folder = root / "2026" / "12" / "03"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def speech_spool(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    """A spool of calls built from recorded speech, one per codec, with the truth."""
    root = tmp_path_factory.mktemp("speech") / "spool"
    folder = day_folder(root)
    rng = np.random.default_rng(7)
    truth: dict[str, dict] = {}
    cases = [(codec, False) for codec in synth.CODECS] + [("pcm_16", True)]
    for index, (codec, stereo) in enumerate(cases):
        call = synth.build_call(20.0, rng=rng, stereo=stereo)
        extension = "mp3" if codec == "mp3" else "wav"
        name = freepbx_name(
            START.replace(minute=index), unique=f"1764812345.{index}", ext=extension
        )
        synth.write_audio(folder / name, call.samples, call.sample_rate, codec)
        truth[name] = {
            "codec": codec,
            "channels": 2 if stereo else 1,
            "duration_s": call.duration_s,
            "silence_ratio": 1.0 - call.speech_s / call.duration_s,
        }
    return root, truth


def test_ingest_once_catalogs_every_codec(speech_spool, tmp_path):
    root, truth = speech_spool
    db = tmp_path / "catalog.duckdb"
    result = recwatch("ingest", "--once", str(root), "--db", str(db), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    count = len(truth)
    assert (
        f"ingest: files={count} analysed={count} unchanged=0 skipped=0 "
        "errors_this_run=0 rows_in_error=0"
    ) in result.stderr

    records = recordings_json(db, tmp_path)
    assert len(records) == len(truth)
    for record in records:
        expected = truth[record["file_name"]]
        assert set(record) >= JSON_KEYS, record["file_name"]
        assert record["codec"] == expected["codec"], record["file_name"]
        assert record["sample_rate"] == RATE
        assert record["channels"] == expected["channels"]
        tolerance = 0.03 if expected["codec"] == "mp3" else 0.001
        assert record["duration_s"] == pytest.approx(
            expected["duration_s"], abs=tolerance
        )
        assert record["silence_ratio"] == pytest.approx(
            expected["silence_ratio"], abs=0.02
        ), record["file_name"]
        assert record["status"] == "ok"
        assert record["start_time"].endswith("+09:00")
        assert record["line"] == "2101"
        assert record["other_party"] == "0200001234"
        assert record["direction"] == "in"
        assert record["mode"] == "full"
        # The embedded default listens for the Asterisk recording notice, and
        # these full-mode calls do not start with it.
        assert record["flags"] == ["notice_missing"]
        assert record["notice_found"] is False
        assert record["verdict"] == "ok"


def test_ingest_twice_adds_no_rows(speech_spool, tmp_path):
    root, truth = speech_spool
    db = tmp_path / "catalog.duckdb"
    for _ in range(2):
        result = recwatch("ingest", "--once", str(root), "--db", str(db), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert len(recordings_json(db, tmp_path)) == len(truth)


def _wav_bytes(seconds: float = 2.0) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, speechlike(seconds), RATE, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def _with_sizes(data: bytes, riff: int, chunk: int) -> bytes:
    body = bytearray(data)
    body[4:8] = struct.pack("<I", riff)
    body[40:44] = struct.pack("<I", chunk)
    return bytes(body)


def build_bad_inputs(folder: Path) -> dict[str, tuple[str, str | None]]:
    """Write each bad input; return name -> (expected status, expected flag)."""
    wav = _wav_bytes()
    cases: dict[str, tuple[bytes, str, str | None]] = {
        "zero-bytes": (b"", "error", "empty"),
        "text-as-wav": (b"this is a note, not audio\n" * 10, "error", "not_audio"),
        "sizes-zero": (_with_sizes(wav, 0, 0), "ok", "header_incomplete"),
        "sizes-ffff": (
            _with_sizes(wav, 0xFFFFFFFF, 0xFFFFFFFF),
            "ok",
            "header_incomplete",
        ),
        "truncated": (wav[: len(wav) // 2], "ok", "truncated"),
        "header-only": (_with_sizes(wav[:44], 36, 0), "ok", "empty"),
    }
    expected: dict[str, tuple[str, str | None]] = {}
    for index, (label, (data, status, flag)) in enumerate(cases.items()):
        name = freepbx_name(START.replace(minute=index), unique=f"{label}.{index}")
        (folder / name).write_bytes(data)
        expected[name] = (status, flag)

    mp3 = folder / "source.mp3"
    sf.write(mp3, speechlike(2.0), RATE, format="MP3")
    name = freepbx_name(START.replace(minute=20), unique="mp3-as-wav.20")
    mp3.rename(folder / name)
    expected[name] = ("ok", "extension_mismatch")

    silent = freepbx_name(START.replace(minute=21), unique="silence.21")
    sf.write(folder / silent, np.zeros(RATE * 2), RATE, subtype="PCM_16")
    expected[silent] = ("ok", "all_silent")

    korean = "민원 상담"
    for form, minute in (("NFC", 22), ("NFD", 23)):
        name = unicodedata.normalize(form, f"{korean}-{minute}.wav")
        sf.write(folder / name, speechlike(1.0, seed=minute), RATE, subtype="PCM_16")
        expected[name] = ("ok", "name_unparsed")

    quoted = "call 'quoted' \"name\" $(x).wav"
    sf.write(folder / quoted, speechlike(1.0, seed=30), RATE, subtype="PCM_16")
    expected[quoted] = ("ok", "name_unparsed")
    return expected


def test_bad_inputs_each_give_one_clear_row(tmp_path):
    root = tmp_path / "spool"
    expected = build_bad_inputs(day_folder(root))
    db = tmp_path / "catalog.duckdb"
    result = recwatch("ingest", "--once", str(root), "--db", str(db), cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    records = {record["file_name"]: record for record in recordings_json(db, tmp_path)}
    nfc_names = {unicodedata.normalize("NFC", name) for name in expected}
    # The NFC and NFD names are two files on disk; the catalog shows both names
    # in NFC, so two rows share one display name and differ by path.
    assert len(records) == len(nfc_names)
    paths = {record["path"] for record in recordings_json(db, tmp_path)}
    assert len(paths) == len(expected)
    for name, (status, flag) in expected.items():
        record = records[unicodedata.normalize("NFC", name)]
        assert record["status"] == status, name
        if flag:
            assert flag in record["flags"], (name, record["flags"])
        if status == "error":
            assert record["error"], name
            assert str(day_folder(root)) in record["error"], name
        else:
            assert record["rms_dbfs"] is not None, name
            assert np.isfinite(record["rms_dbfs"]), name


def test_bad_input_durations_come_from_data_present(tmp_path):
    root = tmp_path / "spool"
    expected = build_bad_inputs(day_folder(root))
    db = tmp_path / "catalog.duckdb"
    recwatch("ingest", "--once", str(root), "--db", str(db), cwd=tmp_path)
    records = {record["file_name"]: record for record in recordings_json(db, tmp_path)}
    for label in ("zero", "ffff"):
        name = next(n for n in expected if f"sizes-{label}" in n)
        assert records[name]["duration_s"] == pytest.approx(2.0, abs=0.001)
    truncated = next(n for n in expected if "truncated" in n)
    assert records[truncated]["duration_s"] == pytest.approx(
        (len(_wav_bytes()) // 2 - 44) / 2 / RATE, abs=0.001
    )
    silent = next(n for n in expected if "silence" in n)
    assert records[silent]["silence_ratio"] == 1.0
    assert records[silent]["rms_dbfs"] == -120.0
    assert records[silent]["peak_dbfs"] == -120.0


@contextlib.contextmanager
def hold_catalog(db: Path) -> Iterator[subprocess.Popen]:
    """Keep ``db`` open in another process, as the dashboard server does."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pipeline.catalog import Catalog;"
            f" c = Catalog({str(db)!r}); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def write_spool_config(base: Path) -> Path:
    """Write a config with its data folder and one empty spool under ``base``."""
    config = base / "recwatch.toml"
    config.write_text(
        f'data_dir = "{base / "data"}"\n[[recorders]]\nroot = "{base}/spool"\n',
        encoding="utf-8",
    )
    (base / "spool").mkdir()
    return config


def publish_snapshot(config: Path, cwd: Path) -> Path:
    """Create the configured catalog by ingesting the empty spool, then snapshot it."""
    ingested = recwatch("ingest", "--once", "--config", str(config), cwd=cwd)
    assert ingested.returncode == 0, ingested.stderr
    published = recwatch("snapshot", "--config", str(config), cwd=cwd)
    assert published.returncode == 0, published.stderr
    return Path(published.stdout.strip().splitlines()[-1])


def test_ingest_refuses_catalog_owned_by_server(tmp_path):
    db = tmp_path / "catalog.duckdb"
    (tmp_path / "spool").mkdir()
    with hold_catalog(db) as holder:
        result = recwatch(
            "ingest", "--once", str(tmp_path / "spool"), "--db", str(db), cwd=tmp_path
        )
    assert result.returncode == 1
    assert f"is in use by process {holder.pid}" in result.stderr
    assert "Stop it and run the command again" in result.stderr


def test_locked_listing_points_to_snapshot(tmp_path):
    config = write_spool_config(tmp_path)
    snapshot = str(publish_snapshot(config, tmp_path))
    db = tmp_path / "data" / "catalog.duckdb"
    with hold_catalog(db) as holder:
        locked = recwatch("recordings", "--config", str(config), cwd=tmp_path)
        from_snapshot = recwatch(
            "recordings", "--config", str(config), "--db", snapshot, cwd=tmp_path
        )
    assert locked.returncode == 1
    assert f"is in use by process {holder.pid}" in locked.stderr
    assert "pass the newest snapshot, taken 20" in locked.stderr
    assert f"--db {snapshot}" in locked.stderr
    assert from_snapshot.returncode == 0, from_snapshot.stderr


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["purge", "--apply"], id="purge"),
        pytest.param(["ledger", "export", "--format", "csv"], id="ledger-export"),
        pytest.param(["ingest", "--once", "SPOOL"], id="ingest"),
    ],
)
def test_write_commands_refuse_snapshot(tmp_path, command):
    config = write_spool_config(tmp_path)
    snapshot = publish_snapshot(config, tmp_path)
    before = snapshot.read_bytes()
    arguments = [
        str(tmp_path / "spool") if part == "SPOOL" else part for part in command
    ]
    if command[0] == "ledger":
        arguments += ["--out", str(tmp_path / "ledger.csv")]

    result = recwatch(
        *arguments, "--config", str(config), "--db", str(snapshot), cwd=tmp_path
    )

    assert result.returncode != 0
    assert "is a published snapshot" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot.read_bytes() == before


def test_analyze_prints_stats_without_catalog(tmp_path):
    path = tmp_path / "call.wav"
    sf.write(path, speechlike(3.0), RATE, subtype="ULAW")
    result = recwatch("analyze", str(path), "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["codec"] == "mulaw"
    assert stats["duration_s"] == pytest.approx(3.0)
    assert not (tmp_path / "data").exists()


def test_missing_path_is_a_usage_error(tmp_path):
    result = recwatch("ingest", "--once", str(tmp_path / "nope"), cwd=tmp_path)
    assert result.returncode == 2
    assert "path not found" in result.stderr


def test_invalid_config_names_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[retention]\ndays = -1\n", encoding="utf-8")
    result = recwatch(
        "recordings", "--config", str(config), "--format", "json", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "retention.days = -1" in result.stderr


def test_demo_writes_a_spool(tmp_path):
    result = recwatch(
        "demo", "--out", str(tmp_path / "demo"), "--days", "2", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    audio = [p for p in (tmp_path / "demo").rglob("*") if p.suffix in (".wav", ".mp3")]
    assert len(audio) >= 10
    shutil.rmtree(tmp_path / "demo")


def test_error_text_is_printed_verbatim(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(
        '[[recorders]]\nroot = "spool"\nprofile = "avaya"\n', encoding="utf-8"
    )
    result = recwatch(
        "recordings", "--config", str(config), "--format", "json", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "define others under [profiles.NAME]" in result.stderr


def test_log_verify_uses_configured_head_file(tmp_path):
    from pipeline import accesslog
    from pipeline.catalog import Catalog
    from pipeline.config import load_config

    config_file = tmp_path / "recwatch.toml"
    config_file.write_text('[[recorders]]\nroot = "spool"\n', encoding="utf-8")
    config = load_config(config_file)
    with Catalog(config.catalog_path) as catalog:
        for index in range(3):
            catalog.write(
                lambda con, index=index: accesslog.append(
                    con, actor="operator", action="login", object_ids=(str(index),)
                )
            )
        catalog.write(
            lambda con: accesslog.record_head(
                con, Path(config["security.access_log_head_file"])
            )
        )
        # Cutting off the tail keeps the rest of the chain consistent; only the
        # recorded head shows that an entry is gone.
        catalog.write(lambda con: con.execute("DELETE FROM access_log WHERE id = 3"))
    result = recwatch("log", "verify", "--config", str(config_file), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "intact=no" in result.stdout
    assert "access-log-heads.txt" in result.stdout


def test_users_passwd_changes_demo_password(tmp_path):
    from pipeline import auth

    config_file = tmp_path / "recwatch.toml"
    config_file.write_text('[[recorders]]\nroot = "spool"\n', encoding="utf-8")
    users_file = tmp_path / "data" / "users.json"
    users_file.parent.mkdir()
    auth.create_demo_users(users_file)
    result = subprocess.run(
        [*RECWATCH, "users", "passwd", "operator", "--password-stdin"],
        input="a-new-secret-2027\n",
        cwd=tmp_path,
        env={**os.environ, "RECWATCH_CONFIG": str(config_file)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    store = auth.UserStore(users_file)
    assert store.login("operator", "a-new-secret-2027", "127.0.0.1").user
    assert not store.login("operator", "demo-operator-2026", "127.0.0.1").user
    assert "a-new-secret-2027" not in users_file.read_text(encoding="utf-8")
    listed = recwatch("users", "list", "--config", str(config_file), cwd=tmp_path)
    assert "operator\toperator" in listed.stdout
    logged = recwatch("log", "verify", "--config", str(config_file), cwd=tmp_path)
    assert "log: entries=1 intact=yes" in logged.stdout


def test_recordings_listing_is_logged(speech_spool, tmp_path):
    root, _ = speech_spool
    db = tmp_path / "catalog.duckdb"
    recwatch("ingest", "--once", str(root), "--db", str(db), cwd=tmp_path)
    recordings_json(db, tmp_path)
    result = recwatch("log", "verify", "--db", str(db), cwd=tmp_path)
    assert "log: entries=1 intact=yes" in result.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["serve", "dashboard.py", "--port", "5871"], ":5871", id="port"),
        pytest.param(
            ["serve", "dashboard.py", "--port=5872"], ":5872", id="port-equals"
        ),
        pytest.param(["serve", "dashboard.py"], ":5006", id="panel-default"),
        # scripts/serve passes its default first and the caller's --port after it.
        pytest.param(
            ["serve", "dashboard.py", "--port", "5006", "--port", "5187"],
            ":5187",
            id="last-port-wins",
        ),
    ],
)
def test_server_description_names_served_port(tmp_path, monkeypatch, argv, expected):
    from conftest import make_config

    from pipeline import service

    config = make_config(tmp_path)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(sys, "argv", ["panel", *argv])
    monkeypatch.delenv("RECWATCH_PORT", raising=False)
    service._write_server_file(config)

    described = service.describe_server(config)

    assert f"(pid {os.getpid()}, http://127.0.0.1{expected})" in described


def _future_day(days: int = 30) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["purge", "--dry-run"], id="purge"),
        pytest.param(
            ["hold", "add", "1", "--reason", "r", "--approver", "a", "--until", "DAY"],
            id="hold-add",
        ),
        pytest.param(["hold", "release", "1", "--reason", "r"], id="hold-release"),
        pytest.param(["hold", "list"], id="hold-list"),
        pytest.param(["lines", "import", "lines.csv"], id="lines-import"),
        pytest.param(["lines", "list"], id="lines-list"),
        pytest.param(["lines", "unapproved"], id="lines-unapproved"),
        pytest.param(["requests", "list"], id="requests-list"),
        pytest.param(["ledger", "export", "--out", "ledger.csv"], id="ledger-export"),
        pytest.param(["snapshot"], id="snapshot"),
        pytest.param(["recordings"], id="recordings"),
        pytest.param(["users", "roles", "operator", "--role", "viewer"], id="users"),
    ],
)
def test_missing_db_is_rejected_not_created(tmp_path, command):
    config = write_spool_config(tmp_path)
    missing = tmp_path / "typo.duckdb"
    arguments = [_future_day() if part == "DAY" else part for part in command]

    result = recwatch(
        *arguments, "--db", str(missing), "--config", str(config), cwd=tmp_path
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"catalog {missing} was not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert not missing.exists()


def test_lines_import_creates_configured_catalog(tmp_path):
    config = write_spool_config(tmp_path)
    registry = tmp_path / "lines.csv"
    registry.write_text("number,department,mode\n2102,민원봉사과,selective\n")

    result = recwatch(
        "lines", "import", str(registry), "--config", str(config), cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "lines: imported=1" in result.stdout
    assert (tmp_path / "data" / "catalog.duckdb").is_file()


@pytest.mark.parametrize("kind", ["text-file", "directory"])
@pytest.mark.parametrize(
    ("command", "code"),
    [
        pytest.param(["recordings"], 1, id="recordings"),
        pytest.param(["requests", "list"], 1, id="requests-list"),
        pytest.param(["hold", "list"], 1, id="hold-list"),
        pytest.param(["purge", "--dry-run"], 1, id="purge"),
        # log verify exits 2 when it cannot check, because 1 means a broken chain.
        pytest.param(["log", "verify"], 2, id="log-verify"),
    ],
)
def test_non_catalog_db_is_rejected(tmp_path, command, code, kind):
    config = write_spool_config(tmp_path)
    if kind == "directory":
        db = tmp_path / "folder"
        db.mkdir()
        expected = f"catalog {db} is a directory, not a catalog file"
    else:
        db = tmp_path / "accounts.txt"
        db.write_text("root:x:0:0:root:/root:/bin/sh\n", encoding="utf-8")
        expected = "exists, but it is not a valid DuckDB database file"
    before = sorted(tmp_path.rglob("*"))

    result = recwatch(*command, "--db", str(db), "--config", str(config), cwd=tmp_path)

    assert result.returncode == code, result.stdout + result.stderr
    assert expected in result.stderr
    assert str(db) in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            b"\xff\xfe garbage", "byte 0xff at offset 0 is not UTF-8", id="bytes"
        ),
        pytest.param(
            b'data_dir = "DATA"\n[[recorders]]\nroot = "spool"\n',
            "is a file. Expected a folder",
            id="data-dir-file",
        ),
    ],
)
def test_bad_config_file_is_a_usage_error(tmp_path, content, expected):
    (tmp_path / "data-file").write_text("not a folder\n", encoding="utf-8")
    config = tmp_path / "recwatch.toml"
    config.write_bytes(content.replace(b"DATA", str(tmp_path / "data-file").encode()))

    result = recwatch("recordings", "--config", str(config), cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert str(config) in result.stderr or "data-file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("relative_out", "code", "expected"),
    [
        pytest.param("taken", 2, "is a file, not a folder", id="out-is-file"),
        pytest.param("taken/spool", 1, "Not a directory", id="out-under-file"),
    ],
)
def test_demo_rejects_out_not_folder(tmp_path, relative_out, code, expected):
    (tmp_path / "taken").write_text("a file\n", encoding="utf-8")
    out = tmp_path / relative_out

    result = recwatch("demo", "--out", str(out), "--days", "1", cwd=tmp_path)

    assert result.returncode == code, result.stderr
    assert expected in result.stderr
    assert str(out) in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_analyze_rejects_non_regular_file(tmp_path, kind):
    path = tmp_path / "entry"
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)

    result = recwatch("analyze", str(path), cwd=tmp_path)

    assert result.returncode == 2
    assert f"not a regular file: {path}" in result.stderr
    assert "file not found" not in result.stderr


@pytest.mark.parametrize(
    ("command", "header"),
    [
        pytest.param(["hold", "list"], "id\trecording\tstate", id="hold-list"),
        pytest.param(["lines", "list"], "number,department", id="lines-list"),
        pytest.param(["lines", "unapproved"], "unapproved: 0", id="lines-unapproved"),
        pytest.param(["requests", "list", "-f", "csv"], "number,status", id="requests"),
    ],
)
def test_read_only_listing_accepts_snapshot(tmp_path, command, header):
    config = write_spool_config(tmp_path)
    snapshot = publish_snapshot(config, tmp_path)
    before = snapshot.read_bytes()

    result = recwatch(
        *command, "--config", str(config), "--db", str(snapshot), cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert header in result.stdout
    assert snapshot.read_bytes() == before


def test_locked_hold_list_points_to_snapshot(tmp_path):
    config = write_spool_config(tmp_path)
    snapshot = publish_snapshot(config, tmp_path)
    db = tmp_path / "data" / "catalog.duckdb"

    with hold_catalog(db) as holder:
        result = recwatch("hold", "list", "--config", str(config), cwd=tmp_path)

    assert result.returncode == 1
    assert f"is in use by process {holder.pid}" in result.stderr
    assert f"--db {snapshot}" in result.stderr


def test_locked_ledger_export_hints_at_ledger_page(tmp_path):
    config = write_spool_config(tmp_path)
    publish_snapshot(config, tmp_path)
    db = tmp_path / "data" / "catalog.duckdb"
    out = tmp_path / "ledger.csv"

    with hold_catalog(db) as holder:
        result = recwatch(
            "ledger",
            "export",
            "-f",
            "csv",
            "--out",
            str(out),
            "--config",
            str(config),
            cwd=tmp_path,
        )

    assert result.returncode == 1
    assert f"is in use by process {holder.pid}" in result.stderr
    assert "관리대장 (Ledger) page" in result.stderr
    assert "runs ingest" not in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        pytest.param("2027-02-30", "that date does not exist", id="no-such-day"),
        pytest.param("2027/01/31", "expected YYYY-MM-DD", id="slashes"),
        pytest.param("20270131", "expected YYYY-MM-DD", id="basic-format"),
        pytest.param("2037-01-01", "at most 10 years ahead, on 2036-12-04", id="far"),
    ],
)
def test_hold_end_rejects_bad_dates(capsys, until, expected):
    with pytest.raises(typer.Exit) as raised:
        parse_hold_end(until, date(2026, 12, 4))

    assert raised.value.exit_code == 2
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize(
    ("today", "until"),
    [
        pytest.param(date(2026, 12, 4), "2036-12-04", id="ten-years"),
        pytest.param(date(2028, 2, 29), "2038-02-28", id="from-leap-day"),
        pytest.param(date(2026, 12, 4), "2028-02-29", id="leap-day"),
    ],
)
def test_hold_end_accepts_dates_up_to_limit(today, until):
    assert parse_hold_end(until, today) == date.fromisoformat(until)


def test_hold_add_rejects_far_end_date(tmp_path):
    config = write_spool_config(tmp_path)
    result = recwatch(
        "hold",
        "add",
        "1",
        "--reason",
        "r",
        "--approver",
        "a",
        "--until",
        "2999-01-01",
        "--config",
        str(config),
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert "invalid --until '2999-01-01': a hold may end at most 10 years" in (
        result.stderr
    )
    assert not (tmp_path / "data" / "catalog.duckdb").exists()


def _passwd(tmp_path: Path, config: Path, username: str):
    return subprocess.run(
        [*RECWATCH, "users", "passwd", username, "--config", str(config)],
        input="a-new-secret-2027\na-new-secret-2027\n",
        cwd=tmp_path,
        env={**os.environ, "RECWATCH_CONFIG": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_users_passwd_checks_user_before_prompt(tmp_path):
    from pipeline import auth

    config = write_spool_config(tmp_path)
    auth.create_demo_users(tmp_path / "data" / "users.json")

    result = _passwd(tmp_path, config, "nobody")

    assert result.returncode == 1
    assert "user 'nobody' was not found" in result.stderr
    assert "new password" not in result.stdout + result.stderr


def test_users_passwd_checks_lock_before_prompt(tmp_path):
    from pipeline import auth

    config = write_spool_config(tmp_path)
    auth.create_demo_users(tmp_path / "data" / "users.json")

    with hold_catalog(tmp_path / "data" / "catalog.duckdb") as holder:
        result = _passwd(tmp_path, config, "operator")

    assert result.returncode == 1
    assert f"is in use by process {holder.pid}" in result.stderr
    assert "new password" not in result.stdout + result.stderr
