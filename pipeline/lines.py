"""Lines registry (placeholder while the module is written)."""

from __future__ import annotations

SCHEMA_SQL: list[str] = []


def create_schema(con) -> None:
    """Create the lines registry tables if they are missing."""
    for statement in SCHEMA_SQL:
        con.execute(statement)
