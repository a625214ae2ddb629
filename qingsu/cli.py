"""The `qingsu` console script: a Flask CLI group over the application factory."""

from __future__ import annotations

from flask.cli import FlaskGroup

from qingsu import create_app


def _create_app():  # type: ignore[no-untyped-def]
    return create_app()


cli = FlaskGroup(create_app=_create_app, help="青诉即办 (qingsu): the petition platform's commands.")


def main() -> None:
    cli()
