"""The WSGI entry point: `gunicorn wsgi:app`."""

import gc

from sqlalchemy.orm import configure_mappers

from classifier.lifecycle import preload
from qingsu import create_app

app = create_app()
# Work each worker would otherwise do on its first requests: relating the ORM's classes to one another, and loading
# the classifier model (for the first submitted petition).
configure_mappers()
preload(app)
# What is loaded now lives as long as the worker: the collector need not scan it again. Its full collections
# otherwise walk the ~200,000 objects of the libraries (scikit-learn, SciPy) and pause a request for 100 ms or more.
gc.freeze()
