"""Tests of the retention page's reads: lists at once, each chart when shown.

Outside a served document ``pn.state.onload`` runs its callback at once, so a
page built here is in the state that a browser shows after the first render.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from request_fixtures import OPERATOR, add_recording

from pipeline.catalog import Catalog
from pipeline.service import Service
from pipeline.views.retention import RetentionPage

# Age of each seeded call in days -> its retention state with 30 days' retention
# and due-soon at 3 days.
AGES = {35.0: "overdue", 28.5: "due", 1.0: "active"}


@pytest.fixture
def service(config, catalog: Catalog, tmp_path: Path) -> Iterator[Service]:
    """Return an unstarted Service whose catalog contains one call per state."""
    now = datetime.now(UTC)
    for seed, age_days in enumerate(AGES):
        add_recording(
            catalog,
            tmp_path / "spool",
            now - timedelta(days=age_days),
            line=f"29{seed:02d}",
            seed=seed,
        )
    owner = Service(config)
    owner.catalog = catalog
    yield owner


def test_retention_lists_overdue_and_due(service: Service):
    page = RetentionPage(service, user=OPERATOR)
    overdue = page._overdue._table.value
    due = page._due._table.value
    assert list(overdue["state_code"]) == ["overdue"]
    assert list(due["state_code"]) == ["due"]
    assert not page._due.loading
    assert page._warning.visible


def test_retention_draws_only_visible_chart(service: Service):
    page = RetentionPage(service, user=OPERATOR)
    expiry = page._charts["by_expiry_day"]
    by_line = page._charts["by_line"]
    assert expiry.object is not None
    assert not expiry.loading
    assert by_line.object is None
    assert by_line.loading


def test_retention_tab_draws_its_chart(service: Service):
    page = RetentionPage(service, user=OPERATOR)
    page._chart_tabs.active = 1
    by_line = page._charts["by_line"]
    assert by_line.object is not None
    assert not by_line.loading
    assert page._charts["by_department"].object is None


def test_retention_language_keeps_active_tab(service: Service):
    page = RetentionPage(service, user=OPERATOR)
    page._chart_tabs.active = 2
    page.language = "en"
    assert page._chart_tabs.active == 2
    assert page._chart_tabs._names == [
        "Recordings by expiry day",
        "Recordings by line",
        "Recordings by department",
    ]
    assert list(page._overdue._table.value["state"]) == ["Overdue"]
