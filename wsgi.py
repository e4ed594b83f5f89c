"""The checkout's WSGI entry point (``gunicorn wsgi:app``, ``flask --app wsgi``): the same app
as ``review_flow.wsgi:app``, which is what an installed copy serves."""

from review_flow.wsgi import app

__all__ = ["app"]
