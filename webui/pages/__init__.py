"""Server-rendered pages: login, the task inbox, forms and their diagrams."""
from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, send_from_directory

from .. import errors


def init_pages(app) -> None:
    """Register the page blueprints and the vendored front-end packages."""
    from . import (archive, audit, auth, calendar, destruction, external, forms, inbox, inspections, procedures, public,
                   queries, supervision, tasks, templates, users)

    for module in (auth, inbox, forms, tasks, procedures, templates, audit, queries, supervision, inspections, archive,
                   external, public, destruction, users, calendar):
        app.register_blueprint(module.bp)
    app.add_url_rule("/vendor/<path:filename>", "vendor", _vendor)
    app.context_processor(_globals)


# Only these files of node_modules are served: the viewer/modeler bundles and their CSS, htmx and Chart.js.
VENDOR_ALLOWED = ("bpmn-js/dist/", "htmx.org/dist/", "chart.js/dist/")


def _vendor(filename: str):
    if not filename.startswith(VENDOR_ALLOWED) or ".." in Path(filename).parts:
        abort(404)
    response = send_from_directory(current_app.config["NODE_MODULES"], filename, max_age=86400)
    return response


def _globals():
    from flask_babel import get_locale

    from ..context import guichet

    services = guichet()
    return {"demo_mode": services.config["app"]["demo"], "current_locale": "en" if get_locale().language == "en" else "zh_CN"}


__all__ = ["init_pages", "errors"]
