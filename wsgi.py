"""The WSGI entry point: `gunicorn wsgi:app`."""

from classifier.lifecycle import preload
from qingsu import create_app

app = create_app()
# Each worker loads the classifier model as it starts rather than on its first submitted petition.
preload(app)
