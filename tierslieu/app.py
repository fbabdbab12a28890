"""The application factory: ``create_app(settings)`` builds the FastAPI app and its lifespan.

It lives beside the packages it composes (the HTTP API, the web app, the background
components), not inside one of them.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

from fastapi import FastAPI

from tierslieu import __version__
from tierslieu.api.health import RequestMetricsMiddleware, health_router, install_metrics, metrics_route
from tierslieu.api.load import (
    AddressRateLimitMiddleware,
    AdmissionMiddleware,
    RateLimits,
    StreamSlots,
    set_worker_threads,
)
from tierslieu.api.problems import install_problem_handlers
from tierslieu.api.routes import ROUTERS
from tierslieu.api.routing import PrefixRouter, grouped
from tierslieu.api.security_headers import SecurityHeadersMiddleware
from tierslieu.api.write_gate import WriteGateMiddleware
from tierslieu.background import build_components
from tierslieu.migrations import upgrade_database
from tierslieu.runtime import Runtime
from tierslieu.settings import Settings
from tierslieu.web import mount_web

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
# Room for a multipart upload's boundaries and other form fields around the largest file.
MULTIPART_OVERHEAD = 1024 * 1024

DESCRIPTION = """
API du tiers-lieu : espaces, ressources, réservations, appareils (portes, badges, capteurs),
imprimantes 3D et occupation en direct. Les erreurs suivent la RFC 9457 (problem details) avec
un `code` stable et un `detail` en français (anglais avec `Accept-Language: en`).
"""


@cache
def api_router(serves_api: bool) -> PrefixRouter:
    """The ``/api/v1`` router, built once per process and included in every app.

    FastAPI analyses each route's dependencies and parameters again for every router that
    includes it (the groups, then this router): about half a second per app, paid again by each
    app a process builds (tests build hundreds). Nothing here belongs to one app: the routes
    read the app (its runtime, settings) from the request, and FastAPI keeps what depends on
    the including app (dependency overrides, per-app route copies) in the app's own inclusion.
    """
    api = PrefixRouter(prefix=API_PREFIX)

    @api.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    api.include_router(health_router())
    # A controller process serves its health (and metrics) only; the API is the api processes' job.
    for group in grouped(ROUTERS) if serves_api else []:
        api.include_router(group)
    return api


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        set_worker_threads(settings.worker_threads)
        runtime = Runtime.create(settings)
        install_metrics(runtime)
        if migrate:
            upgrade_database(runtime.db.url)
        if settings.run_background:
            runtime.components.extend(build_components(runtime))
        app.state.runtime = runtime
        runtime.start()
        # Start-up objects live as long as the service: keep them out of the collector's full
        # passes, which otherwise stop every thread (badge → door latency) for tens of ms.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(
        title="tierslieu",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    install_problem_handlers(app)
    app.state.rate_limits = rate_limits = RateLimits.from_settings(settings)
    app.state.streams = StreamSlots.from_settings(settings)
    # Inside the write gate: a writer waits for the write slot first, holding no admission.
    app.add_middleware(AdmissionMiddleware, capacity=settings.worker_threads, wait_s=settings.db_pool_timeout_seconds)
    app.add_middleware(
        WriteGateMiddleware,
        max_body_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD,
        body_timeout_s=settings.request_body_timeout_seconds,
    )
    # Outside the write gate: a client past its rate is refused before its body is even read.
    app.add_middleware(AddressRateLimitMiddleware, limits=rate_limits)
    app.add_middleware(RequestMetricsMiddleware)
    # Added last, so outermost: even the write gate's 408/413 answers carry the headers.
    app.add_middleware(SecurityHeadersMiddleware)
    metrics_route(app)
    serves_api = settings.role != "controller"
    app.include_router(api_router(serves_api))
    # The web app is part of the product: a broken import must fail the start, loudly.
    if serves_api:
        mount_web(app)
    return app
