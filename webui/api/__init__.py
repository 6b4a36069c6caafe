"""The REST API under /api/v1 (flask-smorest: marshmallow schemas, OpenAPI at /api/v1/openapi.json)."""
from __future__ import annotations

from flask_smorest import Api

from .. import errors
from .schemas import ErrorSchema


class GuichetApi(Api):
    """flask-smorest's Api documenting the errors as the app sends them (webui/errors.py), not as its own
    handler would."""

    ERROR_SCHEMA = ErrorSchema


def init_api(app, csrf) -> Api:
    """Register the API blueprints; the API authenticates by bearer token, so it is exempt from CSRF."""
    app.config.update(
        API_TITLE="Guichet API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = GuichetApi(app, spec_kwargs={"info": {"description": "业务单全生命周期管理 · Business forms of service windows"}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    from ..app import IdConverter, id_parameter_schema

    api.register_converter(IdConverter, id_parameter_schema)
    from . import (archive, audit, auth, calendar, destruction, external, forms, health, kpis, processes, queries,
                   supervision, tasks, templates)

    for module in (auth, templates, forms, tasks, processes, audit, queries, kpis, supervision, archive, external,
                   destruction, calendar):
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp)
    app.register_blueprint(health.bp)
    errors.register(app)  # after Api(), so its JSON handler is replaced by ours
    return api
