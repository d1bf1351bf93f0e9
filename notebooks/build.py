"""Generate the auditor notebooks (*.ipynb) from the cell sources in this file.

The notebooks are written from here with nbformat so that a reviewer reads plain
Python and Markdown in one place; edit this file and run::

    .venv/bin/python notebooks/build.py

Every notebook reads a verified snapshot: ``$RECWATCH_SNAPSHOT``, else the newest
under ``$RECWATCH_DATA_DIR/snapshots``, else the newest under the configured data
folder. It judges the rules at the instant the snapshot was taken. It ends with a
table of violations, one line per violation and one line
``violations: kind=count ...`` that tests and reports parse.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK_DIR = Path(__file__).resolve().parent

SETUP = """\
import json

import pandas as pd
import panel as pn

# BokehJS goes inside the notebook, because reports are read on offline machines.
pn.extension(inline=True)
import hvplot.pandas  # noqa: F401, E402  (adds .hvplot to DataFrames)
from IPython.display import display

from pipeline import auditdata
from pipeline.config import load_config

snapshot = auditdata.open_from_environment()
config = load_config()
AS_OF = snapshot.taken_at
found = []
print(snapshot.describe())"""

SUMMARY_HEADING = """\
## 위반 사항 요약 / Summary of violations

One row per violation, then one line per violation and a last line that counts
each kind. `not_checked` means that the snapshot lacks a table the check needs."""

SUMMARY = """\
violations = auditdata.collect_violations(found)
display(violations)
if not violations.empty:
    counts = violations.groupby("violation").size().rename("count").reset_index()
    counts["count"] = counts["count"].astype("int64")
    display(counts.hvplot.bar(x="violation", y="count", rot=30, title="위반 건수"))
for row in violations.itertuples():
    print(f"violation {row.violation} {row.object}: {row.detail}")
print(auditdata.summary_line(violations, KINDS, NOT_CHECKED))"""


def intro(title: str, purpose: str, caveats: str) -> str:
    """Return the opening Markdown cell: title, purpose, data source and caveats."""
    return f"""\
# {title}

**Purpose.** {purpose}

**Data source.** A read-only snapshot of the catalog, verified against its manifest
(SHA-256, row counts, access-log chain head) when it is opened. The cell below
names the snapshot and the time it was taken (Asia/Seoul). Rules are judged at
that instant, not at the time the notebook runs. Set `RECWATCH_SNAPSHOT` to a
snapshot file, or `RECWATCH_DATA_DIR` to a data folder, to choose another one.

**Caveats.** {caveats}"""


RETENTION = [
    (
        "md",
        intro(
            "보존 기간 감사 / Retention audit",
            "Check that recordings were deleted on time after the retention period, "
            "that no recording is kept past it without a hold, and that every hold "
            "has a justification.",
            "Holds and destruction records come from the `holds` and "
            "`destruction_records` tables; when the snapshot lacks them, those "
            "checks are reported as `not_checked` and every expired recording "
            "counts as kept past retention. The purge runs once a day (by default "
            "at 02:30 Asia/Seoul), so a deletion up to one day after expiry counts "
            "as on time, and a recording still on disk up to one day after expiry "
            "is not counted as kept past retention.",
        ),
    ),
    ("code", SETUP),
    (
        "code",
        """\
KINDS = [
    "kept_past_retention",
    "deleted_late",
    "deleted_early",
    "deleted_without_record",
    "missing_without_purge",
    "hold_without_reason",
]
NOT_CHECKED = []
RETENTION_DAYS = int(config["retention.days"])
# The purge runs once a day, so a recording may stay on disk up to a day after
# expiry. Deleting it within that day is on time, and keeping it so is no violation.
LATE_GRACE_DAYS = 1
print(f"retention period: {RETENTION_DAYS} days, judged at {AS_OF.isoformat()}")

recordings = snapshot.sql(
    \"\"\"
    SELECT id, line, department, status, start_time, deleted_at, missing_since,
           start_time + to_days(?::INTEGER) AS expires_at,
           date_diff('second', start_time, deleted_at) / 86400.0
               AS age_at_deletion_days
    FROM recordings
    ORDER BY id
    \"\"\",
    [RETENTION_DAYS],
)
print(f"recordings in snapshot: {len(recordings)}")""",
    ),
    (
        "md",
        "## 삭제 시점의 보존 일수 / Age at deletion\n\nTombstones: "
        "`deleted_at - start_time` in days. The red line is the retention period.",
    ),
    (
        "code",
        """\
deleted = recordings[recordings["status"].eq("deleted")].copy()
deleted = deleted[deleted["deleted_at"].notna()]
if deleted.empty:
    print("no deleted recordings in this snapshot")
else:
    import holoviews as hv

    histogram = deleted.hvplot.hist(
        "age_at_deletion_days", bins=20, title="삭제 시점 보존 일수 (days)"
    )
    display(histogram * hv.VLine(RETENTION_DAYS).opts(color="red"))
    display(deleted["age_at_deletion_days"].describe())

late = deleted[deleted["age_at_deletion_days"] > RETENTION_DAYS + LATE_GRACE_DAYS]
early = deleted[deleted["age_at_deletion_days"] < RETENTION_DAYS]
found.append(auditdata.mark_violations(
    "deleted_late", late, "id",
    lambda row: f"deleted after {row.age_at_deletion_days:.1f} days",
))
found.append(auditdata.mark_violations(
    "deleted_early", early, "id",
    lambda row: f"deleted after {row.age_at_deletion_days:.1f} days",
))
display(pd.concat([late.assign(finding="late"), early.assign(finding="early")]))""",
    ),
    ("md", "## 보존 조치 / Holds and their justification"),
    (
        "code",
        """\
if snapshot.has_table("holds"):
    holds = snapshot.sql(
        \"\"\"
        SELECT id, recording_id, reason, approver, placed_by, placed_at, ends_on,
               ends_at, released_by, released_at, release_reason,
               released_at IS NULL AND ends_at > ? AS active
        FROM holds ORDER BY id
        \"\"\",
        [AS_OF],
    )
    display(holds)
    unjustified = holds[
        holds["reason"].fillna("").str.strip().eq("")
        | holds["approver"].fillna("").str.strip().eq("")
    ]
    found.append(auditdata.mark_violations(
        "hold_without_reason", unjustified, "id",
        lambda row: f"hold on recording {row.recording_id} has no reason or approver",
    ))
    held_ids = set(holds.loc[holds["active"], "recording_id"])
else:
    print("holds table absent: 보존 조치 기록이 없습니다 (no holds to check)")
    NOT_CHECKED.append("hold_without_reason")
    held_ids = set()""",
    ),
    ("md", "## 보존 기간 경과 후 미삭제 / Kept past the retention period"),
    (
        "code",
        """\
on_disk = recordings[
    recordings["status"].ne("deleted") & recordings["missing_since"].isna()
]
expired = on_disk[on_disk["expires_at"] <= AS_OF]
# Expired since the last daily purge: the next purge deletes them on time.
purge_pending = expired[
    expired["expires_at"] >= AS_OF - pd.Timedelta(days=LATE_GRACE_DAYS)
]
overdue = expired[~expired["id"].isin(purge_pending["id"])]
held = overdue[overdue["id"].isin(held_ids)]
kept = overdue[~overdue["id"].isin(held_ids)]
print(
    f"expired and on disk: {len(expired)}, awaiting the next daily purge: "
    f"{len(purge_pending)}, under an active hold: {len(held)}"
)
display(kept)
found.append(auditdata.mark_violations(
    "kept_past_retention", kept, "id",
    lambda row: f"expired {row.expires_at:%Y-%m-%d %H:%M} and still on disk",
))
if not kept.empty:
    by_department = kept.groupby("department").size().rename("count").reset_index()
    by_department["count"] = by_department["count"].astype("int64")
    display(by_department.hvplot.bar(
        x="department", y="count", title="보존 기간 경과 미삭제 (부서별)"
    ))""",
    ),
    ("md", "## 파기 기록과 사라진 파일 / Destruction records and missing files"),
    (
        "code",
        """\
missing = recordings[
    recordings["missing_since"].notna() & recordings["status"].ne("deleted")
]
found.append(auditdata.mark_violations(
    "missing_without_purge", missing, "id",
    lambda row: f"file gone since {row.missing_since:%Y-%m-%d %H:%M} without a purge",
))
display(missing)

if snapshot.has_table("destruction_records"):
    destroyed = snapshot.sql(
        "SELECT DISTINCT recording_id FROM destruction_records"
        " WHERE status = 'destroyed'"
    )
    unrecorded = deleted[~deleted["id"].isin(set(destroyed["recording_id"]))]
    found.append(auditdata.mark_violations(
        "deleted_without_record", unrecorded, "id",
        "tombstone without a destroyed destruction record",
    ))
    display(unrecorded)
else:
    print("destruction_records table absent: 파기 기록을 확인할 수 없습니다")
    NOT_CHECKED.append("deleted_without_record")""",
    ),
    ("md", SUMMARY_HEADING),
    ("code", SUMMARY),
]


ACCESS = [
    (
        "md",
        intro(
            "접속기록 감사 / Access audit",
            "Verify the hash chain of the access log, and find plays and downloads "
            "without an approved request, access outside working hours, each "
            "user's activity and months whose access records were not reviewed.",
            "Working hours are 09:00-18:00 Asia/Seoul on weekdays; public holidays "
            "are not known to this notebook. A party's own protected copy "
            "(export with kind `own_copy`) needs no request. The chain is checked "
            "inside the snapshot only; to check a snapshot against the server's "
            "head file, open it with `auditdata.open_snapshot(path, "
            "head_file=...)`. Without the request tables every play and download "
            "counts as without a request.",
        ),
    ),
    ("code", SETUP),
    (
        "code",
        """\
from pipeline import accesslog

KINDS = [
    "access_log_chain_broken",
    "access_without_request",
    "after_hours_access",
    "unreviewed_month",
]
NOT_CHECKED = []
RECORDING_ACTIONS = ["play", "download", "export", "handover"]
WORK_START_HOUR = 9
WORK_END_HOUR = 18

log = snapshot.sql(
    \"\"\"
    SELECT id, "at", actor, role, client_addr, action, object_type, object_ids,
           result, detail
    FROM access_log ORDER BY id
    \"\"\"
)
print(f"access-log entries: {len(log)}")""",
    ),
    ("md", "## 위·변조 검증 / Hash-chain verification"),
    (
        "code",
        """\
chain = accesslog.verify(snapshot.con)
if chain.intact:
    print(f"access log intact: {chain.entries} entries")
else:
    print(f"ACCESS LOG BROKEN at entry {chain.first_bad}: {chain.problem}")
    found.append(auditdata.mark_violations(
        "access_log_chain_broken",
        pd.DataFrame({"entry": [chain.first_bad]}), "entry", chain.problem,
    ))""",
    ),
    (
        "md",
        "## 승인된 신청 없는 재생·다운로드 / Plays and downloads without an "
        "approved request\n\nAn access is covered when a request containing the "
        "recording had all three approval stages signed before the access and was "
        "not closed yet; when the entry names a `request_id`, that request must be "
        "the one.",
    ),
    (
        "code",
        """\
ACCESS_SQL = \"\"\"
    SELECT id AS entry_id, "at", actor, action,
           TRY_CAST(unnest(object_ids) AS BIGINT) AS recording_id,
           TRY_CAST(json_extract_string(detail, '$.request_id') AS BIGINT)
               AS request_id
    FROM access_log
    WHERE action IN ('play', 'download', 'export') AND result = 'ok'
      AND object_type = 'recording'
      AND coalesce(json_extract_string(detail, '$.kind'), '') <> 'own_copy'
\"\"\"
REQUEST_TABLES = ["requests", "request_recordings", "request_approvals"]
if all(snapshot.has_table(name) for name in REQUEST_TABLES):
    uncovered = snapshot.sql(f\"\"\"
        WITH access AS ({ACCESS_SQL}),
        approved AS (
            SELECT r.id AS request_id, rr.recording_id, r.closed_at,
                   max(a.decided_at) AS approved_at
            FROM requests r
            JOIN request_recordings rr ON rr.request_id = r.id
            JOIN request_approvals a
                ON a.request_id = r.id AND a.decision = 'approved'
            WHERE r.status IN ('approved', 'provided', 'returned', 'closed')
            GROUP BY ALL
            HAVING count(DISTINCT a.stage) = 3
        )
        SELECT * FROM access
        WHERE NOT EXISTS (
            SELECT 1 FROM approved p
            WHERE p.recording_id = access.recording_id
              AND p.approved_at <= access."at"
              AND (p.closed_at IS NULL OR access."at" <= p.closed_at)
              AND (access.request_id IS NULL OR access.request_id = p.request_id)
        )
        ORDER BY entry_id
    \"\"\")
else:
    print("request tables absent: 모든 재생·다운로드를 신청 없는 접근으로 봅니다")
    uncovered = snapshot.sql(ACCESS_SQL + " ORDER BY entry_id")
display(uncovered)
found.append(auditdata.mark_violations(
    "access_without_request", uncovered, "entry_id",
    lambda row: f"{row.action} of recording {row.recording_id} by {row.actor}",
))""",
    ),
    ("md", "## 업무 시간 외 접근 / Access outside working hours"),
    (
        "code",
        """\
# The snapshot connection runs in Asia/Seoul, so hour() and isodow() are local.
# TODO: Korean public holidays count as working days here.
after_hours = snapshot.sql(
    \"\"\"
    SELECT id, "at", actor, action, object_ids, result
    FROM access_log
    WHERE list_contains(?::VARCHAR[], action)
      AND (isodow("at") >= 6 OR hour("at") < ? OR hour("at") >= ?)
    ORDER BY id
    \"\"\",
    [RECORDING_ACTIONS, WORK_START_HOUR, WORK_END_HOUR],
)
display(after_hours)
found.append(auditdata.mark_violations(
    "after_hours_access", after_hours, "id",
    lambda row: f"{row.action} by {row.actor} at {row['at']:%Y-%m-%d %a %H:%M}",
))""",
    ),
    ("md", "## 사용자별 활동 / Activity per user"),
    (
        "code",
        """\
activity = snapshot.sql(
    \"\"\"
    SELECT actor, action, count(*)::BIGINT AS entries,
           count(*) FILTER (WHERE result <> 'ok')::BIGINT AS not_ok
    FROM access_log GROUP BY ALL ORDER BY actor, action
    \"\"\"
)
display(activity)
if not activity.empty:
    display(activity.hvplot.bar(
        x="actor", y="entries", by="action", stacked=True, rot=30,
        title="사용자별 접속기록",
    ))""",
    ),
    (
        "md",
        "## 월별 점검 / Monthly review\n\nAccess records must be reviewed "
        "every month. Every month before the snapshot's month that has entries "
        "needs a row in `access_log_reviews`, which the access-log page writes "
        "(column `month`: the month's first day).",
    ),
    (
        "code",
        """\
# The access-log page writes one row per reviewed month, keyed by its first day.
if snapshot.has_table("access_log_reviews"):
    months = snapshot.sql(
        \"\"\"
        SELECT DISTINCT strftime("at", '%Y-%m') AS month FROM access_log
        WHERE "at" < date_trunc('month', ?::TIMESTAMPTZ)
        ORDER BY month
        \"\"\",
        [AS_OF],
    )
    reviewed = set(
        snapshot.sql(
            "SELECT strftime(month, '%Y-%m') AS month FROM access_log_reviews"
        )["month"]
    )
    unreviewed = months[~months["month"].isin(reviewed)]
    display(unreviewed)
    found.append(auditdata.mark_violations(
        "unreviewed_month", unreviewed, "month", "no review recorded for the month",
    ))
else:
    print("access_log_reviews table absent: 월별 점검 기록이 없어 확인하지 않았습니다")
    NOT_CHECKED.append("unreviewed_month")""",
    ),
    ("md", SUMMARY_HEADING),
    ("code", SUMMARY),
]


REQUESTS = [
    (
        "md",
        intro(
            "열람·제공 신청 감사 / Requests audit",
            "Show each request's timeline, and find destruction notices (Form 3) "
            "that are overdue or late, ledger entries with missing parts, and "
            "approvals signed out of order.",
            "The request tables (`requests`, `request_approvals`, `handovers`, "
            "`request_notices`) are optional. When the snapshot lacks them this "
            "notebook reports every check as `not_checked`. Due dates include "
            "recorded extensions, because an extension moves `due_on`.",
        ),
    ),
    ("code", SETUP),
    (
        "code",
        """\
KINDS = ["overdue_notice", "late_notice", "ledger_incomplete", "approval_out_of_order"]
NOT_CHECKED = []
STAGES = ["staff", "team_leader", "department_head"]
HAS_REQUESTS = snapshot.has_table("requests") and snapshot.has_table(
    "request_approvals"
)
HAS_HANDOVERS = snapshot.has_table("handovers")
HAS_NOTICES = snapshot.has_table("request_notices")
AS_OF_DATE = AS_OF.astimezone(auditdata.SEOUL).date()
if not HAS_REQUESTS:
    print("request tables absent: 신청 관련 점검을 하지 않았습니다")
    NOT_CHECKED.extend(KINDS)
    requests = pd.DataFrame()
else:
    requests = snapshot.sql(
        \"\"\"
        SELECT id, number, status, access_kind, requested_at, proof_sha256,
               provided_on, due_on, closed_at
        FROM requests ORDER BY number
        \"\"\"
    )
    approvals = snapshot.sql(
        "SELECT request_id, stage, decision, username, decided_at"
        " FROM request_approvals ORDER BY request_id, decided_at"
    )
    print(f"requests: {len(requests)}")""",
    ),
    ("md", "## 신청별 진행 경과 / Timeline of each request"),
    (
        "code",
        """\
if HAS_REQUESTS:
    parts = [
        \"\"\"SELECT number, 'requested' AS event, requested_at AS "time"
           FROM requests\"\"\",
        \"\"\"SELECT r.number, 'approval:' || a.stage, a.decided_at
           FROM request_approvals a JOIN requests r ON r.id = a.request_id\"\"\",
        \"\"\"SELECT number, 'due', due_on::TIMESTAMPTZ FROM requests
           WHERE due_on IS NOT NULL\"\"\",
        \"\"\"SELECT number, 'closed', closed_at FROM requests
           WHERE closed_at IS NOT NULL\"\"\",
    ]
    if HAS_HANDOVERS:
        parts.append(\"\"\"SELECT r.number, 'handover', h.handed_over_at
           FROM handovers h JOIN requests r ON r.id = h.request_id\"\"\")
    if HAS_NOTICES:
        parts.append(\"\"\"SELECT r.number, 'notice', n.notified_on::TIMESTAMPTZ
           FROM request_notices n JOIN requests r ON r.id = n.request_id\"\"\")
    timeline = snapshot.sql(
        " UNION ALL ".join(parts) + \"\"\" ORDER BY number, "time" \"\"\"
    )
    display(timeline)
    if not timeline.empty:
        display(timeline.hvplot.scatter(
            x="time", y="number", by="event", size=60, height=300,
            title="신청별 진행 경과",
        ))""",
    ),
    ("md", "## 결과 통보 지연 / Overdue and late destruction notices (Form 3)"),
    (
        "code",
        """\
if HAS_REQUESTS:
    overdue = requests[
        requests["status"].eq("provided")
        & requests["due_on"].notna()
        # A Timestamp, because comparing a datetime64 column with a date raises
        # TypeError when due_on is NULL in every row.
        & (pd.to_datetime(requests["due_on"]) < pd.Timestamp(AS_OF_DATE))
    ]
    display(overdue)
    found.append(auditdata.mark_violations(
        "overdue_notice", overdue, "number",
        lambda row: f"provided, notice due {row.due_on:%Y-%m-%d} and not returned",
    ))
    if HAS_NOTICES:
        late = snapshot.sql(
            \"\"\"
            SELECT r.number, r.due_on, min(n.notified_on) AS notified_on
            FROM requests r JOIN request_notices n ON n.request_id = r.id
            WHERE n.destruction <> 'extension'
            GROUP BY ALL
            HAVING min(n.notified_on) > r.due_on
            ORDER BY r.number
            \"\"\"
        )
        display(late)
        found.append(auditdata.mark_violations(
            "late_notice", late, "number",
            lambda row: (
                f"notice on {row.notified_on:%Y-%m-%d}, due {row.due_on:%Y-%m-%d}"
            ),
        ))
    else:
        print("request_notices table absent: 통보 지연을 확인하지 않았습니다")
        NOT_CHECKED.append("late_notice")""",
    ),
    (
        "md",
        "## 관리대장 완결성 / Ledger completeness (Form 4)\n\nA provided, "
        "returned or closed request needs a proof document, three approvals and a "
        "handover receipt whose file count matches its recordings; a returned or "
        "closed one also needs a notice.",
    ),
    (
        "code",
        '''\
def missing_parts(request, approved_stages, handovers, notice_ids):
    missing = []
    if pd.isna(request.proof_sha256):
        missing.append("proof document")
    if set(approved_stages.get(request.id, ())) != set(STAGES):
        missing.append("approvals")
    if HAS_HANDOVERS and request.status in ("provided", "returned", "closed"):
        receipt = handovers.get(request.id)
        if receipt is None:
            missing.append("handover receipt")
        elif receipt[0] != receipt[1]:
            missing.append(f"file count {receipt[0]} but {receipt[1]} recordings")
    if HAS_NOTICES and request.status in ("returned", "closed"):
        if request.id not in notice_ids:
            missing.append("destruction notice")
    return missing


if HAS_REQUESTS:
    approved_stages = (
        approvals[approvals["decision"].eq("approved")]
        .groupby("request_id")["stage"].apply(list).to_dict()
    )
    handovers = {}
    if HAS_HANDOVERS:
        for row in snapshot.sql(
            """
            SELECT h.request_id, h.file_count::BIGINT AS file_count,
                   count(hr.recording_id)::BIGINT AS recordings
            FROM handovers h
            LEFT JOIN handover_recordings hr ON hr.handover_id = h.id
            GROUP BY ALL
            """
        ).itertuples():
            handovers[row.request_id] = (row.file_count, row.recordings)
    notice_ids = set()
    if HAS_NOTICES:
        notice_ids = set(snapshot.sql(
            "SELECT DISTINCT request_id FROM request_notices"
        )["request_id"])
    ledger = requests[requests["status"].isin(["provided", "returned", "closed"])]
    ledger = ledger.assign(missing=[
        missing_parts(row, approved_stages, handovers, notice_ids)
        for row in ledger.itertuples()
    ])
    incomplete = ledger[ledger["missing"].map(bool)]
    display(ledger[["number", "status", "missing"]])
    found.append(auditdata.mark_violations(
        "ledger_incomplete", incomplete, "number",
        lambda row: "missing: " + ", ".join(row.missing),
    ))''',
    ),
    (
        "md",
        "## 결재 순서 / Approval order\n\nStages are signed in the order "
        "staff in charge (담당자), team leader (팀장), department head (과장).",
    ),
    (
        "code",
        """\
def order_problem(rows):
    signed = rows.sort_values("decided_at")["stage"].tolist()
    expected = [stage for stage in STAGES if stage in signed]
    if signed != expected:
        return "signed in the order " + " → ".join(signed)
    if expected != STAGES[: len(expected)]:
        return "stage " + STAGES[len(expected) - 1] + " signed before earlier stages"
    return None


if HAS_REQUESTS:
    numbers = requests.set_index("id")["number"].to_dict()
    problems = []
    for request_id, rows in approvals.groupby("request_id"):
        problem = order_problem(rows)
        if problem:
            problems.append({"number": numbers.get(request_id), "problem": problem})
    out_of_order = pd.DataFrame(problems, columns=["number", "problem"])
    display(out_of_order)
    found.append(auditdata.mark_violations(
        "approval_out_of_order", out_of_order, "number",
        lambda row: row.problem,
    ))""",
    ),
    ("md", SUMMARY_HEADING),
    ("code", SUMMARY),
]


QUALITY = [
    (
        "md",
        intro(
            "녹음 품질 감사 / Recording quality audit",
            "Find silent calls, one-way audio, full-mode calls without the prior "
            "notice to callers, and full-mode recording from lines without a "
            "current approval, by line and department.",
            "The verdict, one-way flag and notice come from the `stats` JSON of "
            "each recording, which older rows may lack: a call without a verdict "
            "counts as silent when at least 98 % of its frames are silent, and a "
            "full-mode call whose notice was never checked is counted but is not "
            "a violation.",
        ),
    ),
    ("code", SETUP),
    (
        "code",
        '''\
KINDS = ["silent_call", "one_way_audio", "missing_notice", "full_mode_without_approval"]
NOT_CHECKED = []
# Used only for rows without a verdict in stats.
SILENT_RATIO = 0.98

calls = snapshot.sql(
    """
    SELECT id, line, department, mode, start_time, channels, silence_ratio, stats
    FROM recordings
    WHERE stats IS NOT NULL OR silence_ratio IS NOT NULL
    ORDER BY id
    """
)


def parse_stats(text):
    return json.loads(text) if isinstance(text, str) and text else {}


def notice_detected(stats):
    notice = stats.get("notice")
    if isinstance(notice, dict):
        notice = notice.get("found")
    return notice if isinstance(notice, bool) else None


parsed = calls["stats"].map(parse_stats)
calls["verdict"] = parsed.map(lambda stats: stats.get("verdict"))
calls["one_way"] = parsed.map(lambda stats: stats.get("one_way") is True)
calls["notice"] = parsed.map(notice_detected)
calls["department"] = calls["department"].fillna("(미지정)")
calls["line"] = calls["line"].fillna("(미지정)")
print(f"analysed calls: {len(calls)}")''',
    ),
    ("md", "## 무음·단방향 통화 / Silence and one-way audio"),
    (
        "code",
        """\
silent = calls[
    calls["verdict"].eq("all_silent")
    | (calls["verdict"].isna() & (calls["silence_ratio"] >= SILENT_RATIO))
]
one_way = calls[calls["one_way"] | calls["verdict"].eq("one_way")]
display(silent.drop(columns=["stats"]))
display(one_way.drop(columns=["stats"]))
found.append(auditdata.mark_violations(
    "silent_call", silent, "id",
    lambda row: f"line {row.line}, silence ratio {row.silence_ratio:.2f}",
))
found.append(auditdata.mark_violations(
    "one_way_audio", one_way, "id", lambda row: f"line {row.line}",
))
display(calls.hvplot.hist("silence_ratio", bins=20, title="무음 비율 분포"))""",
    ),
    ("md", "## 사전 안내 누락 / Missing prior notice on full-mode calls"),
    (
        "code",
        """\
full = calls[calls["mode"].eq("full")]
missing_notice = full[full["notice"].eq(False)]
unchecked = full[full["notice"].isna()]
print(f"full-mode calls: {len(full)}, notice not checked: {len(unchecked)}")
display(missing_notice.drop(columns=["stats"]))
found.append(auditdata.mark_violations(
    "missing_notice", missing_notice, "id",
    lambda row: f"full-mode call on line {row.line} without the notice",
))""",
    ),
    ("md", "## 전체 녹음 승인 / Full-mode recording without a current approval"),
    (
        "code",
        '''\
unapproved = snapshot.sql(
    """
    SELECT r.id, r.line, r.department, r.start_time, l.approval_doc,
           l.valid_from, l.valid_to
    FROM recordings r LEFT JOIN lines l ON l.number = r.line
    WHERE r.mode = 'full'
      AND (l.number IS NULL OR l.mode <> 'full' OR l.approval_doc IS NULL
           OR l.valid_from IS NULL OR r.start_time::DATE < l.valid_from
           OR (l.valid_to IS NOT NULL AND r.start_time::DATE > l.valid_to))
    ORDER BY r.id
    """
)
display(unapproved)
found.append(auditdata.mark_violations(
    "full_mode_without_approval", unapproved, "id",
    lambda row: f"line {row.line} has no approval valid on {row.start_time:%Y-%m-%d}",
))''',
    ),
    ("md", "## 회선·부서별 / By line and department"),
    (
        "code",
        """\
flags = pd.DataFrame({
    "line": calls["line"],
    "department": calls["department"],
    "silent_call": calls["id"].isin(silent["id"]),
    "one_way_audio": calls["id"].isin(one_way["id"]),
    "missing_notice": calls["id"].isin(missing_notice["id"]),
})
by_line = flags.groupby(["department", "line"]).sum().astype("int64").reset_index()
display(by_line)
by_department = (
    flags.drop(columns=["line"]).groupby("department").sum().astype("int64")
    .reset_index()
    .melt(id_vars="department", var_name="finding", value_name="calls")
)
display(by_department.hvplot.bar(
    x="department", y="calls", by="finding", title="부서별 품질 문제"
))""",
    ),
    ("md", SUMMARY_HEADING),
    ("code", SUMMARY),
]

NOTEBOOKS = {
    "retention_audit": RETENTION,
    "access_audit": ACCESS,
    "requests_audit": REQUESTS,
    "quality_audit": QUALITY,
}


def build(name: str) -> nbformat.NotebookNode:
    """Return the notebook ``name`` built from its cell list."""
    cells = [
        new_markdown_cell(text) if kind == "md" else new_code_cell(text)
        for kind, text in NOTEBOOKS[name]
    ]
    # Fixed cell ids keep a rebuild without source changes free of diffs.
    for index, cell in enumerate(cells):
        cell.id = f"{name}-{index}"
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def main() -> None:
    """Write every notebook next to this file."""
    for name in NOTEBOOKS:
        notebook = build(name)
        nbformat.validate(notebook)
        path = NOTEBOOK_DIR / f"{name}.ipynb"
        nbformat.write(notebook, path)
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
