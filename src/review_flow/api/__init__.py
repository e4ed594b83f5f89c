"""The JSON API under ``/api/v1``: a thin adapter over the service layer (see blueprint.py)."""
