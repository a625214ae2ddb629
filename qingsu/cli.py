"""The `qingsu` console script: a Flask CLI group over the application factory."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from qingsu import create_app
from qingsu.config import UnsafeConfiguration


def _create_app():  # type: ignore[no-untyped-def]
    try:
        return create_app()
    except UnsafeConfiguration as refused:
        # A clear message and exit status 1 instead of a traceback.
        raise click.ClickException(str(refused)) from None


cli = FlaskGroup(create_app=_create_app, help="青诉即办 (qingsu): the petition platform's commands.")


def main() -> None:
    cli()
