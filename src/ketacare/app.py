"""The composition root: build the FastAPI app from settings, the database and every adapter."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

from anyio import to_thread
from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import configure_mappers

import ketacare.api
import ketacare.reports
import ketacare.web
from ketacare import __version__
from ketacare.api import docs as api_docs
from ketacare.api import health as api_health
from ketacare.config import Settings, get_settings
from ketacare.http import concurrency, errors, loop_watch, route_index
from ketacare.http.limits import Limits, RateLimiter, RequestLimits
from ketacare.http.request_log import RequestLog, configure_logging
from ketacare.http.security import SecurityHeaders
from ketacare.http.timing import ServerTiming
from ketacare.services import messages
from ketacare.services.access import audit_keys, auth
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.patients import records as patients
from ketacare.services.sessions import alerts, board
from ketacare.store.db import Database
from ketacare.store.migrate import require_current
from ketacare.web.templating import compile_templates, make_templates

WEB_DIR = Path(__file__).parent / "web"
log = logging.getLogger(__name__)


def _routers(package: ModuleType, skip: frozenset[str] | set[str] = frozenset()) -> Iterator[APIRouter]:
    """Yield the routers of every module in an adapter package and its capability packages, in name order:
    a module's `router` first, then its `*_router`s (routes of the capability outside the module's prefix)."""
    infos = pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
    for info in sorted(infos, key=lambda m: m.name):
        if info.name.rpartition(".")[2] in skip:
            continue
        module = importlib.import_module(info.name)
        router = getattr(module, "router", None)
        if router is not None:
            yield router
        for name, value in sorted(vars(module).items()):
            if name.endswith("_router") and isinstance(value, APIRouter):
                yield value


def _prepare_routes(app: FastAPI) -> None:
    """Let FastAPI build its per-route state at start-up: it does so lazily, on the first request that walks the
    routes, under a lock, which made the first requests after a start wait ~200 ms (issue #7 load test)."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/-warm-up-",
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    for route in app.router.routes:
        route.matches(dict(scope))  # a path no route takes, so every route is visited


def _check_totp_roles(settings: Settings) -> None:
    """Refuse to start when KETACARE_TOTP_REQUIRED_ROLES names a role the policy does not allow requiring."""
    from ketacare.services.access import totp_requirable_roles

    unknown = settings.totp_roles - set(totp_requirable_roles())
    if unknown:
        raise ValueError(
            f"KETACARE_TOTP_REQUIRED_ROLES names {', '.join(sorted(unknown))}: a one-time code can be required "
            f"only of {', '.join(totp_requirable_roles())} (policy.toml totp_requirable)"
        )


def _rehearse(db: Database) -> None:
    """Run the busiest requests' reads once with ids no row has (token lookup, chart, dose orders, board, a
    reading's session), so that their statements are compiled before the first request instead of by it (issue 15:
    a new process's first board page cost ~3x a later one); nothing is read, written or audited."""
    try:
        with db.read_session() as s:
            auth.rehearse(s)
            patients.rehearse(s.connection())
            dose_orders.rehearse(s)
            board.rehearse(s)
            alerts.chart_of(s, -1)
    except Exception:  # noqa: BLE001 - the server still starts; the first requests then compile them
        log.warning("warm-up: rehearsing the reads failed", exc_info=True)


async def _warm_up(app: FastAPI, db: Database, settings: Settings) -> None:
    """Do before the first request what the first requests of each process would otherwise do while many wait."""
    await concurrency.start_threads(settings.worker_threads, db.engine.connect)
    configure_mappers()  # else the first ORM query of the process does it, ~50 ms, while others wait for it
    await to_thread.run_sync(_rehearse, db)
    compile_templates(app.state.templates)
    concurrency.freeze_start_up_objects()


def create_app(settings: Settings | None = None, db: Database | None = None, *, warm_up: bool = False) -> FastAPI:
    """Build the app; refuses to start on an unmigrated database (the message says what to run). `warm_up` (the
    server): start the worker threads and their connections and compile the templates before the first request,
    then put the start-up objects out of the garbage collector's reach."""
    settings = settings or get_settings()
    _check_totp_roles(settings)
    db = db or Database(settings.database_url, connect_timeout_s=settings.db_connect_timeout_s)
    require_current(db)
    audit_keys.configure(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _prepare_routes(app)
        concurrency.limit_threads(settings)
        if warm_up:
            await _warm_up(app, db, settings)
        watch = loop_watch.start(settings.loop_lag_ms, db.engine.pool) if settings.loop_lag_log else None
        sender = None
        if settings.messages_loop_seconds > 0 and settings.smtp_host:  # off by default (docs/scheduling.md)
            sender = messages.SenderLoop(db, settings, settings.messages_loop_seconds)
            sender.start()
        yield
        if sender is not None:
            sender.stop()
        if watch is not None:
            watch.close()
        db.dispose()

    app = FastAPI(
        title="Ketacare",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        description="Ketamine treatment programs for treatment-resistant anxiety disorders.",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.templates = make_templates(settings)
    errors.install(app)
    app.include_router(api_health.router)
    app.include_router(api_docs.router)
    for router in _routers(ketacare.api, skip={"docs", "health"}):
        app.include_router(router, prefix="/api/v1")
    for router in _routers(ketacare.web):
        app.include_router(router)
    for router in _routers(ketacare.reports):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.mount("/api/docs-assets", StaticFiles(directory=api_docs.ASSETS), name="docs-assets")
    route_index.install(app)
    rate = (
        RateLimiter(settings.api_rate_per_minute, settings.api_rate_burst)
        if settings.api_rate_per_minute
        else None
    )
    app.add_middleware(RequestLimits, limits=Limits(max_body_bytes=settings.max_body_bytes, rate=rate))
    app.add_middleware(SecurityHeaders, hsts=settings.https)
    app.add_middleware(ServerTiming)
    app.add_middleware(RequestLog)  # outermost: its duration includes the other middleware
    return app


def factory() -> FastAPI:
    """Entry point for `uvicorn --factory ketacare.app:factory`."""
    configure_logging()
    settings = get_settings()
    concurrency.set_switch_interval(settings)
    return create_app(settings, warm_up=True)
