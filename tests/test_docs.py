"""The README stays in step with the code it documents."""

from pathlib import Path

import pytest

from pipeline.cli import app
from pipeline.config import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")


@pytest.mark.parametrize("key", [setting.key for setting in SETTINGS])
def test_readme_lists_setting(key):
    assert f"| `{key}` |" in README


def test_readme_gives_both_commands():
    assert "```sh\nscripts/serve\n```" in README
    assert "```sh\nscripts/test\n```" in README


@pytest.mark.parametrize(
    "command", [info.name or info.callback.__name__ for info in app.registered_commands]
)
def test_readme_mentions_command(command):
    assert f"recwatch {command}" in README
