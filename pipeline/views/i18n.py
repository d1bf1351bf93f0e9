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
    "loading": {"ko": "화면을 불러오는 중입니다…", "en": "Loading the page…"},
    "pages": {"ko": "화면", "en": "Pages"},
    "page.overview": {"ko": "현황", "en": "Overview"},
    "page.retention": {"ko": "보존 현황", "en": "Retention"},
    "page.recordings": {"ko": "녹취파일 목록", "en": "Recordings"},
    "last_updated": {"ko": "마지막 갱신", "en": "Last updated"},
    "logout": {"ko": "로그아웃", "en": "Log out"},
    "login": {"ko": "다시 로그인", "en": "Log in again"},
    "login_required": {
        "ko": "로그인이 필요합니다. 대시보드는 scripts/serve로 실행하십시오.",
        "en": "Login required. Serve the dashboard with scripts/serve.",
    },
    "session_expired": {
        "ko": "로그인 세션이 종료되었습니다.",
        "en": "Your login session has ended.",
    },
    "access_denied": {
        "ko": "권한 없음: {page} 화면을 볼 권한이 없습니다.",
        "en": "Access denied: you may not open the {page} page.",
    },
    "ingest": {"ko": "수집 상태", "en": "Ingest"},
    "watcher": {"ko": "감시", "en": "Watcher"},
    "watcher.alive": {"ko": "동작 중", "en": "running"},
    "watcher.stopped": {"ko": "중지됨", "en": "stopped"},
    "last_event": {"ko": "마지막 이벤트", "en": "Last event"},
    "queue": {"ko": "대기열", "en": "Queue"},
    "in_flight": {"ko": "분석 중", "en": "Analysing"},
    # The ingest counters count since the server started, and a file that is
    # stored again after a change counts again, so they differ from the totals.
    "files_stored": {"ko": "서버 시작 후 저장", "en": "Stored since start"},
    "errors": {"ko": "서버 시작 후 오류", "en": "Errors since start"},
    "events_lost": {"ko": "서버 시작 후 유실 이벤트", "en": "Events lost since start"},
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
    "message": {"ko": "세부 내용", "en": "Details"},
    "error_kind": {"ko": "구분", "en": "Kind"},
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
    # --- Request workflow, holds, purge and lines pages -----------------------------
    # Keys of these pages start with "wf." so they never clash with page labels above.
    "page.requests": {"ko": "열람·제공 신청", "en": "Requests"},
    "page.pending": {"ko": "회신 대기", "en": "Pending returns"},
    "page.ledger": {"ko": "관리대장", "en": "Ledger"},
    "page.holds": {"ko": "보존 조치", "en": "Holds"},
    "page.lines": {"ko": "회선 대장", "en": "Lines registry"},
    "page.purge": {"ko": "파기", "en": "Purge"},
    "wf.login_required": {
        "ko": "로그인한 사용자만 이 화면을 쓸 수 있습니다.",
        "en": "Log in to use this page.",
    },
    "wf.error": {"ko": "처리하지 못했습니다", "en": "Failed"},
    "wf.refresh": {"ko": "새로 고침", "en": "Refresh"},
    "wf.yes": {"ko": "예", "en": "yes"},
    "wf.no": {"ko": "아니오", "en": "no"},
    "wf.time_hint": {"ko": "YYYY-MM-DD HH:MM", "en": "YYYY-MM-DD HH:MM"},
    "wf.masked_note": {
        "ko": "개인정보(성명, 생년월일, 전화번호)는 가려서 표시합니다.",
        "en": "Personal data (names, birth dates, phone numbers) is masked.",
    },
    # Request statuses and approval stages
    "wf.status": {"ko": "상태", "en": "Status"},
    "wf.status.submitted": {"ko": "신청", "en": "Submitted"},
    "wf.status.approved": {"ko": "승인", "en": "Approved"},
    "wf.status.rejected": {"ko": "반려", "en": "Rejected"},
    "wf.status.provided": {"ko": "제공", "en": "Provided"},
    "wf.status.returned": {"ko": "회신", "en": "Returned"},
    "wf.status.closed": {"ko": "종결", "en": "Closed"},
    "wf.stage.staff": {"ko": "담당자", "en": "Staff in charge"},
    "wf.stage.team_leader": {"ko": "팀장", "en": "Team leader"},
    "wf.stage.department_head": {"ko": "과장", "en": "Department head"},
    # Requests page: list and Form 1
    "wf.requests": {"ko": "신청 목록", "en": "Requests"},
    "wf.no_requests": {"ko": "해당 신청이 없습니다.", "en": "No matching requests."},
    "wf.open_request": {"ko": "신청서 선택", "en": "Open request"},
    "wf.new_request": {"ko": "새 신청서", "en": "New request"},
    "wf.form1": {
        "ko": "녹취정보 열람·제공 신청서",
        "en": "Request to view or receive recordings (Form 1)",
    },
    "wf.access_kind": {"ko": "신청 구분", "en": "Kind of access"},
    "wf.access.view": {"ko": "열람", "en": "View"},
    "wf.access.provide": {"ko": "제공", "en": "Provide a copy"},
    "wf.number": {"ko": "관리번호", "en": "Management number"},
    "wf.requester": {"ko": "신청인", "en": "Requester"},
    "wf.requester_name": {
        "ko": "신청인 성명(기관명)",
        "en": "Requester (organisation)",
    },
    "wf.requester_birth": {
        "ko": "생년월일(법인·사업자번호)",
        "en": "Date of birth (registration number)",
    },
    "wf.requester_address": {"ko": "주소(부서)", "en": "Address (department)"},
    "wf.requester_contact": {"ko": "연락처", "en": "Contact"},
    "wf.requester_username": {
        "ko": "신청 공무원의 사용자 ID (해당 시)",
        "en": "Requesting official's username (if any)",
    },
    "wf.requested_at": {"ko": "신청일시", "en": "Requested"},
    "wf.recorded_at": {"ko": "녹취일시", "en": "Recording time"},
    "wf.recorded_phone": {"ko": "녹취전화번호", "en": "Recorded number"},
    "wf.purpose": {"ko": "신청목적", "en": "Purpose"},
    "wf.relation": {"ko": "당사자와의 관계", "en": "Relation to the parties"},
    "wf.reason": {"ko": "신청사유", "en": "Reason"},
    "wf.remarks": {"ko": "비고", "en": "Remarks"},
    "wf.proof": {"ko": "증빙서류 (최대 20MB)", "en": "Proof document (up to 20 MB)"},
    "wf.find_candidates": {"ko": "녹취파일 찾기", "en": "Find recordings"},
    "wf.candidates": {
        "ko": "후보 녹취파일 (첨부할 파일을 선택)",
        "en": "Candidate recordings (tick the ones to attach)",
    },
    "wf.no_candidates": {
        "ko": "해당 일시(앞뒤 30분)와 번호의 녹취파일이 없습니다.",
        "en": "No recordings within 30 minutes of that time on that number.",
    },
    "wf.submit_request": {"ko": "신청서 등록", "en": "Submit request"},
    "wf.submitted": {
        "ko": "신청서 {number}을(를) 등록했습니다.",
        "en": "Request {number} submitted.",
    },
    "wf.next_stage": {"ko": "결재 단계", "en": "Next approval"},
    "wf.file_count": {"ko": "파일수량", "en": "Files"},
    # Requests page: one request
    "wf.detail": {"ko": "신청서 {number}", "en": "Request {number}"},
    "wf.no_request_open": {
        "ko": "목록에서 신청서를 선택하십시오.",
        "en": "Pick a request from the list.",
    },
    "wf.timeline": {"ko": "처리 경과", "en": "Timeline"},
    "wf.approvals": {"ko": "결재", "en": "Approvals"},
    "wf.approve": {"ko": "{stage} 결재", "en": "Approve as {stage}"},
    "wf.approved_stage": {"ko": "{stage} 결재", "en": "{stage} approved"},
    "wf.reject": {"ko": "반려", "en": "Reject"},
    "wf.rejected_stage": {"ko": "{stage} 반려", "en": "{stage} rejected"},
    "wf.reject_reason": {"ko": "반려 사유", "en": "Reason for rejection"},
    "wf.attached": {"ko": "첨부 녹취파일", "en": "Attached recordings"},
    "wf.attach": {"ko": "선택한 녹취파일 첨부", "en": "Attach selected recordings"},
    "wf.attach_proof": {"ko": "증빙서류 첨부", "en": "Attach proof document"},
    "wf.proof_attached": {
        "ko": "증빙서류 {name}을(를) 첨부했습니다.",
        "en": "Proof document {name} attached.",
    },
    "wf.event.submitted": {"ko": "신청 접수", "en": "Request submitted"},
    "wf.event.handover": {"ko": "인계 ({method})", "en": "Handed over ({method})"},
    "wf.event.notice": {
        "ko": "통보서 접수 ({state})",
        "en": "Notice received ({state})",
    },
    "wf.event.due_change": {
        "ko": "회신 기한 변경: {old} → {new}",
        "en": "Due date moved: {old} → {new}",
    },
    "wf.event.closed": {"ko": "종결", "en": "Closed"},
    "wf.due_on": {"ko": "회신 기한", "en": "Due"},
    "wf.close": {"ko": "종결 처리", "en": "Close request"},
    "wf.closed": {
        "ko": "신청서 {number}을(를) 종결했습니다.",
        "en": "Request {number} closed.",
    },
    # Handover (Form 2)
    "wf.form2": {"ko": "인수·인계증", "en": "Handover receipt (Form 2)"},
    "wf.recipient_address": {
        "ko": "인수자 주소(부서)",
        "en": "Recipient's address (department)",
    },
    "wf.recipient_name": {
        "ko": "인수자 성명(기관명)",
        "en": "Recipient (organisation)",
    },
    "wf.official_affiliation": {"ko": "인계자 소속", "en": "Handing official: unit"},
    "wf.official_rank": {"ko": "인계자 직급", "en": "Handing official: rank"},
    "wf.official_name": {"ko": "인계자 성명", "en": "Handing official: name"},
    "wf.method": {"ko": "제공 방법", "en": "Method"},
    "wf.method.viewing": {"ko": "열람", "en": "Supervised viewing"},
    "wf.method.copy": {"ko": "암호화 사본 제공", "en": "Protected copy"},
    "wf.received_on": {"ko": "수령일자", "en": "Date received"},
    "wf.viewing_until": {"ko": "열람 종료 일시", "en": "Viewing ends"},
    "wf.provide_recordings": {"ko": "제공할 녹취파일", "en": "Recordings to provide"},
    "wf.hand_over": {"ko": "인계", "en": "Hand over"},
    "wf.handed_over": {
        "ko": "인계했습니다 (파일수량 {count}).",
        "en": "Handed over ({count} files).",
    },
    "wf.copy_expired": {
        "ko": "사본을 {minutes}분 안에 내려받지 않아 서버에서 삭제했습니다. "
        "제공 기록은 남아 있으니 관리부서에 새 사본을 요청하십시오.",
        "en": "The copy was not downloaded within {minutes} minutes and was deleted "
        "from the server. The provision stays recorded; ask the IT team for a new "
        "copy.",
    },
    "wf.password": {
        "ko": "일회용 암호: {password} — 이 화면에서 한 번만 표시되며 저장되지 "
        "않습니다. 인수자에게 사본과 따로 전달하십시오.",
        "en": "One-time password: {password}. It is shown only once and is not "
        "stored. Give it to the recipient separately from the copy.",
    },
    "wf.download_copy": {"ko": "암호화 사본 내려받기", "en": "Download protected copy"},
    # Notice of use and destruction (Form 3)
    "wf.form3": {
        "ko": "활용 및 파기 결과 통보서",
        "en": "Notice of use and destruction (Form 3)",
    },
    "wf.notified_on": {"ko": "통보일자", "en": "Notice date"},
    "wf.use_result": {"ko": "활용 결과", "en": "Result of use"},
    "wf.use.evidence": {
        "ko": "증거활용 / 기록물 보존",
        "en": "Evidence / kept as record",
    },
    "wf.use.transferred": {
        "ko": "경찰 등 타기관 이첩",
        "en": "Transferred to police or another agency",
    },
    "wf.use.destroyed": {"ko": "자료 파기", "en": "Destroyed"},
    "wf.use.other": {"ko": "기타", "en": "Other"},
    "wf.use_result_other": {"ko": "기타 내용", "en": "Other use"},
    "wf.destruction": {"ko": "파기 여부", "en": "Destruction"},
    "wf.destruction.destroyed": {"ko": "파기", "en": "Destroyed"},
    "wf.destruction.not_destroyed": {"ko": "미파기", "en": "Not destroyed"},
    "wf.destruction.extension": {"ko": "연장요청", "en": "Extension requested"},
    "wf.destroyed_by_affiliation": {"ko": "파기자 소속", "en": "Destroyed by: unit"},
    "wf.destroyed_by_name": {"ko": "파기자 성명", "en": "Destroyed by: name"},
    "wf.not_destroyed_reason": {"ko": "미파기 사유", "en": "Reason not destroyed"},
    "wf.kept.evidence": {
        "ko": "증거활용 / 기록물 보존",
        "en": "Evidence / kept as record",
    },
    "wf.kept.transferred": {
        "ko": "경찰 등 타기관 이첩",
        "en": "Transferred to police or another agency",
    },
    "wf.kept.in_progress": {"ko": "활용 진행 중", "en": "Still in use"},
    "wf.extension_period": {"ko": "연장 기간", "en": "Extension period"},
    "wf.planned_destruction_on": {"ko": "파기예정일", "en": "Planned destruction"},
    "wf.confirmer_affiliation": {"ko": "확인자 소속", "en": "Confirmed by: unit"},
    "wf.confirmer_rank": {"ko": "확인자 직급", "en": "Confirmed by: rank"},
    "wf.confirmer_name": {"ko": "확인자 성명", "en": "Confirmed by: name"},
    "wf.record_notice": {"ko": "통보서 등록", "en": "Record notice"},
    "wf.notice_recorded": {"ko": "통보서를 등록했습니다.", "en": "Notice recorded."},
    # Printable forms
    "wf.print": {"ko": "인쇄용 서식", "en": "Printable forms"},
    "wf.print_html": {"ko": "{form} (HTML)", "en": "{form} (HTML)"},
    "wf.print_pdf": {"ko": "{form} (PDF)", "en": "{form} (PDF)"},
    # Pending returns page
    "wf.pending": {"ko": "회신 대기 목록", "en": "Pending returns"},
    "wf.no_pending": {
        "ko": "회신을 기다리는 신청이 없습니다.",
        "en": "No request is waiting for its notice.",
    },
    "wf.recipient": {"ko": "인수자", "en": "Recipient"},
    "wf.provided_on": {"ko": "제공일자", "en": "Provided"},
    "wf.days_left": {"ko": "남은 일수", "en": "Days left"},
    "wf.extended": {"ko": "기한 연장", "en": "Extended"},
    "wf.overdue": {"ko": "기한 경과", "en": "Overdue"},
    "wf.return_due_soon": {"ko": "기한 임박", "en": "Due soon"},
    "wf.return_waiting": {"ko": "회신 대기", "en": "Waiting"},
    "wf.pending_overdue": {
        "ko": "회신 기한이 지난 신청이 {count}건 있습니다.",
        "en": "{count} request(s) are past their due date.",
    },
    "wf.reminder": {"ko": "독촉 공문 {number}", "en": "Reminder letter {number}"},
    # Ledger page
    "wf.ledger": {
        "ko": "녹취정보 열람·제공 관리대장",
        "en": "Ledger of views and provisions (Form 4)",
    },
    "wf.no_ledger_rows": {
        "ko": "관리대장이 비어 있습니다.",
        "en": "The ledger is empty.",
    },
    "wf.export_csv": {"ko": "CSV 내려받기", "en": "Download CSV"},
    "wf.export_xlsx": {"ko": "XLSX 내려받기", "en": "Download XLSX"},
    "wf.export_html": {"ko": "인쇄용 HTML", "en": "Printable HTML"},
    # Holds page
    "wf.holds": {"ko": "보존 조치 목록", "en": "Holds"},
    "wf.holds_active_only": {"ko": "유효한 조치만 보기", "en": "Active holds only"},
    "wf.no_holds": {"ko": "보존 조치가 없습니다.", "en": "No holds."},
    "wf.hold_id": {"ko": "조치 번호", "en": "Hold"},
    "wf.recording_id": {"ko": "녹취파일 번호", "en": "Recording id"},
    "wf.hold_reason": {"ko": "사유", "en": "Reason"},
    "wf.approver": {"ko": "승인자", "en": "Approver"},
    "wf.placed_by": {"ko": "등록자", "en": "Placed by"},
    "wf.placed_at": {"ko": "등록일시", "en": "Placed"},
    "wf.ends_on": {"ko": "종료일", "en": "Ends on"},
    "wf.hold_state": {"ko": "상태", "en": "State"},
    "wf.hold.active": {"ko": "유효", "en": "active"},
    "wf.hold.expired": {"ko": "만료", "en": "expired"},
    "wf.hold.released": {"ko": "해제", "en": "released"},
    "wf.release_reason": {"ko": "해제 사유", "en": "Release reason"},
    "wf.place_hold": {"ko": "보존 조치 등록", "en": "Place hold"},
    "wf.hold_placed": {
        "ko": "녹취파일 {recording}에 보존 조치 {hold}을(를) 등록했습니다.",
        "en": "Hold {hold} placed on recording {recording}.",
    },
    "wf.release_hold": {"ko": "보존 조치 해제", "en": "Release hold"},
    "wf.hold_released": {
        "ko": "보존 조치 {hold}을(를) 해제했습니다.",
        "en": "Hold {hold} released.",
    },
    "wf.fill_in": {
        "ko": "다음 항목을 입력하십시오: {fields}",
        "en": "Fill in: {fields}",
    },
    # Messages of the pipeline's error codes (RecwatchError.code), by "err.CODE"
    "err.permission_denied": {
        "ko": "권한이 없습니다 ({action}). 이 작업은 {roles} 역할이 필요합니다. "
        "시스템 관리자에게 요청하십시오.",
        "en": "Not permitted ({action}): this needs the role {roles}. Ask an "
        "administrator.",
    },
    "err.invalid_time": {
        "ko": "시각 '{value}'을(를) 읽을 수 없습니다. YYYY-MM-DD HH:MM 형식으로 "
        "입력하십시오 (예: 2026-03-02 10:15).",
        "en": "Cannot read the time '{value}'. Enter YYYY-MM-DD HH:MM, for "
        "example 2026-03-02 10:15.",
    },
    "err.request_not_found": {
        "ko": "신청서 {request}을(를) 찾을 수 없습니다. 신청 목록에서 번호를 "
        "확인하십시오.",
        "en": "Request {request} not found. Check the number in the request list.",
    },
    "err.phone_too_short": {
        "ko": "녹취전화번호가 너무 짧습니다. 신청서에 적힌 번호를 입력하십시오.",
        "en": "The recorded phone number is too short. Enter it as on the request.",
    },
    "err.no_recordings_picked": {
        "ko": "녹취파일을 하나 이상 선택하십시오.",
        "en": "Pick at least one recording.",
    },
    "err.recordings_purged": {
        "ko": "녹취파일 {recordings}번은 이미 파기되어 첨부할 수 없습니다.",
        "en": "Recordings {recordings} were purged and cannot be attached.",
    },
    "err.rejection_without_reason": {
        "ko": "반려 사유를 입력하십시오.",
        "en": "Enter the reason for the rejection.",
    },
    "err.request_status_change": {
        "ko": "신청서 {number}은(는) '{status}' 상태라 '{new_status}'(으)로 바꿀 수 "
        "없습니다.",
        "en": "Request {number} is {status} and cannot become {new_status}.",
    },
    "err.stage_out_of_order": {
        "ko": "신청서 {number}은(는) 지금 {expected} 결재 차례입니다 ({stage} 아님).",
        "en": "Request {number} waits for the {expected} signature, not {stage}.",
    },
    "err.own_request_signed": {
        "ko": "본인이 등록하거나 신청한 신청서 {number}은(는) 결재할 수 없습니다. "
        "다른 공무원이 결재해야 합니다.",
        "en": "You entered or asked for request {number}, so another official "
        "must sign it.",
    },
    "err.no_recordings_attached": {
        "ko": "신청서 {number}에 첨부한 녹취파일이 없어 승인할 수 없습니다. "
        "신청한 녹취파일을 첨부하거나, 없으면 반려하십시오.",
        "en": "Request {number} has no recordings attached, so it cannot be "
        "approved. Attach the recordings it asks for, or reject it if none exist.",
    },
    "err.signed_twice": {
        "ko": "신청서 {number}에 이미 {stage} 단계로 결재했습니다. 한 사람은 한 "
        "단계만 결재할 수 있습니다.",
        "en": "You already signed request {number} as {stage}; one person signs "
        "one stage.",
    },
    "err.request_fields_missing": {
        "ko": "다음 항목을 입력하십시오: {fields}",
        "en": "Fill in: {fields}",
    },
    "err.field_too_long": {
        "ko": "{fields} 항목이 {limit}자를 넘습니다. 줄이거나 문서로 첨부하십시오.",
        "en": "{fields} is longer than {limit} characters. Shorten it or attach "
        "it as a document.",
    },
    "err.receipt_fields_missing": {
        "ko": "인계·인수 확인서에 다음 항목을 입력하십시오: {fields}",
        "en": "Fill in on the handover receipt: {fields}",
    },
    "err.copy_for_viewing_request": {
        "ko": "신청서 {number}은(는) 열람 신청이므로 사본으로 제공할 수 없습니다. "
        "열람으로 인계하거나 제공 신청을 새로 하십시오.",
        "en": "Request {number} asks for viewing, so it cannot be handed over as a "
        "copy. Hand it over by viewing, or file a request for provision.",
    },
    "err.download_not_provided": {
        "ko": "신청서 {number}은(는) 내려받을 수 없습니다. 녹취파일은 제공 신청이 "
        "사본으로 인계된 뒤에만 시스템 밖으로 나갈 수 있습니다. 재생을 이용하십시오.",
        "en": "Request {number} allows no download: recordings leave the system "
        "only after a provision is handed over as a copy. Play it instead.",
    },
    "err.proof_name_invalid": {
        "ko": "증빙서류 파일 이름 '{name}'을(를) 쓸 수 없습니다. "
        "'court-order.pdf'처럼 단순한 이름으로 바꾸어 올리십시오.",
        "en": "The proof file name '{name}' cannot be used. Upload it under a "
        "plain name such as 'court-order.pdf'.",
    },
    "err.proof_empty": {
        "ko": "증빙서류 '{name}'이(가) 비어 있습니다. 다시 올리십시오.",
        "en": "The proof document '{name}' is empty. Upload it again.",
    },
    "err.proof_too_large": {
        "ko": "증빙서류 '{name}'이(가) {limit_mb}MB를 넘습니다. 해상도를 낮추거나 "
        "나누어 스캔하십시오.",
        "en": "The proof document '{name}' is larger than {limit_mb} MB. Scan it "
        "at a lower resolution or split it.",
    },
    "err.request_not_open": {
        "ko": "신청서 {number}은(는) '{status}' 상태입니다. 승인 또는 제공된 "
        "신청서의 녹취파일만 재생하거나 내려받을 수 있습니다.",
        "en": "Request {number} is {status}. Recordings play or download only "
        "for an approved or provided request.",
    },
    "err.hold_not_selected": {
        "ko": "해제할 보존 조치를 선택하십시오.",
        "en": "Pick the hold to release.",
    },
    "err.hold_missing_reason": {
        "ko": "사유를 입력하십시오.",
        "en": "Enter the reason.",
    },
    "err.hold_missing_approver": {
        "ko": "승인자를 입력하십시오.",
        "en": "Enter the approver.",
    },
    "err.hold_missing_actor": {
        "ko": "처리자 사용자명이 없습니다. 다시 로그인하십시오.",
        "en": "No username for the change. Log in again.",
    },
    "err.hold_end_not_future": {
        "ko": "종료일 {ends_on}은(는) 오늘({today})보다 뒤의 날짜여야 합니다.",
        "en": "The end date {ends_on} must be later than today ({today}).",
    },
    "err.hold_end_too_far": {
        "ko": "종료일 {ends_on}이(가) 너무 멉니다. {latest}까지 정할 수 있습니다. "
        "연도를 확인하십시오.",
        "en": "The end date {ends_on} is too far ahead; {latest} at the latest. "
        "Check the year.",
    },
    "err.recording_not_found": {
        "ko": "녹취파일 {recording}번이 없습니다. "
        "녹취파일 목록에서 번호를 확인하십시오.",
        "en": "Recording {recording} not found. Check the id in the recordings list.",
    },
    "err.hold_recording_deleted": {
        "ko": "녹취파일 {recording}번은 이미 파기되어 보존 조치를 할 수 없습니다.",
        "en": "Recording {recording} was already purged; a hold cannot protect it.",
    },
    "err.hold_already_released": {
        "ko": "보존 조치 {hold}번은 이미 {by}이(가) 해제했습니다.",
        "en": "Hold {hold} was already released by {by}.",
    },
    "err.hold_not_found": {
        "ko": "보존 조치 {hold}번이 없습니다.",
        "en": "Hold {hold} not found.",
    },
    # Purge status and purge page
    "wf.purge_status": {"ko": "파기 현황", "en": "Purge"},
    "wf.last_purge": {"ko": "마지막 파기", "en": "Last purge"},
    "wf.purge_as_of": {"ko": "({time} 기준)", "en": "(as of {time})"},
    "wf.next_purge": {"ko": "다음 파기 예정", "en": "Next purge"},
    "wf.overdue_files": {"ko": "기한 경과 파일", "en": "Overdue files"},
    "wf.purge_error": {"ko": "마지막 파기 오류", "en": "Last purge error"},
    "wf.not_scheduled": {"ko": "예약 없음", "en": "not scheduled"},
    "wf.retention_link": {"ko": "보존 현황 보기", "en": "Open retention"},
    "wf.purge": {"ko": "보존기간 경과 녹취파일 파기", "en": "Purge expired recordings"},
    "wf.dry_run": {
        "ko": "파기 대상 확인(모의 실행)",
        "en": "List what would go (dry run)",
    },
    "wf.apply_purge": {"ko": "파기 실행", "en": "Purge now"},
    "wf.confirm_purge": {
        "ko": "목록의 녹취파일을 복구할 수 없게 삭제하는 것을 확인합니다.",
        "en": "I confirm the listed recordings are deleted beyond recovery.",
    },
    "wf.purge_totals": {
        "ko": "삭제 {deleted}건, 보존 조치 {held}건, 건너뜀 {skipped}건, "
        "오류 {errors}건",
        "en": "deleted {deleted}, held {held}, skipped {skipped}, errors {errors}",
    },
    "wf.purge_dry_totals": {
        "ko": "삭제 대상 {deleted}건, 보존 조치 {held}건, 건너뜀 {skipped}건",
        "en": "would delete {deleted}, held {held}, skipped {skipped}",
    },
    "wf.outcome": {"ko": "결과", "en": "Outcome"},
    "wf.outcome.deleted": {"ko": "삭제", "en": "deleted"},
    "wf.outcome.would_delete": {"ko": "삭제 대상", "en": "would delete"},
    "wf.outcome.held": {"ko": "보존 조치", "en": "held"},
    "wf.outcome.skipped": {"ko": "건너뜀", "en": "skipped"},
    "wf.outcome.error": {"ko": "오류", "en": "error"},
    "wf.purge_reason.expired": {"ko": "보존기간 경과", "en": "retention over"},
    "wf.purge_reason.held": {
        "ko": "보존 조치 {hold}번 ({until}까지)",
        "en": "held until {until} (hold {hold})",
    },
    "wf.purge_reason.outside_roots": {
        "ko": "녹취 폴더 밖의 파일",
        "en": "outside the recorder roots",
    },
    "wf.purge_reason.symlink": {
        "ko": "심볼릭 링크: 녹취 폴더 안의 일반 파일만 파기합니다",
        "en": "symbolic link: only regular files inside the recorder roots go",
    },
    "wf.purge_reason.missing": {
        "ko": "디스크에 이미 없음: recwatch가 파기한 것이 아닙니다",
        "en": "already missing from disk: not destroyed by recwatch",
    },
    "wf.purge_reason.changed": {
        "ko": "등록 후 파일이 바뀜: 다시 분석한 뒤 파기합니다",
        "en": "changed since it was cataloged: analysed again before purge",
    },
    "wf.purge_reason.not_regular": {"ko": "일반 파일 아님", "en": "not a regular file"},
    "wf.purge_reason.resumed": {
        "ko": "중단된 파기를 마저 진행",
        "en": "finishing an interrupted purge",
    },
    "wf.purge_reason.held_while_planned": {
        "ko": "파기 예정 중 보존 조치됨: 파일 일부가 덮어써졌을 수 있습니다",
        "en": "held while planned for destruction: may be partly overwritten",
    },
    "wf.path": {"ko": "파일", "en": "File"},
    # Lines registry page
    "wf.lines": {"ko": "회선 대장", "en": "Lines registry"},
    "wf.no_lines": {"ko": "등록된 회선이 없습니다.", "en": "No lines registered."},
    "wf.line_number": {"ko": "회선번호", "en": "Line"},
    "wf.department": {"ko": "부서", "en": "Department"},
    "wf.mode": {"ko": "녹취방식", "en": "Mode"},
    "wf.mode.full": {"ko": "전수", "en": "full"},
    "wf.mode.selective": {"ko": "선택", "en": "selective"},
    "wf.approval_doc": {"ko": "승인문서번호", "en": "Approval document"},
    "wf.approved_by": {"ko": "승인자", "en": "Approved by"},
    "wf.valid_from": {"ko": "유효시작", "en": "Valid from"},
    "wf.valid_to": {"ko": "유효종료", "en": "Valid to"},
    "wf.import_lines": {"ko": "CSV 가져오기", "en": "Import CSV"},
    "wf.lines_imported": {
        "ko": "회선 {count}개를 가져왔습니다.",
        "en": "{count} line(s) imported.",
    },
    "wf.unapproved": {
        "ko": "승인 없는 전수 녹취",
        "en": "Full recordings without a current approval",
    },
    "wf.unapproved_warning": {
        "ko": "현재 승인이 없는 회선의 전수 녹취 파일이 {count}건 있습니다.",
        "en": "{count} full-mode recording(s) come from lines without a current "
        "approval.",
    },
    "wf.no_unapproved": {
        "ko": "승인 없는 전수 녹취가 없습니다.",
        "en": "Every full-mode recording has a current approval.",
    },
    "wf.problem": {"ko": "문제", "en": "Problem"},
    "wf.problem.line_not_registered": {
        "ko": "회선 대장에 없는 회선",
        "en": "line missing from the registry",
    },
    "wf.problem.line_selective": {
        "ko": "선택 녹취로 등록된 회선",
        "en": "line registered for selective recording",
    },
    "wf.problem.no_approval": {"ko": "승인문서 없음", "en": "no approval document"},
    "wf.problem.approval_not_valid": {
        "ko": "승인 기간 밖의 통화",
        "en": "call outside the approval dates",
    },
    # Playback section of a request and the own-copy page
    "pb.title": {"ko": "녹취파일 재생·내려받기", "en": "Play or download"},
    "pb.hint": {
        "ko": "승인된 신청의 녹취파일만 재생하거나 내려받을 수 있습니다. "
        "매번 사유를 입력하십시오. 모든 재생과 내려받기는 접속기록에 남습니다.",
        "en": "Only recordings of an approved request can be played or downloaded. "
        "Enter a reason every time. Every play and download is written to the "
        "access log.",
    },
    "pb.recording": {"ko": "녹취파일", "en": "Recording"},
    "pb.reason": {"ko": "사유 (필수)", "en": "Reason (required)"},
    "pb.reason_placeholder": {
        "ko": "재생 또는 내려받기 사유",
        "en": "Why you play or download this recording",
    },
    "pb.play": {"ko": "재생", "en": "Play"},
    "pb.download": {"ko": "내려받기", "en": "Download"},
    "pb.playing": {
        "ko": "녹취파일 {recording}을(를) 재생합니다. 접속기록에 남았습니다.",
        "en": "Playing recording {recording}. The play was logged.",
    },
    "pb.downloaded": {
        "ko": "녹취파일 {recording}을(를) 내려받았습니다. 접속기록에 남았습니다.",
        "en": "Recording {recording} was downloaded. The download was logged.",
    },
    "page.own_copy": {"ko": "내 녹취 사본", "en": "My recording copy"},
    "oc.title": {"ko": "내 녹취 사본 내보내기", "en": "Export my recording copy"},
    "oc.hint": {
        "ko": "본인이 통화 당사자인 녹취파일을 암호화(AES-256) 압축파일로 "
        "내려받습니다. 암호는 저장되지 않으므로 잊지 마십시오. "
        "내보내기는 접속기록에 남습니다.",
        "en": "Download a call you took part in as an AES-256 encrypted zip. The "
        "password is not stored, so keep it safe. The export is written to the "
        "access log.",
    },
    "oc.lines": {"ko": "내 회선", "en": "My lines"},
    "oc.no_lines": {
        "ko": "배정된 회선이 없습니다. 관리자에게 회선 배정을 요청하십시오.",
        "en": "No lines are assigned to you. Ask an administrator to assign your line.",
    },
    "oc.no_recordings": {
        "ko": "내 회선의 녹취파일이 없습니다.",
        "en": "There are no recordings on your lines.",
    },
    "oc.recording": {"ko": "녹취파일", "en": "Recording"},
    "oc.start_time": {"ko": "녹취일시", "en": "Start"},
    "oc.line": {"ko": "회선", "en": "Line"},
    "oc.other_party": {"ko": "상대방 번호", "en": "Other party"},
    "oc.duration": {"ko": "통화시간", "en": "Duration"},
    "oc.file_name": {"ko": "파일명", "en": "File name"},
    "oc.password": {"ko": "암호 (8자 이상)", "en": "Password (8 or more characters)"},
    "oc.confirm": {"ko": "암호 확인", "en": "Confirm password"},
    "oc.download": {"ko": "암호화 사본 내려받기", "en": "Download encrypted copy"},
    "oc.mismatch": {
        "ko": "암호와 암호 확인이 다릅니다. 같은 암호를 두 번 입력하십시오.",
        "en": "The password and its confirmation differ. Type the same password twice.",
    },
    "oc.exported": {
        "ko": "녹취파일 {recording}의 암호화 사본을 내보냈습니다.",
        "en": "The encrypted copy of recording {recording} was exported.",
    },
    # Requests page: correcting the Form 1 fields before the first approval
    "wf.edit": {"ko": "수정", "en": "Edit"},
    "wf.edit_request": {
        "ko": "신청서 {number} 수정",
        "en": "Edit request {number}",
    },
    "wf.save_changes": {"ko": "변경 저장", "en": "Save changes"},
    "wf.cancel_edit": {"ko": "수정 취소", "en": "Cancel editing"},
    "wf.changes_saved": {
        "ko": "신청서 {number}의 변경 내용을 저장했습니다: {fields}",
        "en": "Changes to request {number} saved: {fields}",
    },
    "wf.no_changes": {
        "ko": "신청서 {number}에서 바뀐 항목이 없어 저장하지 않았습니다.",
        "en": "Nothing differs from request {number}, so nothing was saved.",
    },
}

# Codes stored in the catalog and the access log, with their display names. The
# codes stay in exports and the command line, so that scripts can match them.
CODE_LABELS = {
    "flag": {
        "empty": ("빈 파일", "empty file"),
        "header_incomplete": ("헤더 불완전", "header incomplete"),
        "truncated": ("잘린 파일", "truncated"),
        "all_silent": ("전체 무음", "all silent"),
        "extension_mismatch": ("확장자 불일치", "extension mismatch"),
        "missing": ("파일 없음", "file missing"),
        "not_audio": ("오디오 아님", "not audio"),
        "decode_error": ("디코딩 오류", "decode error"),
        "unsupported_codec": ("지원하지 않는 코덱", "unsupported codec"),
        "analysis_failed": ("분석 실패", "analysis failed"),
        "unreadable": ("읽을 수 없음", "unreadable"),
        "not_regular_file": ("일반 파일 아님", "not a regular file"),
        "symlink": ("심볼릭 링크", "symbolic link"),
        "duplicate_content": ("중복 내용", "duplicate content"),
        "notice_missing": ("사전고지 누락", "notice missing"),
        "full_without_approval": ("승인 없는 전수 녹취", "full recording unapproved"),
        "name_unparsed": ("파일 이름 해석 불가", "name not parsed"),
        "folder_date_mismatch": ("폴더 날짜 불일치", "folder date mismatch"),
        "folder_field_mismatch": ("폴더 항목 불일치", "folder field mismatch"),
        "direction_unmapped": ("통화 방향 미확인", "direction unmapped"),
        "mode_unmapped": ("녹취 방식 미확인", "recording mode unmapped"),
        "raw_codec_mismatch": ("원시 코덱 불일치", "raw codec mismatch"),
        "sidecar_mismatch": ("부가 정보 파일 불일치", "sidecar mismatch"),
        "sidecar_invalid": ("부가 정보 파일 오류", "sidecar invalid"),
        "verdict_empty": ("품질: 빈 통화", "quality: empty"),
        "verdict_too_short": ("품질: 너무 짧음", "quality: too short"),
        "verdict_all_silent": ("품질: 전체 무음", "quality: all silent"),
        "verdict_one_way": ("품질: 단방향 음성", "quality: one-way audio"),
        "verdict_clipped": ("품질: 음량 포화", "quality: clipped"),
        "verdict_noisy": ("품질: 잡음 과다", "quality: noisy"),
    },
    "action": {
        "login": ("로그인", "log in"),
        "login_failed": ("로그인 실패", "failed log-in"),
        "logout": ("로그아웃", "log out"),
        "play": ("열람(재생)", "view (play)"),
        "download": ("내려받기", "download"),
        "export": ("제공(사본)", "provide (copy)"),
        "print_form": ("서식 출력", "print form"),
        "handover": ("제공(인계)", "provide (handover)"),
        "view_personal": ("개인정보 조회", "view personal data"),
        "assign_line": ("회선 지정", "assign line"),
        "remove_line": ("회선 해제", "remove line"),
        "review_access_log": ("접속기록 점검", "access log review"),
        "user_change": ("사용자 변경", "user change"),
        "request_change": ("신청서 변경", "request change"),
        "hold_change": ("보존 조치 변경", "hold change"),
        "purge": ("삭제(파기)", "purge"),
        "purge_preview": ("파기 대상 확인(모의 실행)", "purge preview (dry run)"),
        "lines_import": ("회선 목록 가져오기", "lines import"),
        "view_page": ("화면 열람", "view page"),
        "view_access_log": ("접속기록 열람", "view access log"),
        "verify_access_log": ("접속기록 위변조 점검", "verify access log"),
        "search_personal": ("개인정보 검색", "search personal data"),
        "change_settings": ("설정 변경", "change settings"),
    },
    "result": {
        "ok": ("성공", "ok"),
        "denied": ("거부", "denied"),
        "failed": ("실패", "failed"),
    },
    "object": {
        "recording": ("녹취파일", "recording"),
        "recordings": ("녹취파일", "recordings"),
        "request": ("신청서", "request"),
        "ledger": ("관리대장", "ledger"),
        "line": ("회선", "line"),
        "user": ("사용자", "user"),
        "page": ("화면", "page"),
        "month": ("월", "month"),
        "purge_run": ("삭제 실행", "purge run"),
        "session": ("접속", "session"),
    },
    "stage": {
        "watch": ("감시", "watch"),
        "reconcile": ("전체 점검", "full scan"),
        "analysis": ("분석", "analysis"),
    },
    "role": {
        "viewer": ("조회자", "viewer"),
        "operator": ("운영 담당자", "operator"),
        "approver": ("결재권자", "approver"),
        "auditor": ("감사 담당자", "auditor"),
        "admin": ("시스템 관리자", "administrator"),
    },
}


def code_label(kind: str, code: str, language: str) -> str:
    """Return the display name of a stored code; an unknown code passes through.

    ``kind`` is a key of ``CODE_LABELS``: "flag", "action", "result",
    "object", "stage" or "role".
    Codes written by a newer version, or by hand, still show instead of failing
    the page.
    """
    names = CODE_LABELS[kind].get(code)
    if names is None:
        return code
    return names[0] if language == "ko" else names[1]


def code_labels(kind: str, codes, language: str) -> str:
    """Return the display names of several codes (or a comma-separated string)."""
    if isinstance(codes, str):
        codes = [code for code in codes.split(",") if code]
    return ", ".join(code_label(kind, code.strip(), language) for code in codes)


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
