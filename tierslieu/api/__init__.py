"""The HTTP API (``/api/v1``) and the application factory."""

from tierslieu.api.app import create_app

__all__ = ["create_app"]
