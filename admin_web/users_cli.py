"""`qingsu users create`: staff accounts from the command line, so a new installation can make its first
platform manager (who then manages everyone else on the admin site).

The password is read from a hidden prompt, or from standard input with ``--password-stdin`` (for scripts); never
from an argument, which would stay in the shell history and the process list. The password policy
(`admin_web.passwords.password_problem`) applies, and the user must change the password at the first sign-in.
"""

from __future__ import annotations

import sys

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_web.audit import audit
from admin_web.manage import CITY_ONLY_ROLES, UNIT_ROLES, USERNAME_RE
from admin_web.passwords import hash_password, password_problem
from models import District, Unit, User
from models.db import get_session
from models.enums import Role


def create_user(
    session: Session,
    *,
    role: Role,
    username: str,
    display_name: str,
    password: str,
    district_code: str | None = None,
    unit_id: int | None = None,
    phone: str | None = None,
) -> User:
    """Add a staff account that must change its password at the first sign-in (the caller commits).

    :raises click.BadParameter: a bad or taken username, a name out of range, a password the policy refuses, or a
        district or unit that does not fit the role.
    """
    if not USERNAME_RE.match(username):
        raise click.BadParameter("3 to 60 letters, digits or _ . -", param_hint="--username")
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise click.BadParameter(f"{username} already exists", param_hint="--username")
    if not 1 <= len(display_name.strip()) <= 60:
        raise click.BadParameter("1 to 60 characters", param_hint="--name")
    unit: Unit | None = None
    if role in UNIT_ROLES:
        unit = session.get(Unit, unit_id) if unit_id is not None else None
        if unit is None or unit.is_platform or not unit.active:
            raise click.BadParameter(f"{role.value} needs an active handling unit", param_hint="--unit-id")
        district_code = unit.district_code
    elif role in CITY_ONLY_ROLES:
        if district_code or unit_id is not None:
            raise click.BadParameter(f"{role.value} is a city-level role: no district or unit")
        district_code = None
    elif not district_code or session.get(District, district_code) is None:
        raise click.BadParameter(
            f"{role.value} needs a district (run qingsu seed-demo first)", param_hint="--district"
        )
    problem = password_problem(password, username=username, display_name=display_name)
    if problem:
        raise click.BadParameter(problem, param_hint="password")
    user = User(
        username=username,
        display_name=display_name.strip(),
        role=role,
        district_code=district_code,
        unit_id=unit.id if unit else None,
        phone=phone or None,
        password_hash=hash_password(password),
        must_change_password=True,
    )
    session.add(user)
    session.flush()
    audit(session, None, "user_created", f"user:{username}", f"role={role.value} by qingsu users create")
    return user


@click.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="e.g. city_manager")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="The name shown on the admin site.")
@click.option("--district", "district_code", default=None, help="District code, for district roles.")
@click.option(
    "--unit-id", type=click.IntRange(min=1, max=2**31 - 1), default=None, help="For handlers and reviewers."
)
@click.option("--phone", default=None)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)
def create_command(
    role: str,
    username: str,
    display_name: str,
    district_code: str | None,
    unit_id: int | None,
    phone: str | None,
    password_stdin: bool,
) -> None:
    """Create a staff account (the first city manager of a new installation, for instance)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    session = get_session()
    user = create_user(
        session,
        role=Role(role),
        username=username.strip(),
        display_name=display_name,
        password=password,
        district_code=district_code,
        unit_id=unit_id,
        phone=phone,
    )
    session.commit()
    click.echo(
        f"created {user.username} ({user.role.value}); the password must be changed at the first sign-in"
    )


def init_app(app: Flask) -> None:
    """Register `qingsu users`."""
    app.cli.add_command(users_group)
