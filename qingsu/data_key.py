"""`qingsu secrets rotate-data-key`: re-encrypt every stored secret under a new data key.

The new key is the configured one (`[security] data_key`, or QINGSU_DATA_KEY); the old key comes from the
environment variable QINGSU_OLD_DATA_KEY, or a hidden prompt. Everything happens in one transaction, so an
interruption loses nothing: the values are all under the old key, or all under the new one. Steps: stop the web and
scheduler processes, put the new key into the configuration, run the command, start them again.
"""

from __future__ import annotations

import os

import click
from flask import Flask, current_app

from models import Base, crypto
from models.db import get_engine

OLD_KEY_VARIABLE = "QINGSU_OLD_DATA_KEY"


@click.group("secrets")
def secrets_group() -> None:
    """Secrets stored in the database."""


@secrets_group.command("rotate-data-key")
def rotate_data_key_command() -> None:
    """Re-encrypt every stored secret from the old data key (QINGSU_OLD_DATA_KEY or a prompt) to the configured one."""
    new = current_app.config["SECURITY"]["data_key"]
    old = os.environ.get(OLD_KEY_VARIABLE) or click.prompt("Old data key", hide_input=True)
    if old == new:
        raise click.ClickException(
            "the old key is the configured key: put the new key into the configuration first"
        )
    try:
        with get_engine().begin() as connection:
            result = crypto.rotate(connection, Base.metadata, old, new)
    except crypto.SecretKeyMissing as exc:
        raise click.ClickException(f"{exc}; nothing was changed") from None
    for label, count in result.rotated.items():
        click.echo(f"{label}: {count} re-encrypted, {result.already_new[label]} already under the new key")
    click.echo(f"done: {result.total_rotated} value(s) now under the configured data key")


def init_app(app: Flask) -> None:
    """Register `qingsu secrets`."""
    app.cli.add_command(secrets_group)
