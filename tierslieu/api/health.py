"""Probes and metrics: ``/api/v1/health/live``, ``/api/v1/health/ready``, ``/metrics``.

Public (no token): a load balancer, an orchestrator and Prometheus call them. They say
nothing personal: states, counts and the process role.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import inspect, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tierslieu.api.routing import PrefixRouter
from tierslieu.metrics import Snapshot
from tierslieu.runtime import Runtime

__all__ = ["RequestMetricsMiddleware", "health_router", "install_metrics", "metrics_route", "snapshot"]

log = logging.getLogger(__name__)

OUTBOX_TABLE = "outbox_message"


def _transport(runtime: Runtime) -> Any:
    """The MQTT connection of this process: the leader's device transport, else its probe."""
    hub = runtime.controller.hub
    if hub is not None and runtime.leadership.leader:
        return hub.transport
    return runtime.mqtt_probe


def _database_ok(runtime: Runtime) -> bool:
    try:
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as error:  # any failure means "not ready", said in the log
        log.warning("readiness: database unreachable (%s)", error)
        return False


def _outbox_backlog(runtime: Runtime) -> int | None:
    with runtime.db.engine.connect() as conn:
        if not inspect(conn).has_table(OUTBOX_TABLE):
            return None
        count = conn.execute(text(f"SELECT count(*) FROM {OUTBOX_TABLE} WHERE status = 'pending'")).scalar()
    return int(count or 0)


def snapshot(runtime: Runtime) -> Snapshot:
    transport = _transport(runtime)
    return Snapshot(
        role=runtime.leadership.role,
        leader=runtime.leadership.leader,
        mqtt_in=getattr(transport, "messages_in", None),
        mqtt_out=getattr(transport, "messages_out", None),
        outbox_backlog=_outbox_backlog(runtime),
    )


def health_router() -> APIRouter:
    router = PrefixRouter(prefix="/health", tags=["health"])

    @router.get("/live")
    async def live() -> dict[str, str]:
        """The process answers: on the event loop, touching neither the database nor the worker
        threads, so it answers under any load."""
        return {"status": "ok"}

    @router.get("/ready", responses={503: {"description": "not ready"}})
    def ready(request: Request) -> JSONResponse:
        """Ready to serve: database reachable, broker connected (when this process uses one)."""
        runtime: Runtime = request.app.state.runtime
        database = _database_ok(runtime)
        transport = _transport(runtime)
        broker = None if transport is None else bool(transport.connected)
        ok = database and broker is not False
        body = {
            "status": "ready" if ok else "not_ready",
            "database": database,
            "broker": broker,
            "controller": {"role": runtime.leadership.role, "leader": runtime.leadership.leader},
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    return router


def metrics_route(app: FastAPI) -> None:
    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def install_metrics(runtime: Runtime) -> None:
    """At start: count events as they pass, read the moment's values at each scrape."""
    runtime.events.add_listener(runtime.metrics.count_event)
    runtime.metrics.watch(lambda: snapshot(runtime))


class RequestMetricsMiddleware:
    """Counts answered requests by method, route template (not the raw path: ids would make
    a series each) and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            state = scope.get("app")
            runtime = getattr(getattr(state, "state", None), "runtime", None)
            if runtime is not None:
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                runtime.metrics.requests.labels(scope["method"], template, str(status)).inc()
