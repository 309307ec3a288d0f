"""The dashboard server's own routes: ``GET /healthz``, made downloads and the webhook routes.

``app.py`` adds these to Streamlit's server (no streamlit import here). They run on the event loop, so
anything that touches the job log runs in Starlette's thread pool, and a delivery is answered as soon
as it is checked: the tracker confirms the job with its own GET afterwards (a delivery is only a hint,
see :mod:`legnext_core.webhooks`).

``GET /downloads/<token>/<name>``: a ZIP made in the Gallery or a CSV made by History's Export
(``legnext_core.bundle``), streamed from disk;
404 once it has expired (an hour) or for a malformed or unknown token.

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

``GET /uploads/<sha256>.<ext>``: an image a person uploaded as a start or end frame (see
:mod:`legnext_core.uploads`), for Legnext to fetch without signing in. Its unguessable name is the
capability; only names of that exact shape are looked up, in the uploads folder only, so nothing else
on disk can be reached. Answered with its own Content-Type, ``nosniff``, and cached for good (the
content never changes under a name).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from legnext_core.bundle import DOWNLOAD_PATH, find_download, media_type
from legnext_core.models import Job
from legnext_core.settings import UPLOADS_PATH, WEBHOOK_PATH
from legnext_core.uploads import CONTENT_TYPES, upload_file
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
#: What every route answers (503) before the dashboard has started its studio.
STARTING = "The dashboard is starting; try again shortly."
#: An upload's name is its content's hash, so what it names never changes.
UPLOAD_CACHE = "public, max-age=31536000, immutable"
LEGACY_UNSIGNED = (
    "Deliveries go to each submission's own callback URL; unsigned deliveries are not taken here."
)


class _BodyTooLarge(Exception):
    pass


#: A route handler that needs the running Studio, and the Starlette endpoint made of it.
StudioHandler = Callable[[Any, Request], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def _starting_text() -> Response:
    return PlainTextResponse(STARTING, status_code=503)


def _starting_json() -> Response:
    return _answer(503, STARTING)


def _starting_health() -> Response:
    return JSONResponse({"ok": False, "mode": None, "tracker": None}, status_code=503)


def needs_studio(
    get_studio: Callable[[], Any], starting: Callable[[], Response] = _starting_text
) -> Callable[[StudioHandler], Endpoint]:
    """The one guard of every route that needs the Studio: 503 (``starting()``) until it runs.

    The handler is called as ``handler(studio, request)`` with the Studio it may rely on.
    """

    def wrap(handler: StudioHandler) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            studio = get_studio()
            if studio is None:
                return starting()
            return await handler(studio, request)

        return endpoint

    return wrap


# McCabe adds up the small route handlers this factory defines around one Studio; each is simple.
def build_routes(  # noqa: C901
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
    # Files (downloads, uploads) answer in plain text; webhook senders get JSON.
    serving_files = needs_studio(get_studio)
    taking_deliveries = needs_studio(get_studio, _starting_json)

    @needs_studio(get_studio, _starting_health)
    async def healthz(studio: Any, request: Request) -> JSONResponse:
        health = await run_in_threadpool(studio.tracker.health)
        # A replica standing by while another tracks is as healthy as the tracking one.
        ok = health.running or health.standby
        body = {
            "ok": ok,
            "mode": studio.settings.mode,
            "tracker": health.as_dict(),
            "webhooks": tally.as_dict(),
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @serving_files
    async def download(studio: Any, request: Request) -> Response:
        """A file made for a person (a Gallery ZIP, a History export), streamed from disk; its URL
        carries a 128-bit token."""
        path = find_download(
            studio.settings.data_dir, request.path_params["token"], request.path_params["name"]
        )
        if path is None:
            return PlainTextResponse(
                "This download has expired or does not exist: make it again (a ZIP in the Gallery, "
                "a CSV with History's Export).",
                status_code=404,
            )
        return FileResponse(
            path,
            media_type=media_type(path),
            filename=path.name,
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )

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

    @taking_deliveries
    async def receive_for_token(studio: Any, request: Request) -> JSONResponse:
        token = request.path_params["token"]
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

    @taking_deliveries
    async def receive_legacy(studio: Any, request: Request) -> JSONResponse:
        if not studio.settings.webhook_secret:
            return refuse("legacy_unsigned", 410, LEGACY_UNSIGNED)
        job = await read_delivery(studio, request)
        if isinstance(job, JSONResponse):
            return job
        known, confirming = await run_in_threadpool(_hint, studio, job.job_id)
        tally.add("accepted" if known else "unknown_job")
        return JSONResponse({"ok": True, "known": known, "confirming": confirming})

    @serving_files
    async def serve_upload(studio: Any, request: Request) -> Response:
        name = request.path_params["name"]
        path = await run_in_threadpool(upload_file, studio.settings.uploads_dir, name)
        if path is None:
            return PlainTextResponse("No such upload.", status_code=404)
        return FileResponse(
            path,
            media_type=CONTENT_TYPES[path.suffix.lstrip(".")],
            headers={"Cache-Control": UPLOAD_CACHE, "X-Content-Type-Options": "nosniff"},
        )

    return [
        Route(HEALTH_PATH, healthz, methods=["GET"]),
        Route(UPLOADS_PATH + "/{name}", serve_upload, methods=["GET", "HEAD"]),
        Route(DOWNLOAD_PATH + "/{token}/{name}", download, methods=["GET"]),
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
