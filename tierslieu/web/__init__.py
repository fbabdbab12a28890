"""The server-rendered web app: French-first, accessible pages over the same services as the API.

``mount_web(app)`` is called by :func:`tierslieu.app.create_app`: it adds the page routes,
the static files, and HTML error pages for everything outside ``/api``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tierslieu.web.errors import install_web_error_pages
from tierslieu.web.page import WEB_DIR, WebApp
from tierslieu.web.routes import build_router

__all__ = ["mount_web"]


def mount_web(app: FastAPI) -> None:
    app.state.web = WebApp()
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.include_router(build_router())
    install_web_error_pages(app)
