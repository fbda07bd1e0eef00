"""Operations commands: online backup and restore of the SQLite store."""

from __future__ import annotations

import json

import click
from flask import current_app

from matcher.errors import RismepError
from matcher.store import backup as store_backup


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False))
def backup(target):
    """Write a consistent copy of the live database into the new file TARGET (safe while serving).

    Example: flask --app api backup backups/rismep-2026-11-22.db
    """
    try:
        click.echo(json.dumps(store_backup.backup(current_app.config["DATABASE"], target)))
    except RismepError as exc:
        raise click.ClickException(exc.message) from exc


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="confirm replacing the live database's contents")
def restore(source, yes):
    """Replace the live database's contents with the backup SOURCE (checked with integrity_check first).

    Example: flask --app api restore backups/rismep-2026-11-22.db --yes
    """
    if not yes:
        raise click.ClickException("restore replaces every row of the live database; add --yes to confirm.")
    try:
        click.echo(json.dumps(store_backup.restore(source, current_app.config["DATABASE"])))
    except RismepError as exc:
        raise click.ClickException(exc.message) from exc


commands = [backup, restore]
