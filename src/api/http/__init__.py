"""The HTTP API (API.md): a FastAPI application built by :func:`create_app`, served by ``serve``."""

from api.http.app import create_app
from api.http.settings import Settings

__all__ = ["Settings", "create_app"]
