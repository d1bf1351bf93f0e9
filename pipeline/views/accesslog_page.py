"""The access-log page (접속기록): filtered entries, anomalies, chain check, reviews.

Entries are paged in DuckDB, newest first. The hash-chain check reads the whole
log, so it runs only when a user presses its button, and the result is kept for
every session of the server until the next check.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import panel as pn
import param

from pipeline import accessreview
from pipeline.accesslog import VerifyResult
from pipeline.auth import User, allowed
from pipeline.errors import RecwatchError
from pipeline.service import Service
from pipeline.views.formatting import escape, format_time, format_times
from pipeline.views.heading import heading
from pipeline.views.i18n import LABELS, code_label, code_labels, label
from pipeline.views.session import client_addr, record_access
from pipeline.views.table import TABLE_CSS, list_layout

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
ANOMALY_DAYS = 31
# Heights of the secondary tables, which scroll inside these boxes.
ANOMALY_TABLE_HEIGHT_PX = 300
REVIEW_TABLE_HEIGHT_PX = 240

# The page's labels, added to the shared label table when this module is imported.
ACCESS_LOG_LABELS = {
    "page.accesslog": {"ko": "접속기록", "en": "Access log"},
    "al.filters": {"ko": "검색 조건", "en": "Filters"},
    "al.actor": {"ko": "사용자", "en": "User"},
    "al.action": {"ko": "행위", "en": "Action"},
    "al.period": {"ko": "기간", "en": "Period"},
    "al.recording_id": {"ko": "녹취파일 번호", "en": "Recording id"},
    "al.request_id": {"ko": "신청 번호", "en": "Request id"},
    "al.entries": {"ko": "접속기록", "en": "Entries"},
    "al.anomalies": {
        "ko": "이상 징후 (최근 {days}일)",
        "en": "Anomalies (last {days} days)",
    },
    "al.no_anomalies": {"ko": "이상 징후가 없습니다.", "en": "No anomalies."},
    "al.chain": {"ko": "위·변조 검증", "en": "Tamper check"},
    "al.verify": {"ko": "지금 검증", "en": "Verify now"},
    "al.not_verified": {
        "ko": "아직 검증하지 않았습니다.",
        "en": "Not verified yet.",
    },
    "al.intact": {
        "ko": "정상: {entries}건, 연결 고리 이상 없음 (검증 {at})",
        "en": "Intact: {entries} entries, chain unbroken (checked {at})",
    },
    "al.broken": {
        "ko": "손상: {entries}건 중 {first_bad}번부터 이상 (검증 {at}). {problem}",
        "en": "Broken: of {entries} entries, entry {first_bad} on (checked {at}). "
        "{problem}",
    },
    "al.reviews": {"ko": "월별 점검", "en": "Monthly review"},
    "al.unreviewed": {
        "ko": "점검하지 않은 달: {months}",
        "en": "Months not reviewed: {months}",
    },
    "al.all_reviewed": {
        "ko": "모든 달을 점검했습니다.",
        "en": "Every month is reviewed.",
    },
    "al.no_review_table": {
        "ko": (
            "점검 기록 테이블(access_log_reviews)이 없습니다. 카탈로그를 갱신하십시오."
        ),
        "en": "The review table (access_log_reviews) is missing. Migrate the catalog.",
    },
    "al.month": {"ko": "점검 월", "en": "Month"},
    "al.note": {"ko": "점검 내용", "en": "Review note"},
    "al.mark_reviewed": {"ko": "점검 완료 기록", "en": "Record review"},
    "al.reviewed": {
        "ko": "{month} 점검을 기록했습니다.",
        "en": "Review of {month} recorded.",
    },
    "al.col.id": {"ko": "번호", "en": "Id"},
    "al.col.at": {"ko": "일시", "en": "Time"},
    "al.col.actor": {"ko": "사용자", "en": "User"},
    "al.col.role": {"ko": "역할", "en": "Role"},
    "al.col.client_addr": {"ko": "접속 주소", "en": "Address"},
    "al.col.action": {"ko": "행위", "en": "Action"},
    "al.col.object": {"ko": "대상", "en": "Object"},
    "al.col.result": {"ko": "결과", "en": "Result"},
    "al.col.detail": {"ko": "상세", "en": "Detail"},
    "al.col.anomaly": {"ko": "이상 징후", "en": "Anomaly"},
    "al.col.month": {"ko": "점검 월", "en": "Month"},
    "al.col.reviewer": {"ko": "점검자", "en": "Reviewer"},
    "al.col.reviewed_at": {"ko": "점검 일시", "en": "Reviewed"},
    "al.col.note": {"ko": "점검 내용", "en": "Note"},
    "anomaly.off_hours": {"ko": "근무시간 외", "en": "Outside working hours"},
    "anomaly.bulk_download": {"ko": "대량 다운로드", "en": "Bulk download"},
    "anomaly.no_approved_request": {
        "ko": "승인된 신청 없음",
        "en": "No approved request",
    },
    "anomaly.failed_logins": {"ko": "반복 로그인 실패", "en": "Repeated failed logins"},
}
LABELS.update(ACCESS_LOG_LABELS)

ENTRY_COLUMNS = (
    "id",
    "at",
    "actor",
    "role",
    "client_addr",
    "action",
    "object",
    "result",
    "detail",
    "anomaly",
)
# Entry column widths in pixels (see pipeline.views.table.RECORDING_WIDTHS).
ENTRY_WIDTHS = {
    "id": 70,
    "at": 140,
    "actor": 100,
    "role": 150,
    "client_addr": 110,
    "action": 130,
    "object": 170,
    "result": 70,
    "detail": 260,
    "anomaly": 150,
}


@dataclass(frozen=True)
class ChainCheck:
    """The last hash-chain check and when it ran."""

    result: VerifyResult
    checked_at: datetime


_chain_lock = threading.Lock()
_last_chain_check: ChainCheck | None = None


def _text_table(css_class: str, **options) -> pn.widgets.Tabulator:
    """Return a read-only table whose cells show plain, escaped text.

    ``options`` are further Tabulator options, ``list_layout()`` without any.
    """
    return pn.widgets.Tabulator(
        value=pd.DataFrame(),
        show_index=False,
        disabled=True,
        sortable=False,
        selectable=False,
        pagination=None,
        sizing_mode="stretch_width",
        css_classes=[css_class],
        stylesheets=[TABLE_CSS],
        **(options or list_layout()),
    )


class AccessLogPage(pn.viewable.Viewer):
    """Access-log entries with filters and paging, anomalies, chain check, reviews."""

    language = param.Selector(default="ko", objects=["ko", "en"])

    def __init__(self, service: Service, *, user: User | None = None, **params):
        super().__init__(**params)
        if user is None:
            raise RecwatchError("the access-log page needs a logged-in user.")
        self._service = service
        self._user = user
        self._page = 1
        self._total = 0

        self.actor = pn.widgets.Select(options={}, width=160, css_classes=["al-actor"])
        self.action = pn.widgets.Select(
            options={}, width=180, css_classes=["al-action"]
        )
        self.period = pn.widgets.DateRangePicker(
            value=None, width=240, css_classes=["al-period"]
        )
        self.recording_id = pn.widgets.TextInput(
            width=140, css_classes=["al-recording"]
        )
        self.request_id = pn.widgets.TextInput(width=140, css_classes=["al-request"])
        self._entries = _text_table(
            "access-log-table",
            **{**list_layout(), "layout": "fit_data_stretch"},
            widths=dict(ENTRY_WIDTHS),
        )
        self._previous = pn.widgets.Button(name="◀", width=70, css_classes=["al-prev"])
        self._next = pn.widgets.Button(name="▶", width=70, css_classes=["al-next"])
        self._status = pn.pane.HTML("", css_classes=["al-status"], sizing_mode=None)
        # The anomalies and reviews are read after the entries are shown (see
        # _show_secondary), so they wait behind a loading spinner until then.
        self._secondary_shown = False
        self._anomalies = _text_table(
            "anomaly-table", **list_layout(ANOMALY_TABLE_HEIGHT_PX)
        )
        self._anomalies.loading = True
        self._no_anomalies = pn.pane.HTML("", css_classes=["al-no-anomalies"])
        self._chain = pn.pane.HTML("", css_classes=["chain-status"])
        self._verify = pn.widgets.Button(
            button_type="primary", css_classes=["verify-chain"]
        )
        self._unreviewed = pn.pane.HTML("", css_classes=["unreviewed-months"])
        self._reviews = _text_table(
            "reviews-table", **list_layout(REVIEW_TABLE_HEIGHT_PX)
        )
        self._reviews.loading = True
        self._month = pn.widgets.Select(
            options=[], width=160, css_classes=["review-month"]
        )
        self._note = pn.widgets.TextAreaInput(height=80, css_classes=["review-note"])
        self._mark = pn.widgets.Button(
            button_type="success", css_classes=["mark-reviewed"]
        )
        self._review_message = pn.pane.HTML("", css_classes=["review-message"])
        self._titles = {
            key: heading()
            for key in (
                "al.filters",
                "al.entries",
                "al.anomalies",
                "al.chain",
                "al.reviews",
            )
        }

        for widget in (self.actor, self.action, self.period):
            widget.param.watch(self._first_page, "value")
        for widget in (self.recording_id, self.request_id):
            widget.param.watch(self._first_page, "value")
        self._previous.on_click(lambda _event: self._turn(-1))
        self._next.on_click(lambda _event: self._turn(+1))
        self._verify.on_click(self._run_verify)
        self._mark.on_click(self._mark_reviewed)
        can_review = allowed(user, "review_access_log")
        self._review_form = pn.Row(
            self._month,
            self._note,
            self._mark,
            visible=can_review,
            sizing_mode="stretch_width",
        )

        self._layout = pn.Column(
            self._titles["al.chain"],
            pn.Row(self._chain, self._verify, sizing_mode="stretch_width"),
            self._titles["al.anomalies"],
            self._no_anomalies,
            self._anomalies,
            self._titles["al.filters"],
            pn.FlexBox(
                self.actor,
                self.action,
                self.period,
                self.recording_id,
                self.request_id,
                sizing_mode="stretch_width",
            ),
            self._titles["al.entries"],
            self._entries,
            pn.Row(self._previous, self._status, self._next, sizing_mode=None),
            self._titles["al.reviews"],
            self._unreviewed,
            self._review_form,
            self._review_message,
            self._reviews,
            sizing_mode="stretch_width",
            css_classes=["page-content", "access-log-page"],
        )
        record_access(
            service,
            user,
            "view_access_log",
            object_type="page",
            object_ids=("accesslog",),
        )
        self._relabel()
        pn.state.onload(self._show_secondary)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    # --- reading ---

    def current_filter(self) -> accessreview.LogFilter:
        """Build the log filter from the widgets' values."""
        since = until = None
        if self.period.value:
            first, last = self.period.value
            tz = self._service.config.tz
            since = datetime.combine(first, time.min, tz)
            until = datetime.combine(last + timedelta(days=1), time.min, tz)
        return accessreview.LogFilter(
            actor=self.actor.value or None,
            action=self.action.value or None,
            since=since,
            until=until,
            recording_id=(self.recording_id.value or "").strip() or None,
            request_id=(self.request_id.value or "").strip() or None,
        )

    @param.depends("language", watch=True)
    def _relabel(self) -> None:
        language = self.language
        for key, pane in self._titles.items():
            pane.object = f"### {label(key, language, days=ANOMALY_DAYS)}"
        self.actor.name = label("al.actor", language)
        self.action.name = label("al.action", language)
        self.period.name = label("al.period", language)
        self.recording_id.name = label("al.recording_id", language)
        self.request_id.name = label("al.request_id", language)
        self._verify.name = label("al.verify", language)
        self._month.name = label("al.month", language)
        self._note.name = label("al.note", language)
        self._mark.name = label("al.mark_reviewed", language)
        self.refresh()

    def refresh(self) -> None:
        """Read filter choices, entries, anomalies and reviews from the catalog."""
        cursor = self._service.catalog.cursor()
        everyone = label("all", self.language)
        self.actor.options = {
            everyone: "",
            **{a: a for a in accessreview.distinct_values(cursor, "actor")},
        }
        self.action.options = {
            everyone: "",
            **{
                code_label("action", a, self.language): a
                for a in accessreview.distinct_values(cursor, "action")
            },
        }
        self._show_entries(cursor)
        self._show_chain()
        if self._secondary_shown:
            self._show_anomalies(cursor)
            self._show_reviews(cursor)

    def _show_secondary(self) -> None:
        """Read the anomalies and the monthly reviews for the first time."""
        self._secondary_shown = True
        cursor = self._service.catalog.cursor()
        self._show_anomalies(cursor)
        self._show_reviews(cursor)
        self._anomalies.loading = False
        self._reviews.loading = False

    def _first_page(self, *_events) -> None:
        self._page = 1
        self._show_entries(self._service.catalog.cursor())

    def _turn(self, step: int) -> None:
        pages = max(1, -(-self._total // PAGE_SIZE))
        self._page = min(max(1, self._page + step), pages)
        self._show_entries(self._service.catalog.cursor())

    def _show_entries(self, cursor) -> None:
        filters = self.current_filter()
        self._total = accessreview.count_entries(cursor, filters)
        pages = max(1, -(-self._total // PAGE_SIZE))
        self._page = min(self._page, pages)
        frame = accessreview.list_entries(
            cursor, filters, limit=PAGE_SIZE, offset=(self._page - 1) * PAGE_SIZE
        )
        flags = self._anomaly_flags(cursor, frame)
        tz = self._service.config.tz
        rows = pd.DataFrame(
            {
                "id": frame["id"].astype("int64"),
                "at": format_times(frame["at"], tz),
                "actor": frame["actor"].astype(object),
                "role": [
                    code_labels(
                        "role", role if isinstance(role, str) else "", self.language
                    )
                    for role in frame["role"]
                ],
                "client_addr": frame["client_addr"].fillna("").astype(object),
                "action": [
                    code_label("action", action, self.language)
                    for action in frame["action"]
                ],
                "object": [
                    self._object_text(kind, ids)
                    for kind, ids in zip(
                        frame["object_type"], frame["object_ids"], strict=True
                    )
                ],
                "result": [
                    code_label("result", result, self.language)
                    for result in frame["result"]
                ],
                "detail": frame["detail"].fillna("").astype(object),
                "anomaly": [flags.get(int(entry_id), "") for entry_id in frame["id"]],
            },
            columns=list(ENTRY_COLUMNS),
        )
        self._entries.titles = {
            name: label(f"al.col.{name}", self.language) for name in ENTRY_COLUMNS
        }
        self._entries.value = rows
        self._status.object = escape(
            label(
                "page_of",
                self.language,
                page=self._page,
                pages=pages,
            )
            + f" · {self._total:,}"
        )
        self._previous.disabled = self._page <= 1
        self._next.disabled = self._page >= pages

    def _object_text(self, kind: object, ids) -> str:
        """Return an entry's object type and ids; a page is named, not keyed."""
        ids = list(ids)
        if not isinstance(kind, str):
            return ", ".join(ids)
        if kind == "page":
            ids = [
                label(f"page.{key}", self.language) if f"page.{key}" in LABELS else key
                for key in ids
            ]
        return f"{code_label('object', kind, self.language)} {', '.join(ids)}".strip()

    def _anomaly_flags(self, cursor, frame: pd.DataFrame) -> dict[int, str]:
        """Return entry id -> anomaly labels for the entries of ``frame``."""
        if frame.empty:
            return {}
        first = frame["at"].min()
        found = accessreview.anomalies(
            cursor,
            self._service.config.tz,
            since=first.to_pydatetime() - timedelta(hours=1),
            limit=100_000,
        )
        flags: dict[int, list[str]] = {}
        for entry_id, kind in zip(found["id"], found["anomaly"], strict=True):
            flags.setdefault(int(entry_id), []).append(
                label(f"anomaly.{kind}", self.language)
            )
        return {entry_id: ", ".join(kinds) for entry_id, kinds in flags.items()}

    def _show_anomalies(self, cursor) -> None:
        since = datetime.now(UTC) - timedelta(days=ANOMALY_DAYS)
        frame = accessreview.anomalies(
            cursor, self._service.config.tz, since=since, limit=200
        )
        self._no_anomalies.object = (
            label("al.no_anomalies", self.language) if frame.empty else ""
        )
        self._anomalies.visible = not frame.empty
        self._anomalies.titles = {
            "id": label("al.col.id", self.language),
            "at": label("al.col.at", self.language),
            "actor": label("al.col.actor", self.language),
            "client_addr": label("al.col.client_addr", self.language),
            "action": label("al.col.action", self.language),
            "anomaly": label("al.col.anomaly", self.language),
        }
        self._anomalies.value = pd.DataFrame(
            {
                "id": frame["id"].astype("int64"),
                "at": format_times(frame["at"], self._service.config.tz),
                "actor": frame["actor"].astype(object),
                "client_addr": frame["client_addr"].fillna("").astype(object),
                "action": [
                    code_label("action", action, self.language)
                    for action in frame["action"]
                ],
                "anomaly": [
                    label(f"anomaly.{kind}", self.language) for kind in frame["anomaly"]
                ],
            }
        )

    # --- chain check ---

    def _run_verify(self, _event=None) -> None:
        global _last_chain_check
        head_file = Path(self._service.config["security.access_log_head_file"])
        cursor = self._service.catalog.cursor()
        result = accessreview.verify_chain(
            cursor, head_file if head_file.exists() else None
        )
        with _chain_lock:
            _last_chain_check = ChainCheck(result, datetime.now(UTC))
        record_access(
            self._service,
            self._user,
            "verify_access_log",
            object_type="page",
            object_ids=("accesslog",),
            detail={"intact": result.intact, "entries": result.entries},
        )
        self._show_chain()

    def _show_chain(self) -> None:
        with _chain_lock:
            check = _last_chain_check
        if check is None:
            self._chain.object = label("al.not_verified", self.language)
            return
        at = format_time(check.checked_at, self._service.config.tz)
        result = check.result
        if result.intact:
            text = label(
                "al.intact", self.language, entries=f"{result.entries:,}", at=at
            )
            color = "#2e7d32"
            state = "intact"
        else:
            text = label(
                "al.broken",
                self.language,
                entries=f"{result.entries:,}",
                first_bad=result.first_bad,
                at=at,
                problem=result.problem or "",
            )
            color = "#c62828"
            state = "broken"
        self._chain.object = (
            f'<div class="chain-{state}" style="color:{color};font-weight:600">'
            f"{escape(text)}</div>"
        )

    # --- monthly reviews ---

    def _show_reviews(self, cursor) -> None:
        language = self.language
        if not accessreview.table_exists(cursor, "access_log_reviews"):
            self._unreviewed.object = escape(label("al.no_review_table", language))
            self._review_form.visible = False
            self._reviews.visible = False
            return
        tz = self._service.config.tz
        months = accessreview.unreviewed_months(cursor, tz)
        if months:
            text = label(
                "al.unreviewed",
                language,
                months=", ".join(f"{month:%Y-%m}" for month in months),
            )
            self._unreviewed.object = (
                f'<div style="color:#c62828;font-weight:600">{escape(text)}</div>'
            )
        else:
            self._unreviewed.object = escape(label("al.all_reviewed", language))
        self._month.options = {f"{month:%Y-%m}": month for month in months}
        self._review_form.visible = bool(months) and allowed(
            self._user, "review_access_log"
        )
        frame = accessreview.list_reviews(cursor)
        self._reviews.visible = not frame.empty
        self._reviews.titles = {
            "month": label("al.col.month", language),
            "reviewer": label("al.col.reviewer", language),
            "reviewed_at": label("al.col.reviewed_at", language),
            "note": label("al.col.note", language),
        }
        self._reviews.value = pd.DataFrame(
            {
                "month": [f"{month:%Y-%m}" for month in frame["month"]],
                "reviewer": frame["reviewer"].astype(object),
                "reviewed_at": format_times(frame["reviewed_at"], tz),
                "note": frame["note"].astype(object),
            }
        )

    def _mark_reviewed(self, _event=None) -> None:
        month = self._month.value
        if month is None:
            return
        address = client_addr()
        try:
            self._service.catalog.write(
                lambda con: accessreview.mark_reviewed(
                    con,
                    self._user,
                    month,
                    self._note.value,
                    tz=self._service.config.tz,
                    client_addr=address,
                )
            )
        except RecwatchError as error:
            logger.warning("access log review rejected: %s", error)
            self._review_message.object = (
                f'<div style="color:#c62828">{escape(str(error))}</div>'
            )
            return
        self._note.value = ""
        self._review_message.object = escape(
            label("al.reviewed", self.language, month=f"{month:%Y-%m}")
        )
        self.refresh()
