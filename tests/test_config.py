from pathlib import Path

import pytest

from pipeline.config import CONFIG_ENV_VAR, SETTINGS, build_config, load_config
from pipeline.errors import ConfigError


def test_embedded_default_uses_repository_data(monkeypatch):
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    config = load_config()
    assert config.is_embedded_default
    assert config["demo.enabled"] is True
    assert config["retention.days"] == 30
    assert config.catalog_path.name == "catalog.duckdb"
    assert config.recorders[0].root == config.data_dir / "spool"


def test_toml_file_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    path = tmp_path / "recwatch.toml"
    path.write_text(
        'data_dir = "state"\n'
        "[retention]\ndays = 14\n"
        "[ingest]\nstable_s = 5\n"
        '[[recorders]]\nroot = "spool"\nprofile = "freepbx"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    assert config["retention.days"] == 14
    assert config["ingest.stable_s"] == 5.0
    assert config.data_dir == tmp_path / "state"
    assert config.recorders[0].root == tmp_path / "spool"
    assert config["demo.enabled"] is False


@pytest.mark.parametrize(
    ("table", "message"),
    [
        pytest.param(
            {"retention": {"days": 0}},
            r"retention\.days = 0: expected a value from 1 to 3650",
            id="days-zero",
        ),
        pytest.param(
            {"retention": {"days": "30"}},
            r"retention\.days = '30': expected a whole number of days",
            id="days-string",
        ),
        pytest.param(
            {"ingest": {"workers": True}},
            r"ingest\.workers = True: expected a whole number of processes",
            id="workers-bool",
        ),
        pytest.param(
            {"timezone": "Seoul"},
            r"timezone = 'Seoul': expected an IANA time zone name",
            id="bad-timezone",
        ),
        pytest.param(
            {"retention": {"purge_time": "25:00"}},
            r"purge_time = '25:00': expected a local time of day as HH:MM",
            id="bad-purge-time",
        ),
        pytest.param(
            {"ingest": {"stabel_s": 2}},
            r"unknown setting ingest\.stabel_s",
            id="misspelt-key",
        ),
        pytest.param(
            {"recorders": []},
            r"recorders = \[\]: expected at least one \[\[recorders\]\] table",
            id="no-recorders",
        ),
        pytest.param(
            {"recorders": [{"root": "/x", "profile": "avaya"}]},
            r"recorders\[0\]\.profile = 'avaya': expected one of freepbx",
            id="unknown-profile",
        ),
    ],
)
def test_invalid_setting_names_key_and_value(table, message):
    table = {"recorders": [{"root": "/spool"}], **table}
    with pytest.raises(ConfigError, match=message):
        build_config(table, base=Path("/"), source=Path("/recwatch.toml"))


def test_env_and_flag_must_agree(tmp_path, monkeypatch):
    first = tmp_path / "a.toml"
    second = tmp_path / "b.toml"
    for path in (first, second):
        path.write_text('[[recorders]]\nroot = "spool"\n', encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV_VAR, str(first))
    assert load_config(first).source == first
    with pytest.raises(ConfigError, match="give only one"):
        load_config(second)


def test_missing_and_malformed_files(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("retention = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML in .*broken.toml"):
        load_config(broken)


def test_every_setting_has_help_and_valid_default():
    for setting in SETTINGS:
        assert setting.help, setting.key
        assert setting.validate(setting.default) == setting.default


def test_non_utf8_file_names_byte(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'data_dir = "st\xe4te"\n')
    with pytest.raises(ConfigError, match=r"byte 0xe4 at offset 14 is not UTF-8"):
        load_config(path)


def test_config_path_that_is_a_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_ENV_VAR, str(tmp_path))
    with pytest.raises(ConfigError, match="could not be read: Is a directory"):
        load_config()


def test_data_dir_that_is_a_file(tmp_path):
    (tmp_path / "state").write_text("not a folder\n", encoding="utf-8")
    table = {"data_dir": "state", "recorders": [{"root": "spool"}]}
    with pytest.raises(ConfigError, match=r"data_dir = 'state': .*state is a file"):
        build_config(table, base=tmp_path, source=tmp_path / "recwatch.toml")
