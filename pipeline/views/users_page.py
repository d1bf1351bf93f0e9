"""The privileged-users page (접근 권한자 현황): who may see or hand over recordings.

Access to recordings is limited to as few people as possible, so the page lists
every user with a privileged role next to the configured maximum
(``security.max_privileged_users``) and flags the count in red when it is over.
"""

from __future__ import annotations

import logging

import pandas as pd
import panel as pn
import param

from pipeline.auth import PRIVILEGED_ROLES, User, check_privileged_users
from pipeline.service import Service
from pipeline.views.formatting import escape
from pipeline.views.heading import heading
from pipeline.views.i18n import LABELS, code_labels, label
from pipeline.views.table import TABLE_CSS
from pipeline.websessions import user_store

logger = logging.getLogger(__name__)

# The page's labels, added to the shared label table when this module is imported.
USERS_LABELS = {
    "page.users": {"ko": "접근 권한자 현황", "en": "Privileged users"},
    "us.privileged": {"ko": "접근 권한자", "en": "Privileged users"},
    "us.all_users": {"ko": "전체 사용자", "en": "All users"},
    "us.within": {
        "ko": "접근 권한자 {count}명 (최대 {maximum}명 이내)",
        "en": "{count} privileged users, within the maximum of {maximum}",
    },
    "us.over": {
        "ko": "접근 권한자 {count}명이 최대 {maximum}명을 넘습니다. "
        "필요 없는 권한을 회수하십시오.",
        "en": "{count} privileged users exceed the maximum of {maximum}. "
        "Remove roles that are no longer needed.",
    },
    "us.col.username": {"ko": "아이디", "en": "Username"},
    "us.col.display_name": {"ko": "이름", "en": "Name"},
    "us.col.department": {"ko": "부서", "en": "Department"},
    "us.col.roles": {"ko": "역할", "en": "Roles"},
    "us.col.privileged": {"ko": "접근 권한", "en": "Privileged"},
}
LABELS.update(USERS_LABELS)

COLUMNS = ("username", "display_name", "department", "roles", "privileged")


def _users_frame(users: list[User], language: str) -> pd.DataFrame:
    """Return one text row per user."""
    return pd.DataFrame(
        {
            "username": [user.username for user in users],
            "display_name": [user.display_name for user in users],
            "department": [user.department for user in users],
            "roles": [code_labels("role", user.roles, language) for user in users],
            "privileged": [
                "●" if PRIVILEGED_ROLES.intersection(user.roles) else ""
                for user in users
            ],
        },
        columns=list(COLUMNS),
    )


class UsersPage(pn.viewable.Viewer):
    """Privileged users against the configured maximum, and every user's roles."""

    language = param.Selector(default="ko", objects=["ko", "en"])

    def __init__(self, service: Service, *, user: User | None = None, **params):
        super().__init__(**params)
        self._service = service
        self._user = user
        self._summary = pn.pane.HTML("", css_classes=["privileged-summary"])
        self._titles = {key: heading() for key in ("us.privileged", "us.all_users")}
        self._privileged = self._table("privileged-table")
        self._all = self._table("users-table")
        self._layout = pn.Column(
            self._summary,
            self._titles["us.privileged"],
            self._privileged,
            self._titles["us.all_users"],
            self._all,
            sizing_mode="stretch_width",
            css_classes=["page-content", "users-page"],
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @staticmethod
    def _table(css_class: str) -> pn.widgets.Tabulator:
        return pn.widgets.Tabulator(
            value=pd.DataFrame(),
            show_index=False,
            disabled=True,
            sortable=False,
            selectable=False,
            layout="fit_data_stretch",
            sizing_mode="stretch_width",
            css_classes=[css_class],
            stylesheets=[TABLE_CSS],
        )

    @param.depends("language", watch=True)
    def refresh(self) -> None:
        """Read the users file again and compare the count with the maximum."""
        language = self.language
        store = user_store(self._service.config)
        maximum = int(self._service.config["security.max_privileged_users"])
        check = check_privileged_users(store, maximum)
        count = len(check.users)
        if check.within_limit:
            text = label("us.within", language, count=count, maximum=maximum)
            self._summary.object = (
                f'<div class="privileged-within" style="color:#2e7d32;'
                f'font-weight:600">{escape(text)}</div>'
            )
        else:
            text = label("us.over", language, count=count, maximum=maximum)
            self._summary.object = (
                f'<div class="privileged-over" style="color:#c62828;'
                f'font-weight:700">{escape(text)}</div>'
            )
        for key, pane in self._titles.items():
            pane.object = f"### {label(key, language)}"
        titles = {name: label(f"us.col.{name}", language) for name in COLUMNS}
        self._privileged.titles = titles
        self._privileged.value = _users_frame(list(check.users), language)
        self._all.titles = titles
        self._all.value = _users_frame(store.list_users(), language)
