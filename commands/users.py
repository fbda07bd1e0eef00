"""Desk accounts: ``create-user`` for real accounts, ``demo-users`` for the labelled DEMO accounts."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app

from matcher.errors import RismepError


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _open():
    from matcher.store import open_db
    return open_db(current_app.config["DATABASE"])


@click.command("create-user")
@click.option("--role", required=True, type=click.Choice(["desk", "member", "analyst", "admin"]),
              help="desk: one-stop-service staff; member: a member's team (needs --member); analyst; admin")
@click.option("--username", required=True, help="sign-in name (3-64 letters, digits, . _ - @)")
@click.option("--member", "member_id", help="member id the account acts for (member accounts only), e.g. A0001")
@click.option("--desk", help="desk name recorded on referrals (desk accounts; default desk-<province>)")
@click.option("--province", help="the desk's province (code, English or Thai name): the default for new cases")
@click.option("--name", help="display name")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
def create_user(role, username, member_id, desk, province, name, password_stdin):
    """Create a desk account; the password is prompted for (or read with --password-stdin).

    Example: flask --app api create-user --role member --username team.a0001 --member A0001
    """
    from matcher import accounts
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    db = _open()
    try:
        if province:
            province = current_app.extensions["rismep"].ref.resolve_province(province)
        user = accounts.create_account(db, username=username, password=password, role=role, member_id=member_id,
                                       desk=desk, province=province, name=name)
    except RismepError as error:
        raise click.ClickException(error.message) from None
    finally:
        db.close()
    _echo_json(user)


@click.command("demo-users")
def demo_users():
    """Create the DEMO accounts for trying the synthetic demo (password: rismep-demo).

    demo-desk (Chiang Mai desk), demo-analyst, demo-admin and one member account per member
    (demo-a0001, demo-c0001, ...). Refused unless the dataset is synthetic; existing ones are kept.

    Example: flask --app api demo-users
    """
    from matcher import accounts
    db = _open()
    try:
        created = accounts.create_demo_accounts(db)
    except RismepError as error:
        raise click.ClickException(error.message) from None
    finally:
        db.close()
    _echo_json({"created": len(created), "password": accounts.DEMO_PASSWORD,
                "staff": [s["username"] for s in accounts.DEMO_STAFF],
                "members": "demo-<member id in lower case>, e.g. demo-a0001",
                "note": "DEMO accounts with a published password, for the synthetic demo network only."})


@click.command("end-sessions")
@click.argument("username")
def end_sessions(username):
    """End every desk session of an account at once (it must sign in again).

    Example: flask --app api end-sessions demo-desk
    """
    from matcher import accounts
    db = _open()
    try:
        _echo_json(accounts.end_sessions(db, username))
    except RismepError as error:
        raise click.ClickException(error.message) from None
    finally:
        db.close()


@click.command("rotate-session-key")
def rotate_session_key():
    """Replace the desk session key kept in the database and end every desk session; every worker uses the
    new key from its next request. Without effect while RISMEP_SECRET_KEY is set (that key wins).

    Example: flask --app api rotate-session-key
    """
    from matcher.store import secrets
    db = _open()
    try:
        result = secrets.rotate_session_key(db)
    finally:
        db.close()
    if current_app.config.get("SECRET_KEY"):
        result["note"] = "RISMEP_SECRET_KEY is set, so the service signs with it and not with the stored key."
    _echo_json(result)


commands = [create_user, demo_users, end_sessions, rotate_session_key]
