"""The Flask application factory. Web blueprints attach here; the domain does not know."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

from review_flow import config as config_module
from review_flow import resources
from review_flow.db import Database

if TYPE_CHECKING:
    from review_flow.notifications.webhooks import WebhookConfig

DEV_SECRET = "dev-only-not-secret"


def create_app(test_config: dict[str, Any] | None = None, *, interfaces: bool = True) -> Flask:
    """The app; ``interfaces=False`` leaves out the web UI and the API (their imports and
    schemas are most of start-up) for commands that need only the configuration and the
    database, such as ``audit verify``."""
    app = Flask(
        "review_flow",
        template_folder=str(resources.templates_dir()),
        instance_path=os.environ.get("REVIEW_FLOW_INSTANCE_PATH")
        or str(Path.cwd() / "instance"),
    )
    app.config.from_mapping(ENV="production", SECRET_KEY=None)
    app.config.update(config_module.from_environment())
    if test_config:
        app.config.update(test_config)
    if not app.config.get("DATABASE_URL"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = config_module.default_database_url(app.instance_path)
    if not app.config.get("SECRET_KEY") and (
        app.config.get("DEVELOPMENT") or app.debug or app.testing
    ):
        app.config["SECRET_KEY"] = DEV_SECRET
    if app.config.get("FAST_PASSWORD_HASHING"):
        from review_flow.users.passwords import use_fast_hashing

        use_fast_hashing()  # tests and benchmarks only; see users/passwords.py
    _trust_proxies(app)
    app.extensions["review_flow.db"] = Database(app.config["DATABASE_URL"])
    if not interfaces:  # run by ``review-flow``, which has its commands already
        return app
    from review_flow.notifications.webhooks import WebhookConfig

    # A malformed key or network list stops start-up here, naming the setting.
    app.extensions["review_flow.webhooks"] = WebhookConfig.from_config(app.config)

    from review_flow import cli

    cli.register(app)

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        """Liveness for load balancers and test harnesses: the database answers."""
        from sqlalchemy import text

        with database(app).reading() as session:
            session.execute(text("SELECT 1"))
        return "ok", 200

    from review_flow import web

    web.init_app(app)  # the browser UI (review_flow/web)
    from review_flow.api import blueprint as api

    # After the web UI: its 404/405 handlers stay in force outside /api/v1.
    api.init_app(app)  # the JSON API (review_flow/api)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind N load balancers, believe the last N entries of X-Forwarded-For (and -Proto):
    the client's address then reaches the sign-in throttle and the audit log instead of
    the balancer's. With 0 (the default) the headers are ignored, so a client cannot forge
    its address by sending them."""
    count = config_module.trusted_proxies(app.config.get("TRUSTED_PROXIES"))
    app.config["TRUSTED_PROXIES"] = count
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]


def require_secret_key(app: Flask) -> Flask:
    """Refuse to serve without a real secret outside development."""
    if not app.config.get("SECRET_KEY") or (
        app.config["SECRET_KEY"] == DEV_SECRET and not app.config.get("DEVELOPMENT")
    ):
        raise RuntimeError(
            "REVIEW_FLOW_SECRET_KEY is not set. Set it to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))'), or set "
            "REVIEW_FLOW_DEVELOPMENT=1 on a development machine."
        )
    return app


def database(app: Flask) -> Database:
    return app.extensions["review_flow.db"]


def webhook_config(app: Flask) -> WebhookConfig:
    """Egress policy and secret keys for webhooks, from this app's configuration."""
    return app.extensions["review_flow.webhooks"]
