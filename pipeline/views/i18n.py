"""Dashboard labels in Korean and English.

Korean is the default and uses the terms of the city's recording regulation
(녹취파일, 보존기간, 만료 임박, 기한 경과, ...). Every label the dashboard shows is
declared here once, so a page never hard-codes text in one language.
"""

from __future__ import annotations

LANGUAGES = {"한국어": "ko", "English": "en"}

LABELS: dict[str, dict[str, str]] = {
    # Template and sidebar
    "title": {"ko": "녹취시스템 대시보드", "en": "Call recording dashboard"},
    "language": {"ko": "언어", "en": "Language"},
    "pages": {"ko": "화면", "en": "Pages"},
    "page.overview": {"ko": "현황", "en": "Overview"},
    "page.retention": {"ko": "보존 현황", "en": "Retention"},
    "page.recordings": {"ko": "녹취파일 목록", "en": "Recordings"},
    "last_updated": {"ko": "마지막 갱신", "en": "Last updated"},
    "ingest": {"ko": "수집 상태", "en": "Ingest"},
    "watcher": {"ko": "감시", "en": "Watcher"},
    "watcher.alive": {"ko": "동작 중", "en": "running"},
    "watcher.stopped": {"ko": "중지됨", "en": "stopped"},
    "last_event": {"ko": "마지막 이벤트", "en": "Last event"},
    "queue": {"ko": "대기열", "en": "Queue"},
    "in_flight": {"ko": "분석 중", "en": "Analysing"},
    "files_stored": {"ko": "수집된 파일", "en": "Files stored"},
    "errors": {"ko": "오류", "en": "Errors"},
    "events_lost": {"ko": "유실 이벤트", "en": "Events lost"},
    "unavailable_roots": {"ko": "접근 불가 폴더", "en": "Unavailable folders"},
    "never": {"ko": "없음", "en": "never"},
    # Retention states
    "state.active": {"ko": "보존 중", "en": "Active"},
    "state.due": {"ko": "만료 임박", "en": "Due soon"},
    "state.overdue": {"ko": "기한 경과", "en": "Overdue"},
    "state.deleted": {"ko": "삭제", "en": "Deleted"},
    "state.missing": {"ko": "파일 없음", "en": "Missing"},
    # Overview
    "recordings_total": {"ko": "전체 녹취파일", "en": "All recordings"},
    "storage_used": {"ko": "사용 용량", "en": "Storage used"},
    "files_on_disk": {"ko": "디스크의 파일", "en": "files on disk"},
    "calls_per_day": {"ko": "일별 녹취 건수", "en": "Calls per day"},
    "day": {"ko": "일자", "en": "Day"},
    "calls": {"ko": "건수", "en": "Calls"},
    "recent_errors": {"ko": "최근 수집 오류", "en": "Recent ingest errors"},
    "no_errors": {"ko": "수집 오류가 없습니다.", "en": "No ingest errors."},
    "occurred_at": {"ko": "발생 일시", "en": "Occurred"},
    "stage": {"ko": "단계", "en": "Stage"},
    "message": {"ko": "내용", "en": "Message"},
    "retention_days": {"ko": "보존기간 {days}일", "en": "retention {days} days"},
    # Retention page
    "by_expiry_day": {"ko": "만료일별 녹취파일", "en": "Recordings by expiry day"},
    "expiry_day": {"ko": "만료일", "en": "Expiry day"},
    "by_line": {"ko": "회선별 녹취파일", "en": "Recordings by line"},
    "by_department": {"ko": "부서별 녹취파일", "en": "Recordings by department"},
    "due_list": {"ko": "만료 임박 목록", "en": "Due soon"},
    "overdue_list": {"ko": "기한 경과 목록", "en": "Overdue"},
    "recordings_count": {"ko": "녹취파일 수", "en": "Recordings"},
    "state": {"ko": "보존 상태", "en": "State"},
    "unassigned": {"ko": "(미지정)", "en": "(none)"},
    "overdue_warning": {
        "ko": "보존기간이 지난 녹취파일 {count}건이 아직 디스크에 있습니다.",
        "en": "{count} recording(s) past the retention period are still on disk.",
    },
    # Recordings page and table columns
    "filters": {"ko": "검색 조건", "en": "Filters"},
    "date_range": {"ko": "녹취일자", "en": "Recording date"},
    "all": {"ko": "전체", "en": "All"},
    "flags": {"ko": "표시", "en": "Flags"},
    "search_file": {"ko": "파일명 검색", "en": "Search file name"},
    "sort_by": {"ko": "정렬", "en": "Sort by"},
    "newest_first": {"ko": "최신순", "en": "Newest first"},
    "oldest_first": {"ko": "오래된 순", "en": "Oldest first"},
    "longest_first": {"ko": "통화시간 긴 순", "en": "Longest first"},
    "most_silent_first": {"ko": "무음 비율 높은 순", "en": "Most silent first"},
    "rows_of": {
        "ko": "{first}–{last} / 총 {total}건",
        "en": "{first}–{last} of {total}",
    },
    "no_rows": {"ko": "해당 녹취파일이 없습니다.", "en": "No matching recordings."},
    "previous": {"ko": "이전", "en": "Previous"},
    "next": {"ko": "다음", "en": "Next"},
    "page_of": {"ko": "{page} / {pages} 쪽", "en": "page {page} of {pages}"},
    "col.start_time": {"ko": "녹취일시", "en": "Start"},
    "col.line": {"ko": "회선", "en": "Line"},
    "col.department": {"ko": "부서", "en": "Department"},
    "col.direction": {"ko": "방향", "en": "Direction"},
    "col.other_party": {"ko": "상대방 번호", "en": "Other party"},
    "col.duration": {"ko": "통화시간", "en": "Duration"},
    "col.codec": {"ko": "코덱", "en": "Codec"},
    "col.silence": {"ko": "무음 비율", "en": "Silence"},
    "col.state": {"ko": "보존 상태", "en": "State"},
    "col.expires": {"ko": "만료일", "en": "Expires"},
    "col.flags": {"ko": "표시", "en": "Flags"},
    "col.error": {"ko": "오류", "en": "Error"},
    "col.file_name": {"ko": "파일명", "en": "File name"},
    "direction.in": {"ko": "수신", "en": "incoming"},
    "direction.out": {"ko": "발신", "en": "outgoing"},
    "direction.internal": {"ko": "내부", "en": "internal"},
}

STATE_COLORS = {
    "overdue": "#c62828",
    "due": "#f59e0b",
    "active": "#2e7d32",
    "deleted": "#9e9e9e",
    "missing": "#8e44ad",
}


def label(key: str, language: str, **values: object) -> str:
    """Return the label for ``key`` in ``language``, with ``values`` filled in.

    An unknown key raises KeyError, so a typo fails the page instead of showing
    a blank label.
    """
    text = LABELS[key].get(language) or LABELS[key]["ko"]
    return text.format(**values) if values else text


def state_label(state: str, language: str) -> str:
    """Return the display name of a retention state."""
    return label(f"state.{state}", language)


def direction_label(direction: str | None, language: str) -> str:
    """Return the display name of a call direction; unknown values pass through."""
    if not direction:
        return ""
    key = f"direction.{direction}"
    return label(key, language) if key in LABELS else direction
