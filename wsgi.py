"""The WSGI entry point: `gunicorn wsgi:app`."""

from qingsu import create_app

app = create_app()
