"""API key commands: create a key (printed once), revoke one, list them (never the keys themselves)."""

from __future__ import annotations

import json

import click
from flask import current_app

from matcher.errors import RismepError
from matcher.store import keys, open_db


def _db():
    return open_db(current_app.config["DATABASE"])


@click.command("create-key")
@click.option("--role", required=True, type=click.Choice(keys.ROLES),
              help="desk: sends referrals and sees its own; member: sees and moves its own legs; "
                   "analyst: de-identified lists only; admin: everything")
@click.option("--member", "member_id", help="member id for --role member, e.g. A0001 or C0001")
@click.option("--desk", help="desk name for --role desk, e.g. desk-TH-50")
@click.option("--name", help="who holds the key (shown in audit logs); defaults to the member, desk or role")
def create_key(role, member_id, desk, name):
    """Create an API key and print it ONCE, alone on the last line (only its hash is stored).

    Example: flask --app api create-key --role desk --desk desk-TH-50
    """
    db = _db()
    try:
        row = keys.create_key(db, role=role, member_id=member_id, desk=desk, name=name)
    except RismepError as error:
        raise click.ClickException(error.message) from None
    finally:
        db.close()
    info = {k: row[k] for k in ("id", "prefix", "role", "member_id", "desk", "name", "created_at")}
    click.echo(json.dumps(info, ensure_ascii=False), err=True)
    click.echo("Keep this key secret; it cannot be shown again. Send it as: Authorization: Bearer <key>",
               err=True)
    click.echo(row["key"])


@click.command("revoke-key")
@click.argument("key_id", type=int)
def revoke_key(key_id):
    """Revoke an API key by its id (from list-keys); it stops working at once.

    Example: flask --app api revoke-key 3
    """
    db = _db()
    try:
        row = keys.revoke_key(db, key_id)
    except RismepError as error:
        raise click.ClickException(error.message) from None
    finally:
        db.close()
    click.echo(json.dumps(row, ensure_ascii=False, indent=2))


@click.command("list-keys")
def list_keys():
    """List API keys (id, prefix, role, member, desk, name, created, revoked); never the keys.

    Example: flask --app api list-keys
    """
    db = _db()
    try:
        click.echo(json.dumps(keys.list_keys(db), ensure_ascii=False, indent=2))
    finally:
        db.close()


commands = [create_key, revoke_key, list_keys]
