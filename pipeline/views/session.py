"""The user of the current dashboard session."""

from __future__ import annotations

from pathlib import Path

import panel as pn

from pipeline.auth import User, UserStore
from pipeline.service import Service


def current_user(service: Service) -> User | None:
    """Return the logged-in user of this session, or None without a login."""
    username = pn.state.user
    if not username:
        return None
    store = UserStore(Path(service.config["security.users_file"]))
    return store.get_user(username)
