"""The ASGI application: the only module that wires every layer together."""

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
from pydantic import ValidationError
from scim2_models import SCIMException
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from scimgate.admin.api import admin_routes
from scimgate.admin.api import error_response as admin_error
from scimgate.admin.headers import ADMIN_HEADERS, SCIM_HEADERS, UI_HEADERS, SecurityHeaders
from scimgate.admin.ui import pages as ui_pages
from scimgate.admin.ui.routes import ui_home, ui_routes
from scimgate.audit import keys, retention
from scimgate.audit.capture import RequestCapture
from scimgate.audit.recorder import Recorder
from scimgate.config import Settings
from scimgate.errors import MethodNotAllowedError, NotFoundError, ScimError
from scimgate.scim.responses import error_response, handle_error
from scimgate.scim.routes import scim_routes
from scimgate.scim.throttle import Throttle
from scimgate.scim.timeouts import RequestTimeout
from scimgate.storage.database import Database

SCIM_PREFIXES = ("/scim/v2", "/scim")
ADMIN_PREFIX = "/api"
UI_PREFIX = ui_pages.PREFIX
_SLASHES = re.compile(r"/{2,}")
_SECURITY_HEADERS = (
    ((ADMIN_PREFIX,), ADMIN_HEADERS),
    ((UI_PREFIX,), UI_HEADERS),
    (SCIM_PREFIXES, SCIM_HEADERS),
)


class PathNormalizer:
    """Tolerate doubled and trailing slashes (``/scim//Users``, ``/scim/Users/``).

    IdP consoles concatenate a base URL typed with a trailing slash and a path that
    starts with one; the seed's troubleshooting page shows how often that happens.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = _SLASHES.sub("/", scope["path"])
            if len(path) > 1:
                path = path.rstrip("/") or "/"
            if path != scope["path"]:
                scope = dict(scope, path=path, raw_path=path.encode())
        await self.app(scope, receive, send)


def _from_http(exc: HTTPException) -> ScimError:
    error = ScimError(str(exc.detail))
    error.status = exc.status_code
    return error


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
        # Unknown admin paths and methods answer in the admin API's own error format.
        return admin_error(_from_http(exc))
    if path == UI_PREFIX or path.startswith(UI_PREFIX + "/"):
        error = _from_http(exc)
        if exc.status_code == 404:
            error.detail = "There is no page at this address."
        return ui_pages.error_page(request, error)
    if not path.startswith(SCIM_PREFIXES):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    if exc.status_code == 405:
        return error_response(MethodNotAllowedError(f"{request.method} is not allowed here."))
    if exc.status_code == 404:
        return error_response(NotFoundError(f"No SCIM endpoint at {request.url.path}."))
    return error_response(_from_http(exc))


async def _healthz(request: Request) -> Response:
    db: Database = request.app.state.db
    try:
        await run_in_threadpool(db.ping)
    except Exception:  # any failure to answer means "not ready"
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def _lifespan(
    database: Database, purge_interval: int, *, owned: bool
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """Run the periodic request log purge while serving; close ``database`` if ``owned``."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            if purge_interval:
                tasks.start_soon(retention.purge_periodically, database, purge_interval)
            yield
            tasks.cancel_scope.cancel()
        if owned:
            database.dispose()

    return lifespan


def create_app(settings: Settings, db: Database | None = None) -> Starlette:
    """Build the ASGI app for ``settings``; ``db`` defaults to one opened from them."""
    # Checked first: outside demo mode a server without a request log key must not start.
    ring = keys.server_ring(settings)
    database = db or Database(
        settings.database_url,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        # Work in a worker thread outlives the request timeout; the statement timeout
        # is what bounds its queries (see scim/timeouts.py).
        statement_timeout_s=settings.request_timeout_seconds,
    )
    recorder = Recorder(database, ring, SCIM_PREFIXES, settings.log_max_body_bytes)

    lifespan = _lifespan(database, settings.log_purge_interval_seconds, owned=db is None)
    handlers: dict[Any, Any] = {
        ScimError: handle_error,
        SCIMException: handle_error,
        ValidationError: handle_error,
        HTTPException: _http_error,
        Exception: handle_error,
    }
    app = Starlette(
        routes=[
            Route("/healthz", _healthz, methods=["GET"]),
            *(Mount(prefix, routes=scim_routes()) for prefix in SCIM_PREFIXES),
            Mount(ADMIN_PREFIX, routes=admin_routes()),
            # The trailing slash is stripped by PathNormalizer: /admin is the home page.
            Route(UI_PREFIX, ui_home, methods=["GET"]),
            Mount(UI_PREFIX, routes=ui_routes()),
        ],
        exception_handlers=handlers,
        # The capture runs inside the normalizer, so entries show the path as routed.
        middleware=[
            Middleware(PathNormalizer),
            Middleware(SecurityHeaders, rules=_SECURITY_HEADERS),
            Middleware(RequestCapture, recorder=recorder),
            # Inside the capture, so a request cut short is logged with its 503.
            Middleware(
                RequestTimeout, seconds=settings.request_timeout_seconds, prefixes=SCIM_PREFIXES
            ),
        ],
        lifespan=lifespan,
    )
    # PathNormalizer strips the trailing slash Starlette would redirect to ("/api" to
    # "/api/"), so that redirect would loop: a path no route takes is a 404 instead.
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.db = database
    app.state.request_log = recorder
    app.state.throttle = Throttle(settings.rate_limit_per_second, settings.rate_limit_burst)
    per_minute = settings.admin_sign_in_per_minute
    app.state.sign_in_throttle = Throttle(per_minute / 60, max(per_minute, 1))
    return app


def app_from_environment() -> Starlette:
    """Build the app from ``SCIMGATE_*`` variables; the factory ``serve`` hands to uvicorn."""
    return create_app(Settings())
