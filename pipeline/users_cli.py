"""The ``recwatch users`` commands: list users, add them, change passwords and roles.

Every change is written to the access log, so these commands open the catalog
and stop while the dashboard server owns it. Passwords are read from the
terminal (or one line of standard input with ``--password-stdin``), never from
the command line, where the shell history and ``ps`` would show them.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from pipeline import accesslog, auth
from pipeline.catalog import Catalog
from pipeline.cliutil import (
    ConfigOption,
    DbOption,
    fail,
    load_cli_config,
    open_catalog,
)
from pipeline.config import Config
from pipeline.errors import RecwatchError

users_app = typer.Typer(
    help="List users and change their passwords and roles (접근 권한).",
    no_args_is_help=True,
)

PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the new password from one line of stdin."
    ),
]


def _store(config: Config) -> auth.UserStore:
    return auth.UserStore(Path(config["security.users_file"]))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("new password", hide_input=True, confirmation_prompt=True)


@contextmanager
def _change(
    config: Config, db: Path | None, username: str, change: str
) -> Iterator[None]:
    """Open the catalog, run the body and log it as a user_change entry.

    The catalog is opened before the body runs, so a locked or missing catalog
    stops the command before it prompts for a password. A RecwatchError in the
    body exits with status 1 and logs nothing. The configured catalog may be
    created, because a new deployment adds its first users before the first
    start. A --db path must already exist.
    """
    with open_catalog(config, db, create=db is None) as catalog:
        try:
            yield
        except RecwatchError as error:
            raise fail(str(error)) from None
        _log(catalog, username, change)


def _log(catalog: Catalog, username: str, change: str) -> None:
    catalog.write(
        lambda con: accesslog.append(
            con,
            actor=f"cli:{getpass.getuser()}",
            action="user_change",
            object_type="user",
            object_ids=(username,),
            detail={"change": change},
        )
    )


@users_app.command("list")
def list_command(config_path: ConfigOption = None) -> None:
    """Print each user with their roles and department."""
    config = load_cli_config(config_path)
    users = _store(config).list_users()
    if not users:
        typer.echo(
            f"no users in {config['security.users_file']}. Add one with `recwatch "
            "users add`; the embedded default creates its demo users when the "
            "dashboard first shows its login page",
            err=True,
        )
    for user in users:
        roles = ",".join(user.roles)
        typer.echo(f"{user.username}\t{roles}\t{user.department}\t{user.display_name}")


@users_app.command("passwd")
def passwd_command(
    username: Annotated[str, typer.Argument(help="User whose password to set.")],
    password_stdin: PasswordStdinOption = False,
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Set a user's password; the demo users' passwords must be changed this way.

    Example:

        recwatch users passwd operator
    """
    config = load_cli_config(config_path)
    store = _store(config)
    with _change(config, db, username, "password"):
        store.get_user(username)
        store.set_password(username, _read_password(password_stdin))
    typer.echo(f"users: password of {username} changed")


@users_app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="New user's login name.")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role", help="Role to grant; repeat for several: " + ", ".join(auth.ROLES)
        ),
    ],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    department: Annotated[str, typer.Option("--department", help="Department.")] = "",
    password_stdin: PasswordStdinOption = False,
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Add a user with a password and roles.

    Example:

        recwatch users add kim.op --role operator --name "김담당"
    """
    config = load_cli_config(config_path)
    store = _store(config)
    with _change(config, db, username, "added"):
        if any(user.username == username for user in store.list_users()):
            raise fail(
                f"user {username!r} already exists in {store.path}. Choose another "
                "username, or change the password with `recwatch users passwd`"
            )
        password = _read_password(password_stdin)
        store.add_user(username, password, role, name, department)
    typer.echo(f"users: {username} added with roles {','.join(role)}")


@users_app.command("roles")
def roles_command(
    username: Annotated[str, typer.Argument(help="User whose roles to replace.")],
    role: Annotated[
        list[str], typer.Option("--role", help="Role; repeat for several.")
    ],
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Replace a user's roles."""
    config = load_cli_config(config_path)
    store = _store(config)
    with _change(config, db, username, "roles"):
        store.set_roles(username, role)
    typer.echo(f"users: roles of {username} set to {','.join(role)}")


@users_app.command("remove")
def remove_command(
    username: Annotated[str, typer.Argument(help="User to remove.")],
    db: DbOption = None,
    config_path: ConfigOption = None,
) -> None:
    """Remove a user; the last administrator cannot be removed."""
    config = load_cli_config(config_path)
    store = _store(config)
    with _change(config, db, username, "removed"):
        store.remove_user(username)
    typer.echo(f"users: {username} removed")
