"""The dashboard server's own routes: ``GET /healthz`` and the webhook routes.

``app.py`` adds these to Streamlit's server (no streamlit import here). They run on the event loop, so
anything that touches the job log runs in Starlette's thread pool, and a delivery is answered as soon
as it is checked: the tracker confirms the job with its own GET afterwards (a delivery is only a hint,
see :mod:`legnext_core.webhooks`).

``POST /webhooks/legnext/<token>``: each submission's own callback URL. The 128-bit token is known only
to Legnext and this dashboard, so it is what makes a delivery believable:

- an unknown (or malformed) token: 404, no API request, no log line (counted in ``/healthz``);
- a known token: a hint for that submission's job only (the body's job id is not trusted), at most one
  confirming GET per job per short interval however many arrive; for an "outcome unknown" submission,
  the job the body names is fetched once and linked only if its own callback carries the token;
- with a webhook secret configured, the signature is checked as well (401 unsigned or wrong, 409 replay);
- 400 for a body that is not a job (malformed or deeply nested JSON included), 413 for a body over
  :data:`~legnext_core.webhooks.MAX_BODY_BYTES`, 503 while the dashboard is starting.

``POST /webhooks/legnext`` (no token): jobs submitted before per-submission URLs still call it. Without
a secret nothing can tell Legnext from anyone else there, so it answers 410 and sends nothing (the
tracker's own polls find those jobs); with a secret, a correctly signed delivery is taken as a hint as
before (401/409 otherwise).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from legnext_core.models import Job
from legnext_core.settings import WEBHOOK_PATH
from legnext_core.webhooks import (
    MAX_BODY_BYTES,
    DeliveryCounts,
    PayloadError,
    ReplayedDeliveryError,
    ReplayGuard,
    SignatureError,
    is_callback_token,
    parse_delivery,
    verify,
)

HEALTH_PATH = "/healthz"
UNKNOWN_CALLBACK = "No such callback."
LEGACY_UNSIGNED = (
    "Deliveries go to each submission's own callback URL; unsigned deliveries are not taken here."
)


class _BodyTooLarge(Exception):
    pass


def build_routes(
    get_studio: Callable[[], Any],
    *,
    clock: Callable[[], float] = time.time,
    replay_guard: ReplayGuard | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    counts: DeliveryCounts | None = None,
) -> list[Route]:
    """The routes, reading the process's Studio from ``get_studio()`` (None while it is not running).

    The Studio is used for ``settings`` (mode, webhook secret), ``store`` and ``tracker``. ``clock`` is
    the wall clock the signature window is checked against; ``counts`` tallies every answer given.
    """
    guard = replay_guard or ReplayGuard()
    tally = counts or DeliveryCounts()

    async def healthz(request: Request) -> JSONResponse:
        studio = get_studio()
        if studio is None:
            return JSONResponse({"ok": False, "mode": None, "tracker": None}, status_code=503)
        health = await run_in_threadpool(studio.tracker.health)
        body = {
            "ok": health.running,
            "mode": studio.settings.mode,
            "tracker": health.as_dict(),
            "webhooks": tally.as_dict(),
        }
        return JSONResponse(body, status_code=200 if health.running else 503)

    def refuse(outcome: str, status: int, message: str) -> JSONResponse:
        tally.add(outcome)
        return _answer(status, message)

    def check_signature(studio: Any, body: bytes, request: Request) -> JSONResponse | None:
        secret = studio.settings.webhook_secret
        if not secret:
            return None
        try:
            verify(body, request.headers, secret, clock(), guard)
        except SignatureError as exc:
            return refuse("bad_signature", 401, str(exc))
        except ReplayedDeliveryError as exc:
            return refuse("replayed", 409, str(exc))
        return None

    async def read_delivery(studio: Any, request: Request) -> Job | JSONResponse:
        """The delivered job, or the refusal: too large, a bad or replayed signature, not a job."""
        try:
            body = await _read_limited(request, max_body_bytes)
        except _BodyTooLarge:
            return refuse("too_large", 413, "The body is larger than a job can be.")
        except ClientDisconnect:
            # The sender gave up before the end of the body (its own timeout, on a busy server): there is
            # nothing to read and nobody to answer; the tracker's polling still confirms the job.
            return refuse("cut_off", 400, "The delivery was cut off before its end.")
        refused = check_signature(studio, body, request)
        if refused is not None:
            return refused
        try:
            return parse_delivery(body)
        except PayloadError as exc:
            return refuse("not_a_job", 400, str(exc))

    async def receive_for_token(request: Request) -> JSONResponse:
        token = request.path_params["token"]
        studio = get_studio()
        if studio is None:
            return _answer(503, "The dashboard is starting; try again shortly.")
        record = (
            await run_in_threadpool(studio.store.by_callback_token, token)
            if is_callback_token(token)
            else None
        )
        if record is None:
            return refuse("unknown_token", 404, UNKNOWN_CALLBACK)
        job = await read_delivery(studio, request)
        if isinstance(job, JSONResponse):
            return job
        confirming = await run_in_threadpool(studio.tracker.hint_delivery, record, job.job_id)
        tally.add("accepted")
        return JSONResponse({"ok": True, "confirming": confirming})

    async def receive_legacy(request: Request) -> JSONResponse:
        studio = get_studio()
        if studio is None:
            return _answer(503, "The dashboard is starting; try again shortly.")
        if not studio.settings.webhook_secret:
            return refuse("legacy_unsigned", 410, LEGACY_UNSIGNED)
        job = await read_delivery(studio, request)
        if isinstance(job, JSONResponse):
            return job
        known, confirming = await run_in_threadpool(_hint, studio, job.job_id)
        tally.add("accepted" if known else "unknown_job")
        return JSONResponse({"ok": True, "known": known, "confirming": confirming})

    return [
        Route(HEALTH_PATH, healthz, methods=["GET"]),
        Route(WEBHOOK_PATH, receive_legacy, methods=["POST"]),
        Route(WEBHOOK_PATH + "/{token}", receive_for_token, methods=["POST"]),
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
