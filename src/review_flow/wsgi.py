"""WSGI entry point: ``gunicorn review_flow.wsgi:app``. Needs REVIEW_FLOW_SECRET_KEY outside
development."""

from review_flow.app import create_app, require_secret_key

app = require_secret_key(create_app())
