"""The WSGI entry point: `gunicorn wsgi:app`."""

from sqlalchemy.orm import configure_mappers

from classifier.lifecycle import preload
from qingsu import create_app

app = create_app()
# Work each worker would otherwise do on its first requests: relating the ORM's classes to one another, and loading
# the classifier model (for the first submitted petition).
configure_mappers()
preload(app)
