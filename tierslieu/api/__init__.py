"""The HTTP API (``/api/v1``): routes, dependencies, problem details, middlewares.

The application factory lives in :mod:`tierslieu.app`; ``from tierslieu.api import create_app``
keeps working for existing callers (resolved lazily, as ``tierslieu.app`` imports this package).
"""

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from tierslieu.app import create_app

        return create_app
    raise AttributeError(name)
