"""The dashboard server's own routes: ``GET /healthz`` and ``POST /webhooks/legnext``.

``app.py`` adds these to Streamlit's server (no streamlit import here). They run on the event loop, so
anything that touches the job log runs in Starlette's thread pool, and a delivery is answered as soon
as it is checked: the tracker confirms the job with its own GET afterwards (a delivery is only a hint,
see :mod:`legnext_core.webhooks`).

Webhook answers: 200 for an accepted delivery (also for a job id this dashboard does not know, which is
ignored, so Legnext does not retry it), 400 for a body that is not a job, 401 for a missing, wrong or
stale signature while a secret is configured, 409 for a replayed delivery, 413 for a body over
:data:`~legnext_core.webhooks.MAX_BODY_BYTES`, 503 while the dashboard is starting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from legnext_core.settings import WEBHOOK_PATH
from legnext_core.webhooks import (
    MAX_BODY_BYTES,
    PayloadError,
    ReplayedDeliveryError,
    ReplayGuard,
    SignatureError,
    parse_delivery,
    verify,
)

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


class _BodyTooLarge(Exception):
    pass


def build_routes(
    get_studio: Callable[[], Any],
    *,
    clock: Callable[[], float] = time.time,
    replay_guard: ReplayGuard | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> list[Route]:
    """The routes, reading the process's Studio from ``get_studio()`` (None while it is not running).

    The Studio is used for ``settings`` (mode, webhook secret), ``store`` and ``tracker``. ``clock`` is
    the wall clock the signature window is checked against.
    """
    guard = replay_guard or ReplayGuard()

    async def healthz(request: Request) -> JSONResponse:
        studio = get_studio()
        if studio is None:
            return JSONResponse({"ok": False, "mode": None, "tracker": None}, status_code=503)
        health = await run_in_threadpool(studio.tracker.health)
        body = {"ok": health.running, "mode": studio.settings.mode, "tracker": health.as_dict()}
        return JSONResponse(body, status_code=200 if health.running else 503)

    async def receive_webhook(request: Request) -> JSONResponse:
        try:
            body = await _read_limited(request, max_body_bytes)
        except _BodyTooLarge:
            return _answer(413, "The body is larger than a job can be.")
        studio = get_studio()
        if studio is None:
            return _answer(503, "The dashboard is starting; try again shortly.")
        secret = studio.settings.webhook_secret
        if secret:
            try:
                verify(body, request.headers, secret, clock(), guard)
            except SignatureError as exc:
                log.warning("Webhook refused: %s", exc)
                return _answer(401, str(exc))
            except ReplayedDeliveryError as exc:
                log.warning("Webhook refused: %s", exc)
                return _answer(409, str(exc))
        try:
            job = parse_delivery(body)
        except PayloadError as exc:
            return _answer(400, str(exc))
        known, confirming = await run_in_threadpool(_hint, studio, job.job_id)
        if not known:
            log.info("Webhook for a job this dashboard does not know: %s", job.job_id[:64])
        return JSONResponse({"ok": True, "known": known, "confirming": confirming})

    return [
        Route(HEALTH_PATH, healthz, methods=["GET"]),
        Route(WEBHOOK_PATH, receive_webhook, methods=["POST"]),
    ]


def _hint(studio: Any, job_id: str) -> tuple[bool, bool]:
    """(is the job in the log, will the tracker confirm it with a GET)."""
    if studio.store.by_job_id(job_id) is None:
        return False, False
    return True, bool(studio.tracker.wake(job_id))


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BodyTooLarge
    return bytes(body)


def _answer(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)
