"""Web layer: the Flask app, the task inbox pages and the REST API under /api/v1."""
from .app import create_app  # noqa: F401
