"""The Flask application factory of the registry's HTTP API."""

from __future__ import annotations

from flask import Flask

from api.context import EXTENSION, Registry, check_signing_key, close_unclaimed
from api.errors import register_error_handlers
from api.jsonio import RegistryJSONProvider
from api.openapi import API_PREFIX, RegistryApi, openapi_settings
from registry.clock import Clock, clock_from_setting
from registry.config import Config
from registry.db import make_engine, read_only, session_factory


def create_app(config: Config | None = None, *, clock: Clock | None = None, engine=None) -> Flask:
    """Build the application. ``config`` defaults to the environment's."""
    config = config or Config.from_env()
    app = Flask(__name__)
    from api.inputs import IdConverter, check_path_ids, refuse_nul

    app.url_map.converters["id"] = IdConverter  # R-X9: <id:…> path parameters, 32-bit ids
    app.json = RegistryJSONProvider(app)
    app.config.update(openapi_settings())
    # R-X2: werkzeug refuses larger bodies with 413 before anything is parsed.
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes

    engine = engine or make_engine(config.database_url)
    app.extensions[EXTENSION] = Registry(
        config=config,
        engine=engine,
        sessions=session_factory(engine),
        read_sessions=session_factory(read_only(engine)),
        clock=clock or clock_from_setting(config.clock),
    )
    # R-L5b: never serve a signed registry with another key (KeyContinuityError).
    check_signing_key(app.extensions[EXTENSION])

    api = RegistryApi(app)
    from api.fields import ID_MAX, ID_MIN

    api.register_converter(IdConverter, lambda _c: {"type": "integer", "minimum": ID_MIN, "maximum": ID_MAX})
    app.extensions["smorest_api"] = api
    register_error_handlers(app)
    from api.security import init_security
    init_security(app, config)  # write rate limits, security headers
    from api.auth import authenticate_writes_first

    app.before_request(refuse_nul)  # R-X9: no NUL in a path or query, on either database
    app.before_request(authenticate_writes_first)
    app.before_request(check_path_ids)  # R-X9: an id beyond its column's range is 400, never a query
    app.teardown_request(close_unclaimed)
    from api.home import bp as home

    app.register_blueprint(home)
    from api.workspace import init_workspace

    init_workspace(app, config)  # R-W1: people sign in; CSRF tokens on every form of the pages
    from api.docs_assets import bp as docs_assets

    app.register_blueprint(docs_assets)  # R-X8: the docs page's Swagger UI, from the registry itself
    _register_blueprints(api)
    return app


def _register_blueprints(api: RegistryApi) -> None:
    from api import (blocks, bulk, certificates, corrections, custody, determinations, disputes, facilities, health,
                     log, lots, notifications, offers, participants, retirements, statements, trading, witnesses)

    for module in (health, participants, certificates, facilities, determinations, lots, trading, offers, bulk,
                   blocks, retirements, statements, corrections, disputes, custody, notifications, log, witnesses):
        api.register_blueprint(module.blp, url_prefix=API_PREFIX)
